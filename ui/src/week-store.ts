/**
 * The "My week" screen's state and actions, without any DOM: which week is shown,
 * its entries, the person's unconfirmed edits (kept across weeks and sign-ins),
 * and the calls that load and save them.
 *
 * The screen subscribes and renders `snapshot`; tests drive it directly.
 */
import type { Backend, Entry, Scope } from "./backend/backend";
import { countEntries } from "./approvals";
import { AppError, describeError } from "./backend/errors";
import {
  applySaved,
  buildGrid,
  cellKey,
  checkProjectName,
  failedEdits,
  markBlocked,
  markFailed,
  markSaving,
  mergeRowOrder,
  planCommit,
  typeInto,
  type CellKey,
  type Edit,
  type Grid,
} from "./grid";
import { formatQuarters, hoursPhrase, toQuarters } from "./hours";
import { addDays, longDayLabel, mondayOf, nextWeek, previousWeek, weekdayIndex, weekDays } from "./week";

export type LoadState = "idle" | "loading" | "ready" | "error";

export interface WeekSnapshot {
  today: string | null;
  /** The Monday of the week shown. */
  monday: string | null;
  load: LoadState;
  loadError: AppError | null;
  /** The entries of the week shown. */
  entries: readonly Entry[];
  /** Whether `entries` are the loaded entries of the week shown (false while loading or after a failed load). */
  loaded: boolean;
  /**
   * The Monday of the week asked for while the week shown stays on screen: its
   * entries are on their way. Nothing can be typed meanwhile; the week asked for
   * is shown when its entries arrive, or empty (loading) after `holdMs`.
   */
  switchingTo: string | null;
  edits: ReadonlyMap<CellKey, Edit>;
  scopes: readonly Scope[];
  /** Rows and totals of the week shown; null until a week is chosen. */
  grid: Grid | null;
  /** Where the week shown stands as a whole, and what can be done with it. */
  submission: WeekSubmission;
  /** A submission or withdrawal on its way. */
  moving: "submit" | "withdraw" | null;
  /** The hours a full week is expected to hold, once the API said; in quarter hours. */
  targetQuarters: number | null;
}

/**
 * The week as one thing to send for approval: what it holds, by status, and
 * whether "Submit week" and "Withdraw" apply (and if not, why).
 */
export interface WeekSubmission {
  /** Entries that a submission would send: drafts and rejected ones. */
  toSubmit: number;
  /** Entries waiting for a decision, which a withdrawal would take back. */
  waiting: number;
  approved: number;
  rejected: Entry[];
  /** Why "Submit week" cannot be used now, or null. */
  submitBlocked: string | null;
  /** Why "Withdraw" cannot be used now, or null. */
  withdrawBlocked: string | null;
}

/** See {@link WeekSubmission}. */
export function weekSubmission(
  entries: readonly Entry[],
  options: { loaded: boolean; canCreate: boolean; unsaved: number; moving: boolean },
): WeekSubmission {
  const count = (status: Entry["status"]) => entries.filter((e) => e.status === status).length;
  const rejected = entries.filter((e) => e.status === "rejected");
  const toSubmit = count("draft") + rejected.length;
  const waiting = count("submitted");
  const common = !options.loaded
    ? "The week is not loaded yet"
    : !options.canCreate
      ? "Submitting needs the create:timesheets permission"
      : options.moving
        ? "Wait for the week to be sent"
        : null;
  return {
    toSubmit,
    waiting,
    approved: count("approved"),
    rejected,
    submitBlocked:
      common ??
      (options.unsaved > 0
        ? "Save or discard the changes not saved yet first"
        : toSubmit === 0
          ? "Nothing to submit: the week has no draft or rejected hours"
          : null),
    withdrawBlocked: common ?? (waiting === 0 ? "Nothing of this week waits for a decision" : null),
  };
}

/** What became of a commit. */
export type CommitResult = "saved" | "unchanged" | "invalid" | "blocked" | "failed" | "busy";

export interface WeekStoreOptions {
  backend: Backend;
  /** Tells the person something (a live region). */
  announce?: (text: string, kind: "info" | "error") => void;
  /** Sees every failed call, e.g. to notice a `signed_out`. */
  onError?: (error: AppError) => void;
  /** A fresh idempotency key. */
  newKey?: () => string;
  /**
   * How long a loaded week stays on screen while another week loads, before the
   * other is shown empty with "Loading…". Most answers come sooner, and then the
   * grid changes once, straight to the new week, instead of being emptied and
   * filled again a moment later. 150 ms by default.
   */
  holdMs?: number;
}

/** See {@link WeekStoreOptions.holdMs}. */
export const HOLD_MS = 150;

function randomKey(): string {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // Only for very old engines; the desktop webviews all have randomUUID.
  return `key-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

const cellName = (edit: Pick<Edit, "project" | "date">) => `${edit.project}, ${longDayLabel(edit.date)}`;

export class WeekStore {
  private readonly backend: Backend;
  private readonly announce: NonNullable<WeekStoreOptions["announce"]>;
  private readonly onError: NonNullable<WeekStoreOptions["onError"]>;
  private readonly newKey: () => string;
  private readonly holdMs: number;
  private readonly listeners = new Set<() => void>();

  private today: string | null = null;
  private monday: string | null = null;
  private load: LoadState = "idle";
  private loadError: AppError | null = null;
  private entries: Entry[] = [];
  /** The Monday whose entries `entries` holds. */
  private loadedMonday: string | null = null;
  private edits = new Map<CellKey, Edit>();
  private scopes: Scope[] = [];
  /** Row order per week (by Monday), so rows do not jump while someone types. */
  private readonly orders = new Map<string, string[]>();
  private loadSeq = 0;
  /** See {@link WeekSnapshot.switchingTo}. */
  private switchingTo: string | null = null;
  /** Ends a hold that lasted `holdMs`: then the week asked for is shown while it loads. */
  private holdTimer: ReturnType<typeof setTimeout> | null = null;
  private cached: WeekSnapshot | null = null;
  /** A submission or withdrawal on its way. */
  private moving: "submit" | "withdraw" | null = null;
  /** See {@link WeekSnapshot.targetQuarters}. */
  private targetQuarters: number | null = null;
  /** Saves on their way, by cell. */
  private readonly inFlight = new Map<CellKey, Promise<CommitResult>>();
  /** The last grid built: the next build reuses its unchanged cells and rows. */
  private lastGrid: Grid | null = null;

  constructor(options: WeekStoreOptions) {
    this.backend = options.backend;
    this.announce = options.announce ?? (() => undefined);
    this.onError = options.onError ?? (() => undefined);
    this.newKey = options.newKey ?? randomKey;
    this.holdMs = options.holdMs ?? HOLD_MS;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get snapshot(): WeekSnapshot {
    if (!this.cached) {
      const order = this.monday ? (this.orders.get(this.monday) ?? []) : [];
      const grid = this.monday
        ? buildGrid({
            days: weekDays(this.monday),
            entries: this.entries,
            edits: this.edits,
            order,
            scopes: this.scopes,
            previous: this.lastGrid,
          })
        : null;
      this.lastGrid = grid;
      const loaded = this.monday !== null && this.loadedMonday === this.monday;
      const days = this.monday ? weekDays(this.monday) : [];
      // Edits being typed or saved are sent before the week is; the ones that
      // failed wait for the person (Retry or Discard).
      const unsaved = [...this.edits.values()].filter((e) => e.phase === "failed" && days.includes(e.date)).length;
      this.cached = {
        today: this.today,
        monday: this.monday,
        load: this.load,
        loadError: this.loadError,
        entries: this.entries,
        loaded,
        switchingTo: this.switchingTo,
        edits: this.edits,
        scopes: this.scopes,
        grid,
        submission: weekSubmission(loaded ? this.entries : [], {
          loaded: loaded && this.switchingTo === null,
          canCreate: this.scopes.includes("create:timesheets"),
          unsaved,
          moving: this.moving !== null,
        }),
        moving: this.moving,
        targetQuarters: this.targetQuarters,
      };
    }
    return this.cached;
  }

  private changed(): void {
    this.cached = null;
    for (const listener of [...this.listeners]) listener();
  }

  private fail(error: unknown): AppError {
    const appError = AppError.from(error);
    this.onError(appError);
    return appError;
  }

  setScopes(scopes: readonly Scope[]): void {
    if (scopes.length === this.scopes.length && scopes.every((s) => this.scopes.includes(s))) return;
    this.scopes = [...scopes];
    this.changed();
  }

  /** Forgets everything, e.g. when someone else signs in. */
  reset(): void {
    this.loadSeq += 1;
    this.stopHold();
    this.today = null;
    this.monday = null;
    this.load = "idle";
    this.loadError = null;
    this.entries = [];
    this.loadedMonday = null;
    this.edits = new Map();
    this.orders.clear();
    this.targetQuarters = null;
    this.changed();
  }

  /** Asks for today and shows its week (and, the first time, the week's target). */
  async thisWeek(): Promise<void> {
    if (this.targetQuarters === null) void this.loadTarget();
    const seq = ++this.loadSeq;
    this.load = "loading";
    this.loadError = null;
    this.changed();
    try {
      const today = await this.backend.today();
      if (seq !== this.loadSeq) return;
      this.today = today;
    } catch (error) {
      if (seq !== this.loadSeq) return;
      // The week shown stays; a switch that was under way is given up.
      this.stopHold();
      this.load = "error";
      this.loadError = this.fail(error);
      this.changed();
      return;
    }
    await this.goTo(this.today);
  }

  /**
   * Asks the API for the week's expected hours. Without an answer the grid
   * shows no target rather than a guess; the next "This week" asks again.
   */
  private async loadTarget(): Promise<void> {
    try {
      const settings = await this.backend.settings();
      this.targetQuarters = Math.round(settings.weekly_target_hours * 4);
      this.changed();
    } catch {
      // Shown without a target; nothing else depends on it.
    }
  }

  /**
   * Shows the week containing `date`. A loaded week stays on screen (busy, not
   * editable) until the new one's entries arrive, for at most `holdMs`.
   */
  async goTo(date: string): Promise<void> {
    const monday = mondayOf(date);
    if (monday === this.monday) this.stopHold();
    else if (this.monday !== null && this.loadedMonday === this.monday) this.hold(monday);
    else this.show(monday);
    await this.reload();
  }

  /** The week asked for: the one being switched to, else the one shown. */
  private get wanted(): string | null {
    return this.switchingTo ?? this.monday;
  }

  previous(): Promise<void> {
    const monday = this.wanted;
    return monday ? this.goTo(previousWeek(monday)) : this.thisWeek();
  }

  next(): Promise<void> {
    const monday = this.wanted;
    return monday ? this.goTo(nextWeek(monday)) : this.thisWeek();
  }

  /**
   * Keeps the week shown on screen while `monday`'s loads. The timer runs from
   * the first of several quick switches, so a stale week is never shown longer
   * than `holdMs`.
   */
  private hold(monday: string): void {
    this.switchingTo = monday;
    this.holdTimer ??= setTimeout(() => {
      this.holdTimer = null;
      if (this.switchingTo === null) return;
      this.show(this.switchingTo);
      this.changed();
    }, this.holdMs);
  }

  private stopHold(): void {
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    this.switchingTo = null;
  }

  /** Shows `monday`'s week from now on; its entries are unknown until loaded. */
  private show(monday: string): void {
    this.stopHold();
    if (monday === this.monday) return;
    this.monday = monday;
    this.entries = [];
    this.loadedMonday = null;
  }

  /** Loads the entries of the week asked for (again). */
  async reload(): Promise<void> {
    const monday = this.wanted;
    if (!monday) return this.thisWeek();
    const seq = ++this.loadSeq;
    const days = weekDays(monday);
    this.load = "loading";
    this.loadError = null;
    this.changed();
    try {
      const entries = await this.backend.listEntries(days[0] as string, days[6] as string);
      if (seq !== this.loadSeq) return;
      this.show(monday);
      this.entries = entries;
      this.loadedMonday = monday;
      this.orders.set(
        monday,
        mergeRowOrder(
          this.orders.get(monday) ?? [],
          entries.map((e) => e.project),
        ),
      );
      this.load = "ready";
    } catch (error) {
      if (seq !== this.loadSeq) return;
      this.show(monday);
      this.load = "error";
      this.loadError = this.fail(error);
    }
    this.changed();
  }

  private findCell(key: CellKey) {
    for (const row of this.snapshot.grid?.rows ?? []) {
      for (const cell of row.cells) if (cell.key === key) return cell;
    }
    return null;
  }

  /**
   * The person typed `text` into a cell. Ignored until the week is loaded (the
   * cell's entry is not known yet) and while another week is on its way (the
   * screen is about to change under the person's hands).
   */
  type(key: CellKey, text: string): void {
    if (!this.snapshot.loaded || this.switchingTo !== null) return;
    const cell = this.findCell(key);
    if (!cell || cell.edit?.phase === "saving" || (cell.lock && !cell.edit)) return;
    if (!cell.edit && text === cell.text) return;
    this.edits = new Map(this.edits).set(key, typeInto(cell, text));
    this.changed();
  }

  /** Throws the cell's edit away: the cell shows what is saved again. */
  revert(key: CellKey): void {
    const edit = this.edits.get(key);
    if (!edit || edit.phase === "saving") return;
    this.setEdit(key, null);
    if (edit.phase === "failed") this.announce(`Discarded the unsaved change to ${cellName(edit)}.`, "info");
  }

  /** Throws away every unsaved edit that is not in flight. */
  discardAll(): void {
    const next = new Map([...this.edits].filter(([, e]) => e.phase === "saving"));
    const dropped = this.edits.size - next.size;
    if (dropped === 0) return;
    this.edits = next;
    this.changed();
    this.announce(`Discarded ${dropped === 1 ? "1 unsaved change" : `${dropped} unsaved changes`}.`, "info");
  }

  /** Deletes the cell's entry (as clearing the cell does). */
  remove(key: CellKey): Promise<CommitResult> {
    if (this.edits.get(key)?.phase === "saving") {
      this.announce("Wait until the cell is saved, then delete it.", "info");
      return Promise.resolve("busy");
    }
    this.type(key, "");
    return this.commit(key);
  }

  /** Sends the cell's edit, if it changes anything. Also "Retry". */
  commit(key: CellKey): Promise<CommitResult> {
    const edit = this.edits.get(key);
    if (!edit) return Promise.resolve("unchanged");
    if (edit.phase === "saving") return Promise.resolve("busy");
    const sent = this.send(key, edit).finally(() => {
      if (this.inFlight.get(key) === sent) this.inFlight.delete(key);
    });
    this.inFlight.set(key, sent);
    return sent;
  }

  private async send(key: CellKey, edit: Edit): Promise<CommitResult> {
    const plan = planCommit(edit, this.scopes, this.newKey);
    switch (plan.kind) {
      case "drop":
        this.setEdit(key, null);
        return "unchanged";
      case "invalid":
        if (edit.phase !== "draft" || edit.error) this.setEdit(key, { ...edit, phase: "draft", error: null });
        return "invalid";
      case "blocked":
        this.setEdit(key, markBlocked(edit, plan));
        this.announce(`${cellName(edit)} was not changed: ${plan.message}.`, "error");
        return "blocked";
    }

    this.setEdit(key, markSaving(edit, plan));
    try {
      let saved: { removed?: string; entry?: Entry };
      if (plan.kind === "create") {
        saved = { entry: await this.backend.createEntry(plan.entry, plan.key) };
      } else if (plan.kind === "update") {
        saved = { entry: await this.backend.updateEntry(plan.id, plan.patch) };
      } else {
        try {
          await this.backend.deleteEntry(plan.id);
        } catch (error) {
          // Already gone (e.g. a retry after the first delete went through): done.
          if (AppError.from(error).code !== "not_found") throw error;
        }
        saved = { removed: plan.id };
      }
      if (this.monday && weekDays(this.monday).includes(edit.date)) this.entries = applySaved(this.entries, saved);
      this.setEdit(key, null);
      this.announce(
        plan.kind === "delete"
          ? `Deleted ${cellName(edit)}.`
          : `Saved ${cellName(edit)}: ${hoursPhrase(plan.quarters)}.`,
        "info",
      );
      return "saved";
    } catch (error) {
      const appError = this.fail(error);
      const current = this.edits.get(key) ?? edit;
      this.setEdit(key, markFailed(current, appError.toData()));
      this.announce(`${cellName(edit)} is not saved: ${describeError(appError)}`, "error");
      return "failed";
    }
  }

  /**
   * The cell lost focus: sends a fresh edit. One that failed or was refused waits
   * for an explicit Retry (or Enter) instead of being resent on every blur.
   */
  leave(key: CellKey): Promise<CommitResult> {
    const edit = this.edits.get(key);
    if (!edit || edit.phase !== "draft" || edit.error) return Promise.resolve("unchanged");
    return this.commit(key);
  }

  /** Retries every edit whose save failed, in every week. */
  async retryAll(): Promise<void> {
    const keys = failedEdits(this.edits).map((e) => cellKey(e.project, e.date));
    await Promise.all(keys.map((key) => this.commit(key)));
  }

  /** Sends the week shown for approval: its drafts and rejected entries. */
  submitWeek(): Promise<boolean> {
    return this.moveWeek("submit");
  }

  /** Takes back what of the week shown still waits for a decision. */
  withdrawWeek(): Promise<boolean> {
    return this.moveWeek("withdraw");
  }

  private async moveWeek(how: "submit" | "withdraw"): Promise<boolean> {
    const monday = this.monday;
    const blocked = how === "submit" ? this.snapshot.submission.submitBlocked : this.snapshot.submission.withdrawBlocked;
    if (!monday || blocked !== null) {
      if (blocked) this.announce(blocked, "info");
      return false;
    }
    this.moving = how;
    this.changed();
    try {
      if (how === "submit" && !(await this.saveWeekEdits(monday))) {
        this.announce("The week was not submitted: a change to it could not be saved. Retry or discard it first.", "error");
        return false;
      }
      const entries = await (how === "submit" ? this.backend.submitWeek(monday) : this.backend.withdrawWeek(monday));
      if (this.monday === monday && this.loadedMonday === monday) this.entries = entries;
      const count = (status: Entry["status"]) => entries.filter((e) => e.status === status).length;
      this.announce(
        how === "submit"
          ? `Submitted the week for approval (${countEntries(count("submitted"))}).`
          : `Withdrew the week: ${countEntries(count("draft"))} back to draft.`,
        "info",
      );
      return true;
    } catch (error) {
      const appError = this.fail(error);
      this.announce(
        `The week was not ${how === "submit" ? "submitted" : "withdrawn"}: ${describeError(appError)}`,
        "error",
      );
      // What the week holds may have changed meanwhile (e.g. decided): show it.
      void this.reload();
      return false;
    } finally {
      this.moving = null;
      this.changed();
    }
  }

  /**
   * Sends the edits of the week from `monday` that are typed but not sent, and
   * waits for those on their way: a submission then sends what the grid shows.
   * False when one of them is not saved after all.
   */
  private async saveWeekEdits(monday: string): Promise<boolean> {
    const days = weekDays(monday);
    const ofWeek = () => [...this.edits.entries()].filter(([, e]) => days.includes(e.date));
    await Promise.all([...this.inFlight.values()]);
    await Promise.all(ofWeek().map(([key]) => this.commit(key)));
    return ofWeek().length === 0;
  }

  /**
   * Adds last week's project rows to the week shown; `withHours` also puts last
   * week's hours, as drafts, into the cells of those rows that are still empty,
   * and saves them as any typed cell is saved.
   */
  async copyLastWeek(withHours: boolean): Promise<boolean> {
    const monday = this.monday;
    if (!monday || !this.snapshot.loaded || this.switchingTo !== null) return false;
    if (!this.scopes.includes("create:timesheets")) return false;
    const last = previousWeek(monday);
    let entries: Entry[];
    try {
      entries = await this.backend.listEntries(last, addDays(last, 6));
    } catch (error) {
      this.announce(`Last week could not be copied: ${describeError(this.fail(error))}`, "error");
      return false;
    }
    if (this.monday !== monday || this.switchingTo !== null) return false;
    if (entries.length === 0) {
      this.announce("Last week has no hours to copy.", "info");
      return false;
    }
    const rows = this.snapshot.grid?.rows.map((r) => r.project) ?? [];
    this.orders.set(monday, mergeRowOrder(rows, entries.map((e) => e.project)));
    const keys: CellKey[] = [];
    if (withHours) {
      const quarters = new Map<CellKey, number>();
      for (const e of entries) {
        const key = cellKey(e.project, addDays(monday, weekdayIndex(e.date)));
        quarters.set(key, (quarters.get(key) ?? 0) + toQuarters(e.hours));
      }
      this.changed();
      const next = new Map(this.edits);
      for (const [key, q] of quarters) {
        const cell = this.findCell(key);
        if (!cell || cell.entries.length > 0 || cell.edit || cell.lock) continue;
        next.set(key, typeInto(cell, formatQuarters(q)));
        keys.push(key);
      }
      this.edits = next;
    }
    this.changed();
    const added = new Set(entries.map((e) => e.project)).size;
    this.announce(
      withHours
        ? `Copied last week: ${added === 1 ? "1 row" : `${added} rows`}, ${keys.length === 1 ? "1 cell" : `${keys.length} cells`} of hours as drafts.`
        : `Copied last week's rows: ${added === 1 ? "1 project" : `${added} projects`}.`,
      "info",
    );
    await Promise.all(keys.map((key) => this.commit(key)));
    return true;
  }

  /** Adds an empty row for `name` to the week shown. */
  addRow(name: string): { ok: true; project: string } | { ok: false; message: string } {
    const monday = this.monday;
    if (!monday || this.switchingTo !== null) return { ok: false, message: "The week is not loaded yet" };
    const rows = this.snapshot.grid?.rows.map((r) => r.project) ?? [];
    const checked = checkProjectName(name, rows);
    if (!checked.ok) return checked;
    this.orders.set(monday, [...rows, checked.project]);
    this.changed();
    return checked;
  }

  /** Takes away a row that has no entries and no edits. */
  removeRow(project: string): void {
    const monday = this.monday;
    const row = this.snapshot.grid?.rows.find((r) => r.project === project);
    if (!monday || this.switchingTo !== null || !row?.removable) return;
    this.orders.set(
      monday,
      (this.orders.get(monday) ?? []).filter((p) => p !== project),
    );
    this.changed();
  }

  private setEdit(key: CellKey, edit: Edit | null): void {
    const next = new Map(this.edits);
    if (edit) next.set(key, edit);
    else next.delete(key);
    this.edits = next;
    this.changed();
  }
}
