/**
 * "My week": the grid of hours, one row per project, one column per day, with
 * totals, week navigation, adding rows and the unsaved-changes bar.
 *
 * All state and calls live in {@link WeekStore}; this renders it and turns keys
 * into its actions (see keyboard.ts).
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { TargetedKeyboardEvent } from "preact";
import { describeError } from "../backend/errors";
import { cellKey, failedEdits, type GridCell, type GridRow } from "../grid";
import { formatQuarters, hoursPhrase, parseHours } from "../hours";
import { cellKeyCommand, type Position } from "../keyboard";
import { can, gate, missingText } from "../scopes";
import { fullDateLabel, longDayLabel, mondayOf, shortDayLabel, weekdayIndex, weekLabel } from "../week";
import type { WeekSnapshot, WeekStore } from "../week-store";
import {
  ChevronLeft,
  ChevronRight,
  CrossIcon,
  LockIcon,
  RetryIcon,
  SendIcon,
  Spinner,
  UndoIcon,
  WarningIcon,
} from "./icons";
import { memo } from "./memo";
import { StatusBadge } from "./status";
import { useStore } from "./use-store";

const NEED_CREATE_ID = "need-create";
const NEED_DELETE_ID = "need-delete";

/** A DOM-safe id for a cell's helper texts. */
function domId(prefix: string, project: string, date: string): string {
  let hash = 0;
  for (const ch of project) hash = (Math.imul(hash, 31) + (ch.codePointAt(0) ?? 0)) | 0;
  return `${prefix}-${date}-${(hash >>> 0).toString(36)}`;
}

export function WeekScreen({ store }: { store: WeekStore }) {
  const snap = useStore(store);
  const tableRef = useRef<HTMLTableElement>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const refocus = useRef(false);

  // "Retry all" and "Discard all" go away with the bar they sit in: keep the
  // keyboard on the screen rather than nowhere.
  useEffect(() => {
    if (!refocus.current) return;
    const active = document.activeElement;
    if (!active || active === document.body) {
      refocus.current = false;
      headingRef.current?.focus();
    }
  });
  const [newProject, setNewProject] = useState("");
  const [newProjectError, setNewProjectError] = useState<string | null>(null);

  // Show this week the first time; refresh a week already chosen.
  useEffect(() => {
    if (store.snapshot.monday === null) void store.thisWeek();
    else void store.reload();
  }, [store]);

  const grid = snap.grid;
  const createGate = gate(snap.scopes, "create");
  const canDelete = can(snap.scopes, "delete");
  const failed = failedEdits(snap.edits);
  const failedHere = grid ? failed.filter((e) => grid.days.includes(e.date)) : [];
  const loading = snap.load === "loading";
  // While another week is on its way the last one stays on screen, disabled:
  // the heading already names the week asked for.
  const switching = snap.switchingTo !== null;
  const wanted = snap.switchingTo ?? snap.monday;
  const isThisWeek = snap.today !== null && wanted === mondayOf(snap.today);

  // Until the week's entries are in, a total would be a guess: show a dash.
  const shownTotal = (quarters: number) => (snap.loaded ? formatQuarters(quarters) : "—");

  // One function for the screen's lifetime: rows and cells are memoized, and a
  // new callback on every render would make every one of them render again.
  const focusCell = useCallback((to: Position) => {
    const input = tableRef.current?.querySelector<HTMLInputElement>(
      `input[data-row="${to.row}"][data-col="${to.col}"]`,
    );
    input?.focus();
  }, []);

  const addRow = (event: Event) => {
    event.preventDefault();
    const result = store.addRow(newProject);
    if (!result.ok) {
      setNewProjectError(result.message);
      return;
    }
    setNewProject("");
    setNewProjectError(null);
    // Put the keyboard in the new row's first cell.
    requestAnimationFrame(() => {
      const rows = store.snapshot.grid?.rows ?? [];
      const index = rows.findIndex((r) => r.project === result.project);
      if (index >= 0) focusCell({ row: index, col: 0 });
    });
  };

  return (
    <section class="week" aria-labelledby="week-heading">
      <div class="toolbar">
        <h1 id="week-heading" data-testid="week-heading" class="week-heading" ref={headingRef} tabIndex={-1}>
          {wanted ? weekLabel(wanted) : "My week"}
        </h1>
        <div class="week-nav" role="group" aria-label="Choose the week">
          <button
            type="button"
            data-testid="prev-week"
            onClick={() => void store.previous()}
            aria-label="Previous week"
          >
            <ChevronLeft /> <span>Previous</span>
          </button>
          <button
            type="button"
            data-testid="this-week"
            onClick={() => void store.thisWeek()}
            aria-current={isThisWeek ? "true" : undefined}
          >
            This week
          </button>
          <button type="button" data-testid="next-week" onClick={() => void store.next()} aria-label="Next week">
            <span>Next</span> <ChevronRight />
          </button>
        </div>
        <div class="toolbar-status" aria-hidden={!loading || switching}>
          {loading && !switching && (
            <span class="loading">
              <Spinner /> Loading…
            </span>
          )}
        </div>
      </div>

      {(!createGate.allowed || !canDelete) && (
        <ul class="permission-notes" aria-label="What your permissions allow">
          {!createGate.allowed && (
            <li id={NEED_CREATE_ID}>
              <LockIcon /> Adding and editing hours is off: {missingText("create:timesheets")}.
            </li>
          )}
          {!canDelete && (
            <li id={NEED_DELETE_ID}>
              <LockIcon /> Deleting hours is off: {missingText("delete:timesheets")}.
            </li>
          )}
        </ul>
      )}

      {failed.length > 0 && (
        <div class="unsaved-bar" data-testid="unsaved-bar">
          <div class="unsaved-summary">
            <WarningIcon />
            <strong>{failed.length === 1 ? "1 change is not saved" : `${failed.length} changes are not saved`}</strong>
            {failed.length > failedHere.length && (
              <span class="muted"> ({failed.length - failedHere.length} in other weeks)</span>
            )}
          </div>
          <ul class="unsaved-list">
            {failed.slice(0, 4).map((e) => (
              <li key={cellKey(e.project, e.date)}>
                <bdi dir="auto">{e.project}</bdi>, {fullDateLabel(e.date)}: {e.error ? describeError(e.error) : "not confirmed"}
              </li>
            ))}
            {failed.length > 4 && <li>…and {failed.length - 4} more</li>}
          </ul>
          <div class="unsaved-actions">
            <button
              type="button"
              class="primary"
              data-testid="retry-all"
              onClick={() => {
                refocus.current = true;
                void store.retryAll();
              }}
            >
              <RetryIcon /> Retry all
            </button>
            <button
              type="button"
              data-testid="discard-all"
              onClick={() => {
                refocus.current = true;
                store.discardAll();
              }}
            >
              Discard all
            </button>
          </div>
        </div>
      )}

      {grid && snap.loaded && (
        <SubmissionBar
          store={store}
          submission={snap.submission}
          moving={snap.moving}
          totalQuarters={grid.weekTotal}
          targetQuarters={snap.targetQuarters}
        />
      )}

      {snap.loaded && snap.submission.rejected.length > 0 && (
        <div class="rejected-notice" role="note" data-testid="rejected-notice">
          <WarningIcon />
          <div>
            <strong>
              {snap.submission.rejected.length === 1
                ? "1 entry was sent back"
                : `${snap.submission.rejected.length} entries were sent back`}
              : fix {snap.submission.rejected.length === 1 ? "it" : "them"} and submit the week again.
            </strong>
            <ul>
              {snap.submission.rejected.map((e) => (
                <li key={e.id}>
                  <bdi dir="auto">{e.project}</bdi>, {fullDateLabel(e.date)}:{" "}
                  {e.reason ? <q dir="auto">{e.reason}</q> : <span class="muted">no reason was given</span>}
                </li>
              ))}
            </ul>
          </div>
        </div>
      )}

      {snap.load === "error" && snap.loadError && (
        <div class="load-error" role="alert" data-testid="load-error">
          <WarningIcon /> <span>Could not load this week: {describeError(snap.loadError)}</span>
          <button type="button" onClick={() => void store.reload()}>
            Try again
          </button>
        </div>
      )}

      {grid && (
        <div class="grid-wrap">
          {/*
            Disabling the fieldset disables every input and button of the grid at
            once, without rendering its 700 cells again: while another week is on
            its way nothing can be typed into the week still shown. It groups
            nothing for assistive technology (role none); the table says it is busy.
          */}
          <fieldset class="grid-fieldset" role="none" disabled={switching} data-testid="grid-fieldset">
            <table class="grid" ref={tableRef} aria-busy={loading} aria-describedby="grid-help">
              <caption>Hours for {snap.monday ? weekLabel(snap.monday) : "this week"}, per project and day</caption>
              <colgroup>
                <col class="col-project" />
                {grid.days.map((d) => (
                  <col key={weekdayIndex(d)} class="col-day" />
                ))}
                <col class="col-total" />
              </colgroup>
              <thead>
                <tr>
                  <th scope="col" class="project-head">
                    Project
                  </th>
                  {grid.days.map((d) => {
                    const label = shortDayLabel(d);
                    const today = d === snap.today;
                    return (
                      <th
                        scope="col"
                        key={weekdayIndex(d)}
                        class={today ? "day-head today" : "day-head"}
                        aria-current={today ? "date" : undefined}
                        abbr={longDayLabel(d)}
                      >
                        <span class="day-name">{label.weekday}</span>
                        <span class="day-date">{label.date}</span>
                        {today && <span class="today-tag">Today</span>}
                      </th>
                    );
                  })}
                  <th scope="col" class="total-head">
                    Total
                  </th>
                </tr>
              </thead>
              <tbody>
                {grid.rows.length === 0 && (
                  <tr>
                    <td colSpan={9} class="empty-row">
                      {snap.loaded
                        ? `No hours this week yet.${createGate.allowed ? " Add a row below to start." : ""}`
                        : loading
                          ? "Loading…"
                          : "This week is not loaded."}
                    </td>
                  </tr>
                )}
                {grid.rows.map((row, r) => (
                  <RowView
                    key={row.project}
                    row={row}
                    loaded={snap.loaded}
                    rowIndex={r}
                    rowCount={grid.rows.length}
                    store={store}
                    focusCell={focusCell}
                  />
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">Total</th>
                  {grid.days.map((d, i) => (
                    <td key={weekdayIndex(d)} class="num total" data-testid={`total-${d}`}>
                      {shownTotal(grid.dayTotals[i] ?? 0)}
                    </td>
                  ))}
                  <td class="num total week-total" data-testid="total-week">
                    {shownTotal(grid.weekTotal)}
                  </td>
                </tr>
              </tfoot>
            </table>
          </fieldset>
          <p id="grid-help" class="grid-help muted">
            Hours as decimals in quarter hours (7.5 is 7 h 30 min; .25, .5, .75). Arrow keys move between cells, Enter
            saves and moves down, Escape undoes the change to a cell; clearing a cell deletes its entry.
          </p>
        </div>
      )}

      <form class="add-row" onSubmit={addRow} noValidate>
        <label for="new-project">New row</label>
        <input
          id="new-project"
          data-testid="new-project"
          type="text"
          placeholder="Project name"
          autoComplete="off"
          value={newProject}
          disabled={!createGate.allowed || !grid || switching}
          aria-invalid={newProjectError ? true : undefined}
          aria-describedby={
            [newProjectError ? "new-project-error" : "", createGate.allowed ? "" : NEED_CREATE_ID]
              .filter(Boolean)
              .join(" ") || undefined
          }
          onInput={(e) => {
            setNewProject(e.currentTarget.value);
            if (newProjectError) setNewProjectError(null);
          }}
        />
        <button
          type="submit"
          data-testid="add-row"
          disabled={!createGate.allowed || !grid || switching}
          aria-describedby={createGate.allowed ? undefined : NEED_CREATE_ID}
        >
          Add a row
        </button>
        <span class="copy-week" role="group" aria-label="Copy last week">
          <button
            type="button"
            data-testid="copy-rows"
            disabled={!createGate.allowed || !snap.loaded || switching}
            aria-describedby={createGate.allowed ? undefined : NEED_CREATE_ID}
            onClick={() => void store.copyLastWeek(false)}
          >
            Copy last week's rows
          </button>
          <button
            type="button"
            data-testid="copy-hours"
            disabled={!createGate.allowed || !snap.loaded || switching}
            aria-describedby={createGate.allowed ? undefined : NEED_CREATE_ID}
            title="Last week's rows and hours, as drafts in the cells still empty"
            onClick={() => void store.copyLastWeek(true)}
          >
            …with its hours
          </button>
        </span>
        {!createGate.allowed && <span class="hint">{missingText("create:timesheets")}</span>}
        {newProjectError && (
          <p id="new-project-error" class="field-error" role="alert">
            {newProjectError}
          </p>
        )}
      </form>
    </section>
  );
}

interface RowProps {
  /** The same object while the row is unchanged (see buildGrid), so an unchanged row is not rendered again. */
  row: GridRow;
  loaded: boolean;
  rowIndex: number;
  rowCount: number;
  store: WeekStore;
  focusCell: (to: Position) => void;
}

/** One project's row; renders only when one of its props changed, e.g. not while another row is typed in. */
const RowView = memo(function RowView({ row, loaded, rowIndex, rowCount, store, focusCell }: RowProps) {
  return (
    <tr>
      <th scope="row" class="project">
        <span class="project-name" title={row.project}>
          <bdi dir="auto">{row.project}</bdi>
        </span>
        {row.removable && (
          <button
            type="button"
            class="icon-button subtle"
            aria-label={`Remove the empty row ${row.project}`}
            title="Remove this empty row"
            onClick={() => store.removeRow(row.project)}
          >
            <CrossIcon />
          </button>
        )}
      </th>
      {row.cells.map((cell, col) => (
        // By weekday, not date: in another week a row's seven cells are updated
        // in place instead of all being thrown away and built again.
        <CellView
          key={weekdayIndex(cell.date)}
          cell={cell}
          loaded={loaded}
          rowIndex={rowIndex}
          col={col}
          rowCount={rowCount}
          store={store}
          focusCell={focusCell}
        />
      ))}
      <td class="num row-total" data-testid={`row-total-${row.project}`}>
        {loaded ? formatQuarters(row.totalQuarters) : "—"}
      </td>
    </tr>
  );
});

interface CellProps {
  /** The same object while the cell is unchanged (see buildGrid). */
  cell: GridCell;
  /** The week's entries are in; before that nothing can be typed. */
  loaded: boolean;
  /** Where the cell is, for the arrow keys: numbers rather than a fresh `Position` object each render. */
  rowIndex: number;
  col: number;
  rowCount: number;
  store: WeekStore;
  focusCell: (to: Position) => void;
}

/** One day of one project; renders only when one of its props changed. */
const CellView = memo(function CellView({ cell, loaded, rowIndex, col, rowCount, store, focusCell }: CellProps) {
  const { project, date, edit } = cell;
  const at: Position = { row: rowIndex, col };
  const label = `${project}, ${longDayLabel(date)}`;
  const saving = edit?.phase === "saving";
  const failed = edit?.phase === "failed";
  const invalid = edit !== null && cell.parsed.kind === "invalid";
  const blocked = edit?.phase === "draft" && edit.error !== null;
  const readOnly = cell.lock !== null || saving || !loaded;

  const statusId = domId("st", project, date);
  const problemId = domId("pr", project, date);
  const lockId = domId("lk", project, date);
  const problem =
    invalid && cell.parsed.kind === "invalid"
      ? cell.parsed.message
      : blocked && edit?.error
        ? edit.error.message
        : null;
  const failure = failed && edit?.error ? describeError(edit.error) : null;
  const lockedByScope = cell.lock === missingText("create:timesheets");
  // Most cells have nothing to say below the input: they get no status line
  // (the stylesheet keeps its room, so rows keep one height).
  const hasMeta = cell.status !== null || saving || failed || cell.multiple;
  const reason = cell.status === "rejected" ? (cell.entry?.reason ?? null) : null;

  const describedBy = [
    hasMeta ? statusId : "",
    problem ? problemId : "",
    cell.lock ? (lockedByScope ? NEED_CREATE_ID : lockId) : "",
  ]
    .filter(Boolean)
    .join(" ");

  const inputRef = useRef<HTMLInputElement>(null);
  // Delete and Retry disappear once done: the keyboard goes back to the cell.
  const actThenFocusCell = (action: () => Promise<unknown>) => {
    void action();
    inputRef.current?.focus();
  };

  const onKeyDown = (e: TargetedKeyboardEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    const command = cellKeyCommand(
      e,
      at,
      { rows: rowCount, cols: 7 },
      { start: input.selectionStart, end: input.selectionEnd, length: input.value.length },
    );
    if (!command) return;
    e.preventDefault();
    if (command.kind === "move") {
      focusCell(command.to);
    } else if (command.kind === "revert") {
      store.revert(cell.key);
      requestAnimationFrame(() => input.select());
    } else {
      if (parseHours(input.value).kind === "invalid") return; // stay: the cell says what is wrong
      void store.commit(cell.key);
      if (command.to) focusCell(command.to);
    }
  };

  const classes = ["cell"];
  if (cell.status) classes.push(`cell-${cell.status}`);
  if (saving) classes.push("cell-saving");
  if (failed) classes.push("cell-failed");
  if (invalid || blocked) classes.push("cell-invalid");
  if (readOnly) classes.push("cell-readonly");

  const deleteTestId = `delete-${project}-${date}`;

  return (
    <td
      class={classes.join(" ")}
      title={
        cell.lock ??
        failure ??
        (reason ? `Rejected: ${reason}` : cell.entry?.notes ? `Notes: ${cell.entry.notes}` : undefined)
      }
    >
      <div class="cell-main">
        <input
          ref={inputRef}
          class="cell-input"
          type="text"
          inputMode="decimal"
          autoComplete="off"
          spellcheck={false}
          data-testid={`cell-${project}-${date}`}
          data-row={at.row}
          data-col={at.col}
          aria-label={label}
          aria-invalid={invalid || blocked ? true : undefined}
          aria-describedby={describedBy || undefined}
          aria-busy={saving ? true : undefined}
          readOnly={readOnly}
          value={cell.text}
          onFocus={(e) => e.currentTarget.select()}
          onInput={(e) => store.type(cell.key, e.currentTarget.value)}
          onBlur={() => void store.leave(cell.key)}
          onKeyDown={onKeyDown}
        />
        {cell.remove.state !== "hidden" && (
          // Its cross is drawn by the stylesheet (the glyph class): no SVG to create per cell.
          <button
            type="button"
            class="icon-button cell-delete glyph"
            data-testid={deleteTestId}
            aria-label={`Delete ${label}`}
            title={cell.remove.state === "disabled" ? cell.remove.reason : `Delete ${label}`}
            disabled={cell.remove.state === "disabled" || saving}
            aria-describedby={
              cell.remove.state === "disabled" && cell.remove.reason === missingText("delete:timesheets")
                ? NEED_DELETE_ID
                : undefined
            }
            onClick={() => actThenFocusCell(() => store.remove(cell.key))}
          />
        )}
      </div>
      {hasMeta && (
        <div class="cell-meta" id={statusId}>
          {cell.status && (
            <StatusBadge status={cell.status} compact={saving || failed} testId={`status-${project}-${date}`} />
          )}
          {saving && (
            <span class="saving">
              <Spinner /> Saving…
            </span>
          )}
          {failed && (
            <>
              <span class="unsaved">
                <WarningIcon /> Unsaved
              </span>
              <span class="sr-only">{`: ${failure ?? "not confirmed"}.`}</span>
              <button
                type="button"
                class="link-button"
                data-testid={`retry-${project}-${date}`}
                aria-label={`Retry saving ${label}`}
                onClick={() => actThenFocusCell(() => store.commit(cell.key))}
              >
                <RetryIcon /> Retry
              </button>
            </>
          )}
          {reason && !saving && !failed && (
            <span class="cell-reason" data-testid={`reason-${project}-${date}`} title={reason}>
              <span class="sr-only">Reason: </span>
              {reason}
            </span>
          )}
          {cell.multiple && (
            <span class="multi-note" title={cell.lock ?? undefined}>
              {cell.entries.length} entries<span class="sr-only">{`, ${hoursPhrase(cell.savedQuarters)} in all`}</span>
            </span>
          )}
        </div>
      )}
      {problem && (
        <div class="cell-problem" id={problemId}>
          {problem}
        </div>
      )}
      {cell.lock && !lockedByScope && (
        <span class="sr-only" id={lockId}>
          {cell.lock}
        </span>
      )}
    </td>
  );
});

/**
 * The week as one thing to send: where it stands, "Submit week" and "Withdraw",
 * each disabled with its reason when it does not apply.
 */
function SubmissionBar({
  store,
  submission,
  moving,
  totalQuarters,
  targetQuarters,
}: {
  store: WeekStore;
  submission: WeekSnapshot["submission"];
  moving: WeekSnapshot["moving"];
  totalQuarters: number;
  targetQuarters: number | null;
}) {
  const { toSubmit, waiting, approved, rejected, submitBlocked, withdrawBlocked } = submission;
  const parts: string[] = [];
  if (toSubmit - rejected.length > 0) parts.push(`${toSubmit - rejected.length} draft`);
  if (rejected.length > 0) parts.push(`${rejected.length} sent back`);
  if (waiting > 0) parts.push(`${waiting} waiting for a decision`);
  if (approved > 0) parts.push(`${approved} approved`);
  const state =
    toSubmit + waiting + approved === 0
      ? "Nothing entered yet"
      : toSubmit === 0 && waiting === 0
        ? "Approved"
        : toSubmit === 0
          ? "Submitted"
          : "Not submitted";
  return (
    <div class="submission-bar" role="group" aria-label="Send the week for approval">
      <span class="submission-state" data-testid="week-state">
        <strong>{state}</strong>
        {parts.length > 0 && <span class="muted"> · {parts.join(", ")}</span>}
      </span>
      {targetQuarters !== null && targetQuarters > 0 && (
        <WeekTarget totalQuarters={totalQuarters} targetQuarters={targetQuarters} />
      )}
      <span class="spacer" />
      <button
        type="button"
        class="primary"
        data-testid="submit-week"
        disabled={submitBlocked !== null}
        title={submitBlocked ?? "Send the week's drafts and sent-back hours to your manager"}
        aria-describedby="submit-week-why"
        onClick={() => void store.submitWeek()}
      >
        {moving === "submit" ? <Spinner /> : <SendIcon />} Submit week
      </button>
      <button
        type="button"
        data-testid="withdraw-week"
        disabled={withdrawBlocked !== null}
        title={withdrawBlocked ?? "Take back what waits for a decision, to change it"}
        onClick={() => void store.withdrawWeek()}
      >
        {moving === "withdraw" ? <Spinner /> : <UndoIcon />} Withdraw
      </button>
      <span id="submit-week-why" class="sr-only">
        {submitBlocked ?? ""}
      </span>
    </div>
  );
}

/** The week's total against its expected hours: a bar, and what is missing in words. */
function WeekTarget({ totalQuarters, targetQuarters }: { totalQuarters: number; targetQuarters: number }) {
  const missing = targetQuarters - totalQuarters;
  const words =
    missing > 0
      ? `${formatQuarters(missing)} h to go`
      : missing === 0
        ? "target reached"
        : `${formatQuarters(-missing)} h over`;
  return (
    <span class="week-target" data-testid="week-target">
      <progress
        max={targetQuarters}
        value={Math.min(totalQuarters, targetQuarters)}
        aria-label={`${formatQuarters(totalQuarters)} of ${formatQuarters(targetQuarters)} expected hours this week`}
      />
      <span>
        {formatQuarters(totalQuarters)} of {formatQuarters(targetQuarters)} h · {words}
      </span>
    </span>
  );
}
