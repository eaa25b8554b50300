/**
 * The week grid as data: rows of cells built from entries and the person's edits,
 * the totals, and what committing an edit should send.
 *
 * An edit lives here until the API confirms it; it is never dropped because a
 * request failed. It remembers the idempotency key of its last create attempt, so
 * "Retry" sends the same key and the API cannot create the entry twice.
 */
import type { AppErrorData, Entry, EntryPatch, NewEntry, Scope, Status } from "./backend/backend";
import { shallowEqual } from "./equal";
import { formatQuarters, parseHours, toHours, toQuarters, type ParsedHours } from "./hours";
import { can, missingText } from "./scopes";

/** Identifies one cell: a project on a day. */
export type CellKey = string;

/** The key of the cell of `project` on `date` (a date is always 10 characters). */
export function cellKey(project: string, date: string): CellKey {
  return `${date}|${project}`;
}

export type EditPhase =
  /** Typed but not sent (being typed, invalid, or not allowed). */
  | "draft"
  /** Sent; waiting for the API. */
  | "saving"
  /** Sent, and the API did not confirm it: unsaved, can be retried. */
  | "failed";

/** A change to one cell that the API has not confirmed yet. */
export interface Edit {
  project: string;
  date: string;
  /** What the cell shows, as typed. */
  text: string;
  phase: EditPhase;
  /** The entry the edit changes or deletes; null when it creates one. */
  entryId: string | null;
  /** The saved hours when the edit began, in quarters. */
  baseQuarters: number;
  /** Why the last attempt failed or could not be sent. */
  error: AppErrorData | null;
  /** The last attempt sent: its value and, for a create, its idempotency key. */
  attempt: { quarters: number; key: string | null } | null;
}

export type Edits = ReadonlyMap<CellKey, Edit>;

export interface GridCell {
  key: CellKey;
  project: string;
  date: string;
  /** Every entry the API has for this cell (normally none or one). */
  entries: Entry[];
  /** The entry, when there is exactly one. */
  entry: Entry | null;
  /** The sum of the entries, in quarters. */
  savedQuarters: number;
  status: Status | "mixed" | null;
  /** More than one entry: shown as a read-only sum. */
  multiple: boolean;
  edit: Edit | null;
  /** What the input shows. */
  text: string;
  parsed: ParsedHours;
  /** What this cell adds to the totals: a valid edit's value, else the saved one. */
  quarters: number;
  /** Why the cell cannot be typed into, or null. */
  lock: string | null;
  /** The delete control: hidden, disabled with a reason, or enabled. */
  remove: { state: "hidden" } | { state: "disabled"; reason: string } | { state: "enabled" };
}

export interface GridRow {
  project: string;
  cells: GridCell[];
  totalQuarters: number;
  /** No entries and no edits: the row can be taken away again. */
  removable: boolean;
}

export interface Grid {
  days: string[];
  rows: GridRow[];
  dayTotals: number[];
  weekTotal: number;
}

export interface GridInput {
  /** The seven days shown. */
  days: readonly string[];
  entries: readonly Entry[];
  edits: Edits;
  /** Projects in the order the rows keep; others follow alphabetically. */
  order: readonly string[];
  scopes: readonly Scope[];
  /**
   * The grid built before. Its cells and rows that come out equal are returned
   * as they were (the same objects), so views that compare by identity can skip
   * them: typing in one cell then changes one cell and one row, not all of them.
   */
  previous?: Grid | null;
}

const byName = (a: string, b: string) => a.localeCompare(b, undefined, { sensitivity: "base" }) || a.localeCompare(b);

/** `order` followed by the projects of `projects` it lacks, alphabetically. */
export function mergeRowOrder(order: readonly string[], projects: Iterable<string>): string[] {
  const known = new Set(order);
  const extra = [...new Set(projects)].filter((p) => !known.has(p)).sort(byName);
  return [...order, ...extra];
}

function statusOf(entries: Entry[]): Status | "mixed" | null {
  const first = entries[0];
  if (!first) return null;
  return entries.every((e) => e.status === first.status) ? first.status : "mixed";
}

function buildCell(
  project: string,
  date: string,
  entries: Entry[],
  edit: Edit | null,
  scopes: readonly Scope[],
): GridCell {
  const savedQuarters = entries.reduce((sum, e) => sum + toQuarters(e.hours), 0);
  const entry = entries.length === 1 ? (entries[0] ?? null) : null;
  const multiple = entries.length > 1;
  const status = statusOf(entries);
  const text = edit ? edit.text : entries.length > 0 ? formatQuarters(savedQuarters) : "";
  const parsed = parseHours(text);
  const quarters = !edit
    ? savedQuarters
    : parsed.kind === "ok"
      ? parsed.quarters
      : parsed.kind === "empty"
        ? 0
        : savedQuarters;

  let lock: string | null = null;
  if (status === "approved") lock = "Approved: it can no longer be changed";
  else if (status === "submitted") lock = "Submitted: withdraw the week to change it";
  else if (multiple) lock = `${entries.length} entries on this day: their sum is shown and cannot be edited here`;
  else if (!can(scopes, "edit")) lock = missingText("create:timesheets");

  let remove: GridCell["remove"];
  // Approved and submitted cells say so with their badge and lock; a dead
  // delete button would only add noise.
  if (entries.length === 0 || text.trim() === "" || status === "approved" || status === "submitted")
    remove = { state: "hidden" };
  else if (multiple) remove = { state: "disabled", reason: "Several entries on this day cannot be deleted here" };
  else if (!can(scopes, "delete")) remove = { state: "disabled", reason: missingText("delete:timesheets") };
  else remove = { state: "enabled" };

  return {
    key: cellKey(project, date),
    project,
    date,
    entries,
    entry,
    savedQuarters,
    status,
    multiple,
    edit,
    text,
    parsed,
    quarters,
    lock,
    remove,
  };
}

type Same<T> = (a: T, b: T) => boolean;
const same: Same<unknown> = Object.is;
const sameEntry: Same<Entry | null> = (a, b) => a === b || (a !== null && b !== null && shallowEqual(a, b));

/**
 * How two builds of a cell are compared, field by field. Every field is listed
 * (the type says so), so a new one cannot be forgotten. Entries are compared by
 * value, as a reload brings equal entries as new objects; an edit by identity,
 * as a changed edit is always a new object.
 */
const CELL_FIELDS: { [K in keyof GridCell]-?: Same<GridCell[K]> } = {
  key: same,
  project: same,
  date: same,
  entries: (a, b) => a.length === b.length && a.every((e, i) => sameEntry(e, b[i] ?? null)),
  entry: sameEntry,
  savedQuarters: same,
  status: same,
  multiple: same,
  edit: same,
  text: same,
  parsed: shallowEqual,
  quarters: same,
  lock: same,
  remove: shallowEqual,
};
const CELL_KEYS = Object.keys(CELL_FIELDS) as (keyof GridCell)[];

function sameCell(a: GridCell, b: GridCell): boolean {
  return CELL_KEYS.every((k) => (CELL_FIELDS[k] as Same<unknown>)(a[k], b[k]));
}

/** `next`, or `previous` when it holds the same data. */
function reuseCell(previous: GridCell | undefined, next: GridCell): GridCell {
  return previous && sameCell(previous, next) ? previous : next;
}

/** `next`, or `previous` when it has the same cells (the same objects) and totals. */
function reuseRow(previous: GridRow | undefined, next: GridRow): GridRow {
  const unchanged =
    previous !== undefined &&
    previous.project === next.project &&
    previous.totalQuarters === next.totalQuarters &&
    previous.removable === next.removable &&
    previous.cells.length === next.cells.length &&
    previous.cells.every((c, i) => c === next.cells[i]);
  return unchanged ? previous : next;
}

/** The scopes each grid was built with, for the next build's shortcut. */
const builtWith = new WeakMap<Grid, readonly Scope[]>();

const sameScopes = (a: readonly Scope[], b: readonly Scope[]) => a.length === b.length && a.every((s) => b.includes(s));
const sameItems = <T>(a: readonly T[], b: readonly T[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Rows, cells and totals for one week; unchanged cells and rows of `input.previous` are reused. */
export function buildGrid(input: GridInput): Grid {
  const days = [...input.days];
  const inWeek = new Set(days);
  const byCell = new Map<CellKey, Entry[]>();
  const projects: string[] = [];
  for (const e of input.entries) {
    if (!inWeek.has(e.date)) continue;
    const key = cellKey(e.project, e.date);
    const list = byCell.get(key);
    if (list) list.push(e);
    else byCell.set(key, [e]);
    projects.push(e.project);
  }
  for (const edit of input.edits.values()) {
    if (inWeek.has(edit.date)) projects.push(edit.project);
  }

  const order = mergeRowOrder(input.order, projects);
  const previousRows = new Map(input.previous?.rows.map((r) => [r.project, r]));
  const previousScopes = input.previous ? builtWith.get(input.previous) : undefined;
  const scopesUnchanged = previousScopes !== undefined && sameScopes(previousScopes, input.scopes);
  const dayTotals = days.map(() => 0);
  const rows = order.map((project): GridRow => {
    const previous = previousRows.get(project);
    const cells = days.map((date, i) => {
      const key = cellKey(project, date);
      const entries = byCell.get(key) ?? [];
      const edit = input.edits.get(key) ?? null;
      const old = previous?.cells[i];
      const before = old?.key === key ? old : undefined;
      // From the very same entries, edit and scopes (as for every cell but one
      // while someone types): the same cell, without building it to compare.
      const cell =
        before && scopesUnchanged && before.edit === edit && sameItems(before.entries, entries)
          ? before
          : reuseCell(before, buildCell(project, date, entries, edit, input.scopes));
      dayTotals[i] = (dayTotals[i] ?? 0) + cell.quarters;
      return cell;
    });
    return reuseRow(previous, {
      project,
      cells,
      totalQuarters: cells.reduce((sum, c) => sum + c.quarters, 0),
      removable: cells.every((c) => c.entries.length === 0 && c.edit === null),
    });
  });
  const grid: Grid = { days, rows, dayTotals, weekTotal: dayTotals.reduce((a, b) => a + b, 0) };
  builtWith.set(grid, input.scopes);
  return grid;
}

/** What committing an edit means. */
export type CommitPlan =
  /** Nothing to send: the edit matches what is saved. */
  | { kind: "drop" }
  /** The text is not a valid number of hours; nothing is sent. */
  | { kind: "invalid"; message: string }
  /** The granted scopes do not allow it; nothing is sent. */
  | { kind: "blocked"; scope: Scope; message: string }
  | { kind: "create"; entry: NewEntry; key: string; quarters: number }
  | { kind: "update"; id: string; patch: EntryPatch; quarters: number }
  | { kind: "delete"; id: string; quarters: 0 };

/**
 * Decides what to send for `edit`. A create reuses the key of the previous attempt
 * when the value is the same (a retry), and takes `newKey()` otherwise.
 */
export function planCommit(edit: Edit, scopes: readonly Scope[], newKey: () => string): CommitPlan {
  const parsed = parseHours(edit.text);
  if (parsed.kind === "invalid") return { kind: "invalid", message: parsed.message };

  if (parsed.kind === "empty") {
    if (edit.entryId === null) return { kind: "drop" };
    if (!can(scopes, "delete"))
      return { kind: "blocked", scope: "delete:timesheets", message: missingText("delete:timesheets") };
    return { kind: "delete", id: edit.entryId, quarters: 0 };
  }

  const quarters = parsed.quarters;
  if (edit.entryId !== null && quarters === edit.baseQuarters) return { kind: "drop" };
  if (!can(scopes, edit.entryId === null ? "create" : "edit")) {
    return { kind: "blocked", scope: "create:timesheets", message: missingText("create:timesheets") };
  }
  if (edit.entryId === null) {
    const key = edit.attempt?.key && edit.attempt.quarters === quarters ? edit.attempt.key : newKey();
    return {
      kind: "create",
      entry: { date: edit.date, project: edit.project, notes: "", hours: toHours(quarters) },
      key,
      quarters,
    };
  }
  return { kind: "update", id: edit.entryId, patch: { hours: toHours(quarters) }, quarters };
}

/** A new edit of `cell` showing `text`, or the cell's edit with its text changed. */
export function typeInto(
  cell: Pick<GridCell, "project" | "date" | "entry" | "savedQuarters" | "edit">,
  text: string,
): Edit {
  const edit = cell.edit;
  if (edit) {
    if (edit.phase === "saving") return edit;
    return { ...edit, text, phase: "draft", error: null };
  }
  return {
    project: cell.project,
    date: cell.date,
    text,
    phase: "draft",
    entryId: cell.entry?.id ?? null,
    baseQuarters: cell.savedQuarters,
    error: null,
    attempt: null,
  };
}

/** The edit while its request is in flight. */
export function markSaving(edit: Edit, plan: Extract<CommitPlan, { quarters: number }>): Edit {
  return {
    ...edit,
    phase: "saving",
    error: null,
    attempt: { quarters: plan.quarters, key: plan.kind === "create" ? plan.key : null },
  };
}

/** The edit after the API did not confirm it: kept, unsaved, retryable. */
export function markFailed(edit: Edit, error: AppErrorData): Edit {
  return { ...edit, phase: "failed", error };
}

/** The edit when it could not even be sent (not allowed). */
export function markBlocked(edit: Edit, plan: Extract<CommitPlan, { kind: "blocked" }>): Edit {
  return { ...edit, phase: "draft", error: { code: "forbidden", message: plan.message, scope: plan.scope } };
}

/** Applies a confirmed save to the list of entries: drops `removed`, replaces or adds `entry`. */
export function applySaved(entries: readonly Entry[], saved: { removed?: string; entry?: Entry }): Entry[] {
  const out = entries.filter((e) => e.id !== saved.removed);
  const entry = saved.entry;
  if (!entry) return out;
  const index = out.findIndex((e) => e.id === entry.id);
  if (index < 0) return [...out, entry];
  out[index] = entry;
  return out;
}

/** Edits the API has not confirmed that are not in flight. */
export function unsavedEdits(edits: Edits): Edit[] {
  return [...edits.values()].filter((e) => e.phase !== "saving");
}

/** Edits whose request failed, ready for "Retry all". */
export function failedEdits(edits: Edits): Edit[] {
  return [...edits.values()].filter((e) => e.phase === "failed");
}

export const PROJECT_MAX = 100;

/** Checks a new row's project name: trimmed, 1–100 characters, no control characters, not a duplicate. */
export function checkProjectName(
  name: string,
  existing: readonly string[],
): { ok: true; project: string } | { ok: false; message: string } {
  const project = name.trim();
  const length = [...project].length;
  if (length === 0) return { ok: false, message: "Enter a project name" };
  if (length > PROJECT_MAX)
    return { ok: false, message: `A project name has at most ${PROJECT_MAX} characters (this has ${length})` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(project))
    return { ok: false, message: "A project name cannot contain control characters" };
  if (existing.includes(project)) return { ok: false, message: `${project} already has a row` };
  return { ok: true, project };
}
