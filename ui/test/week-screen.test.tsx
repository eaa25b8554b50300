// @vitest-environment jsdom
import { afterEach, describe, expect, it } from "vitest";
import { makeEntry, PERSONAS } from "../src/backend/fake";
import {
  click,
  describedText,
  focus,
  get,
  mountApp,
  press,
  query,
  settle,
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

const own = (fields: Parameters<typeof makeEntry>[0]) =>
  makeEntry({ owner: PERSONAS.employee.sub, owner_name: PERSONAS.employee.name, ...fields });

async function weekWith(
  entries = [own({ date: "2026-11-24", project: "Apollo", hours: 6 })],
  persona: "employee" | "auditor" | "manager" = "employee",
) {
  const owned = entries.map((e) => ({ ...e, owner: PERSONAS[persona].sub }));
  app = await mountApp(persona, { entries: owned });
  await waitFor(() => query(app!.root, "week-heading")?.textContent?.startsWith("Week 48"), "week 48");
  await waitFor(
    () => app!.fake.calls.some((c) => c.command === "list_entries") && !app!.root.querySelector('[aria-busy="true"]'),
    "loaded",
  );
  return app;
}

describe("Submitting the week", () => {
  it("sends the drafts, locks them, and takes them back on withdrawal", async () => {
    const { root, fake } = await weekWith([
      own({ date: "2026-11-23", project: "Apollo", hours: 7.5 }),
      own({ date: "2026-11-24", project: "Apollo", hours: 6 }),
    ]);
    expect(get(root, "week-state").textContent).toContain("Not submitted");
    const withdraw = get<HTMLButtonElement>(root, "withdraw-week");
    expect(withdraw.disabled).toBe(true);
    await click(get(root, "submit-week"));
    await waitFor(() => get(root, "status-Apollo-2026-11-23").textContent === "Submitted", "submitted");
    expect(fake.calls.filter((c) => c.command === "submit_week").map((c) => c.args)).toEqual([{ monday: "2026-11-23" }]);
    expect(fake.entries.every((e) => e.status === "submitted")).toBe(true);
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-23");
    expect(cell.readOnly).toBe(true);
    expect(query(root, "delete-Apollo-2026-11-23")).toBeNull();
    expect(get<HTMLButtonElement>(root, "submit-week").disabled).toBe(true);
    expect(get(root, "week-state").textContent).toContain("Submitted");
    expect(get(root, "message").textContent).toBe("Submitted the week for approval (2 entries).");

    await click(get(root, "withdraw-week"));
    await waitFor(() => get(root, "status-Apollo-2026-11-23").textContent === "Draft", "withdrawn");
    expect(get<HTMLInputElement>(root, "cell-Apollo-2026-11-23").readOnly).toBe(false);
    expect(get<HTMLButtonElement>(root, "submit-week").disabled).toBe(false);
  });

  it("shows a rejection's reason at its cell and in a notice, until the entry is fixed", async () => {
    const reason = "Hermes was paused: which project?";
    const { root } = await weekWith([
      own({ date: "2026-11-23", project: "Hermes", hours: 4, status: "rejected", decided_by: "dev|lead", reason }),
    ]);
    expect(get(root, "reason-Hermes-2026-11-23").textContent).toContain(reason);
    expect(get(root, "rejected-notice").textContent).toContain(reason);
    const cell = get<HTMLInputElement>(root, "cell-Hermes-2026-11-23");
    expect(describedText(cell)).toContain(reason);
    expect(get<HTMLButtonElement>(root, "submit-week").disabled).toBe(false);
    await typeInto(cell, "2");
    await press(cell, "Enter");
    await waitFor(() => query(root, "rejected-notice") === null, "the notice goes with the fix");
    expect(get(root, "status-Hermes-2026-11-23").textContent).toBe("Draft");
  });

  it("does not submit while a change is unsaved, and says why", async () => {
    const { root, fake } = await weekWith([own({ date: "2026-11-23", project: "Apollo", hours: 1 })]);
    fake.failNext("update_entry", { code: "offline", message: "The timesheet service cannot be reached." });
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-23");
    await typeInto(cell, "2");
    await press(cell, "Enter");
    await waitForTestId(root, "unsaved-bar");
    const submit = get<HTMLButtonElement>(root, "submit-week");
    expect(submit.disabled).toBe(true);
    expect(submit.title).toContain("not saved");
  });

  it("shows the week's total against the server's weekly target", async () => {
    const { root, fake } = await weekWith([
      own({ date: "2026-11-23", project: "Apollo", hours: 7.5 }),
      own({ date: "2026-11-24", project: "Apollo", hours: 8 }),
    ]);
    await waitForTestId(root, "week-target");
    expect(get(root, "week-target").textContent).toBe("15.5 of 40 h · 24.5 h to go");
    const bar = root.querySelector<HTMLProgressElement>('[data-testid="week-target"] progress')!;
    expect([bar.max, bar.value]).toEqual([160, 62]);
    expect(bar.getAttribute("aria-label")).toBe("15.5 of 40 expected hours this week");
    expect(fake.calls.filter((c) => c.command === "settings")).toHaveLength(1);
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-25");
    await typeInto(cell, "24");
    await press(cell, "Enter");
    await waitFor(() => get(root, "week-target").textContent === "39.5 of 40 h · 0.5 h to go", "the target follows");
  });

  it("copies last week's rows, and with its hours as drafts into the cells still empty", async () => {
    const { root, fake } = await weekWith([
      own({ date: "2026-11-16", project: "Apollo", hours: 7.5, status: "approved" }),
      own({ date: "2026-11-17", project: "Apollo", hours: 2 }),
      own({ date: "2026-11-17", project: "Apollo", hours: 1 }),
      own({ date: "2026-11-18", project: "Zeus", hours: 4 }),
      // Already filled this week: kept as it is.
      own({ date: "2026-11-23", project: "Apollo", hours: 5 }),
    ]);
    await click(get(root, "copy-rows"));
    await waitForTestId(root, "cell-Zeus-2026-11-25");
    expect(get<HTMLInputElement>(root, "cell-Zeus-2026-11-25").value).toBe("");
    expect(fake.calls.some((c) => c.command === "create_entry")).toBe(false);

    await click(get(root, "copy-hours"));
    await waitFor(() => query(root, "status-Zeus-2026-11-25")?.textContent === "Draft", "Zeus copied");
    await waitFor(() => query(root, "status-Apollo-2026-11-24")?.textContent === "Draft", "Apollo copied");
    expect(get<HTMLInputElement>(root, "cell-Apollo-2026-11-23").value).toBe("5");
    expect(get<HTMLInputElement>(root, "cell-Apollo-2026-11-24").value).toBe("3");
    expect(get<HTMLInputElement>(root, "cell-Zeus-2026-11-25").value).toBe("4");
    const created = fake.calls.filter((c) => c.command === "create_entry").map((c) => c.args.entry);
    expect(created).toEqual([
      { date: "2026-11-24", project: "Apollo", notes: "", hours: 3 },
      { date: "2026-11-25", project: "Zeus", notes: "", hours: 4 },
    ]);
    expect(get(root, "week-target").textContent).toContain("12 of 40 h");
  });

  it("is not offered without create:timesheets", async () => {
    const { root } = await weekWith([own({ date: "2026-11-23", project: "Apollo", hours: 1 })], "auditor");
    const submit = get<HTMLButtonElement>(root, "submit-week");
    expect(submit.disabled).toBe(true);
    expect(describedText(submit)).toContain("create:timesheets");
  });
});

describe("My week", () => {
  it("shows the ISO week of today with a real table, labelled cells and totals", async () => {
    const { root } = await weekWith([
      own({ date: "2026-11-23", project: "Apollo", hours: 7.5, status: "approved" }),
      own({ date: "2026-11-24", project: "Apollo", hours: 0.25 }),
      own({ date: "2026-11-24", project: "Hermes", hours: 2 }),
    ]);
    expect(get(root, "week-heading").textContent).toBe("Week 48 · 23–29 Nov 2026");
    const table = root.querySelector("table")!;
    expect(table.querySelector("caption")?.textContent).toContain("Week 48");
    expect([...table.querySelectorAll('thead th[scope="col"]')].map((th) => th.textContent)).toEqual([
      "Project",
      "Mon23 Nov",
      "Tue24 Nov",
      "Wed25 NovToday",
      "Thu26 Nov",
      "Fri27 Nov",
      "Sat28 Nov",
      "Sun29 Nov",
      "Total",
    ]);
    expect([...table.querySelectorAll('tbody th[scope="row"]')].map((th) => th.textContent)).toEqual([
      "Apollo",
      "Hermes",
    ]);
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-23");
    expect(cell.getAttribute("aria-label")).toBe("Apollo, Monday 23 November");
    expect(cell.getAttribute("inputmode")).toBe("decimal");
    expect(cell.value).toBe("7.5");
    expect(cell.readOnly).toBe(true); // approved
    expect(get(root, "status-Apollo-2026-11-23").textContent).toBe("Approved");
    expect(get(root, "status-Apollo-2026-11-24").textContent).toBe("Draft");
    expect(get(root, "total-2026-11-24").textContent).toBe("2.25");
    expect(get(root, "row-total-Apollo").textContent).toBe("7.75");
    expect(get(root, "total-week").textContent).toBe("9.75");
  });

  it("saves a typed value with Enter, moves down, and updates the totals", async () => {
    const { root, fake } = await weekWith([
      own({ date: "2026-11-24", project: "Apollo", hours: 6 }),
      own({ date: "2026-11-24", project: "Hermes", hours: 1 }),
    ]);
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-25");
    await typeInto(cell, "7.5");
    await press(cell, "Enter");
    expect(document.activeElement).toBe(get(root, "cell-Hermes-2026-11-25"));
    await waitFor(() => query(root, "status-Apollo-2026-11-25"), "saved status");
    expect(fake.entries.find((e) => e.date === "2026-11-25")?.hours).toBe(7.5);
    expect(get(root, "total-2026-11-25").textContent).toBe("7.5");
    expect(get(root, "total-week").textContent).toBe("14.5");
  });

  it("keeps a failed save visible, marked unsaved, with Retry that reuses the idempotency key", async () => {
    const { root, fake } = await weekWith();
    fake.failNext("create_entry", { code: "offline", message: "The timesheet service cannot be reached." });
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-26");
    await typeInto(cell, "3");
    await press(cell, "Enter");
    const retry = await waitForTestId(root, "retry-Apollo-2026-11-26");
    expect(cell.value).toBe("3");
    expect(cell.closest("td")?.textContent).toContain("Unsaved");
    expect(get(root, "unsaved-bar").textContent).toContain("The timesheet service cannot be reached.");
    expect(get(root, "message").textContent).toContain("is not saved");
    expect(get(root, "total-week").textContent).toBe("9"); // the typed value still counts

    await click(retry);
    await waitFor(() => !query(root, "retry-Apollo-2026-11-26"), "retry done");
    expect(query(root, "unsaved-bar")).toBeNull();
    const keys = fake.calls.filter((c) => c.command === "create_entry").map((c) => c.args.idempotencyKey);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    expect(fake.entries.filter((e) => e.date === "2026-11-26")).toHaveLength(1);
  });

  it("marks invalid input and sends nothing; Escape reverts the cell", async () => {
    const { root, fake } = await weekWith();
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-24");
    await typeInto(cell, "6.3");
    await press(cell, "Enter");
    expect(cell.getAttribute("aria-invalid")).toBe("true");
    expect(describedText(cell)).toContain(".25");
    expect(document.activeElement).toBe(cell); // stays on the invalid cell
    expect(fake.calls.some((c) => c.command === "update_entry")).toBe(false);
    await press(cell, "Escape");
    expect(cell.value).toBe("6");
    expect(cell.hasAttribute("aria-invalid")).toBe(false);
  });

  it("deletes an entry by clearing the cell or with its delete button", async () => {
    const { root, fake } = await weekWith([
      own({ date: "2026-11-24", project: "Apollo", hours: 6 }),
      own({ date: "2026-11-25", project: "Apollo", hours: 2 }),
    ]);
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-24");
    await typeInto(cell, "");
    await focus(get(root, "cell-Apollo-2026-11-25")); // leaving the cell commits it
    await waitFor(() => fake.entries.length === 1, "first delete");
    await click(get(root, "delete-Apollo-2026-11-25"));
    await waitFor(() => fake.entries.length === 0, "second delete");
    expect(query(root, "delete-Apollo-2026-11-25")).toBeNull();
    expect(document.activeElement).toBe(get(root, "cell-Apollo-2026-11-25")); // not lost with the button
    await waitFor(() => get(root, "total-week").textContent === "0", "totals");
  });

  it("moves between cells with the arrow keys", async () => {
    const { root } = await weekWith([
      own({ date: "2026-11-24", project: "Apollo", hours: 6 }),
      own({ date: "2026-11-24", project: "Hermes", hours: 1 }),
    ]);
    const start = get<HTMLInputElement>(root, "cell-Apollo-2026-11-24");
    await focus(start);
    start.setSelectionRange(0, start.value.length);
    await press(start, "ArrowRight");
    expect(document.activeElement).toBe(get(root, "cell-Apollo-2026-11-25"));
    await press(document.activeElement as HTMLElement, "ArrowDown");
    expect(document.activeElement).toBe(get(root, "cell-Hermes-2026-11-25"));
    await press(document.activeElement as HTMLElement, "ArrowLeft");
    expect(document.activeElement).toBe(get(root, "cell-Hermes-2026-11-24"));
    await press(document.activeElement as HTMLElement, "ArrowUp");
    expect(document.activeElement).toBe(start);
  });

  it("adds a row and moves between weeks", async () => {
    const { root, fake } = await weekWith();
    await typeInto(get<HTMLInputElement>(root, "new-project"), "x".repeat(101));
    await click(get(root, "add-row"));
    expect(root.querySelector("#new-project-error")?.textContent).toContain("100");
    await typeInto(get<HTMLInputElement>(root, "new-project"), "Zeus");
    await click(get(root, "add-row"));
    expect(query(root, "cell-Zeus-2026-11-23")).not.toBeNull();
    expect(get(root, "row-total-Zeus").textContent).toBe("0");

    await click(get(root, "next-week"));
    await waitFor(() => get(root, "week-heading").textContent === "Week 49 · 30 Nov – 6 Dec 2026", "next week");
    await click(get(root, "prev-week"));
    await click(get(root, "prev-week"));
    await waitFor(() => get(root, "week-heading").textContent === "Week 47 · 16–22 Nov 2026", "previous week");
    await click(get(root, "this-week"));
    await waitFor(() => get(root, "week-heading").textContent?.startsWith("Week 48"), "this week");
    expect(fake.calls.filter((c) => c.command === "list_entries").map((c) => c.args.from)).toContain("2026-11-30");
  });

  it("shows the auditor disabled controls that say which permission is missing", async () => {
    const { root, fake } = await weekWith([own({ date: "2026-11-24", project: "Apollo", hours: 6 })], "auditor");
    expect(get(root, "permissions").textContent).toBe("View");
    const addRow = get<HTMLButtonElement>(root, "add-row");
    expect(addRow.disabled).toBe(true);
    expect(describedText(addRow)).toContain("Needs the create:timesheets permission");
    expect(get<HTMLInputElement>(root, "new-project").disabled).toBe(true);

    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-24");
    expect(cell.readOnly).toBe(true);
    expect(describedText(cell)).toContain("Needs the create:timesheets permission");
    const del = get<HTMLButtonElement>(root, "delete-Apollo-2026-11-24");
    expect(del.disabled).toBe(true);
    expect(describedText(del)).toContain("Needs the delete:timesheets permission");

    const approvals = get<HTMLButtonElement>(root, "tab-approvals");
    expect(approvals.disabled).toBe(true);
    expect(describedText(approvals)).toBe("Needs the approve:timesheets permission");

    await typeInto(cell, "8");
    await press(cell, "Enter");
    await settle();
    expect(fake.calls.some((c) => c.command === "update_entry")).toBe(false);
  });

  it("says plainly when the backend answers forbidden anyway", async () => {
    const { root, fake } = await weekWith();
    fake.failNext("update_entry", { code: "forbidden", message: "insufficient_scope", scope: "create:timesheets" });
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-24");
    await typeInto(cell, "5");
    await press(cell, "Enter");
    const message = await waitFor(
      () => query(root, "message")?.textContent?.includes("Not allowed") && get(root, "message"),
      "forbidden message",
    );
    expect(message.getAttribute("role")).toBe("alert");
    expect(message.textContent).toContain("create:timesheets permission");
    expect(cell.value).toBe("5");
  });

  it("shows the several entries of one cell as a read-only sum with a note", async () => {
    const { root } = await weekWith([
      own({ date: "2026-11-24", project: "Apollo", hours: 2 }),
      own({ date: "2026-11-24", project: "Apollo", hours: 1.25 }),
    ]);
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-24");
    expect(cell.value).toBe("3.25");
    expect(cell.readOnly).toBe(true);
    expect(cell.closest("td")?.textContent).toContain("2 entries");
  });
});
