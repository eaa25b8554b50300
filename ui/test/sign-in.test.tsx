// @vitest-environment jsdom
import { render } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import { FakeBackend, PERSONAS } from "../src/backend/fake";
import { App } from "../src/ui/App";
import { click, get, mount, press, query, typeInto, waitFor, waitForTestId } from "./dom";

let root: HTMLElement | null = null;
afterEach(() => {
  if (root) {
    render(null, root);
    root.remove();
  }
  root = null;
});

describe("Signing in", () => {
  it("goes through the browser wait, can be cancelled, and ends signed in", async () => {
    const fake = new FakeBackend({ today: "2026-11-25", provider: "example.eu.auth0.com" });
    root = await mount(<App backend={fake} />);
    const button = await waitForTestId<HTMLButtonElement>(root, "sign-in");
    expect(button.textContent).toBe("Sign in with example.eu.auth0.com");

    await click(button);
    const cancel = await waitForTestId(root, "cancel-sign-in");
    expect(root.textContent).toContain("Finish signing in in your browser…");
    await click(cancel);
    await waitForTestId(root, "sign-in");

    await click(get(root, "sign-in"));
    await waitForTestId(root, "cancel-sign-in");
    fake.completeSignIn();
    const name = await waitForTestId(root, "user-name");
    expect(name.textContent).toBe(PERSONAS.employee.name);
    await waitFor(() => query(root!, "week-heading")?.textContent?.startsWith("Week 48"), "week");
  });

  it("shows why a session ended, and the not-remembered notice", async () => {
    const fake = new FakeBackend({ signedIn: true, today: "2026-11-25", remembered: false });
    root = await mount(<App backend={fake} />);
    await waitForTestId(root, "user-name");
    expect(get(root, "not-remembered").textContent).toContain("you will not be remembered after this run");
    fake.endSession("Your sign-in expired or was revoked. Please sign in again.");
    const message = await waitForTestId(root, "message");
    expect(message.getAttribute("role")).toBe("alert");
    expect(message.textContent).toBe("Your sign-in expired or was revoked. Please sign in again.");
    expect(query(root, "sign-in")).not.toBeNull();
    // Signed out, nothing is kept anywhere: "remembered" only speaks of a session.
    expect(query(root, "not-remembered")).toBeNull();
  });

  it("signs out, and shows an offline banner while offline", async () => {
    const fake = new FakeBackend({ signedIn: true, today: "2026-11-25" });
    root = await mount(<App backend={fake} />);
    await waitForTestId(root, "user-name");
    fake.setOffline(true);
    await waitForTestId(root, "offline-banner");
    fake.setOffline(false);
    await waitFor(() => !query(root!, "offline-banner"), "banner gone");
    await click(get(root, "sign-out"));
    await waitForTestId(root, "sign-in");
    expect(fake.calls.some((c) => c.command === "sign_out")).toBe(true);
  });
});

describe("Offline and back", () => {
  it("loads the week that could not be loaded, and resends what failed, once back online", async () => {
    const fake = new FakeBackend({ signedIn: true, today: "2026-11-25" });
    fake.setOffline(true);
    root = await mount(<App backend={fake} />);
    await waitForTestId(root, "offline-banner");
    const error = await waitForTestId(root, "load-error");
    expect(error.textContent).toContain("cannot be reached");

    fake.setOffline(false);
    await waitFor(() => !query(root!, "offline-banner"), "banner gone");
    await waitFor(() => !query(root!, "load-error"), "the week loaded");
    await typeInto(get<HTMLInputElement>(root, "new-project"), "Apollo");
    await click(get(root, "add-row"));

    fake.setOffline(true);
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-23");
    await typeInto(cell, "3");
    await press(cell, "Enter");
    await waitForTestId(root, "retry-Apollo-2026-11-23");
    expect(fake.entries).toHaveLength(0);
    fake.setOffline(false);
    await waitFor(() => fake.entries.length === 1, "resent by itself");
    await waitFor(() => !query(root!, "retry-Apollo-2026-11-23"), "no longer unsaved");
  });
});

describe("A sign-in that will not be remembered", () => {
  it("says why once, in the words the Rust side chose", async () => {
    const why = "Your system keyring did not answer, so you will stay signed in only until you close the app.";
    const fake = new FakeBackend({ signedIn: true, today: "2026-11-25", remembered: false });
    fake.setMessage(why);
    root = await mount(<App backend={fake} />);
    await waitForTestId(root, "user-name");
    expect(get(root, "not-remembered").textContent).toContain(why);
    expect(root.textContent?.split(why)).toHaveLength(2);
    expect(root.textContent).not.toContain("No system keyring answered");
  });
});

describe("Signing out with unsaved changes", () => {
  it("asks first, and keeps the changes for the same person's next sign-in", async () => {
    const fake = new FakeBackend({ signedIn: true, today: "2026-11-25" });
    root = await mount(<App backend={fake} />);
    await waitFor(() => query(root!, "week-heading")?.textContent?.startsWith("Week 48"), "week");
    await waitFor(() => !root!.querySelector('[aria-busy="true"]'), "loaded");
    await typeInto(get<HTMLInputElement>(root, "new-project"), "Apollo");
    await click(get(root, "add-row"));
    fake.failNext("create_entry", { code: "offline", message: "No connection." });
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-23");
    await typeInto(cell, "4");
    await press(cell, "Enter");
    await waitForTestId(root, "retry-Apollo-2026-11-23");

    await click(get(root, "sign-out"));
    expect(root.textContent).toContain("1 change is not saved yet");
    expect(document.activeElement?.textContent).toBe("Cancel");
    expect(fake.calls.some((c) => c.command === "sign_out")).toBe(false);
    await click(get(root, "confirm-sign-out"));
    const kept = await waitForTestId(root, "kept-edits");
    expect(kept.textContent).toContain("1 change that was not saved is kept here");

    await click(get(root, "sign-in"));
    // The browser finishes while the answer to sign_in is still on its way:
    // the pushed session must win over that older answer.
    fake.completeSignIn();
    const retry = await waitForTestId(root, "retry-Apollo-2026-11-23");
    expect(get<HTMLInputElement>(root, "cell-Apollo-2026-11-23").value).toBe("4");
    await click(retry);
    await waitFor(() => fake.entries.length === 1, "saved after signing in again");
  });
});
