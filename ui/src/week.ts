/**
 * ISO weeks (Monday first) on date-only strings, `YYYY-MM-DD`.
 *
 * A date is turned into a whole day number counted in UTC and back, so no local
 * time zone or daylight-saving change can shift a day: "today" comes from the
 * Rust side already in the user's own time zone, and from then on it is pure
 * calendar arithmetic.
 */

const MS_PER_DAY = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

const WEEKDAYS_LONG = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const WEEKDAYS_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS_LONG = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const MONTHS_SHORT = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Whether `value` is a calendar date that exists, written `YYYY-MM-DD`. */
export function isDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** Days since 1970-01-01 for a date string; throws on anything that is not a date. */
export function toDayNumber(date: string): number {
  if (!isDate(date)) throw new RangeError(`Not a date (YYYY-MM-DD): ${JSON.stringify(date)}`);
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const t = new Date(Date.UTC(2000, m - 1, d));
  t.setUTCFullYear(y);
  return Math.round(t.getTime() / MS_PER_DAY);
}

/** The date string of a day number. */
export function fromDayNumber(day: number): string {
  const t = new Date(day * MS_PER_DAY);
  const y = String(t.getUTCFullYear()).padStart(4, "0");
  const m = String(t.getUTCMonth() + 1).padStart(2, "0");
  const d = String(t.getUTCDate()).padStart(2, "0");
  return `${y}-${m}-${d}`;
}

/** The date `n` days after `date` (before, for a negative `n`). */
export function addDays(date: string, n: number): string {
  return fromDayNumber(toDayNumber(date) + n);
}

/** 0 for Monday … 6 for Sunday. */
export function weekdayIndex(date: string): number {
  // 1970-01-01 was a Thursday (index 3).
  return (((toDayNumber(date) + 3) % 7) + 7) % 7;
}

/** The Monday of the ISO week containing `date`. */
export function mondayOf(date: string): string {
  return addDays(date, -weekdayIndex(date));
}

/** The seven dates of the week containing `date`, Monday to Sunday. */
export function weekDays(date: string): string[] {
  const monday = mondayOf(date);
  return Array.from({ length: 7 }, (_, i) => addDays(monday, i));
}

/** The Monday of the week before the one containing `date`. */
export function previousWeek(date: string): string {
  return addDays(mondayOf(date), -7);
}

/** The Monday of the week after the one containing `date`. */
export function nextWeek(date: string): string {
  return addDays(mondayOf(date), 7);
}

/** The ISO 8601 week-numbering year and week number of `date`. */
export function isoWeek(date: string): { year: number; week: number } {
  // The ISO week belongs to the year that holds its Thursday.
  const thursday = addDays(mondayOf(date), 3);
  const year = Number(thursday.slice(0, 4));
  const jan1 = toDayNumber(`${thursday.slice(0, 4)}-01-01`);
  const week = Math.floor((toDayNumber(thursday) - jan1) / 7) + 1;
  return { year, week };
}

function parts(date: string): { y: number; m: number; d: number } {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return { y, m, d };
}

/**
 * The heading of a week: "Week 48 · 23–29 Nov 2026", "Week 49 · 30 Nov – 6 Dec 2026",
 * "Week 53 · 28 Dec 2026 – 3 Jan 2027".
 */
export function weekLabel(date: string): string {
  const monday = mondayOf(date);
  const sunday = addDays(monday, 6);
  const a = parts(monday);
  const b = parts(sunday);
  const { week } = isoWeek(monday);
  let span: string;
  if (a.y !== b.y) {
    span = `${a.d} ${MONTHS_SHORT[a.m - 1]} ${a.y} – ${b.d} ${MONTHS_SHORT[b.m - 1]} ${b.y}`;
  } else if (a.m !== b.m) {
    span = `${a.d} ${MONTHS_SHORT[a.m - 1]} – ${b.d} ${MONTHS_SHORT[b.m - 1]} ${b.y}`;
  } else {
    span = `${a.d}–${b.d} ${MONTHS_SHORT[b.m - 1]} ${b.y}`;
  }
  return `Week ${week} · ${span}`;
}

/** "Monday 23 November", as a cell's label says it. */
export function longDayLabel(date: string): string {
  const { m, d } = parts(date);
  return `${WEEKDAYS_LONG[weekdayIndex(date)]} ${d} ${MONTHS_LONG[m - 1]}`;
}

/** "Monday 23 November 2026". */
export function fullDateLabel(date: string): string {
  return `${longDayLabel(date)} ${parts(date).y}`;
}

/** { weekday: "Mon", date: "23 Nov" }, for a column header. */
export function shortDayLabel(date: string): { weekday: string; date: string } {
  const { m, d } = parts(date);
  return { weekday: WEEKDAYS_SHORT[weekdayIndex(date)] ?? "", date: `${d} ${MONTHS_SHORT[m - 1]}` };
}
