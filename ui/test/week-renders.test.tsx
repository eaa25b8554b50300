// @vitest-environment jsdom
/**
 * Typing in one cell renders that cell and its row again, not the whole grid;
 * another week reuses the cells of the rows it shares with the last one.
 *
 * Every view made with `memo` (the grid's rows and cells) is wrapped here so
 * that each of its renders is recorded with its props (the views are told apart
 * by their props: names do not survive bundling). A prop that changes on
 * every render (a fresh callback or object) or grid data rebuilt as new objects
 * makes every row render again, and these tests fail.
 *
 * What a cell renders is kept small as well, as a big week creates it hundreds
 * of times: its elements are listed.
 */
import type { FunctionComponent } from "preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Entry } from "../src/backend/backend";
import { makeEntry, PERSONAS } from "../src/backend/fake";
import type { GridCell, GridRow } from "../src/grid";
import { click, get, mountApp, press, query, typeInto, waitFor, waitForTestId, type Mounted } from "./dom";

/** The props of every render of a memoized view, in order. */
const renders = vi.hoisted(() => [] as Record<string, unknown>[]);

vi.mock("../src/ui/memo", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/ui/memo")>();
  return {
    memo<P extends object>(view: FunctionComponent<P>) {
      const counted = (props: P) => {
        renders.push(props as Record<string, unknown>);
        return view(props);
      };
      return original.memo(counted);
    },
  };
});

/** The projects of the rows rendered since `renders` was emptied (a row view is the one given a `row`). */
const rowsRendered = () => renders.flatMap((props) => ("row" in props ? [(props.row as GridRow).project] : []));
/** The keys of the cells rendered since `renders` was emptied (a cell view is the one given a `cell`). */
const cellsRendered = () => renders.flatMap((props) => ("cell" in props ? [(props.cell as GridCell).key] : []));

const PROJECTS = ["Apollo", "Gemini", "Hermes", "Mercury"];
const DAYS = ["2026-11-23", "2026-11-24", "2026-11-25"];

let app: Mounted | null = null;
beforeEach(() => {
  renders.length = 0;
});
afterEach(() => {
  app?.unmount();
  app = null;
});

/** Four projects with hours on three days of week 48, and `more` entries. */
async function bigEnoughWeek(more: Pick<Entry, "date" | "project" | "hours">[] = []): Promise<Mounted> {
  const user = PERSONAS.employee;
  const own = { owner: user.sub, owner_name: user.name };
  const entries = [
    ...PROJECTS.flatMap((project, p) => DAYS.map((date, d) => makeEntry({ ...own, date, project, hours: p + d + 1 }))),
    ...more.map((fields) => makeEntry({ ...own, ...fields })),
  ];
  app = await mountApp("employee", { entries });
  const { root } = app;
  await waitFor(() => query<HTMLInputElement>(root, "cell-Mercury-2026-11-25")?.value === "6", "the week loaded");
  await waitFor(() => !root.querySelector('[aria-busy="true"]'), "done loading");
  return app;
}

describe("the week grid", () => {
  it("renders every row and cell once the week arrives", async () => {
    await bigEnoughWeek();
    expect(new Set(rowsRendered())).toEqual(new Set(PROJECTS));
    expect(new Set(cellsRendered()).size).toBe(PROJECTS.length * 7);
  });

  it("renders only the edited cell and its row for a keystroke", async () => {
    const { root } = await bigEnoughWeek();
    const cell = get<HTMLInputElement>(root, "cell-Gemini-2026-11-24");
    renders.length = 0;
    await typeInto(cell, "7");
    expect(cell.value).toBe("7");
    expect(get(root, "row-total-Gemini").textContent).toBe("13");
    expect(rowsRendered()).toEqual(["Gemini"]);
    expect(cellsRendered()).toEqual(["2026-11-24|Gemini"]);

    renders.length = 0;
    await typeInto(cell, "7.");
    expect(rowsRendered()).toEqual(["Gemini"]);
    expect(cellsRendered()).toEqual(["2026-11-24|Gemini"]);
  });

  it("renders only the edited row while it is saved", async () => {
    const { root, fake } = await bigEnoughWeek();
    const cell = get<HTMLInputElement>(root, "cell-Hermes-2026-11-26");
    await typeInto(cell, "2.5");
    renders.length = 0;
    await press(cell, "Enter"); // saves, and moves to the cell below
    await waitFor(() => query(root, "status-Hermes-2026-11-26"), "saved");
    expect(fake.entries.some((e) => e.project === "Hermes" && e.date === "2026-11-26" && e.hours === 2.5)).toBe(true);
    expect(new Set(rowsRendered())).toEqual(new Set(["Hermes"]));
    expect(new Set(cellsRendered())).toEqual(new Set(["2026-11-26|Hermes"]));
  });

  it("keeps a cell's markup small: a week of 500 entries creates thousands of cells' elements", async () => {
    const { root } = await bigEnoughWeek();
    const elements = (testId: string) => {
      const td = get(root, testId).closest("td")!;
      return [td, ...td.querySelectorAll("*")].map((el) => el.tagName.toLowerCase());
    };
    // Filled, a draft: the input, its delete button and the status badge; icons come from the stylesheet.
    expect(elements("cell-Apollo-2026-11-23")).toEqual(["td", "div", "input", "button", "div", "span"]);
    expect(get(root, "status-Apollo-2026-11-23").textContent).toBe("Draft");
    expect(get(root, "delete-Apollo-2026-11-23").getAttribute("aria-label")).toBe("Delete Apollo, Monday 23 November");
    // Empty: no status line.
    expect(elements("cell-Apollo-2026-11-26")).toEqual(["td", "div", "input"]);
  });

  it("updates a row's cells in place in another week, as they are keyed by weekday", async () => {
    const { root } = await bigEnoughWeek([{ date: "2026-12-01", project: "Apollo", hours: 5 }]);
    await click(get(root, "next-week"));
    const monday = await waitForTestId<HTMLInputElement>(root, "cell-Apollo-2026-11-30");
    await waitFor(() => get<HTMLInputElement>(root, "cell-Apollo-2026-12-01").value === "5", "week 49 loaded");
    await click(get(root, "prev-week"));
    // Week 49 stays on screen until week 48's entries are in.
    await waitFor(() => query<HTMLInputElement>(root, "cell-Apollo-2026-11-24")?.value === "2", "week 48 loaded");
    expect(get(root, "cell-Apollo-2026-11-23")).toBe(monday);
    expect(monday.value).toBe("1");
    expect(monday.getAttribute("aria-label")).toBe("Apollo, Monday 23 November");
  });
});
