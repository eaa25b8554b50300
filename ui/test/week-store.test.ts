import { describe, expect, it } from "vitest";
import type { Scope } from "../src/backend/backend";
import { FakeBackend, makeEntry, PERSONAS } from "../src/backend/fake";
import { cellKey } from "../src/grid";
import { WeekStore } from "../src/week-store";

const employee = PERSONAS.employee;

async function setup(options: { scopes?: Scope[]; entries?: ReturnType<typeof makeEntry>[] } = {}) {
  const fake = new FakeBackend({
    user: { ...employee, scopes: options.scopes ?? [...employee.scopes] },
    signedIn: true,
    today: "2026-11-25",
    entries: options.entries ?? [],
  });
  const messages: string[] = [];
  let n = 0;
  const store = new WeekStore({ backend: fake, announce: (t) => messages.push(t), newKey: () => `key-${++n}` });
  store.setScopes(options.scopes ?? [...employee.scopes]);
  await store.thisWeek();
  return { fake, store, messages };
}

describe("WeekStore", () => {
  it("loads this week from today", async () => {
    const { store, fake } = await setup({ entries: [makeEntry({ date: "2026-11-24", project: "Apollo", hours: 3 })] });
    expect(store.snapshot.monday).toBe("2026-11-23");
    expect(store.snapshot.load).toBe("ready");
    expect(fake.calls.find((c) => c.command === "list_entries")?.args).toEqual({
      from: "2026-11-23",
      to: "2026-11-29",
    });
    expect(store.snapshot.grid?.weekTotal).toBe(12);
    await store.next();
    expect(store.snapshot.monday).toBe("2026-11-30");
    expect(store.snapshot.grid?.rows).toEqual([]);
  });

  it("keeps the rows and cells that typing or a reload did not change", async () => {
    const { store } = await setup({
      entries: [
        makeEntry({ date: "2026-11-24", project: "Apollo", hours: 3 }),
        makeEntry({ date: "2026-11-24", project: "Hermes", hours: 2 }),
      ],
    });
    const before = store.snapshot.grid!;
    store.type(cellKey("Hermes", "2026-11-25"), "4");
    const typed = store.snapshot.grid!;
    expect(typed).not.toBe(before);
    expect(typed.rows[0]).toBe(before.rows[0]);
    expect(typed.rows[1]).not.toBe(before.rows[1]);
    expect(typed.rows[1]?.cells.filter((c, i) => c !== before.rows[1]?.cells[i]).map((c) => c.key)).toEqual([
      cellKey("Hermes", "2026-11-25"),
    ]);
    await store.reload(); // the same entries again, as new objects
    expect(store.snapshot.grid?.rows).toHaveLength(2);
    store.snapshot.grid?.rows.forEach((row, i) => expect(row).toBe(typed.rows[i]));
  });

  it("ignores typing until the week's entries are loaded", async () => {
    const entry = makeEntry({ date: "2026-11-24", project: "Apollo", hours: 3 });
    const { store, fake } = await setup({ entries: [entry] });
    fake.failNext("list_entries", { code: "offline", message: "No connection." });
    await store.reload(); // the same week again: what was loaded stays usable
    expect(store.snapshot.load).toBe("error");
    expect(store.snapshot.loaded).toBe(true);
    fake.failNext("list_entries", { code: "offline", message: "No connection." });
    await store.next();
    expect(store.snapshot.load).toBe("error");
    expect(store.snapshot.loaded).toBe(false);
    store.addRow("Apollo");
    store.type(cellKey("Apollo", "2026-12-01"), "5");
    expect(store.snapshot.edits.size).toBe(0);
    await store.reload();
    expect(store.snapshot.loaded).toBe(true);
    store.type(cellKey("Apollo", "2026-12-01"), "5");
    expect(store.snapshot.edits.size).toBe(1);
  });

  it("keeps a save that failed with unavailable as unsaved, and saves it on retry", async () => {
    const { store, fake } = await setup();
    store.addRow("Apollo");
    const key = cellKey("Apollo", "2026-11-24");
    store.type(key, "6");
    fake.setCannotVerify(true);
    expect(await store.commit(key)).toBe("failed");
    expect(store.snapshot.edits.get(key)).toMatchObject({ phase: "failed", text: "6", error: { code: "unavailable" } });
    expect(store.snapshot.grid?.rows[0]?.cells[1]?.text).toBe("6");
    expect(store.snapshot.grid?.weekTotal).toBe(24);
    fake.setCannotVerify(false);
    await store.retryAll();
    expect(store.snapshot.edits.size).toBe(0);
    expect(fake.entries).toMatchObject([{ project: "Apollo", date: "2026-11-24", hours: 6 }]);
  });

  it("keeps a failed save visible as unsaved, and retries with the same idempotency key", async () => {
    const { store, fake } = await setup();
    store.addRow("Apollo");
    const key = cellKey("Apollo", "2026-11-24");
    store.type(key, "7.5");
    fake.failNext("create_entry", { code: "offline", message: "No connection." });
    expect(await store.commit(key)).toBe("failed");

    const edit = store.snapshot.edits.get(key);
    expect(edit?.phase).toBe("failed");
    expect(edit?.text).toBe("7.5");
    const cell = store.snapshot.grid?.rows[0]?.cells[1];
    expect(cell?.text).toBe("7.5");
    expect(store.snapshot.grid?.weekTotal).toBe(30); // still counted, still shown

    expect(await store.commit(key)).toBe("saved");
    const creates = fake.calls.filter((c) => c.command === "create_entry");
    expect(creates.map((c) => c.args.idempotencyKey)).toEqual(["key-1", "key-1"]);
    expect(store.snapshot.edits.size).toBe(0);
    expect(store.snapshot.grid?.rows[0]?.cells[1]?.status).toBe("pending");
    expect(fake.entries).toHaveLength(1);
  });

  it("never sends an invalid value, and keeps it marked", async () => {
    const { store, fake } = await setup();
    store.addRow("Apollo");
    const key = cellKey("Apollo", "2026-11-24");
    store.type(key, "7.3");
    expect(await store.commit(key)).toBe("invalid");
    expect(fake.calls.some((c) => c.command === "create_entry")).toBe(false);
    expect(store.snapshot.grid?.rows[0]?.cells[1]?.parsed.kind).toBe("invalid");
  });

  it("deletes when a cell is cleared, and reverts with Escape semantics", async () => {
    const entry = makeEntry({ date: "2026-11-24", project: "Apollo", hours: 3 });
    const { store, fake } = await setup({ entries: [entry] });
    const key = cellKey("Apollo", "2026-11-24");
    store.type(key, "5");
    store.revert(key);
    expect(store.snapshot.grid?.rows[0]?.cells[1]?.text).toBe("3");
    store.type(key, "");
    expect(await store.commit(key)).toBe("saved");
    expect(fake.entries).toHaveLength(0);
    expect(store.snapshot.grid?.weekTotal).toBe(0);
  });

  it("blocks what the scopes do not allow, without calling the API", async () => {
    const entry = makeEntry({ date: "2026-11-24", project: "Apollo", hours: 3 });
    const { store, fake } = await setup({ entries: [entry], scopes: ["read:timesheets", "create:timesheets"] });
    const key = cellKey("Apollo", "2026-11-24");
    expect(await store.remove(key)).toBe("blocked");
    expect(fake.calls.some((c) => c.command === "delete_entry")).toBe(false);
    expect(store.snapshot.edits.get(key)?.error?.message).toBe("Needs the delete:timesheets permission");
  });

  it("keeps unsaved edits of other weeks and retries them all", async () => {
    const { store, fake } = await setup();
    store.addRow("Apollo");
    const key = cellKey("Apollo", "2026-11-24");
    store.type(key, "2");
    fake.failNext("create_entry", { code: "offline", message: "No connection." });
    await store.commit(key);
    await store.next();
    expect(store.snapshot.edits.get(key)?.phase).toBe("failed");
    await store.retryAll();
    expect(store.snapshot.edits.size).toBe(0);
    expect(fake.entries.map((e) => e.hours)).toEqual([2]);
  });

  it("says plainly when the backend answers forbidden anyway", async () => {
    const { store, fake, messages } = await setup();
    store.addRow("Apollo");
    const key = cellKey("Apollo", "2026-11-24");
    store.type(key, "1");
    fake.failNext("create_entry", { code: "forbidden", message: "insufficient_scope", scope: "create:timesheets" });
    await store.commit(key);
    expect(store.snapshot.edits.get(key)?.phase).toBe("failed");
    expect(messages.at(-1)).toContain("create:timesheets");
  });
});

describe("leaving a cell", () => {
  it("sends a fresh edit but does not resend a failed one", async () => {
    const fake = new FakeBackend({ signedIn: true, today: "2026-11-25" });
    const store = new WeekStore({ backend: fake });
    store.setScopes([...PERSONAS.employee.scopes]);
    await store.thisWeek();
    store.addRow("Apollo");
    const key = cellKey("Apollo", "2026-11-23");
    store.type(key, "4");
    fake.failNext("create_entry", { code: "offline", message: "No connection." });
    expect(await store.leave(key)).toBe("failed");
    expect(await store.leave(key)).toBe("unchanged");
    expect(fake.calls.filter((c) => c.command === "create_entry")).toHaveLength(1);
    expect(await store.commit(key)).toBe("saved");
  });
});
