// @vitest-environment jsdom
import { afterEach, describe, expect, it } from "vitest";
import { makeEntry, PERSONAS } from "../src/backend/fake";
import {
  click,
  describedText,
  get,
  mountApp,
  press,
  query,
  typeInto,
  waitFor,
  waitForTestId,
  type Mounted,
} from "./dom";

let app: Mounted | null = null;
afterEach(() => {
  app?.unmount();
  app = null;
});

const ada = { owner: "dev|ada", owner_name: "Ada Lovelace", status: "submitted" as const };
const grace = { owner: "dev|grace", owner_name: "Grace Hopper", status: "submitted" as const };

async function approvals() {
  const entries = [
    makeEntry({ ...ada, id: "a1", date: "2026-11-23", project: "Apollo", hours: 6.5 }),
    makeEntry({ ...ada, id: "a2", date: "2026-11-24", project: "Apollo", hours: 8 }),
    makeEntry({ ...ada, id: "a3", date: "2026-11-16", project: "Engine", hours: 4 }),
    makeEntry({ ...grace, id: "g1", date: "2026-11-23", project: "Compiler", hours: 0.25 }),
    makeEntry({
      owner: PERSONAS.manager.sub,
      owner_name: PERSONAS.manager.name,
      id: "own",
      date: "2026-11-23",
      project: "X",
      hours: 1,
      status: "submitted",
    }),
  ];
  app = await mountApp("manager", { entries });
  const tab = await waitForTestId<HTMLButtonElement>(app.root, "tab-approvals");
  expect(tab.disabled).toBe(false);
  await click(tab);
  await waitForTestId(app.root, "approval-a1");
  return app;
}

describe("Approvals", () => {
  it("groups others' submitted entries by person, then week", async () => {
    const { root } = await approvals();
    const headings = [...root.querySelectorAll("h2, h3")].map((h) => h.textContent);
    expect(headings).toEqual([
      "Ada Lovelace · 18.5 hours",
      "Week 47 · 16–22 Nov 2026",
      "Week 48 · 23–29 Nov 2026",
      "Grace Hopper · 0.25 hours",
      "Week 48 · 23–29 Nov 2026",
    ]);
    expect(query(root, "approval-own")).toBeNull();
    expect(get(root, "approvals-count").textContent).toBe("4 entries waiting for your decision");
  });

  it("approves a selected group and shows the result", async () => {
    const { root, fake } = await approvals();
    const selectAll = get<HTMLInputElement>(root, "select-group-dev-ada-2026-11-23");
    await click(selectAll);
    expect(get(root, "selected-count").textContent).toBe("2 entries selected");
    await click(get(root, "approve-selected"));
    await waitFor(() => !query(root, "approval-a1") && !query(root, "approval-a2"), "rows gone");
    expect(fake.calls.find((c) => c.command === "decide")?.args).toEqual({ ids: ["a1", "a2"], decision: "approve", reason: null });
    expect(get(root, "decision-result").textContent).toContain("2 entries approved.");
    expect(fake.entries.find((e) => e.id === "a1")?.status).toBe("approved");
    expect(query(root, "approval-a3")).not.toBeNull();
  });

  it("rejects one entry from its row, once a reason is given", async () => {
    const { root, fake } = await approvals();
    await click(get(root, "reject-g1"));
    const reason = await waitForTestId<HTMLTextAreaElement>(root, "reject-reason");
    expect(document.activeElement).toBe(reason);
    expect(root.querySelector('label[for="reject-reason"]')?.textContent).toContain("Grace Hopper");
    // Without a reason nothing is sent.
    await click(get(root, "confirm-reject"));
    expect(fake.calls.some((c) => c.command === "decide")).toBe(false);
    expect(reason.getAttribute("aria-invalid")).toBe("true");
    expect(describedText(reason)).toContain("Say what needs fixing");
    await typeInto(reason as unknown as HTMLInputElement, "  Moth in relay 70  ");
    await click(get(root, "confirm-reject"));
    await waitFor(() => !query(root, "approval-g1"), "row gone");
    expect(fake.calls.find((c) => c.command === "decide")?.args).toEqual({
      ids: ["g1"],
      decision: "reject",
      reason: "Moth in relay 70",
    });
    const rejected = fake.entries.find((e) => e.id === "g1");
    expect(rejected?.status).toBe("rejected");
    expect(rejected?.reason).toBe("Moth in relay 70");
    expect(get(root, "message").textContent).toBe("1 entry rejected.");
    expect(query(root, "reject-form")).toBeNull();
  });

  it("lets a rejection be called off with Escape", async () => {
    const { root, fake } = await approvals();
    await click(get(root, "reject-a1"));
    await press(await waitForTestId(root, "reject-reason"), "Escape");
    expect(query(root, "reject-form")).toBeNull();
    expect(query(root, "approval-a1")).not.toBeNull();
    expect(fake.calls.some((c) => c.command === "decide")).toBe(false);
  });

  it("keeps failed entries, naming them and why, in plain words", async () => {
    const { root, fake } = await approvals();
    // Someone else decided a3 in the meantime.
    const a3 = fake.entries.find((e) => e.id === "a3");
    if (a3) a3.status = "rejected";
    await click(get(root, "select-group-dev-ada-2026-11-16"));
    await click(get(root, "select-group-dev-grace-2026-11-23"));
    await click(get(root, "approve-selected"));
    await waitFor(() => !query(root, "approval-g1"), "g1 approved");
    expect(query(root, "approval-a3")).not.toBeNull();
    expect(get(root, "approval-error-a3").textContent).toContain("already rejected");
    const result = get(root, "decision-result").textContent ?? "";
    expect(result).toContain("1 entry approved.");
    expect(result).toContain("1 entry could not be approved: Ada Lovelace, Mon 16 Nov, Engine (4 hours)");
    expect(get(root, "message").getAttribute("role")).toBe("alert");
  });

  it("says so plainly when the whole call is refused", async () => {
    const { root, fake } = await approvals();
    fake.failNext("decide", { code: "forbidden", message: "insufficient_scope", scope: "approve:timesheets" });
    await click(get(root, "approve-a1"));
    await waitFor(() => query(root, "decision-result"), "result");
    expect(get(root, "decision-result").textContent).toContain(
      "Nothing was approved: Not allowed: this needs the approve:timesheets permission",
    );
    expect(query(root, "approval-a1")).not.toBeNull();
  });

  it("is not reachable for an employee, and says why", async () => {
    app = await mountApp("employee");
    const tab = await waitForTestId<HTMLButtonElement>(app.root, "tab-approvals");
    expect(tab.disabled).toBe(true);
    expect(app.root.textContent).toContain("Needs the approve:timesheets permission");
    expect(get(app.root, "permissions").textContent).toBe("View, Add & edit, Delete");
    expect(get(app.root, "user-name").textContent).toBe("Erin Employee");
  });
});

describe("Approvals by keyboard", () => {
  it("puts the focus on the result when the decided row takes the focused button away", async () => {
    const { root } = await approvals();
    const approve = get(root, "approve-g1");
    approve.focus();
    await click(approve);
    await waitFor(() => !query(root, "approval-g1"), "row gone");
    expect(document.activeElement).toBe(get(root, "decision-result"));
  });
});
