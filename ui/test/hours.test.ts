import { describe, expect, it } from "vitest";
import { formatQuarters, hoursPhrase, parseHours, sumQuarters, toHours, toQuarters } from "../src/hours";

const ok = (quarters: number) => ({ kind: "ok", quarters });

describe("hours", () => {
  it("reads decimals in quarter-hour steps", () => {
    expect(parseHours("7.5")).toEqual(ok(30));
    expect(parseHours(" 8 ")).toEqual(ok(32));
    expect(parseHours("0.25")).toEqual(ok(1));
    expect(parseHours(".75")).toEqual(ok(3));
    expect(parseHours("7,5")).toEqual(ok(30));
    expect(parseHours("7.50")).toEqual(ok(30));
    expect(parseHours("24")).toEqual(ok(96));
    expect(parseHours("7:45")).toEqual(ok(31));
  });

  it("treats blank as no entry", () => {
    expect(parseHours("")).toEqual({ kind: "empty" });
    expect(parseHours("   ")).toEqual({ kind: "empty" });
  });

  it("refuses zero, more than a day, off-grid values and non-numbers, saying why", () => {
    for (const text of [
      "0",
      "0.0",
      "24.25",
      "25",
      "7.3",
      "7.1",
      "0.2",
      "abc",
      "-1",
      "7.5.1",
      ".",
      "1e1",
      "7:20",
      "7:60",
    ]) {
      const parsed = parseHours(text);
      expect(parsed.kind, text).toBe("invalid");
      if (parsed.kind === "invalid") expect(parsed.message.length).toBeGreaterThan(5);
    }
    expect(parseHours("7.3")).toMatchObject({ message: expect.stringContaining(".25") });
    expect(parseHours("25")).toMatchObject({ message: expect.stringContaining("24") });
    expect(parseHours("0")).toMatchObject({ message: expect.stringContaining("more than 0") });
  });

  it("formats quarters as short decimals", () => {
    expect(formatQuarters(30)).toBe("7.5");
    expect(formatQuarters(1)).toBe("0.25");
    expect(formatQuarters(3)).toBe("0.75");
    expect(formatQuarters(32)).toBe("8");
    expect(formatQuarters(0)).toBe("0");
    expect(formatQuarters(165)).toBe("41.25");
    expect(hoursPhrase(4)).toBe("1 hour");
    expect(hoursPhrase(30)).toBe("7.5 hours");
  });

  it("sums exactly where decimals would drift", () => {
    const tenths = Array.from({ length: 10 }, () => toQuarters(0.25));
    expect(sumQuarters(tenths)).toBe(10);
    expect(formatQuarters(sumQuarters([toQuarters(0.25), toQuarters(7.75), toQuarters(0.5)]))).toBe("8.5");
    expect(toHours(31)).toBe(7.75);
    expect(toQuarters(7.75)).toBe(31);
  });
});
