/**
 * What the front end needs from the desktop app, as one interface (STYLE.md §4).
 *
 * Screens receive a `Backend` and never import Tauri: `tauri.ts` implements it with
 * the app's commands, `fake.ts` in memory for tests and for a plain browser.
 * Every method rejects with an {@link AppError} only.
 */
import type { AppErrorData } from "./errors";

export type { AppErrorData, ErrorCode } from "./errors";
export { AppError } from "./errors";

/** A timesheet permission the authorization server can grant. */
export type Scope = "read:timesheets" | "create:timesheets" | "delete:timesheets" | "approve:timesheets";

export const ALL_SCOPES: readonly Scope[] = [
  "read:timesheets",
  "create:timesheets",
  "delete:timesheets",
  "approve:timesheets",
];

export type SessionState = "signed_out" | "waiting_for_browser" | "signed_in";

/** What the Rust side tells about the sign-in; it holds every token itself. */
export interface SessionView {
  state: SessionState;
  /** The provider's display name, e.g. "example.eu.auth0.com". */
  provider: string;
  user: { name: string; email: string | null } | null;
  /** The granted scopes. */
  scopes: Scope[];
  /** Why the session ended, or a sign-in error, in plain words. */
  message: string | null;
  /** False when no OS keyring answered: the sign-in lasts only this run. */
  remembered: boolean;
  /** The network is down; the Rust side retries by itself. */
  offline: boolean;
  /**
   * The timesheet server answers but cannot verify sign-ins (its identity
   * provider's keys are unavailable): a problem with the server's setup, not the
   * network. Only ever true while signed in; the Rust side retries by itself and
   * sets it back to false once tokens are verified again.
   */
  cannot_verify: boolean;
}

/**
 * Where an entry stands: a draft until its owner submits the week; submitted,
 * read-only until a manager decides or the owner withdraws it; rejected (with a
 * reason), the owner's to fix and submit again; approved, final.
 */
export type Status = "draft" | "submitted" | "approved" | "rejected";

export interface Entry {
  id: string;
  owner: string;
  owner_name: string;
  /** YYYY-MM-DD */
  date: string;
  project: string;
  notes: string;
  hours: number;
  status: Status;
  decided_by: string | null;
  decided_at: string | null;
  created_at: string;
  updated_at: string;
  /** Why a manager rejected it; null unless rejected. */
  reason: string | null;
}

export interface NewEntry {
  date: string;
  project: string;
  notes: string;
  hours: number;
}

export interface EntryPatch {
  date?: string;
  project?: string;
  notes?: string;
  hours?: number;
}

/** The API's settings the app shows. */
export interface Settings {
  /** The hours a full week is expected to hold, set on the server for everyone. */
  weekly_target_hours: number;
}

export type Decision = "approve" | "reject";

export interface DecisionOutcome {
  id: string;
  entry: Entry | null;
  error: AppErrorData | null;
}

/** Stops listening. */
export type Unsubscribe = () => void;

export interface Backend {
  /** The current session, without side effects. */
  session(): Promise<SessionView>;
  /** Opens the system browser; the state becomes `waiting_for_browser`. */
  signIn(): Promise<SessionView>;
  cancelSignIn(): Promise<SessionView>;
  signOut(): Promise<SessionView>;
  /** Today in the user's own time zone, YYYY-MM-DD. */
  today(): Promise<string>;
  /** The API's settings (the week's expected hours). */
  settings(): Promise<Settings>;
  /** The user's own entries from `from` to `to`, both included. */
  listEntries(from: string, to: string): Promise<Entry[]>;
  /** `idempotencyKey` is reused when the same edit is retried. */
  createEntry(entry: NewEntry, idempotencyKey: string): Promise<Entry>;
  updateEntry(id: string, patch: EntryPatch): Promise<Entry>;
  deleteEntry(id: string): Promise<void>;
  /** Sends the week from `monday` (its drafts and rejected entries) for approval; answers the week's entries. */
  submitWeek(monday: string): Promise<Entry[]>;
  /** Takes back what of the week from `monday` still waits for a decision; answers the week's entries. */
  withdrawWeek(monday: string): Promise<Entry[]>;
  /** Other people's entries awaiting a decision. */
  pendingApprovals(): Promise<Entry[]>;
  /** A rejection needs its `reason` (1 to 500 characters), which the owner sees. */
  decide(ids: string[], decision: Decision, reason?: string | null): Promise<DecisionOutcome[]>;
  /** Called with every session the Rust side pushes (sign-in done, sign-out, offline, cannot verify…). */
  onSession(listener: (session: SessionView) => void): Unsubscribe;
}
