// @vitest-environment jsdom
import { render } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import { FakeBackend, makeEntry, PERSONAS, UNAVAILABLE_MESSAGE } from "../src/backend/fake";
import { App } from "../src/ui/App";
import { CANNOT_VERIFY, OFFLINE } from "../src/ui/Notices";
import { click, get, mount, press, query, settle, typeInto, waitFor, waitForTestId } from "./dom";

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

describe("A server that cannot verify sign-ins", () => {
  it("shows its own banner, not the offline one, and the offline one only when offline", async () => {
    const fake = new FakeBackend({ signedIn: true, today: "2026-11-25" });
    root = await mount(<App backend={fake} />);
    await waitForTestId(root, "user-name");
    expect(query(root, "cannot-verify-banner")).toBeNull();
    // The live region is there before any banner, so a banner that appears is heard.
    const live = get(root, "connection-status");
    expect(live.getAttribute("role")).toBe("status");

    fake.setCannotVerify(true);
    const banner = await waitForTestId(root, "cannot-verify-banner");
    expect(banner.textContent?.trim()).toBe(CANNOT_VERIFY);
    expect(CANNOT_VERIFY).toBe(
      "The timesheet server can't verify sign-ins right now. This is a problem with the server's setup, not your connection. Your changes stay here, marked unsaved; the app keeps trying and saves them again when it can.",
    );
    expect(banner.parentElement).toBe(live);
    expect(query(root, "offline-banner")).toBeNull();
    expect(root.textContent).not.toContain(OFFLINE);

    fake.setCannotVerify(false);
    await waitFor(() => !query(root!, "cannot-verify-banner"), "banner gone");
    fake.setOffline(true);
    const offline = await waitForTestId(root, "offline-banner");
    expect(offline.parentElement).toBe(live);
    expect(query(root, "cannot-verify-banner")).toBeNull();
    expect(root.textContent).not.toContain(CANNOT_VERIFY);

    // Two different facts: both are said.
    fake.setCannotVerify(true);
    await waitForTestId(root, "cannot-verify-banner");
    expect(query(root, "offline-banner")).not.toBeNull();
  });

  it("keeps an edit that failed with unavailable as unsaved, and saves it once sign-ins verify again", async () => {
    const fake = new FakeBackend({ signedIn: true, today: "2026-11-25" });
    root = await mount(<App backend={fake} />);
    await waitFor(() => query(root!, "week-heading")?.textContent?.startsWith("Week 48"), "week");
    await waitFor(() => !root!.querySelector('[aria-busy="true"]'), "loaded");
    await typeInto(get<HTMLInputElement>(root, "new-project"), "Apollo");
    await click(get(root, "add-row"));

    fake.setCannotVerify(true);
    await waitForTestId(root, "cannot-verify-banner");
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-23");
    await typeInto(cell, "3");
    await press(cell, "Enter");
    await waitForTestId(root, "retry-Apollo-2026-11-23");
    expect(fake.entries).toHaveLength(0);
    // Not reverted: the cell still shows what was typed, and the bar lists it with the server's words.
    expect(get<HTMLInputElement>(root, "cell-Apollo-2026-11-23").value).toBe("3");
    expect(get(root, "unsaved-bar").textContent).toContain(UNAVAILABLE_MESSAGE);
    const creates = () => fake.calls.filter((c) => c.command === "create_entry").length;
    expect(creates()).toBe(1);

    fake.setCannotVerify(false);
    await waitFor(() => fake.entries.length === 1, "resent by itself");
    await waitFor(() => !query(root!, "retry-Apollo-2026-11-23"), "no longer unsaved");
    expect(fake.entries[0]).toMatchObject({ project: "Apollo", date: "2026-11-23", hours: 3 });
    expect(creates()).toBe(2);
  });

  it("says so when it resends, and loads a week whose load failed with unavailable", async () => {
    const fake = new FakeBackend({
      signedIn: true,
      today: "2026-11-25",
      entries: [makeEntry({ date: "2026-11-24", project: "Hermes", hours: 2 })],
    });
    fake.setCannotVerify(true);
    root = await mount(<App backend={fake} />);
    await waitForTestId(root, "cannot-verify-banner");
    const error = await waitForTestId(root, "load-error");
    expect(error.textContent).toContain(UNAVAILABLE_MESSAGE);

    fake.setCannotVerify(false);
    await waitFor(() => !query(root!, "load-error"), "the week loaded");
    await waitForTestId(root, "cell-Hermes-2026-11-24");

    fake.setCannotVerify(true);
    const cell = get<HTMLInputElement>(root, "cell-Hermes-2026-11-24");
    await typeInto(cell, "5");
    await press(cell, "Enter");
    await waitForTestId(root, "retry-Hermes-2026-11-24");

    // Everything the status line says from here on (the save's own report follows quickly).
    const heard: string[] = [];
    const statusLine = root.querySelector<HTMLElement>('.status-bar [role="status"]')!;
    const observer = new MutationObserver(() => heard.push(statusLine.textContent ?? ""));
    observer.observe(statusLine, { childList: true, subtree: true, characterData: true });
    fake.setCannotVerify(false);
    await waitFor(() => fake.entries[0]?.hours === 5, "resent by itself");
    await waitFor(() => heard.some((t) => t.startsWith("Saved Hermes")), "the save is reported");
    observer.disconnect();
    expect(heard).toContain("The timesheet server verifies sign-ins again: saving your unsaved changes…");
    expect(heard.some((t) => t.startsWith("Back online"))).toBe(false);
  });

  it("resends only once both the network and the server's sign-in checks are back", async () => {
    const fake = new FakeBackend({ signedIn: true, today: "2026-11-25" });
    root = await mount(<App backend={fake} />);
    await waitFor(() => !root!.querySelector('[aria-busy="true"]'), "loaded");
    await typeInto(get<HTMLInputElement>(root, "new-project"), "Apollo");
    await click(get(root, "add-row"));

    fake.setCannotVerify(true);
    const cell = get<HTMLInputElement>(root, "cell-Apollo-2026-11-23");
    await typeInto(cell, "2");
    await press(cell, "Enter");
    await waitForTestId(root, "retry-Apollo-2026-11-23");
    const creates = () => fake.calls.filter((c) => c.command === "create_entry").length;

    // Back online, but the server still cannot verify sign-ins: nothing is resent.
    fake.setOffline(true);
    await settle(20);
    fake.setOffline(false);
    await settle(20);
    expect(creates()).toBe(1);

    // Sign-ins verified again, but now offline: still nothing.
    fake.setOffline(true);
    await settle(20);
    fake.setCannotVerify(false);
    await settle(20);
    expect(creates()).toBe(1);
    expect(query(root, "retry-Apollo-2026-11-23")).not.toBeNull();

    fake.setOffline(false);
    await waitFor(() => fake.entries.length === 1, "resent once healthy");
    expect(creates()).toBe(2);
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
