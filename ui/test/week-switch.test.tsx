// @vitest-environment jsdom
/**
 * Switching weeks: the week shown stays on screen, disabled and marked busy,
 * while the next one loads. A quick answer replaces it directly, without the
 * "loading" state (an emptied grid) in between; a slow one shows that state
 * after the hold.
 *
 * The hold's timer is faked, so "quick" and "slow" do not depend on how busy
 * the machine is.
 */
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { makeEntry, PERSONAS } from "../src/backend/fake";
import { App } from "../src/ui/App";
import { HOLD_MS } from "../src/week-store";
import { get, mountForTest, query, waitFor } from "./dom";
import { GatedBackend } from "./gated";

afterEach(() => {
  vi.useRealTimers();
});

/** Week 48 loaded, with Apollo's hours on Tuesday; week 49 has Apollo and Hermes. */
async function week48() {
  const user = PERSONAS.employee;
  const own = { owner: user.sub, owner_name: user.name };
  const fake = new GatedBackend({
    user: { ...user, scopes: [...user.scopes] },
    signedIn: true,
    today: "2026-11-25",
    entries: [
      makeEntry({ ...own, date: "2026-11-24", project: "Apollo", hours: 6 }),
      makeEntry({ ...own, date: "2026-12-01", project: "Apollo", hours: 5 }),
      makeEntry({ ...own, date: "2026-12-02", project: "Hermes", hours: 2 }),
    ],
  });
  const el = await mountForTest(<App backend={fake} />);
  await waitFor(() => query<HTMLInputElement>(el, "cell-Apollo-2026-11-24")?.value === "6", "week 48 loaded");
  await waitFor(() => !el.querySelector('[aria-busy="true"]'), "done loading");
  return { el, fake };
}

/**
 * Every text the page shows from now on, including ones shown only for a moment
 * (a text changed or removed again is still in the records).
 */
function watchTexts(el: HTMLElement): () => string[] {
  const texts: string[] = [];
  const collect = (records: MutationRecord[]) => {
    for (const record of records) {
      if (record.oldValue !== null) texts.push(record.oldValue);
      for (const node of [...record.addedNodes, ...record.removedNodes]) texts.push(node.textContent ?? "");
    }
  };
  const observer = new MutationObserver(collect);
  observer.observe(el, { subtree: true, childList: true, characterData: true, characterDataOldValue: true });
  return () => {
    collect(observer.takeRecords());
    observer.disconnect();
    return texts;
  };
}

/** Lets the backend's answer and the renders it causes happen, without moving the faked clock. */
async function answer(fake: GatedBackend): Promise<void> {
  await act(async () => {
    fake.release();
    for (let i = 0; i < 20; i++) await Promise.resolve();
  });
}

/** The week still shown: its cells, disabled, in a table marked busy. */
function expectWeek48Held(el: HTMLElement): void {
  const table = el.querySelector("table")!;
  expect(table.getAttribute("aria-busy")).toBe("true");
  expect(table.querySelector("caption")?.textContent).toContain("Week 48");
  expect(get<HTMLFieldSetElement>(el, "grid-fieldset").disabled).toBe(true);
  const cell = get<HTMLInputElement>(el, "cell-Apollo-2026-11-24");
  expect(cell.value).toBe("6");
  expect(cell.matches(":disabled")).toBe(true);
  expect(get<HTMLInputElement>(el, "new-project").disabled).toBe(true);
  expect(get(el, "total-week").textContent).toBe("6");
}

describe("switching weeks", () => {
  it("goes straight to the next week when it answers within the hold", async () => {
    const { el, fake } = await week48();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    fake.hold();
    const texts = watchTexts(el);

    await act(() => get(el, "next-week").click());
    // The heading follows the click at once; the grid waits for the data.
    expect(get(el, "week-heading").textContent).toBe("Week 49 · 30 Nov – 6 Dec 2026");
    expectWeek48Held(el);
    expect(el.querySelector(".toolbar-status")?.textContent).toBe("");

    await answer(fake);
    const table = el.querySelector("table")!;
    expect(table.getAttribute("aria-busy")).toBe("false");
    expect(table.querySelector("caption")?.textContent).toContain("Week 49");
    expect(get<HTMLFieldSetElement>(el, "grid-fieldset").disabled).toBe(false);
    expect(query(el, "cell-Apollo-2026-11-24")).toBeNull();
    expect(get<HTMLInputElement>(el, "cell-Apollo-2026-12-01").value).toBe("5");
    expect(get<HTMLInputElement>(el, "cell-Hermes-2026-12-02").value).toBe("2");
    expect(get<HTMLInputElement>(el, "cell-Hermes-2026-12-02").matches(":disabled")).toBe(false);
    expect(get(el, "total-week").textContent).toBe("7");

    // Never the loading state: no "Loading…", no dash for a total not known yet.
    const shown = texts();
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.filter((text) => text.includes("Loading") || text === "—")).toEqual([]);
  });

  it("shows the loading state once the answer takes longer than the hold", async () => {
    const { el, fake } = await week48();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    fake.hold();

    await act(() => get(el, "next-week").click());
    await act(() => {
      vi.advanceTimersByTime(HOLD_MS - 1);
    });
    expectWeek48Held(el);

    await act(() => {
      vi.advanceTimersByTime(1);
    });
    const table = el.querySelector("table")!;
    expect(table.getAttribute("aria-busy")).toBe("true");
    expect(table.querySelector("caption")?.textContent).toContain("Week 49");
    expect(get<HTMLFieldSetElement>(el, "grid-fieldset").disabled).toBe(false);
    expect(query(el, "cell-Apollo-2026-11-24")).toBeNull();
    expect(table.querySelector(".empty-row")?.textContent).toBe("Loading…");
    expect(el.querySelector(".toolbar-status")?.textContent).toContain("Loading…");
    expect(get(el, "total-week").textContent).toBe("—");

    await answer(fake);
    expect(table.getAttribute("aria-busy")).toBe("false");
    expect(get<HTMLInputElement>(el, "cell-Apollo-2026-12-01").value).toBe("5");
    expect(get(el, "total-week").textContent).toBe("7");
  });
});
