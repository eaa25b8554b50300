/** Helpers for the DOM tests: mount the app on a fake backend, find, type, press, wait. */
import { render, type ComponentChild } from "preact";
import { act } from "preact/test-utils";
import { onTestFinished } from "vitest";
import { FakeBackend, PERSONAS, type FakeOptions, type PersonaName } from "../src/backend/fake";
import { App } from "../src/ui/App";

export interface Mounted {
  root: HTMLElement;
  fake: FakeBackend;
  unmount: () => void;
}

export async function mount(ui: ComponentChild): Promise<HTMLElement> {
  const root = document.createElement("div");
  document.body.appendChild(root);
  await act(() => {
    render(ui, root);
  });
  return root;
}

/** Takes down what `mount` rendered into `root`. */
export function unmount(root: HTMLElement): void {
  render(null, root);
  root.remove();
}

/** `mount`, taken down again when the running test finishes. */
export async function mountForTest(ui: ComponentChild): Promise<HTMLElement> {
  const root = await mount(ui);
  onTestFinished(() => unmount(root));
  return root;
}

/** The app, signed in as `persona` on 25 Nov 2026 (week 48), on a fake backend. */
export async function mountApp(persona: PersonaName, options: FakeOptions = {}): Promise<Mounted> {
  const user = PERSONAS[persona];
  const fake = new FakeBackend({
    user: { ...user, scopes: [...user.scopes] },
    signedIn: true,
    today: "2026-11-25",
    ...options,
  });
  const root = await mount(<App backend={fake} />);
  return {
    root,
    fake,
    unmount: () => unmount(root),
  };
}

const quote = (s: string) => s.replace(/["\\]/g, "\\$&");

export function query<T extends HTMLElement = HTMLElement>(root: ParentNode, testId: string): T | null {
  return root.querySelector<T>(`[data-testid="${quote(testId)}"]`);
}

export function get<T extends HTMLElement = HTMLElement>(root: ParentNode, testId: string): T {
  const el = query<T>(root, testId);
  if (!el) throw new Error(`No element with data-testid="${testId}"`);
  return el;
}

/** Lets promises, timers and renders settle. */
export async function settle(ms = 0): Promise<void> {
  await act(async () => {
    await new Promise((r) => setTimeout(r, ms));
  });
}

/** Waits until `probe` returns something truthy. */
export async function waitFor<T>(
  probe: () => T | null | undefined | false,
  what = "condition",
  timeoutMs = 2000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await settle(5);
  }
}

export async function waitForTestId<T extends HTMLElement = HTMLElement>(root: ParentNode, testId: string): Promise<T> {
  return waitFor(() => query<T>(root, testId), `data-testid="${testId}"`);
}

export async function click(el: HTMLElement): Promise<void> {
  await act(() => {
    el.click();
  });
}

export async function focus(el: HTMLElement): Promise<void> {
  await act(() => {
    el.focus();
  });
}

/** Focuses the input and types `text` as its whole new value. */
export async function typeInto(input: HTMLInputElement, text: string): Promise<void> {
  await act(() => {
    input.focus();
    input.value = text;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

export async function press(el: HTMLElement, key: string, init: KeyboardEventInit = {}): Promise<void> {
  await act(() => {
    el.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init }));
  });
}

export function describedText(el: HTMLElement): string {
  const ids = (el.getAttribute("aria-describedby") ?? "").split(/\s+/).filter(Boolean);
  return ids.map((id) => document.getElementById(id)?.textContent ?? "").join(" ");
}
