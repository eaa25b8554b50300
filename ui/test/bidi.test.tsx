// @vitest-environment jsdom
import { afterEach, describe, expect, it } from "vitest";
import { makeEntry } from "../src/backend/fake";
import { click, mountApp, waitForTestId, type Mounted } from "./dom";

let app: Mounted | null = null;
afterEach(() => {
  app?.unmount();
  app = null;
});

/** A right-to-left override: unisolated, it reverses everything after it on the line. */
const RLO = "\u202e";

/** Every element whose own text includes `value`, and whether it is isolated. */
function isolated(root: HTMLElement, value: string): boolean[] {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const found: boolean[] = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent?.includes(value)) continue;
    const holder = node.parentElement;
    found.push(holder?.tagName === "BDI" && holder.getAttribute("dir") === "auto");
  }
  return found;
}

describe("text people typed", () => {
  it("is shown with dir=auto inside <bdi> on the approval screen and in the header", async () => {
    const name = `Mallory ${RLO}sruoh 8`;
    const project = `Apollo${RLO}X`;
    const notes = `fixed ${RLO}gub`;
    const entries = [
      makeEntry({ owner: "dev|mallory", owner_name: name, id: "m1", date: "2026-11-23", project, notes, hours: 2, status: "submitted" }),
    ];
    app = await mountApp("manager", { entries });
    const tab = await waitForTestId<HTMLButtonElement>(app.root, "tab-approvals");
    await click(tab);
    await waitForTestId(app.root, "approval-m1");
    for (const value of [name, project, notes]) {
      const places = isolated(app.root, value);
      expect(places.length, value).toBeGreaterThan(0);
      expect(places, value).toEqual(places.map(() => true));
    }
    const who = app.root.querySelector("[data-testid=user-name] bdi[dir=auto]");
    expect(who?.textContent).toBeTruthy();
  });

  it("is isolated in the grid's project names", async () => {
    const project = `Apollo${RLO}X`;
    app = await mountApp("employee", {
      entries: [makeEntry({ id: "e1", date: "2026-11-23", project, hours: 2 })],
    });
    await waitForTestId(app.root, `row-total-${project}`);
    const places = isolated(app.root, project);
    expect(places.length).toBeGreaterThan(0);
    expect(places).toEqual(places.map(() => true));
  });
});
