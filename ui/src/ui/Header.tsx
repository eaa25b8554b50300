/** The signed-in header: the app, the screens, who is signed in with which permissions, and Sign out. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Backend, SessionView } from "../backend/backend";
import { AppError, describeError } from "../backend/errors";
import { can, missingText, permissionWords } from "../scopes";
import type { Announce, Screen, SessionCommand } from "./App";
import { Spinner } from "./icons";

interface HeaderProps {
  backend: Backend;
  session: SessionView;
  screen: Screen;
  onScreen: (screen: Screen) => void;
  run: SessionCommand;
  /** Edits not yet confirmed by the API: signing out asks first. */
  unsavedCount: number;
  announce: Announce;
}

export function Header({ backend, session, screen, onScreen, run, unsavedCount, announce }: HeaderProps) {
  const [signingOut, setSigningOut] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const canApprove = can(session.scopes, "approve");
  const cancelRef = useRef<HTMLButtonElement>(null);
  const signOutRef = useRef<HTMLButtonElement>(null);
  const wasConfirming = useRef(false);

  // Keep the keyboard on the question, and back on Sign out after it.
  useEffect(() => {
    if (confirming) cancelRef.current?.focus();
    else if (wasConfirming.current) signOutRef.current?.focus();
    wasConfirming.current = confirming;
  }, [confirming]);

  const signOut = async () => {
    setConfirming(false);
    setSigningOut(true);
    try {
      await run(() => backend.signOut());
    } catch (error) {
      announce(`Could not sign out: ${describeError(AppError.from(error))}`, "error");
      setSigningOut(false);
    }
  };

  return (
    <header class="app-header">
      <div class="brand" aria-label="Timesheets">
        <span class="brand-mark" aria-hidden="true">
          T
        </span>
        <span class="brand-name">Timesheets</span>
      </div>

      <nav class="tabs" aria-label="Screens">
        <button
          type="button"
          class="tab"
          data-testid="tab-week"
          aria-current={screen === "week" ? "page" : undefined}
          onClick={() => onScreen("week")}
        >
          My week
        </button>
        <span class="tab-wrap">
          <button
            type="button"
            class="tab"
            data-testid="tab-approvals"
            aria-current={screen === "approvals" ? "page" : undefined}
            disabled={!canApprove}
            aria-describedby={canApprove ? undefined : "approvals-needs"}
            onClick={() => onScreen("approvals")}
          >
            Approvals
          </button>
          {!canApprove && (
            <span class="tab-hint" id="approvals-needs">
              {missingText("approve:timesheets")}
            </span>
          )}
        </span>
      </nav>

      <div class="who">
        <div class="who-line">
          <span class="who-name" data-testid="user-name">
            {session.user ? <bdi dir="auto">{session.user.name}</bdi> : "Signed in"}
          </span>
          {session.user?.email && (
            <span class="who-email" data-testid="user-email">
              <bdi dir="auto">{session.user.email}</bdi>
            </span>
          )}
        </div>
        <div class="who-perms">
          <span class="muted">Permissions: </span>
          <span data-testid="permissions" title={session.scopes.join(" ") || "none"}>
            {permissionWords(session.scopes)}
          </span>
        </div>
      </div>

      <div class="sign-out">
        {confirming ? (
          <div class="confirm" role="group" aria-labelledby="sign-out-warning">
            <span id="sign-out-warning" class="confirm-text">
              {unsavedCount === 1 ? "1 change is" : `${unsavedCount} changes are`} not saved yet. They are kept here
              until you sign in again as the same person.
            </span>
            <button type="button" class="danger" data-testid="confirm-sign-out" onClick={() => void signOut()}>
              Sign out anyway
            </button>
            <button type="button" ref={cancelRef} onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        ) : (
          <button
            type="button"
            ref={signOutRef}
            data-testid="sign-out"
            disabled={signingOut}
            aria-busy={signingOut}
            onClick={() => (unsavedCount > 0 ? setConfirming(true) : void signOut())}
          >
            {signingOut ? (
              <>
                <Spinner /> Signing out…
              </>
            ) : (
              "Sign out"
            )}
          </button>
        )}
      </div>
    </header>
  );
}
