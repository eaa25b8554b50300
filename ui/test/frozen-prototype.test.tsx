// @vitest-environment jsdom
/**
 * The window runs with `freezePrototype: true` (tauri.conf.json): Tauri freezes
 * `Object.prototype` before any script of the page runs. Then assigning a property
 * that `Object.prototype` has (`constructor`, `toString`, …) to a plain object
 * throws in strict code (the "override mistake"). Preact 10 did exactly that when
 * it re-rendered a component (it copied a vnode's `constructor: undefined` with
 * `=`), so the first state change threw and the window stayed on "Starting
 * Timesheets…". Preact 11 copies vnodes without it. This file renders and re-renders
 * the screens under the same freeze, so a dependency that brings the problem back
 * fails here rather than in the real window.
 */
import { render } from "preact";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import tauriConf from "../../tauri.conf.json";
import { FakeBackend, makeEntry } from "../src/backend/fake";
import { App } from "../src/ui/App";
import { click, get, mount, mountApp, press, query, typeInto, waitFor, waitForTestId } from "./dom";

let root: HTMLElement | null = null;

beforeAll(() => {
  // Once frozen it stays frozen for this file's worker; each test file has its own.
  Object.freeze(Object.prototype);
});

afterAll(() => {
  if (root) {
    render(null, root);
    root.remove();
  }
});

describe("a frozen Object.prototype, as the window has it", () => {
  it("is what tauri.conf.json asks for", () => {
    expect(tauriConf.app.security.freezePrototype).toBe(true);
    expect(Object.isFrozen(Object.prototype)).toBe(true);
    const plain: Record<string, unknown> = {};
    const key: string = "constructor";
    // The trap itself: this is what Preact 10 did on every re-render.
    expect(() => {
      plain[key] = undefined;
    }).toThrow(TypeError);
  });

  it("lets the app start, sign in, and edit the week", async () => {
    const fake = new FakeBackend({ today: "2026-11-25" });
    root = await mount(<App backend={fake} />);
    await click(await waitForTestId<HTMLButtonElement>(root, "sign-in"));
    await waitForTestId(root, "cancel-sign-in");
    fake.completeSignIn();
    await waitFor(() => query(root!, "week-heading")?.textContent?.startsWith("Week 48"), "week");

    await typeInto(get<HTMLInputElement>(root, "new-project"), "Apollo");
    await click(get(root, "add-row"));
    const cell = await waitForTestId<HTMLInputElement>(root, "cell-Apollo-2026-11-23");
    await typeInto(cell, "7.5");
    await press(cell, "Enter");
    await waitFor(() => get(root!, "total-week").textContent === "7.5", "the saved total");
  });

  it("lets a manager select and approve", async () => {
    const ada = { owner: "dev|ada", owner_name: "Ada Lovelace" };
    const entries = [
      makeEntry({ ...ada, id: "a1", date: "2026-11-23", project: "Apollo", hours: 6.5, status: "submitted" }),
      makeEntry({ ...ada, id: "a2", date: "2026-11-24", project: "Apollo", hours: 8, status: "submitted" }),
    ];
    const app = await mountApp("manager", { entries });
    try {
      await click(await waitForTestId(app.root, "tab-approvals"));
      await waitForTestId(app.root, "approval-a1");
      await click(get(app.root, "select-group-dev-ada-2026-11-23"));
      await click(get(app.root, "approve-selected"));
      await waitFor(() => !query(app.root, "approval-a1") && !query(app.root, "approval-a2"), "rows gone");
      expect(app.fake.entries.every((e) => e.status === "approved")).toBe(true);
    } finally {
      app.unmount();
    }
  });
});
