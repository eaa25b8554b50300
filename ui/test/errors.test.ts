import { describe, expect, it } from "vitest";
import { AppError, describeError, ERROR_CODES, isAppErrorData } from "../src/backend/errors";

describe("errors", () => {
  it("keeps the code and fields of what the Rust side sends", () => {
    const e = AppError.from({ code: "invalid", message: "Hours must be at most 24.", field: "hours" });
    expect(e).toBeInstanceOf(AppError);
    expect(e.code).toBe("invalid");
    expect(e.field).toBe("hours");
    expect(e.message).toBe("Hours must be at most 24.");
    expect(AppError.from(e)).toBe(e);
  });

  it("knows `unavailable`, the server that cannot verify sign-ins", () => {
    expect(ERROR_CODES).toContain("unavailable");
    const message = "The timesheet server can't verify sign-ins right now.";
    expect(isAppErrorData({ code: "unavailable", message })).toBe(true);
    const e = AppError.from({ code: "unavailable", message });
    expect(e).toMatchObject({ code: "unavailable", message });
    expect(describeError(e)).toBe(message);
  });

  it("turns anything else into `unknown` with a readable message", () => {
    expect(AppError.from("command list_entries not found")).toMatchObject({
      code: "unknown",
      message: "command list_entries not found",
    });
    expect(AppError.from(new TypeError("boom"))).toMatchObject({ code: "unknown", message: "boom" });
    expect(AppError.from({ code: "weird", message: "x" })).toMatchObject({ code: "unknown" });
    expect(AppError.from(undefined).message).toMatch(/Something went wrong/);
    expect(isAppErrorData({ code: "offline", message: "down" })).toBe(true);
    expect(isAppErrorData({ code: "offline" })).toBe(false);
  });

  it("says forbidden plainly", () => {
    expect(describeError({ code: "forbidden", message: "insufficient_scope", scope: "delete:timesheets" })).toBe(
      "Not allowed: this needs the delete:timesheets permission, which your sign-in does not have.",
    );
    expect(describeError({ code: "forbidden", message: "Nobody can decide on their own entries." })).toBe(
      "Not allowed: Nobody can decide on their own entries.",
    );
    expect(describeError({ code: "offline", message: "No connection." })).toBe("No connection.");
  });
});
