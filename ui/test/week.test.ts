import { describe, expect, it } from "vitest";
import {
  addDays,
  fullDateLabel,
  isDate,
  isoWeek,
  longDayLabel,
  mondayOf,
  nextWeek,
  previousWeek,
  shortDayLabel,
  toDayNumber,
  weekDays,
  weekdayIndex,
  weekLabel,
} from "../src/week";

describe("week", () => {
  it("knows which strings are dates", () => {
    expect(isDate("2026-11-23")).toBe(true);
    expect(isDate("2024-02-29")).toBe(true);
    expect(isDate("2026-02-29")).toBe(false);
    expect(isDate("2026-2-3")).toBe(false);
    expect(isDate("2026-11-23T00:00")).toBe(false);
    expect(() => toDayNumber("nope")).toThrow(RangeError);
  });

  it("finds the Monday of a week, Monday first", () => {
    expect(mondayOf("2026-11-23")).toBe("2026-11-23"); // a Monday
    expect(mondayOf("2026-11-25")).toBe("2026-11-23");
    expect(mondayOf("2026-11-29")).toBe("2026-11-23"); // Sunday belongs to the week before
    expect(mondayOf("2027-01-01")).toBe("2026-12-28"); // across a year end
    expect(weekdayIndex("2026-11-29")).toBe(6);
  });

  it("lists seven days and steps whole weeks", () => {
    expect(weekDays("2026-11-25")).toEqual([
      "2026-11-23",
      "2026-11-24",
      "2026-11-25",
      "2026-11-26",
      "2026-11-27",
      "2026-11-28",
      "2026-11-29",
    ]);
    expect(previousWeek("2026-11-25")).toBe("2026-11-16");
    expect(nextWeek("2026-11-25")).toBe("2026-11-30");
    expect(nextWeek("2026-12-28")).toBe("2027-01-04");
    expect(addDays("2024-02-28", 1)).toBe("2024-02-29");
    expect(addDays("2024-03-01", -1)).toBe("2024-02-29");
  });

  it("is not moved by daylight-saving changes", () => {
    // Europe and the US change clocks on these Sundays; days stay whole.
    expect(weekDays("2026-03-29")[0]).toBe("2026-03-23");
    expect(addDays("2026-03-28", 2)).toBe("2026-03-30");
    expect(addDays("2026-10-24", 2)).toBe("2026-10-26");
    expect(addDays("2026-11-01", 1)).toBe("2026-11-02");
  });

  it("numbers ISO weeks, including week 53 and week 1 of the next year", () => {
    expect(isoWeek("2026-11-23")).toEqual({ year: 2026, week: 48 });
    expect(isoWeek("2027-01-01")).toEqual({ year: 2026, week: 53 });
    expect(isoWeek("2027-01-04")).toEqual({ year: 2027, week: 1 });
    expect(isoWeek("2024-12-30")).toEqual({ year: 2025, week: 1 });
    expect(isoWeek("2021-01-03")).toEqual({ year: 2020, week: 53 });
    expect(isoWeek("2026-01-01")).toEqual({ year: 2026, week: 1 });
  });

  it("labels weeks within a month, across months and across years", () => {
    expect(weekLabel("2026-11-25")).toBe("Week 48 · 23–29 Nov 2026");
    expect(weekLabel("2026-12-01")).toBe("Week 49 · 30 Nov – 6 Dec 2026");
    expect(weekLabel("2027-01-01")).toBe("Week 53 · 28 Dec 2026 – 3 Jan 2027");
  });

  it("labels days for cells and headers", () => {
    expect(longDayLabel("2026-11-23")).toBe("Monday 23 November");
    expect(fullDateLabel("2026-11-29")).toBe("Sunday 29 November 2026");
    expect(shortDayLabel("2026-11-24")).toEqual({ weekday: "Tue", date: "24 Nov" });
  });
});
