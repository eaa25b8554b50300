/**
 * Hours in quarter-hour steps, as the grid and the API take them.
 *
 * Everything is counted in whole quarters (7.5 h = 30), so sums are exact and
 * "a step of 0.25" is a matter of integers. The API sends and receives decimals.
 */

/** The most hours one day may hold. */
export const MAX_QUARTERS = 96;

export type ParsedHours = { kind: "empty" } | { kind: "ok"; quarters: number } | { kind: "invalid"; message: string };

const DECIMAL_RE = /^(\d+)?(?:[.,](\d+))?$/;
const CLOCK_RE = /^(\d{1,2}):(\d{2})$/;

function fromQuarters(quarters: number): ParsedHours {
  if (quarters <= 0) return { kind: "invalid", message: "Enter more than 0 hours" };
  if (quarters > MAX_QUARTERS) return { kind: "invalid", message: "A day holds at most 24 hours" };
  return { kind: "ok", quarters };
}

/**
 * Reads what a person typed in a cell: "7.5", "7,5", ".25", "8", or "7:30".
 * Blank means no entry. Anything else, zero, more than 24, or a value off the
 * quarter-hour grid is invalid with a short reason.
 */
export function parseHours(text: string): ParsedHours {
  const t = text.trim();
  if (t === "") return { kind: "empty" };

  const clock = CLOCK_RE.exec(t);
  if (clock) {
    const h = Number(clock[1]);
    const min = Number(clock[2]);
    if (min >= 60) return { kind: "invalid", message: "Minutes go up to 59" };
    if (min % 15 !== 0) return { kind: "invalid", message: "Use quarter hours: :00, :15, :30 or :45" };
    return fromQuarters(h * 4 + min / 15);
  }

  const m = DECIMAL_RE.exec(t);
  if (!m || (m[1] === undefined && m[2] === undefined)) {
    if (t.startsWith("-")) return { kind: "invalid", message: "Enter more than 0 hours" };
    return { kind: "invalid", message: "Enter hours as a number, e.g. 7.5" };
  }
  const whole = Number(m[1] ?? "0");
  const frac = (m[2] ?? "").replace(/0+$/, "");
  const quarter = { "": 0, "25": 1, "5": 2, "75": 3 }[frac];
  if (quarter === undefined) {
    return { kind: "invalid", message: "Use quarter hours: .25, .5 or .75" };
  }
  if (whole > MAX_QUARTERS / 4) return { kind: "invalid", message: "A day holds at most 24 hours" };
  return fromQuarters(whole * 4 + quarter);
}

/** Quarters from a decimal the API sent (always on the grid; rounded defensively). */
export function toQuarters(hours: number): number {
  return Math.round(hours * 4);
}

/** The decimal to send for a count of quarters; exact in binary floating point. */
export function toHours(quarters: number): number {
  return quarters / 4;
}

/** 30 → "7.5", 1 → "0.25", 32 → "8", 0 → "0". */
export function formatQuarters(quarters: number): string {
  const sign = quarters < 0 ? "-" : "";
  const q = Math.abs(Math.trunc(quarters));
  const whole = Math.floor(q / 4);
  const rest = ["", ".25", ".5", ".75"][q % 4];
  return `${sign}${whole}${rest}`;
}

/** The exact sum of counts of quarters. */
export function sumQuarters(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** "7.5 hours", "1 hour", for sentences. */
export function hoursPhrase(quarters: number): string {
  return `${formatQuarters(quarters)} ${quarters === 4 ? "hour" : "hours"}`;
}
