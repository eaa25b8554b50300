import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
const listen = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...args: unknown[]) => invoke(...args) }));
vi.mock("@tauri-apps/api/event", () => ({ listen: (...args: unknown[]) => listen(...args) }));

const { TauriBackend } = await import("../src/backend/tauri");
const { AppError } = await import("../src/backend/errors");

describe("TauriBackend", () => {
  beforeEach(() => {
    invoke.mockReset();
    listen.mockReset();
  });

  it("calls each command by its exact name with camelCase arguments", async () => {
    invoke.mockResolvedValue(null);
    const b = new TauriBackend();
    await b.session();
    await b.signIn();
    await b.cancelSignIn();
    await b.signOut();
    await b.today();
    await b.listEntries("2026-11-23", "2026-11-29");
    await b.createEntry({ date: "2026-11-23", project: "Apollo", notes: "", hours: 7.5 }, "key-1");
    await b.updateEntry("e1", { hours: 2 });
    await expect(b.deleteEntry("e1")).resolves.toBeUndefined();
    await b.submitWeek("2026-11-23");
    await b.withdrawWeek("2026-11-23");
    await b.pendingApprovals();
    await b.decide(["e1", "e2"], "approve");
    await b.decide(["e3"], "reject", "not Apollo");
    expect(invoke.mock.calls).toEqual([
      ["session", undefined],
      ["sign_in", undefined],
      ["cancel_sign_in", undefined],
      ["sign_out", undefined],
      ["today", undefined],
      ["list_entries", { from: "2026-11-23", to: "2026-11-29" }],
      [
        "create_entry",
        { entry: { date: "2026-11-23", project: "Apollo", notes: "", hours: 7.5 }, idempotencyKey: "key-1" },
      ],
      ["update_entry", { id: "e1", patch: { hours: 2 } }],
      ["delete_entry", { id: "e1" }],
      ["submit_week", { week: "2026-11-23" }],
      ["withdraw_week", { week: "2026-11-23" }],
      ["pending_approvals", undefined],
      ["decide", { ids: ["e1", "e2"], decision: "approve", reason: null }],
      ["decide", { ids: ["e3"], decision: "reject", reason: "not Apollo" }],
    ]);
  });

  it("rethrows every failure as one AppError", async () => {
    const b = new TauriBackend();
    invoke.mockRejectedValueOnce({ code: "forbidden", message: "Needs approval rights", scope: "approve:timesheets" });
    const forbidden = await b.decide(["x"], "approve").catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(AppError);
    expect(forbidden).toMatchObject({ code: "forbidden", scope: "approve:timesheets" });

    invoke.mockRejectedValueOnce("Command today not found");
    await expect(b.today()).rejects.toMatchObject({ code: "unknown", message: "Command today not found" });
  });

  it("listens for session-changed and stops even if unsubscribed before listen resolved", async () => {
    const stop = vi.fn();
    let handler: ((e: { payload: unknown }) => void) | undefined;
    let resolve: ((f: () => void) => void) | undefined;
    listen.mockImplementation((name: string, h: (e: { payload: unknown }) => void) => {
      expect(name).toBe("session-changed");
      handler = h;
      return new Promise((r) => (resolve = r));
    });
    const seen: unknown[] = [];
    const unsubscribe = new TauriBackend().onSession((s) => seen.push(s));
    handler?.({ payload: { state: "signed_in" } });
    unsubscribe();
    handler?.({ payload: { state: "signed_out" } });
    resolve?.(stop);
    await Promise.resolve();
    await Promise.resolve();
    expect(seen).toEqual([{ state: "signed_in" }]);
    expect(stop).toHaveBeenCalledTimes(1);
  });
});
