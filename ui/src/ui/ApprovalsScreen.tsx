/**
 * "Approvals": other people's entries awaiting a decision, grouped by person and
 * ISO week; approve or reject one, a selection, or a whole group. A rejection
 * asks why first: the employee sees the reason next to the hours.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Backend, Decision, Entry } from "../backend/backend";
import { AppError, describeError } from "../backend/errors";
import {
  countEntries,
  describeEntry,
  groupApprovals,
  selectionState,
  summarizeDecision,
  toggleAll,
  toggleOne,
  type PersonGroup,
  type WeekGroup,
} from "../approvals";
import { formatQuarters, hoursPhrase, toQuarters } from "../hours";
import { shortDayLabel } from "../week";
import type { Announce } from "./App";
import { CheckIcon, CrossIcon, RetryIcon, Spinner, WarningIcon } from "./icons";

interface ApprovalsProps {
  backend: Backend;
  announce: Announce;
  onError: (error: AppError) => void;
}

interface Busy {
  decision: Decision;
  ids: ReadonlySet<string>;
}

/** The longest reason a rejection may give, as the API has it. */
const REASON_MAX = 500;

const verbing = (d: Decision) => (d === "approve" ? "Approving" : "Rejecting");

export function ApprovalsScreen({ backend, announce, onError }: ApprovalsProps) {
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [loading, setLoading] = useState(false);
  const [loadError, setLoadError] = useState<AppError | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState<Busy | null>(null);
  const [rowErrors, setRowErrors] = useState<Map<string, string>>(new Map());
  const [result, setResult] = useState<{ text: string; ok: boolean } | null>(null);
  /** The entries a rejection is being written for. */
  const [rejecting, setRejecting] = useState<string[] | null>(null);
  const [reason, setReason] = useState("");
  const [reasonError, setReasonError] = useState<string | null>(null);
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const seq = useRef(0);
  const resultRef = useRef<HTMLParagraphElement>(null);
  const refocus = useRef(false);

  // A decided row disappears, and with it the button that had the focus: put the
  // keyboard on the result instead of leaving it nowhere.
  useEffect(() => {
    if (!refocus.current) return;
    refocus.current = false;
    const active = document.activeElement;
    if (!active || active === document.body) resultRef.current?.focus();
  });

  const load = useCallback(async () => {
    const mine = ++seq.current;
    setLoading(true);
    setLoadError(null);
    try {
      const list = await backend.pendingApprovals();
      if (mine !== seq.current) return;
      setEntries(list);
      const ids = new Set(list.map((e) => e.id));
      setSelected((s) => new Set([...s].filter((id) => ids.has(id))));
    } catch (error) {
      if (mine !== seq.current) return;
      const appError = AppError.from(error);
      setLoadError(appError);
      onError(appError);
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  }, [backend, onError]);

  useEffect(() => {
    void load();
  }, [load]);

  const groups = useMemo(() => groupApprovals(entries ?? []), [entries]);
  const byId = useMemo(() => new Map((entries ?? []).map((e) => [e.id, e])), [entries]);

  // The reason's field takes the keyboard when it opens.
  useEffect(() => {
    if (rejecting) reasonRef.current?.focus();
  }, [rejecting]);

  /** Asks why `ids` are rejected before rejecting them. */
  const askReject = (ids: string[]) => {
    if (ids.length === 0 || busy) return;
    setRejecting(ids);
    setReasonError(null);
  };

  const confirmReject = (event: Event) => {
    event.preventDefault();
    if (!rejecting) return;
    const why = reason.trim();
    if (why.length === 0) {
      setReasonError("Say what needs fixing: the employee sees this next to the hours.");
      reasonRef.current?.focus();
      return;
    }
    if ([...why].length > REASON_MAX) {
      setReasonError(`A reason has at most ${REASON_MAX} characters (this has ${[...why].length}).`);
      return;
    }
    const ids = rejecting;
    setRejecting(null);
    setReason("");
    setReasonError(null);
    void decide(ids, "reject", why);
  };

  const decide = async (ids: string[], decision: Decision, why: string | null = null) => {
    if (ids.length === 0 || busy) return;
    setBusy({ decision, ids: new Set(ids) });
    setResult(null);
    announce(`${verbing(decision)} ${countEntries(ids.length)}…`, "info");
    try {
      const outcomes = await backend.decide(ids, decision, why);
      const summary = summarizeDecision(decision, ids, outcomes, byId);
      const done = new Set(summary.done);
      setEntries((list) => (list ?? []).filter((e) => !done.has(e.id)));
      setSelected((s) => new Set([...s].filter((id) => !done.has(id))));
      setRowErrors((errors) => {
        const next = new Map(errors);
        for (const id of ids) next.delete(id);
        for (const [id, why] of summary.failed) next.set(id, why);
        return next;
      });
      setResult({ text: summary.text, ok: summary.ok });
      refocus.current = true;
      announce(summary.text, summary.ok ? "info" : "error");
    } catch (error) {
      const appError = AppError.from(error);
      onError(appError);
      const text = `Nothing was ${decision === "approve" ? "approved" : "rejected"}: ${describeError(appError)}`;
      setResult({ text, ok: false });
      announce(text, "error");
    } finally {
      setBusy(null);
    }
  };

  const selectedIds = [...selected].filter((id) => byId.has(id));
  const total = entries?.length ?? 0;

  return (
    <section class="approvals" aria-labelledby="approvals-heading">
      <div class="toolbar">
        <h1 id="approvals-heading">Approvals</h1>
        <span class="muted" data-testid="approvals-count">
          {entries === null
            ? ""
            : total === 0
              ? "Nothing is waiting"
              : `${countEntries(total)} waiting for your decision`}
        </span>
        <div class="toolbar-status">
          {loading && (
            <span class="loading">
              <Spinner /> Loading…
            </span>
          )}
        </div>
        <button type="button" data-testid="refresh-approvals" onClick={() => void load()} disabled={loading}>
          <RetryIcon /> Refresh
        </button>
      </div>

      <div class="bulk-bar" role="group" aria-label="Selected entries">
        <span class="bulk-count" data-testid="selected-count">
          {selectedIds.length === 0 ? "None selected" : `${countEntries(selectedIds.length)} selected`}
        </span>
        <button
          type="button"
          class="primary"
          data-testid="approve-selected"
          disabled={selectedIds.length === 0 || busy !== null}
          onClick={() => void decide(selectedIds, "approve")}
        >
          {busy?.decision === "approve" && busy.ids.size > 1 ? <Spinner /> : <CheckIcon />} Approve selected
        </button>
        <button
          type="button"
          class="danger"
          data-testid="reject-selected"
          disabled={selectedIds.length === 0 || busy !== null}
          onClick={() => askReject(selectedIds)}
        >
          {busy?.decision === "reject" && busy.ids.size > 1 ? <Spinner /> : <CrossIcon />} Reject selected
        </button>
      </div>

      {rejecting && (
        <form class="reject-form" data-testid="reject-form" onSubmit={confirmReject} noValidate>
          <label for="reject-reason">
            {rejecting.length === 1 && byId.get(rejecting[0] as string)
              ? `Why is ${describeEntry(byId.get(rejecting[0] as string) as Entry)} rejected?`
              : `Why are ${countEntries(rejecting.length)} rejected?`}
          </label>
          <textarea
            id="reject-reason"
            ref={reasonRef}
            data-testid="reject-reason"
            rows={2}
            maxLength={REASON_MAX}
            value={reason}
            aria-invalid={reasonError ? true : undefined}
            aria-describedby={reasonError ? "reject-reason-error reject-reason-hint" : "reject-reason-hint"}
            onInput={(e) => {
              setReason(e.currentTarget.value);
              if (reasonError) setReasonError(null);
            }}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                e.preventDefault();
                setRejecting(null);
              }
            }}
          />
          <span id="reject-reason-hint" class="muted small-text">
            The employee sees this next to the hours; {REASON_MAX - [...reason].length} characters left.
          </span>
          {reasonError && (
            <p id="reject-reason-error" class="field-error" role="alert">
              {reasonError}
            </p>
          )}
          <div class="reject-actions">
            <button type="submit" class="danger" data-testid="confirm-reject">
              <CrossIcon /> Reject
            </button>
            <button type="button" data-testid="cancel-reject" onClick={() => setRejecting(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}

      {result && (
        <p
          class={result.ok ? "result result-ok" : "result result-failed"}
          data-testid="decision-result"
          ref={resultRef}
          tabIndex={-1}
        >
          {result.ok ? <CheckIcon /> : <WarningIcon />} {result.text}
        </p>
      )}

      {loadError && (
        <div class="load-error" role="alert">
          <WarningIcon /> <span>Could not load the entries awaiting approval: {describeError(loadError)}</span>
          <button type="button" onClick={() => void load()}>
            Try again
          </button>
        </div>
      )}

      {entries !== null && total === 0 && !loadError && (
        <p class="empty-state" data-testid="approvals-empty">
          <CheckIcon /> Nothing is waiting for your approval.
        </p>
      )}

      {groups.map((person) => (
        <PersonView
          key={person.owner}
          person={person}
          selected={selected}
          busy={busy}
          rowErrors={rowErrors}
          onSelect={setSelected}
          onDecide={(ids, d) => (d === "reject" ? askReject(ids) : void decide(ids, d))}
        />
      ))}
    </section>
  );
}

interface PersonProps {
  person: PersonGroup;
  selected: Set<string>;
  busy: Busy | null;
  rowErrors: ReadonlyMap<string, string>;
  onSelect: (next: Set<string>) => void;
  onDecide: (ids: string[], decision: Decision) => void;
}

function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, "-");
}

function PersonView({ person, selected, busy, rowErrors, onSelect, onDecide }: PersonProps) {
  const headingId = `person-${slug(person.owner)}`;
  return (
    <section class="person" aria-labelledby={headingId}>
      <h2 id={headingId} class="person-heading">
        <bdi dir="auto">{person.name}</bdi> <span class="muted">· {hoursPhrase(person.totalQuarters)}</span>
      </h2>
      {person.weeks.map((week) => (
        <WeekTable
          key={week.id}
          person={person}
          week={week}
          selected={selected}
          busy={busy}
          rowErrors={rowErrors}
          onSelect={onSelect}
          onDecide={onDecide}
        />
      ))}
    </section>
  );
}

function WeekTable({ person, week, selected, busy, rowErrors, onSelect, onDecide }: PersonProps & { week: WeekGroup }) {
  const ids = week.entries.map((e) => e.id);
  const state = selectionState(selected, ids);
  const groupName = `${person.name}, ${week.label}`;
  const groupSelected = ids.filter((id) => selected.has(id));
  return (
    <div class="week-group">
      <div class="week-group-head">
        <h3>{week.label}</h3>
        <span class="muted">{hoursPhrase(week.totalQuarters)}</span>
        <span class="spacer" />
        <button
          type="button"
          class="small"
          disabled={busy !== null}
          onClick={() => onDecide(ids, "approve")}
          aria-label={`Approve all of ${groupName}`}
        >
          Approve week
        </button>
      </div>
      <table class="approval-table">
        <caption class="sr-only">
          Entries of <bdi dir="auto">{person.name}</bdi>, {week.label} awaiting approval
        </caption>
        <colgroup>
          <col class="col-check" />
          <col class="col-day" />
          <col class="col-project" />
          <col />
          <col class="col-hours" />
          <col class="col-actions" />
        </colgroup>
        <thead>
          <tr>
            <th scope="col" class="check">
              <input
                type="checkbox"
                data-testid={`select-group-${slug(person.owner)}-${week.monday}`}
                aria-label={`Select all entries of ${groupName}`}
                checked={state === "all"}
                indeterminate={state === "some"}
                onChange={() => onSelect(toggleAll(selected, ids))}
              />
            </th>
            <th scope="col">Day</th>
            <th scope="col">Project</th>
            <th scope="col">Notes</th>
            <th scope="col" class="num">
              Hours
            </th>
            <th scope="col" class="actions-head">
              <span class="sr-only">Decision</span>
              {groupSelected.length > 0 && <span class="muted small-text">{groupSelected.length} selected</span>}
            </th>
          </tr>
        </thead>
        <tbody>
          {week.entries.map((entry) => {
            const day = shortDayLabel(entry.date);
            const name = describeEntry(entry);
            const working = busy?.ids.has(entry.id) ?? false;
            const error = rowErrors.get(entry.id);
            const errorId = `approval-error-${slug(entry.id)}`;
            return (
              <tr
                key={entry.id}
                data-testid={`approval-${entry.id}`}
                class={error ? "has-error" : undefined}
                aria-busy={working ? true : undefined}
              >
                <td class="check">
                  <input
                    type="checkbox"
                    aria-label={`Select ${name}`}
                    checked={selected.has(entry.id)}
                    onChange={() => onSelect(toggleOne(selected, entry.id))}
                  />
                </td>
                <td class="nowrap">
                  {day.weekday} {day.date}
                </td>
                <td>
                  <bdi dir="auto">{entry.project}</bdi>
                </td>
                <td class="notes">{entry.notes ? <bdi dir="auto">{entry.notes}</bdi> : <span class="muted">—</span>}</td>
                <td class="num">{formatQuarters(toQuarters(entry.hours))}</td>
                <td class="actions">
                  {working && busy ? (
                    <span class="saving">
                      <Spinner /> {verbing(busy.decision)}…
                    </span>
                  ) : (
                    <>
                      <button
                        type="button"
                        class="small"
                        data-testid={`approve-${entry.id}`}
                        aria-label={`Approve ${name}`}
                        aria-describedby={error ? errorId : undefined}
                        disabled={busy !== null}
                        onClick={() => onDecide([entry.id], "approve")}
                      >
                        <CheckIcon /> Approve
                      </button>
                      <button
                        type="button"
                        class="small danger-outline"
                        data-testid={`reject-${entry.id}`}
                        aria-label={`Reject ${name}`}
                        aria-describedby={error ? errorId : undefined}
                        disabled={busy !== null}
                        onClick={() => onDecide([entry.id], "reject")}
                      >
                        <CrossIcon /> Reject
                      </button>
                    </>
                  )}
                  {error && (
                    <p class="row-error" id={errorId} data-testid={`approval-error-${entry.id}`}>
                      <WarningIcon /> {error}
                    </p>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
