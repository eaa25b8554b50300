/**
 * The approvals screen as data: entries awaiting a decision grouped by person and
 * ISO week, selection per group, and the results of a decision in plain words.
 */
import type { Decision, DecisionOutcome, Entry } from "./backend/backend";
import { describeError } from "./backend/errors";
import { hoursPhrase, toQuarters } from "./hours";
import { mondayOf, shortDayLabel, weekLabel } from "./week";

export interface WeekGroup {
  /** Identifies the group: owner and Monday. */
  id: string;
  monday: string;
  label: string;
  entries: Entry[];
  totalQuarters: number;
}

export interface PersonGroup {
  owner: string;
  name: string;
  weeks: WeekGroup[];
  totalQuarters: number;
}

const byText = (a: string, b: string) => a.localeCompare(b, undefined, { sensitivity: "base" });

/** Groups by person (by name), then by week (oldest first), entries by date then project. */
export function groupApprovals(entries: readonly Entry[]): PersonGroup[] {
  const people = new Map<string, { name: string; weeks: Map<string, Entry[]> }>();
  for (const entry of entries) {
    let person = people.get(entry.owner);
    if (!person) {
      person = { name: entry.owner_name || entry.owner, weeks: new Map() };
      people.set(entry.owner, person);
    }
    const monday = mondayOf(entry.date);
    const list = person.weeks.get(monday);
    if (list) list.push(entry);
    else person.weeks.set(monday, [entry]);
  }
  return [...people.entries()]
    .map(([owner, { name, weeks }]): PersonGroup => {
      const weekGroups = [...weeks.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([monday, list]): WeekGroup => {
          const sorted = [...list].sort((a, b) =>
            a.date < b.date ? -1 : a.date > b.date ? 1 : byText(a.project, b.project),
          );
          return {
            id: `${owner}|${monday}`,
            monday,
            label: weekLabel(monday),
            entries: sorted,
            totalQuarters: sorted.reduce((sum, e) => sum + toQuarters(e.hours), 0),
          };
        });
      return { owner, name, weeks: weekGroups, totalQuarters: weekGroups.reduce((s, w) => s + w.totalQuarters, 0) };
    })
    .sort((a, b) => byText(a.name, b.name) || byText(a.owner, b.owner));
}

/** How much of a group is selected, for its "select all" checkbox. */
export function selectionState(selected: ReadonlySet<string>, ids: readonly string[]): "all" | "some" | "none" {
  const count = ids.filter((id) => selected.has(id)).length;
  if (count === 0) return "none";
  return count === ids.length ? "all" : "some";
}

/** Selects all of `ids`, or, when all are selected already, none of them. */
export function toggleAll(selected: ReadonlySet<string>, ids: readonly string[]): Set<string> {
  const next = new Set(selected);
  if (selectionState(selected, ids) === "all") ids.forEach((id) => next.delete(id));
  else ids.forEach((id) => next.add(id));
  return next;
}

/** Adds or removes one id. */
export function toggleOne(selected: ReadonlySet<string>, id: string): Set<string> {
  const next = new Set(selected);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** "Ada Lovelace, Mon 23 Nov, Apollo (7.5 hours)" */
export function describeEntry(entry: Entry): string {
  const day = shortDayLabel(entry.date);
  return `${entry.owner_name || entry.owner}, ${day.weekday} ${day.date}, ${entry.project} (${hoursPhrase(toQuarters(entry.hours))})`;
}

export interface DecisionSummary {
  /** Ids the API decided. */
  done: string[];
  /** Ids it did not, each with the reason in plain words. */
  failed: Map<string, string>;
  /** One or two sentences for the status line. */
  text: string;
  ok: boolean;
}

/** "1 entry", "3 entries". */
export const countEntries = (n: number) => (n === 1 ? "1 entry" : `${n} entries`);

/** Reads the outcomes of `decide`; an id without an outcome counts as failed. */
export function summarizeDecision(
  decision: Decision,
  ids: readonly string[],
  outcomes: readonly DecisionOutcome[],
  entries: ReadonlyMap<string, Entry>,
): DecisionSummary {
  const verb = decision === "approve" ? "approved" : "rejected";
  const done: string[] = [];
  const failed = new Map<string, string>();
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  for (const id of ids) {
    const outcome = byId.get(id);
    if (!outcome) failed.set(id, "No answer came back for this entry.");
    else if (outcome.error) failed.set(id, describeError(outcome.error));
    else done.push(id);
  }
  const parts: string[] = [];
  if (done.length > 0) parts.push(`${countEntries(done.length)} ${verb}.`);
  if (failed.size > 0) {
    const names = [...failed.entries()].map(([id, why]) => {
      const entry = entries.get(id);
      return `${entry ? describeEntry(entry) : id}: ${why}`;
    });
    parts.push(`${countEntries(failed.size)} could not be ${verb}: ${names.join("; ")}`);
  }
  return { done, failed, text: parts.join(" "), ok: failed.size === 0 };
}
