import { describe, expect, it } from "vitest";
import { makeEntry } from "../src/backend/fake";
import { groupApprovals, selectionState, summarizeDecision, toggleAll, toggleOne } from "../src/approvals";

const ada = { owner: "dev|ada", owner_name: "Ada Lovelace" };
const grace = { owner: "dev|grace", owner_name: "Grace Hopper" };
const entries = [
  makeEntry({ ...grace, date: "2026-11-24", project: "Compiler", hours: 8 }),
  makeEntry({ ...ada, date: "2026-11-25", project: "Apollo", hours: 6.5 }),
  makeEntry({ ...ada, date: "2026-11-17", project: "Engine", hours: 7.75 }),
  makeEntry({ ...ada, date: "2026-11-23", project: "Apollo", hours: 1 }),
];

describe("approvals", () => {
  it("groups by person, then by ISO week (oldest first), then by date", () => {
    const groups = groupApprovals(entries);
    expect(groups.map((g) => g.name)).toEqual(["Ada Lovelace", "Grace Hopper"]);
    const weeks = groups[0]?.weeks ?? [];
    expect(weeks.map((w) => w.monday)).toEqual(["2026-11-16", "2026-11-23"]);
    expect(weeks[1]?.label).toBe("Week 48 · 23–29 Nov 2026");
    expect(weeks[1]?.entries.map((e) => e.date)).toEqual(["2026-11-23", "2026-11-25"]);
    expect(weeks[1]?.totalQuarters).toBe(30);
    expect(groups[0]?.totalQuarters).toBe(61);
  });

  it("selects a group all at once, and reports partial selection", () => {
    const ids = ["a", "b", "c"];
    let selected = toggleOne(new Set(), "a");
    expect(selectionState(selected, ids)).toBe("some");
    selected = toggleAll(selected, ids);
    expect(selectionState(selected, ids)).toBe("all");
    selected = toggleAll(selected, ids);
    expect(selectionState(selected, ids)).toBe("none");
    expect(toggleOne(new Set(["a"]), "a").size).toBe(0);
  });

  it("names the entries that failed, in plain words", () => {
    const [g, a1] = entries;
    if (!g || !a1) throw new Error("fixture");
    const byId = new Map(entries.map((e) => [e.id, e]));
    const summary = summarizeDecision(
      "approve",
      [g.id, a1.id, "ghost"],
      [
        { id: g.id, entry: { ...g, status: "approved" }, error: null },
        { id: a1.id, entry: null, error: { code: "conflict", message: "This entry was already rejected." } },
      ],
      byId,
    );
    expect(summary.done).toEqual([g.id]);
    expect(summary.ok).toBe(false);
    expect(summary.failed.get(a1.id)).toBe("This entry was already rejected.");
    expect(summary.failed.get("ghost")).toMatch(/No answer/);
    expect(summary.text).toBe(
      "1 entry approved. 2 entries could not be approved: Ada Lovelace, Wed 25 Nov, Apollo (6.5 hours): This entry was already rejected.; ghost: No answer came back for this entry.",
    );
  });

  it("says forbidden plainly with the missing permission", () => {
    const summary = summarizeDecision(
      "reject",
      ["x"],
      [{ id: "x", entry: null, error: { code: "forbidden", message: "no", scope: "approve:timesheets" } }],
      new Map(),
    );
    expect(summary.text).toContain("needs the approve:timesheets permission");
  });
});
