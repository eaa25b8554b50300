// @vitest-environment jsdom
/**
 * How fast "My week" is with a big week: 100 projects × 5 weekdays = 500 entries,
 * in two weeks in a row, through the fake backend.
 *
 * Measured: the time from the week's entries arriving to every cell showing its
 * hours, one keystroke in a cell, and switching weeks: with a quick answer (the
 * click, which keeps the last week on screen, then the fill) and with a slow one
 * (the "loading" render once the hold is over, then the fill). jsdom on a busy machine is too noisy for a time limit, so the
 * timings are only printed, with `WEEK_SPEED=1`; what the screen shows is
 * always checked.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { act } from "preact/test-utils";
import { PERSONAS } from "../src/backend/fake";
import type { Entry } from "../src/backend/backend";
import { formatQuarters, toQuarters } from "../src/hours";
import { App } from "../src/ui/App";
import { addDays } from "../src/week";
import { HOLD_MS } from "../src/week-store";
import { focus, get, mountForTest, query, waitFor } from "./dom";
import { GatedBackend } from "./gated";

const PROJECTS = Array.from({ length: 100 }, (_, i) => `P${String(i + 1).padStart(3, "0")}`);
const WEEK_48 = "2026-11-23";
const WEEK_49 = "2026-11-30";

/** Monday to Friday of the week of `monday`, every project, hours between 0.25 and 8. */
function bigWeek(monday: string): Entry[] {
  const user = PERSONAS.employee;
  return PROJECTS.flatMap((project, p) =>
    [0, 1, 2, 3, 4].map((d): Entry => {
      const date = addDays(monday, d);
      return {
        id: `${project}-${date}`,
        owner: user.sub,
        owner_name: user.name,
        date,
        project,
        notes: "",
        hours: (((p + d) % 32) + 1) / 4,
        status: "draft",
        decided_by: null,
        decided_at: null,
        created_at: `${date}T09:00:00Z`,
        updated_at: `${date}T09:00:00Z`,
        reason: null,
      };
    }),
  );
}

/** One turn of the event loop, after every pending promise. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Milliseconds `run` takes, its renders and effects included. */
async function timed(run: () => void | Promise<void>): Promise<number> {
  const start = performance.now();
  await act(run);
  return performance.now() - start;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

afterEach(() => {
  vi.useRealTimers();
});

/**
 * Every cell of `entries` shows its hours and can be typed into; the weekend is
 * empty. (One pass over the inputs: 1,200 attribute queries take seconds in jsdom.)
 */
function expectCellsFilled(container: HTMLElement, entries: Entry[], monday: string): void {
  const inputs = [...container.querySelectorAll<HTMLInputElement>("input.cell-input")];
  expect(inputs).toHaveLength(700);
  const shown = new Map(inputs.map((input) => [input.dataset.testid, input]));
  const expected = new Map<string | undefined, string>();
  for (const project of PROJECTS) {
    for (const d of [5, 6]) expected.set(`cell-${project}-${addDays(monday, d)}`, "");
  }
  for (const e of entries) expected.set(`cell-${e.project}-${e.date}`, formatQuarters(toQuarters(e.hours)));
  const wrong = [...expected].filter(([id, hours]) => shown.get(id)?.value !== hours || shown.get(id)?.readOnly);
  expect(wrong).toEqual([]);
  expect(inputs.filter((input) => input.value !== "")).toHaveLength(500);
}

describe("a week of 500 entries", () => {
  it("fills every cell, types into one, and switches weeks", { timeout: 60_000 }, async () => {
    const week48 = bigWeek(WEEK_48);
    const week49 = bigWeek(WEEK_49);
    const fake = new GatedBackend({
      user: { ...PERSONAS.employee, scopes: [...PERSONAS.employee.scopes] },
      signedIn: true,
      today: "2026-11-25",
      entries: [...week48, ...week49],
    });
    fake.hold();
    const el = await mountForTest(<App backend={fake} />);
    await waitFor(() => fake.asked > 0, "the week asked for");
    await waitFor(() => query(el, "week-heading")?.textContent?.startsWith("Week 48"), "week 48 shown");

    // The data arrives: from nothing to 100 rows of 7 cells.
    const fill = await timed(async () => {
      fake.release();
      await nextTurn();
    });
    expectCellsFilled(el, week48, WEEK_48);
    expect(get(el, "total-week").textContent).toBe(
      formatQuarters(week48.reduce((sum, e) => sum + toQuarters(e.hours), 0)),
    );

    // Typing into one cell, a keystroke at a time.
    const wednesday = addDays(WEEK_48, 2);
    const saved = (project: string) => week48.find((e) => e.project === project && e.date === wednesday)!.hours;
    const input = get<HTMLInputElement>(el, `cell-P050-${wednesday}`);
    const rowTotal = get(el, "row-total-P050");
    const before = Number(rowTotal.textContent);
    await focus(input);
    const keystrokes: number[] = [];
    for (const text of ["1", "12", "1", "", "8", "8.", "8.2", "8.25", "8.2", "8.", "8", "8.5"]) {
      keystrokes.push(
        await timed(() => {
          input.value = text;
          input.dispatchEvent(new Event("input", { bubbles: true }));
        }),
      );
      expect(input.value).toBe(text);
    }
    expect(get<HTMLInputElement>(el, `cell-P050-${wednesday}`)).toBe(input);
    expect(input.value).toBe("8.5");
    expect(Number(rowTotal.textContent)).toBe(before - saved("P050") + 8.5);
    expect(get<HTMLInputElement>(el, `cell-P049-${wednesday}`).value).toBe(String(saved("P049")));
    // Put the cell back, so that leaving it sends nothing.
    await act(() => {
      input.value = String(saved("P050"));
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });

    // The next week, not seen yet, answering quickly: week 48 stays (disabled)
    // until week 49's data is in, then the cells change once.
    // The buttons are found before timing: a query of the whole page takes longer than the click.
    const nextButton = get(el, "next-week");
    const prevButton = get(el, "prev-week");
    fake.hold();
    const toNextClick = await timed(() => nextButton.click());
    expect(get(el, "week-heading").textContent).toBe("Week 49 · 30 Nov – 6 Dec 2026");
    expect(get<HTMLFieldSetElement>(el, "grid-fieldset").disabled).toBe(true);
    expect(query(el, `cell-P001-${WEEK_48}`)).not.toBeNull();
    const toNextFill = await timed(async () => {
      fake.release();
      await nextTurn();
    });
    expectCellsFilled(el, week49, WEEK_49);

    // Back to a week whose rows are known, answering slowly: after the hold,
    // its rows while loading, then its data.
    fake.hold();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const backClick = await timed(() => prevButton.click());
    expect(query(el, `cell-P001-${WEEK_49}`)).not.toBeNull();
    const backLoading = await timed(() => {
      vi.advanceTimersByTime(HOLD_MS);
    });
    expect(get<HTMLInputElement>(el, `cell-P001-${WEEK_48}`).value).toBe("");
    vi.useRealTimers();
    const backFill = await timed(async () => {
      fake.release();
      await nextTurn();
    });
    expectCellsFilled(el, week48, WEEK_48);

    if (import.meta.env.WEEK_SPEED === "1") {
      const ms = (n: number) => `${n.toFixed(1)} ms`;
      const typing = `(first ${ms(keystrokes[0] ?? NaN)}, max ${ms(Math.max(...keystrokes))})`;
      console.log(
        [
          "week of 500 entries (jsdom):",
          `  fill 500 cells, first week      ${ms(fill)}`,
          `  one keystroke, median of ${keystrokes.length}     ${ms(median(keystrokes))} ${typing}`,
          `  next week (quick): click        ${ms(toNextClick)}`,
          `  next week (quick): fill         ${ms(toNextFill)}`,
          `  back a week (slow): click       ${ms(backClick)}`,
          `  back a week (slow): loading     ${ms(backLoading)}`,
          `  back a week (slow): fill        ${ms(backFill)}`,
        ].join("\n"),
      );
    }
  });
});
