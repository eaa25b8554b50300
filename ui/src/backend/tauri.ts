/**
 * The Backend over Tauri's IPC: the only module that imports `@tauri-apps/api`.
 *
 * Command names and argument names are the app's Tauri commands exactly (Tauri 2
 * maps camelCase arguments to the Rust snake_case parameters). Every failure is
 * rethrown as one {@link AppError}.
 */
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type {
  Backend,
  Decision,
  DecisionOutcome,
  Entry,
  EntryPatch,
  NewEntry,
  SessionView,
  Settings,
  Unsubscribe,
} from "./backend";
import { AppError } from "./errors";

/** The event the Rust side emits whenever the session changes. */
export const SESSION_EVENT = "session-changed";

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw AppError.from(error);
  }
}

export class TauriBackend implements Backend {
  session(): Promise<SessionView> {
    return call("session");
  }

  signIn(): Promise<SessionView> {
    return call("sign_in");
  }

  cancelSignIn(): Promise<SessionView> {
    return call("cancel_sign_in");
  }

  signOut(): Promise<SessionView> {
    return call("sign_out");
  }

  today(): Promise<string> {
    return call("today");
  }

  settings(): Promise<Settings> {
    return call("settings");
  }

  listEntries(from: string, to: string): Promise<Entry[]> {
    return call("list_entries", { from, to });
  }

  createEntry(entry: NewEntry, idempotencyKey: string): Promise<Entry> {
    return call("create_entry", { entry, idempotencyKey });
  }

  updateEntry(id: string, patch: EntryPatch): Promise<Entry> {
    return call("update_entry", { id, patch });
  }

  async deleteEntry(id: string): Promise<void> {
    await call<null>("delete_entry", { id });
  }

  submitWeek(monday: string): Promise<Entry[]> {
    return call("submit_week", { week: monday });
  }

  withdrawWeek(monday: string): Promise<Entry[]> {
    return call("withdraw_week", { week: monday });
  }

  pendingApprovals(): Promise<Entry[]> {
    return call("pending_approvals");
  }

  decide(ids: string[], decision: Decision, reason: string | null = null): Promise<DecisionOutcome[]> {
    return call("decide", { ids, decision, reason });
  }

  onSession(listener: (session: SessionView) => void): Unsubscribe {
    // `listen` resolves asynchronously; an unsubscribe that comes first still wins.
    let stopped = false;
    let unlisten: (() => void) | null = null;
    listen<SessionView>(SESSION_EVENT, (event) => {
      if (!stopped) listener(event.payload);
    }).then(
      (stop) => {
        if (stopped) stop();
        else unlisten = stop;
      },
      (error: unknown) => {
        console.error("Could not listen for session changes", AppError.from(error).message);
      },
    );
    return () => {
      stopped = true;
      unlisten?.();
      unlisten = null;
    };
  }
}
