/**
 * Picks the Backend: the Tauri one inside the desktop window, else the in-memory
 * fake (a plain browser during `npm run dev`). Each is loaded only when picked.
 *
 * In a plain browser the fake reads a few settings from the address, e.g.
 * `?as=manager`, `?as=auditor`, `?signedIn=0`, `?offline=1`, `?cannotVerify=1`
 * (the server answers but cannot verify sign-ins), `?failSaves=1`, `?latency=800`,
 * `?notRemembered=1`.
 */
import type { Backend } from "./backend";

declare global {
  interface Window {
    __TAURI_INTERNALS__?: unknown;
  }
}

export function inTauri(): boolean {
  return typeof window !== "undefined" && window.__TAURI_INTERNALS__ !== undefined;
}

export async function createBackend(): Promise<Backend> {
  if (inTauri()) {
    const { TauriBackend } = await import("./tauri");
    return new TauriBackend();
  }
  const { FakeBackend, PERSONAS, localToday, seedEntries } = await import("./fake");
  const params = new URLSearchParams(window.location.search);
  const persona = params.get("as");
  const user =
    persona === "manager" || persona === "auditor" || persona === "employee" ? PERSONAS[persona] : PERSONAS.employee;
  const today = params.get("today") ?? localToday();
  const fake = new FakeBackend({
    user: { ...user, scopes: [...user.scopes] },
    signedIn: params.get("signedIn") !== "0",
    today,
    entries: seedEntries(today),
    latencyMs: Number(params.get("latency") ?? 350),
    signInAfterMs: 2500,
    remembered: params.get("notRemembered") !== "1",
  });
  if (params.get("offline") === "1") fake.setOffline(true);
  if (params.get("cannotVerify") === "1") fake.setCannotVerify(true);
  if (params.get("failSaves") === "1") {
    const offline = {
      code: "offline",
      message: "The timesheet service cannot be reached. Check your connection.",
    } as const;
    for (const command of ["create_entry", "update_entry", "delete_entry"] as const)
      fake.failNext(command, offline, Infinity);
  }
  return fake;
}
