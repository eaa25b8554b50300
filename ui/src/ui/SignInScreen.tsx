/** Signing in through the system browser: the button, the wait (with Cancel), and what went wrong. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Backend, SessionView } from "../backend/backend";
import { AppError, describeError } from "../backend/errors";
import type { SessionCommand } from "./App";
import { OfflineIcon, Spinner, WarningIcon } from "./icons";

interface SignInProps {
  backend: Backend;
  session: SessionView;
  run: SessionCommand;
  /** Edits kept from before the session ended. */
  unsavedCount: number;
}

export function SignInScreen({ backend, session, run: runCommand, unsavedCount }: SignInProps) {
  const [busy, setBusy] = useState<null | "sign-in" | "cancel">(null);
  const [error, setError] = useState<string | null>(null);
  const signInButton = useRef<HTMLButtonElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const waiting = session.state === "waiting_for_browser";

  // Keep the keyboard where the next step is.
  useEffect(() => {
    (waiting ? cancelButton : signInButton).current?.focus();
  }, [waiting]);

  const run = async (kind: "sign-in" | "cancel") => {
    setBusy(kind);
    setError(null);
    try {
      await runCommand(() => (kind === "sign-in" ? backend.signIn() : backend.cancelSignIn()));
    } catch (e) {
      const what = kind === "sign-in" ? "Could not start signing in" : "Could not cancel signing in";
      setError(`${what}: ${describeError(AppError.from(e))}`);
    } finally {
      setBusy(null);
    }
  };

  const message = error ?? session.message;

  return (
    <main class="signin">
      <div class="signin-card">
        <div class="brand brand-large">
          <span class="brand-mark" aria-hidden="true">
            T
          </span>
          <h1 class="brand-name">Timesheets</h1>
        </div>
        <p class="signin-lead">Enter your hours week by week and send them for approval.</p>

        {message && (
          <p class="alert" role="alert" data-testid="message">
            <WarningIcon />
            <span>{message}</span>
          </p>
        )}

        {waiting ? (
          <div class="waiting">
            <p class="waiting-title" role="status">
              <Spinner /> Finish signing in in your browser…
            </p>
            <p class="muted">
              A page of {session.provider} opened in your web browser. When you are done there, this window continues by
              itself.
            </p>
            <button
              type="button"
              ref={cancelButton}
              data-testid="cancel-sign-in"
              disabled={busy !== null}
              aria-busy={busy === "cancel"}
              onClick={() => void run("cancel")}
            >
              {busy === "cancel" ? "Cancelling…" : "Cancel"}
            </button>
          </div>
        ) : (
          <button
            type="button"
            class="primary large"
            ref={signInButton}
            data-testid="sign-in"
            disabled={busy !== null}
            aria-busy={busy === "sign-in"}
            onClick={() => void run("sign-in")}
          >
            {busy === "sign-in" ? (
              <>
                <Spinner /> Opening your browser…
              </>
            ) : (
              `Sign in with ${session.provider}`
            )}
          </button>
        )}

        {session.offline && (
          <p class="notice-line">
            <OfflineIcon /> You are offline. Signing in needs a connection; the app keeps trying to reconnect.
          </p>
        )}
        {unsavedCount > 0 && (
          <p class="notice-line" data-testid="kept-edits">
            <WarningIcon />{" "}
            {unsavedCount === 1 ? "1 change that was not saved is" : `${unsavedCount} changes that were not saved are`}{" "}
            kept here. Sign in again to save them.
          </p>
        )}
      </div>
    </main>
  );
}
