/**
 * Which granted scope each action needs, and how to say so.
 *
 * The API decides every request; the UI only uses this to disable controls and to
 * say which permission is missing (DESIGN.md "Tokens and the keyring").
 */
import type { Scope } from "./backend/backend";

/** The things a person can try to do in the app. */
export type Action = "view" | "create" | "edit" | "delete" | "approve";

/** The scope each action needs. */
export const NEEDS: Readonly<Record<Action, Scope>> = {
  view: "read:timesheets",
  create: "create:timesheets",
  edit: "create:timesheets",
  delete: "delete:timesheets",
  approve: "approve:timesheets",
};

/** Each scope in plain words, in the order the header lists them. */
export const SCOPE_WORDS: ReadonlyArray<readonly [Scope, string]> = [
  ["read:timesheets", "View"],
  ["create:timesheets", "Add & edit"],
  ["delete:timesheets", "Delete"],
  ["approve:timesheets", "Approve"],
];

export type Gate = { allowed: true } | { allowed: false; scope: Scope; reason: string };

/** The sentence a disabled control shows: "Needs the create:timesheets permission". */
export function missingText(scope: Scope): string {
  return `Needs the ${scope} permission`;
}

/** Whether the granted scopes allow `action`. */
export function can(scopes: readonly Scope[], action: Action): boolean {
  return scopes.includes(NEEDS[action]);
}

/** Whether `action` is allowed, and if not, why in words. */
export function gate(scopes: readonly Scope[], action: Action): Gate {
  const scope = NEEDS[action];
  return scopes.includes(scope) ? { allowed: true } : { allowed: false, scope, reason: missingText(scope) };
}

/** "View, Add & edit, Delete, Approve"; "No timesheet permissions" when none. */
export function permissionWords(scopes: readonly Scope[]): string {
  const words = SCOPE_WORDS.filter(([scope]) => scopes.includes(scope)).map(([, word]) => word);
  return words.length === 0 ? "No timesheet permissions" : words.join(", ");
}
