import { describe, expect, it } from "vitest";
import type { Entry, Scope } from "../src/backend/backend";
import { makeEntry } from "../src/backend/fake";
import {
  applySaved,
  buildGrid,
  cellKey,
  checkProjectName,
  markFailed,
  markSaving,
  mergeRowOrder,
  planCommit,
  typeInto,
  type Edit,
  type Grid,
  type GridCell,
} from "../src/grid";
import { weekDays } from "../src/week";

const days = weekDays("2026-11-23");
const employee: Scope[] = ["read:timesheets", "create:timesheets", "delete:timesheets"];
const auditor: Scope[] = ["read:timesheets"];

function grid(entries: Entry[], edits: Edit[] = [], scopes = employee, order: string[] = [], previous?: Grid) {
  return buildGrid({
    days,
    entries,
    edits: new Map(edits.map((e) => [cellKey(e.project, e.date), e])),
    order,
    scopes,
    previous,
  });
}

function cell(g: ReturnType<typeof grid>, project: string, date: string): GridCell {
  const found = g.rows.find((r) => r.project === project)?.cells.find((c) => c.date === date);
  if (!found) throw new Error(`no cell ${project} ${date}`);
  return found;
}

let counter = 0;
const newKey = () => `key-${++counter}`;

describe("building the grid", () => {
  const entries = [
    makeEntry({ date: "2026-11-23", project: "Apollo", hours: 7.5, status: "approved" }),
    makeEntry({ date: "2026-11-24", project: "Apollo", hours: 0.25 }),
    makeEntry({ date: "2026-11-24", project: "Hermes", hours: 2.75, status: "rejected" }),
    makeEntry({ date: "2026-11-29", project: "Hermes", hours: 1 }),
    makeEntry({ date: "2026-11-30", project: "Hermes", hours: 8 }), // next week: ignored
  ];

  it("makes one row per project, one cell per day, with exact totals", () => {
    const g = grid(entries);
    expect(g.rows.map((r) => r.project)).toEqual(["Apollo", "Hermes"]);
    expect(g.rows.every((r) => r.cells.length === 7)).toBe(true);
    expect(g.dayTotals).toEqual([30, 12, 0, 0, 0, 0, 4]);
    expect(g.rows.map((r) => r.totalQuarters)).toEqual([31, 15]);
    expect(g.weekTotal).toBe(46); // 11.5 hours
    expect(cell(g, "Apollo", "2026-11-24").text).toBe("0.25");
    expect(cell(g, "Apollo", "2026-11-25").text).toBe("");
  });

  it("keeps a given row order and puts new projects after it alphabetically", () => {
    expect(grid(entries, [], employee, ["Zeta", "Hermes"]).rows.map((r) => r.project)).toEqual([
      "Zeta",
      "Hermes",
      "Apollo",
    ]);
    expect(mergeRowOrder(["b"], ["d", "a", "b", "C"])).toEqual(["b", "a", "C", "d"]);
  });

  it("counts a valid edit in the totals, an invalid one not, and a cleared cell as zero", () => {
    const base = grid(entries);
    const edits = [
      typeInto(cell(base, "Apollo", "2026-11-25"), "8"),
      typeInto(cell(base, "Hermes", "2026-11-24"), "7.3"), // invalid: saved 2.75 still counts
      typeInto(cell(base, "Hermes", "2026-11-29"), ""), // clearing deletes: counts 0
    ];
    const g = grid(entries, edits);
    expect(g.dayTotals).toEqual([30, 12, 32, 0, 0, 0, 0]);
    expect(g.weekTotal).toBe(74);
    expect(cell(g, "Hermes", "2026-11-24").parsed.kind).toBe("invalid");
    expect(cell(g, "Hermes", "2026-11-24").text).toBe("7.3");
  });

  it("shows a row for an edit whose project has no entry yet", () => {
    const edit = typeInto({ project: "Zeus", date: "2026-11-26", entry: null, savedQuarters: 0, edit: null }, "3");
    const g = grid([], [edit]);
    expect(g.rows.map((r) => r.project)).toEqual(["Zeus"]);
    expect(g.weekTotal).toBe(12);
    expect(g.rows[0]?.removable).toBe(false);
  });

  it("shows several entries in one cell as a read-only sum", () => {
    const g = grid([
      makeEntry({ date: "2026-11-25", project: "Apollo", hours: 2 }),
      makeEntry({ date: "2026-11-25", project: "Apollo", hours: 1.5, status: "approved" }),
    ]);
    const c = cell(g, "Apollo", "2026-11-25");
    expect(c.multiple).toBe(true);
    expect(c.text).toBe("3.5");
    expect(c.status).toBe("mixed");
    expect(c.lock).toMatch(/2 entries/);
    expect(c.remove.state).toBe("disabled");
  });

  it("locks approved cells and, without create:timesheets, every cell, saying why", () => {
    const g = grid(entries);
    expect(cell(g, "Apollo", "2026-11-23").lock).toMatch(/Approved/);
    expect(cell(g, "Apollo", "2026-11-24").lock).toBeNull();
    const a = grid(entries, [], auditor);
    expect(cell(a, "Apollo", "2026-11-24").lock).toBe("Needs the create:timesheets permission");
    expect(cell(a, "Apollo", "2026-11-25").lock).toBe("Needs the create:timesheets permission");
  });

  it("offers delete only where there is an entry, and disables it with the reason", () => {
    const g = grid(entries);
    expect(cell(g, "Apollo", "2026-11-24").remove).toEqual({ state: "enabled" });
    expect(cell(g, "Apollo", "2026-11-25").remove).toEqual({ state: "hidden" });
    expect(cell(g, "Apollo", "2026-11-23").remove).toEqual({ state: "hidden" }); // approved
    const noDelete = grid(entries, [], ["read:timesheets", "create:timesheets"]);
    expect(cell(noDelete, "Apollo", "2026-11-24").remove).toEqual({
      state: "disabled",
      reason: "Needs the delete:timesheets permission",
    });
  });
});

describe("building the grid again", () => {
  const entries = [
    makeEntry({ date: "2026-11-23", project: "Apollo", hours: 7.5, status: "approved" }),
    makeEntry({ date: "2026-11-24", project: "Apollo", hours: 0.25 }),
    makeEntry({ date: "2026-11-24", project: "Hermes", hours: 2.75 }),
  ];
  const cells = (g: Grid) => g.rows.flatMap((r) => r.cells);

  it("reuses every cell and row when nothing changed, even for entries loaded again as new objects", () => {
    const before = grid(entries);
    const again = grid(
      entries.map((e) => ({ ...e })),
      [],
      employee,
      [],
      before,
    );
    expect(again.rows).toHaveLength(2);
    again.rows.forEach((row, i) => expect(row).toBe(before.rows[i]));
  });

  it("makes new objects only for the edited cell and its row", () => {
    const before = grid(entries);
    const edited = cell(before, "Hermes", "2026-11-26");
    const after = grid(entries, [typeInto(edited, "3")], employee, [], before);
    expect(after.rows[0]).toBe(before.rows[0]);
    expect(after.rows[1]).not.toBe(before.rows[1]);
    const changed = cells(after).filter((c, i) => c !== cells(before)[i]);
    expect(changed.map((c) => c.key)).toEqual([edited.key]);
    expect(changed[0]?.text).toBe("3");
    expect(after.rows[1]?.totalQuarters).toBe(23);
  });

  it("makes new cells where a saved entry, the scopes or the row order changed", () => {
    const before = grid(entries);
    const changedHours = grid(
      entries.map((e) => (e.project === "Hermes" ? { ...e, hours: 3 } : e)),
      [],
      employee,
      [],
      before,
    );
    expect(changedHours.rows[0]).toBe(before.rows[0]);
    expect(cell(changedHours, "Hermes", "2026-11-24")).not.toBe(cell(before, "Hermes", "2026-11-24"));
    expect(cell(changedHours, "Hermes", "2026-11-25")).toBe(cell(before, "Hermes", "2026-11-25"));

    // Without create:timesheets every cell gets a lock, but the approved one had one already.
    const locked = grid(entries, [], auditor, [], before);
    expect(cells(locked).filter((c, i) => c === cells(before)[i]).map((c) => c.key)).toEqual([
      cellKey("Apollo", "2026-11-23"),
    ]);

    // Rows are found by project, wherever they moved.
    const reordered = grid(entries, [], employee, ["Hermes", "Apollo"], before);
    expect(reordered.rows.map((r) => r.project)).toEqual(["Hermes", "Apollo"]);
    expect(reordered.rows[0]).toBe(before.rows[1]);
    expect(reordered.rows[1]).toBe(before.rows[0]);
  });

  it("gives the same grid as a build from scratch, whatever changed in between", () => {
    let previous = grid(entries);
    const edit = typeInto(cell(previous, "Apollo", "2026-11-25"), "4");
    const steps: [Entry[], Edit[], Scope[]][] = [
      [entries, [edit], employee],
      [entries, [typeInto({ ...cell(previous, "Apollo", "2026-11-25"), edit }, "4.5")], employee],
      [entries, [edit], auditor],
      [entries.map((e) => ({ ...e, status: "approved" })), [edit], auditor],
      [entries.slice(1), [], ["read:timesheets", "delete:timesheets"]],
      [entries, [], employee],
    ];
    for (const [stepEntries, edits, scopes] of steps) {
      const reused = grid(stepEntries, edits, scopes, [], previous);
      expect(reused).toEqual(grid(stepEntries, edits, scopes));
      previous = reused;
    }
  });

  it("reuses nothing from another week", () => {
    const before = grid(entries);
    const next = buildGrid({
      days: weekDays("2026-11-30"),
      entries: [],
      edits: new Map(),
      order: ["Apollo", "Hermes"],
      scopes: employee,
      previous: before,
    });
    expect(cells(next).filter((c) => cells(before).includes(c))).toEqual([]);
    expect(next.rows.filter((r) => before.rows.includes(r))).toEqual([]);
  });
});

describe("committing an edit", () => {
  const saved = makeEntry({ date: "2026-11-24", project: "Apollo", hours: 2 });
  const g = grid([saved]);
  const filled = cell(g, "Apollo", "2026-11-24");
  const emptyCell = cell(g, "Apollo", "2026-11-25");

  it("creates an entry for a new value, in hours", () => {
    const plan = planCommit(typeInto(emptyCell, "7.5"), employee, () => "k1");
    expect(plan).toEqual({
      kind: "create",
      entry: { date: "2026-11-25", project: "Apollo", notes: "", hours: 7.5 },
      key: "k1",
      quarters: 30,
    });
  });

  it("updates a changed value and sends nothing for the same value", () => {
    expect(planCommit(typeInto(filled, "2.25"), employee, newKey)).toEqual({
      kind: "update",
      id: saved.id,
      patch: { hours: 2.25 },
      quarters: 9,
    });
    expect(planCommit(typeInto(filled, "2.00"), employee, newKey)).toEqual({ kind: "drop" });
    expect(planCommit(typeInto(emptyCell, ""), employee, newKey)).toEqual({ kind: "drop" });
  });

  it("deletes when a cell with an entry is cleared, only with delete:timesheets", () => {
    expect(planCommit(typeInto(filled, " "), employee, newKey)).toEqual({ kind: "delete", id: saved.id, quarters: 0 });
    expect(planCommit(typeInto(filled, ""), ["read:timesheets", "create:timesheets"], newKey)).toEqual({
      kind: "blocked",
      scope: "delete:timesheets",
      message: "Needs the delete:timesheets permission",
    });
  });

  it("sends nothing invalid and nothing the scopes do not allow", () => {
    expect(planCommit(typeInto(emptyCell, "25"), employee, newKey)).toMatchObject({ kind: "invalid" });
    expect(planCommit(typeInto(emptyCell, "0.1"), employee, newKey)).toMatchObject({ kind: "invalid" });
    expect(planCommit(typeInto(emptyCell, "3"), auditor, newKey)).toMatchObject({
      kind: "blocked",
      scope: "create:timesheets",
    });
    expect(planCommit(typeInto(filled, "3"), auditor, newKey)).toMatchObject({
      kind: "blocked",
      scope: "create:timesheets",
    });
  });

  it("reuses the idempotency key when the same create is retried, and takes a fresh one for a new value", () => {
    const edit = typeInto(emptyCell, "4");
    const first = planCommit(edit, employee, () => "first");
    if (first.kind !== "create") throw new Error("expected a create");
    const failed = markFailed(markSaving(edit, first), { code: "offline", message: "No network" });
    expect(failed.phase).toBe("failed");
    expect(failed.text).toBe("4"); // the typed value stays
    expect(planCommit(failed, employee, () => "second")).toMatchObject({ kind: "create", key: "first" });
    // "4.0" is the same value: still a retry.
    expect(planCommit(typeInto({ ...emptyCell, edit: failed }, "4.0"), employee, () => "second")).toMatchObject({
      key: "first",
    });
    // A different value is a new attempt.
    expect(planCommit(typeInto({ ...emptyCell, edit: failed }, "5"), employee, () => "second")).toMatchObject({
      key: "second",
    });
  });

  it("does not let typing change an edit that is being saved", () => {
    const edit = typeInto(emptyCell, "4");
    const plan = planCommit(edit, employee, newKey);
    if (plan.kind !== "create") throw new Error("expected a create");
    const saving = markSaving(edit, plan);
    expect(typeInto({ ...emptyCell, edit: saving }, "9")).toBe(saving);
  });

  it("applies confirmed saves to the entries", () => {
    const created = makeEntry({ date: "2026-11-25", project: "Apollo", hours: 4 });
    expect(applySaved([saved], { entry: created }).map((e) => e.id)).toEqual([saved.id, created.id]);
    const changed = { ...saved, hours: 3 };
    expect(applySaved([saved, created], { entry: changed })).toEqual([changed, created]);
    expect(applySaved([saved, created], { removed: saved.id })).toEqual([created]);
  });
});

describe("new rows", () => {
  it("accepts 1–100 characters, trimmed, and refuses duplicates", () => {
    expect(checkProjectName("  Apollo ", [])).toEqual({ ok: true, project: "Apollo" });
    expect(checkProjectName("   ", [])).toMatchObject({ ok: false });
    expect(checkProjectName("x".repeat(100), [])).toMatchObject({ ok: true });
    expect(checkProjectName("x".repeat(101), [])).toMatchObject({ ok: false, message: expect.stringContaining("100") });
    expect(checkProjectName("Apollo", ["Apollo"])).toMatchObject({
      ok: false,
      message: expect.stringContaining("already"),
    });
    expect(checkProjectName("a\tb", [])).toMatchObject({ ok: false });
  });
});
