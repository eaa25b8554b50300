import { afterEach, describe, expect, it, vi } from "vitest";
import type { Scope } from "../src/backend/backend";
import { FakeBackend, makeEntry, PERSONAS } from "../src/backend/fake";
import { cellKey } from "../src/grid";
import { HOLD_MS, WeekStore, type WeekSnapshot } from "../src/week-store";
import { GatedBackend } from "./gated";

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
    expect(store.snapshot.grid?.rows[0]?.cells[1]?.status).toBe("draft");
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

describe("switching weeks", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Week 48 loaded with one entry; every snapshot published from then on is kept. */
  async function loadedWeek() {
    const fake = new GatedBackend({
      user: { ...employee, scopes: [...employee.scopes] },
      signedIn: true,
      today: "2026-11-25",
      entries: [
        makeEntry({ date: "2026-11-24", project: "Apollo", hours: 3 }),
        makeEntry({ date: "2026-12-01", project: "Apollo", hours: 5 }),
      ],
    });
    const store = new WeekStore({ backend: fake });
    store.setScopes([...employee.scopes]);
    await store.thisWeek();
    const published: WeekSnapshot[] = [];
    store.subscribe(() => published.push(store.snapshot));
    return { fake, store, published };
  }

  it("keeps the loaded week shown, not editable, until the next one's entries arrive", async () => {
    const { fake, store, published } = await loadedWeek();
    const before = store.snapshot.grid!;
    fake.hold();
    const switched = store.next();
    expect(store.snapshot).toMatchObject({ monday: "2026-11-23", switchingTo: "2026-11-30", loaded: true });
    expect(store.snapshot.load).toBe("loading");
    expect(store.snapshot.grid?.days).toEqual(before.days);
    store.snapshot.grid?.rows.forEach((row, i) => expect(row).toBe(before.rows[i]));

    // Nothing typed into the week still shown is taken: the screen is about to change.
    store.type(cellKey("Apollo", "2026-11-24"), "8");
    expect(store.snapshot.edits.size).toBe(0);
    expect(store.addRow("Hermes").ok).toBe(false);

    fake.release();
    await switched;
    expect(store.snapshot).toMatchObject({ monday: "2026-11-30", switchingTo: null, loaded: true, load: "ready" });
    expect(store.snapshot.grid?.rows[0]?.cells[1]?.text).toBe("5");
    // Straight from one loaded week to the other: never week 49 without its entries.
    expect(published.filter((snap) => snap.monday === "2026-11-30" && !snap.loaded)).toEqual([]);
  });

  it("shows the next week as loading once the answer takes longer than the hold", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { fake, store } = await loadedWeek();
    fake.hold();
    const switched = store.next();
    vi.advanceTimersByTime(HOLD_MS - 1);
    expect(store.snapshot).toMatchObject({ monday: "2026-11-23", switchingTo: "2026-11-30", loaded: true });
    vi.advanceTimersByTime(1);
    expect(store.snapshot).toMatchObject({ monday: "2026-11-30", switchingTo: null, loaded: false, load: "loading" });
    expect(store.snapshot.entries).toEqual([]);

    fake.release();
    await switched;
    expect(store.snapshot).toMatchObject({ monday: "2026-11-30", loaded: true, load: "ready" });
    expect(store.snapshot.grid?.rows[0]?.cells[1]?.text).toBe("5");
  });

  it("counts the hold from the first of several quick switches, and ends it going back", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { fake, store } = await loadedWeek();
    fake.hold();
    void store.next();
    vi.advanceTimersByTime(HOLD_MS / 2);
    void store.next();
    expect(store.snapshot).toMatchObject({ monday: "2026-11-23", switchingTo: "2026-12-07" });
    vi.advanceTimersByTime(HOLD_MS / 2);
    expect(store.snapshot).toMatchObject({ monday: "2026-12-07", switchingTo: null, loaded: false });

    fake.release();
    await vi.waitFor(() => expect(store.snapshot.load).toBe("ready"));

    // Back to the week shown while switching: the switch is over, nothing waits.
    fake.hold();
    void store.next();
    expect(store.snapshot.switchingTo).toBe("2026-12-14");
    void store.previous();
    expect(store.snapshot).toMatchObject({ monday: "2026-12-07", switchingTo: null, loaded: true });
    expect(vi.getTimerCount()).toBe(0);
    fake.release();
    await vi.waitFor(() => expect(store.snapshot.load).toBe("ready"));
    expect(store.snapshot.monday).toBe("2026-12-07");
  });

  it("forgets a switch under way when someone else signs in", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { fake, store } = await loadedWeek();
    fake.hold();
    void store.next();
    store.reset();
    expect(store.snapshot).toMatchObject({ monday: null, switchingTo: null, grid: null });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("shows the next week with the error when its entries cannot be loaded", async () => {
    const { fake, store } = await loadedWeek();
    fake.failNext("list_entries", { code: "offline", message: "No connection." });
    await store.next();
    expect(store.snapshot).toMatchObject({ monday: "2026-11-30", switchingTo: null, loaded: false, load: "error" });
  });
});
