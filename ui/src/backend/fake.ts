/**
 * An in-memory Backend that behaves like the desktop app: for unit and DOM tests,
 * and for `npm run dev` in a plain browser.
 *
 * It enforces what the API enforces (scopes, the row rules, drafts until the week
 * is submitted, submitted entries read-only, approved entries frozen, a reason
 * for every rejection, nobody decides their own entries, idempotent creates), and
 * lets a test
 * make any command fail (`failNext`), the network go away (`setOffline`) or the
 * server become unable to verify sign-ins (`setCannotVerify`).
 */
import type {
  Backend,
  Decision,
  DecisionOutcome,
  Entry,
  EntryPatch,
  NewEntry,
  Scope,
  SessionView,
  Settings,
  Unsubscribe,
} from "./backend";
import { AppError, type AppErrorData } from "./errors";
import { addDays, isDate, mondayOf } from "../week";

export interface FakeUser {
  sub: string;
  name: string;
  email: string | null;
  scopes: Scope[];
}

/** The development users of DESIGN.md: an employee, a manager and a read-only auditor. */
export const PERSONAS = {
  employee: {
    sub: "dev|employee",
    name: "Erin Employee",
    email: "erin@example.com",
    scopes: ["read:timesheets", "create:timesheets", "delete:timesheets"],
  },
  manager: {
    sub: "dev|manager",
    name: "Morgan Manager",
    email: "morgan@example.com",
    scopes: ["read:timesheets", "create:timesheets", "delete:timesheets", "approve:timesheets"],
  },
  auditor: {
    sub: "dev|auditor",
    name: "Avery Auditor",
    email: "avery@example.com",
    scopes: ["read:timesheets"],
  },
} as const satisfies Record<string, FakeUser>;

export type PersonaName = keyof typeof PERSONAS;

export type Command =
  | "session"
  | "sign_in"
  | "cancel_sign_in"
  | "sign_out"
  | "today"
  | "settings"
  | "list_entries"
  | "create_entry"
  | "update_entry"
  | "delete_entry"
  | "submit_week"
  | "withdraw_week"
  | "pending_approvals"
  | "decide";

export interface FakeOptions {
  /** Who signs in. Default: the employee. */
  user?: FakeUser;
  /** Start signed in. Default: false. */
  signedIn?: boolean;
  /** Today, YYYY-MM-DD. Default: the local date of this machine. */
  today?: string;
  /** Every entry, anyone's. Default: none (see {@link seedEntries}). */
  entries?: Entry[];
  /** Delay of every call, in ms. Default: 0. */
  latencyMs?: number;
  /** Finish a sign-in by itself after this many ms; null: only `completeSignIn()`. Default: null. */
  signInAfterMs?: number | null;
  provider?: string;
  /** Whether a keyring answered. Default: true. */
  remembered?: boolean;
  /** The week's expected hours. Default: 40. */
  weeklyTarget?: number;
}

/** This machine's local date, YYYY-MM-DD. */
export function localToday(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${String(now.getFullYear()).padStart(4, "0")}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

let serial = 0;

/** An entry for tests and seeds; unspecified fields take plain defaults. */
export function makeEntry(fields: Partial<Entry> & Pick<Entry, "date" | "project" | "hours">): Entry {
  serial += 1;
  const stamp = `${fields.date}T09:00:00Z`;
  return {
    id: `entry-${serial}`,
    owner: PERSONAS.employee.sub,
    owner_name: PERSONAS.employee.name,
    notes: "",
    status: "draft",
    decided_by: null,
    decided_at: null,
    created_at: stamp,
    updated_at: stamp,
    reason: null,
    ...fields,
  };
}

/** A plausible week around `today` for the development users and two colleagues. */
export function seedEntries(today: string): Entry[] {
  const monday = mondayOf(today);
  const day = (n: number) => addDays(monday, n);
  const people = [PERSONAS.employee, PERSONAS.manager, PERSONAS.auditor];
  const own = people.flatMap((p) => [
    makeEntry({
      owner: p.sub,
      owner_name: p.name,
      date: day(0),
      project: "Apollo",
      hours: 7.5,
      status: "approved",
      decided_by: "dev|lead",
      decided_at: `${day(1)}T10:00:00Z`,
    }),
    makeEntry({
      owner: p.sub,
      owner_name: p.name,
      date: day(1),
      project: "Apollo",
      hours: 6,
      notes: "Design review",
      status: "submitted",
    }),
    makeEntry({ owner: p.sub, owner_name: p.name, date: day(1), project: "Hermes", hours: 2, status: "draft" }),
    makeEntry({
      owner: p.sub,
      owner_name: p.name,
      date: day(2),
      project: "Hermes",
      hours: 4.25,
      status: "rejected",
      decided_by: "dev|lead",
      decided_at: `${day(2)}T16:00:00Z`,
      reason: "Hermes was paused this week: which project was it?",
    }),
    makeEntry({ owner: p.sub, owner_name: p.name, date: day(-7), project: "Apollo", hours: 8, status: "approved" }),
  ]);
  const ada = { owner: "dev|ada", owner_name: "Ada Lovelace", status: "submitted" as const };
  const grace = { owner: "dev|grace", owner_name: "Grace Hopper", status: "submitted" as const };
  const others = [
    makeEntry({ ...ada, date: day(-7), project: "Analytical Engine", hours: 8 }),
    makeEntry({ ...ada, date: day(-6), project: "Analytical Engine", hours: 7.75 }),
    makeEntry({ ...ada, date: day(0), project: "Apollo", hours: 6.5, notes: "Orbit maths" }),
    makeEntry({ ...ada, date: day(1), project: "Apollo", hours: 8 }),
    makeEntry({ ...grace, date: day(0), project: "Compiler", hours: 8, notes: "COBOL" }),
    makeEntry({ ...grace, date: day(1), project: "Compiler", hours: 0.25, notes: "Moth" }),
    makeEntry({ ...grace, date: day(2), project: "Hermes", hours: 5 }),
  ];
  return [...own, ...others];
}

const err = (data: AppErrorData) => new AppError(data);

/** What the Rust side says when the API answers but cannot verify sign-ins. */
export const UNAVAILABLE_MESSAGE =
  "The timesheet server can't verify sign-ins right now. This is a problem with the server's setup, not your connection; nothing was lost and the app will keep trying.";

export class FakeBackend implements Backend {
  /** Every call, in order, with its arguments: for tests. */
  readonly calls: { command: Command; args: Record<string, unknown> }[] = [];
  entries: Entry[];
  user: FakeUser;

  private view: SessionView;
  private readonly listeners = new Set<(s: SessionView) => void>();
  private readonly failures: { command: Command; error: AppErrorData; times: number }[] = [];
  private readonly created = new Map<string, Entry>();
  private readonly todayValue: string;
  private readonly weeklyTarget: number;
  private readonly latencyMs: number;
  private readonly signInAfterMs: number | null;
  private signInTimer: ReturnType<typeof setTimeout> | null = null;
  private ids = 0;

  constructor(options: FakeOptions = {}) {
    this.user = options.user ?? { ...PERSONAS.employee, scopes: [...PERSONAS.employee.scopes] };
    this.entries = options.entries ? [...options.entries] : [];
    this.todayValue = options.today ?? localToday();
    this.weeklyTarget = options.weeklyTarget ?? 40;
    this.latencyMs = options.latencyMs ?? 0;
    this.signInAfterMs = options.signInAfterMs ?? null;
    this.view = {
      state: "signed_out",
      provider: options.provider ?? "Development sign-in (in-memory)",
      user: null,
      scopes: [],
      message: null,
      remembered: options.remembered ?? true,
      offline: false,
      cannot_verify: false,
    };
    if (options.signedIn) this.view = this.signedInView();
  }

  // ---- test controls ----

  /** Makes the next `times` calls of `command` fail with `error`. */
  failNext(command: Command, error: AppErrorData, times = 1): void {
    this.failures.push({ command, error, times });
  }

  /** Goes offline (every data call fails with `offline`) or back online, and says so. */
  setOffline(offline: boolean): void {
    this.push({ ...this.view, offline });
  }

  /**
   * The server answers but cannot verify sign-ins (every data call fails with
   * `unavailable`), or verifies them again, and says so. As on the Rust side,
   * signing out or a session that ends clears it.
   */
  setCannotVerify(on: boolean): void {
    this.push({ ...this.view, cannot_verify: on });
  }

  /** Sets the session's message, as the Rust side does to say why the sign-in will not be remembered. */
  setMessage(message: string | null): void {
    this.push({ ...this.view, message });
  }

  /** Finishes a sign-in waiting for the browser, as the deep link would. */
  completeSignIn(user?: FakeUser): void {
    if (user) this.user = user;
    this.clearTimer();
    this.push(this.signedInView());
  }

  /** Ends the session as a refused refresh would. */
  endSession(message: string): void {
    this.push({ ...this.view, state: "signed_out", user: null, scopes: [], message, cannot_verify: false });
  }

  // ---- Backend ----

  async session(): Promise<SessionView> {
    await this.enter("session", {});
    return { ...this.view };
  }

  async signIn(): Promise<SessionView> {
    await this.enter("sign_in", {});
    if (this.view.state !== "signed_in") {
      this.view = { ...this.view, state: "waiting_for_browser", message: null };
      this.clearTimer();
      if (this.signInAfterMs !== null) {
        this.signInTimer = setTimeout(() => this.completeSignIn(), this.signInAfterMs);
      }
    }
    return { ...this.view };
  }

  async cancelSignIn(): Promise<SessionView> {
    await this.enter("cancel_sign_in", {});
    this.clearTimer();
    if (this.view.state === "waiting_for_browser") this.view = { ...this.view, state: "signed_out", message: null };
    return { ...this.view };
  }

  async signOut(): Promise<SessionView> {
    await this.enter("sign_out", {});
    this.view = { ...this.view, state: "signed_out", user: null, scopes: [], message: null, cannot_verify: false };
    return { ...this.view };
  }

  async today(): Promise<string> {
    await this.enter("today", {});
    return this.todayValue;
  }

  async settings(): Promise<Settings> {
    await this.enter("settings", {});
    this.require("read:timesheets");
    return { weekly_target_hours: this.weeklyTarget };
  }

  async listEntries(from: string, to: string): Promise<Entry[]> {
    await this.enter("list_entries", { from, to });
    this.require("read:timesheets");
    if (!isDate(from))
      throw err({ code: "invalid", message: "from must be a date that exists, as YYYY-MM-DD", field: "from" });
    if (!isDate(to))
      throw err({ code: "invalid", message: "to must be a date that exists, as YYYY-MM-DD", field: "to" });
    return this.entries
      .filter((e) => e.owner === this.user.sub && e.date >= from && e.date <= to)
      .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))
      .map((e) => ({ ...e }));
  }

  async createEntry(entry: NewEntry, idempotencyKey: string): Promise<Entry> {
    await this.enter("create_entry", { entry, idempotencyKey });
    this.require("create:timesheets");
    const seen = this.created.get(`${this.user.sub}|${idempotencyKey}`);
    if (seen) return { ...seen };
    const valid = validate(entry);
    const now = new Date().toISOString();
    this.ids += 1;
    const created: Entry = {
      id: `new-${this.ids}`,
      owner: this.user.sub,
      owner_name: this.user.name,
      ...valid,
      status: "draft",
      decided_by: null,
      decided_at: null,
      created_at: now,
      updated_at: now,
      reason: null,
    };
    this.entries.push(created);
    this.created.set(`${this.user.sub}|${idempotencyKey}`, created);
    return { ...created };
  }

  async updateEntry(id: string, patch: EntryPatch): Promise<Entry> {
    await this.enter("update_entry", { id, patch });
    this.require("create:timesheets");
    const index = this.ownIndex(id);
    const current = this.entries[index] as Entry;
    if (current.status === "approved")
      throw err({ code: "conflict", message: "This entry is approved and can no longer be changed." });
    if (current.status === "submitted")
      throw err({ code: "conflict", message: "This entry is submitted: withdraw the week to change it." });
    if (Object.keys(patch).length === 0)
      throw err({ code: "invalid", message: "The change names no field.", field: "body" });
    const valid = validate({ ...current, ...patch });
    const updated: Entry = {
      ...current,
      ...valid,
      status: "draft",
      decided_by: null,
      decided_at: null,
      reason: null,
      updated_at: new Date().toISOString(),
    };
    this.entries[index] = updated;
    return { ...updated };
  }

  async deleteEntry(id: string): Promise<void> {
    await this.enter("delete_entry", { id });
    this.require("delete:timesheets");
    const index = this.ownIndex(id);
    if (this.entries[index]?.status === "approved")
      throw err({ code: "conflict", message: "This entry is approved and can no longer be deleted." });
    if (this.entries[index]?.status === "submitted")
      throw err({ code: "conflict", message: "This entry is submitted: withdraw the week to delete it." });
    this.entries.splice(index, 1);
  }

  async submitWeek(monday: string): Promise<Entry[]> {
    await this.enter("submit_week", { monday });
    return this.moveWeek(monday, ["draft", "rejected"], "submitted", "The week has no draft or rejected hours to submit.");
  }

  async withdrawWeek(monday: string): Promise<Entry[]> {
    await this.enter("withdraw_week", { monday });
    return this.moveWeek(
      monday,
      ["submitted"],
      "draft",
      "Nothing of the week waits for a decision: decided hours cannot be withdrawn.",
    );
  }

  async pendingApprovals(): Promise<Entry[]> {
    await this.enter("pending_approvals", {});
    this.require("approve:timesheets");
    return this.entries.filter((e) => e.owner !== this.user.sub && e.status === "submitted").map((e) => ({ ...e }));
  }

  async decide(ids: string[], decision: Decision, reason: string | null = null): Promise<DecisionOutcome[]> {
    await this.enter("decide", { ids, decision, reason });
    this.require("approve:timesheets");
    const why = reason?.trim() ?? "";
    if (decision === "reject" && (why.length === 0 || [...why].length > 500))
      throw err({ code: "invalid", message: "A rejection needs a reason of 1 to 500 characters.", field: "reason" });
    return ids.map((id): DecisionOutcome => {
      const index = this.entries.findIndex((e) => e.id === id);
      const entry = this.entries[index];
      if (!entry) return { id, entry: null, error: { code: "not_found", message: "This entry no longer exists." } };
      if (entry.owner === this.user.sub)
        return { id, entry: null, error: { code: "forbidden", message: "Nobody can decide on their own entries." } };
      if (entry.status === "draft")
        return { id, entry: null, error: { code: "conflict", message: "This entry is a draft: it was not submitted." } };
      if (entry.status !== "submitted")
        return { id, entry: null, error: { code: "conflict", message: `This entry was already ${entry.status}.` } };
      const decided: Entry = {
        ...entry,
        status: decision === "approve" ? "approved" : "rejected",
        decided_by: this.user.sub,
        decided_at: new Date().toISOString(),
        reason: decision === "reject" ? why : null,
      };
      this.entries[index] = decided;
      return { id, entry: { ...decided }, error: null };
    });
  }

  onSession(listener: (session: SessionView) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- inside ----

  private moveWeek(monday: string, from: Entry["status"][], to: Entry["status"], none: string): Entry[] {
    this.require("create:timesheets");
    if (!isDate(monday) || mondayOf(monday) !== monday)
      throw err({ code: "invalid", message: "week must be a Monday, as YYYY-MM-DD", field: "week" });
    const sunday = addDays(monday, 6);
    const inWeek = (e: Entry) => e.owner === this.user.sub && e.date >= monday && e.date <= sunday;
    const moving = this.entries.filter((e) => inWeek(e) && from.includes(e.status));
    if (moving.length === 0) throw err({ code: "conflict", message: none });
    const now = new Date().toISOString();
    this.entries = this.entries.map((e) =>
      moving.includes(e) ? { ...e, status: to, decided_by: null, decided_at: null, reason: null, updated_at: now } : e,
    );
    return this.entries
      .filter(inWeek)
      .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))
      .map((e) => ({ ...e }));
  }

  private signedInView(): SessionView {
    return {
      ...this.view,
      state: "signed_in",
      user: { name: this.user.name, email: this.user.email },
      scopes: [...this.user.scopes],
      message: null,
    };
  }

  private push(view: SessionView): void {
    this.view = view;
    for (const listener of [...this.listeners]) listener({ ...view });
  }

  private clearTimer(): void {
    if (this.signInTimer !== null) clearTimeout(this.signInTimer);
    this.signInTimer = null;
  }

  private async enter(command: Command, args: Record<string, unknown>): Promise<void> {
    this.calls.push({ command, args: structuredClone(args) });
    await (this.latencyMs > 0 ? new Promise((r) => setTimeout(r, this.latencyMs)) : Promise.resolve());
    const failure = this.failures.find((f) => f.command === command && f.times > 0);
    if (failure) {
      failure.times -= 1;
      if (failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      throw err(failure.error);
    }
    const dataCall = !["session", "sign_in", "cancel_sign_in", "sign_out", "today"].includes(command);
    if (dataCall && this.view.state !== "signed_in")
      throw err({ code: "signed_out", message: "You are signed out. Please sign in again." });
    if (dataCall && this.view.offline)
      throw err({ code: "offline", message: "The timesheet service cannot be reached. Check your connection." });
    if (dataCall && this.view.cannot_verify) throw err({ code: "unavailable", message: UNAVAILABLE_MESSAGE });
  }

  private require(scope: Scope): void {
    if (!this.view.scopes.includes(scope)) {
      throw err({ code: "forbidden", message: `This needs the ${scope} permission.`, scope });
    }
  }

  private ownIndex(id: string): number {
    const index = this.entries.findIndex((e) => e.id === id && e.owner === this.user.sub);
    if (index < 0) throw err({ code: "not_found", message: "This entry no longer exists." });
    return index;
  }
}

/** The row rules (crates/core validation), each failure naming its field. */
function validate(entry: NewEntry): NewEntry {
  if (!isDate(entry.date))
    throw err({ code: "invalid", message: "The date must be a date that exists, as YYYY-MM-DD.", field: "date" });
  const project = entry.project.trim();
  const length = [...project].length;
  if (length < 1 || length > 100)
    throw err({ code: "invalid", message: "The project name must have 1 to 100 characters.", field: "project" });
  if ([...(entry.notes ?? "")].length > 1000)
    throw err({ code: "invalid", message: "The notes can have at most 1,000 characters.", field: "notes" });
  const quarters = entry.hours * 4;
  if (!Number.isFinite(quarters) || quarters <= 0 || quarters > 96 || !Number.isInteger(quarters)) {
    throw err({
      code: "invalid",
      message: "Hours must be more than 0 and at most 24, in steps of 0.25.",
      field: "hours",
    });
  }
  return { date: entry.date, project, notes: entry.notes ?? "", hours: entry.hours };
}
