/**
 * Everything the app tells the person outside a screen: offline, a server that
 * cannot verify sign-ins, a sign-in that will not be remembered, a message from
 * the Rust side, and the status line (a live region) where actions report what
 * they did.
 */
import type { SessionView } from "../backend/backend";
import { CrossIcon, OfflineIcon, WarningIcon } from "./icons";

export interface Notice {
  id: number;
  text: string;
  kind: "info" | "error";
}

export const NOT_REMEMBERED =
  "No system keyring answered, so you will not be remembered after this run: you will need to sign in again next time.";

export const OFFLINE =
  "You are offline. Your changes stay here, marked unsaved; the app keeps trying to reconnect and saves them again when it can.";

export const CANNOT_VERIFY =
  "The timesheet server can't verify sign-ins right now. This is a problem with the server's setup, not your connection. Your changes stay here, marked unsaved; the app keeps trying and saves them again when it can.";

export function Notices({
  session,
  notice,
  onDismiss,
}: {
  session: SessionView;
  notice: Notice | null;
  onDismiss: () => void;
}) {
  return (
    <div class="notices">
      {/* The connection's state, as a polite live region that is always present so
          screen readers hear a banner when it appears. Offline and "cannot verify"
          are different facts (the network, the server's setup): each has its own
          banner, and both show if both are true. */}
      <div role="status" aria-live="polite" class="connection-banners" data-testid="connection-status">
        {session.offline && (
          <div class="banner banner-offline" data-testid="offline-banner">
            <OfflineIcon /> <span>{OFFLINE}</span>
          </div>
        )}
        {session.cannot_verify && (
          <div class="banner banner-cannot-verify" data-testid="cannot-verify-banner">
            <WarningIcon /> <span>{CANNOT_VERIFY}</span>
          </div>
        )}
      </div>
      {/* Not remembered: the Rust side's message says why (no keyring answered, or no
          refresh token granted); one banner, not the same news twice. */}
      {!session.remembered && (
        <div class="banner banner-info" data-testid="not-remembered">
          <WarningIcon /> <span>{session.message ?? NOT_REMEMBERED}</span>
        </div>
      )}
      {session.remembered && session.message && (
        <div class="banner banner-info">
          <span>{session.message}</span>
        </div>
      )}
      {notice?.kind === "error" && (
        <div class="notice notice-error" role="alert" data-testid="message" key={notice.id}>
          <WarningIcon />
          <span>{notice.text}</span>
          <button type="button" class="icon-button" aria-label="Dismiss message" onClick={onDismiss}>
            <CrossIcon />
          </button>
        </div>
      )}
    </div>
  );
}

/** The window's bottom line: a polite live region with what the last action did. */
export function StatusBar({ notice }: { notice: Notice | null }) {
  return (
    <footer class="status-bar">
      {/* Always present, so screen readers hear what is put into it. */}
      <div role="status" aria-live="polite" class="status-text">
        {notice?.kind === "info" && (
          <span data-testid="message" key={notice.id}>
            {notice.text}
          </span>
        )}
      </div>
    </footer>
  );
}
