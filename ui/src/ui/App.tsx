/**
 * The whole window: the sign-in screen, or the header with "My week" and
 * "Approvals". Holds the session the Rust side reports and the status line.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Backend, SessionView } from "../backend/backend";
import { AppError, describeError, type ErrorCode } from "../backend/errors";
import { can } from "../scopes";
import { WeekStore } from "../week-store";
import { unsavedEdits } from "../grid";
import { ApprovalsScreen } from "./ApprovalsScreen";
import { Header } from "./Header";
import { Notices, StatusBar, type Notice } from "./Notices";
import { SignInScreen } from "./SignInScreen";
import { WeekScreen } from "./WeekScreen";
import { useStore } from "./use-store";
import { Spinner } from "./icons";

export type Screen = "week" | "approvals";

export type Announce = (text: string, kind: "info" | "error") => void;

/** Runs a command that answers with a session (sign in, cancel, sign out) and shows that session. */
export type SessionCommand = (call: () => Promise<SessionView>) => Promise<void>;

/** Failures that come from the connection or the server, not from the edit: retried once healthy again. */
const RETRY_CODES: readonly ErrorCode[] = ["offline", "unavailable"];

function isRetryCode(code: ErrorCode | undefined): boolean {
  return code !== undefined && RETRY_CODES.includes(code);
}

/** The network is up and the server can verify sign-ins. */
function backendHealthy(session: SessionView): boolean {
  return !session.offline && !session.cannot_verify;
}

function userKey(session: SessionView): string | null {
  return session.user ? `${session.provider}|${session.user.email ?? ""}|${session.user.name}` : null;
}

export function App({ backend }: { backend: Backend }) {
  const [session, setSession] = useState<SessionView | null>(null);
  const [bootError, setBootError] = useState<AppError | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [screen, setScreen] = useState<Screen>("week");
  const noticeSeq = useRef(0);

  const announce = useCallback<Announce>((text, kind) => {
    noticeSeq.current += 1;
    setNotice({ id: noticeSeq.current, text, kind });
  }, []);

  // Reports fade after a while; errors stay until dismissed or replaced.
  useEffect(() => {
    if (notice?.kind !== "info") return;
    const timer = setTimeout(() => setNotice((current) => (current?.id === notice.id ? null : current)), 10_000);
    return () => clearTimeout(timer);
  }, [notice]);

  // A session pushed by the Rust side is newer than the answer to any call made
  // before it: such an answer is not shown over it.
  const pushes = useRef(0);

  const refreshSession = useCallback(() => {
    const before = pushes.current;
    backend.session().then(
      (next) => {
        if (pushes.current === before) setSession(next);
      },
      (error: unknown) => setBootError(AppError.from(error)),
    );
  }, [backend]);

  const onError = useCallback(
    (error: AppError) => {
      // The Rust side also pushes "session-changed"; asking makes sure the screen follows.
      if (error.code === "signed_out") refreshSession();
    },
    [refreshSession],
  );

  const store = useMemo(() => new WeekStore({ backend, announce, onError }), [backend, announce, onError]);
  const week = useStore(store);

  useEffect(() => {
    const stop = backend.onSession((next) => {
      pushes.current += 1;
      setSession(next);
    });
    refreshSession();
    return stop;
  }, [backend, refreshSession]);

  const sessionCommand = useCallback<SessionCommand>(async (call) => {
    const before = pushes.current;
    const next = await call();
    if (pushes.current === before) setSession(next);
  }, []);

  // A different person signing in does not inherit someone else's unsaved edits.
  const lastUser = useRef<string | null>(null);
  useLayoutEffect(() => {
    if (!session || session.state !== "signed_in") return;
    const key = userKey(session);
    if (lastUser.current !== null && key !== lastUser.current) {
      const lost = unsavedEdits(store.snapshot.edits).length;
      store.reset();
      if (lost > 0) announce(`${lost} unsaved changes of the previous user were discarded.`, "info");
    }
    lastUser.current = key;
    store.setScopes(session.scopes);
  }, [session, store, announce]);

  // Healthy again (back online, or the server verifies sign-ins again): retry
  // what failed for that reason, and load a week that could not be loaded.
  const wasUnhealthy = useRef<{ offline: boolean; cannotVerify: boolean }>({ offline: false, cannotVerify: false });
  useEffect(() => {
    if (!session) return;
    const before = wasUnhealthy.current;
    if ((before.offline || before.cannotVerify) && backendHealthy(session) && session.state === "signed_in") {
      const waiting = [...store.snapshot.edits.values()].filter(
        (e) => e.phase === "failed" && isRetryCode(e.error?.code),
      );
      if (waiting.length > 0) {
        announce(
          before.offline
            ? "Back online: saving your unsaved changes again…"
            : "The timesheet server verifies sign-ins again: saving your unsaved changes…",
          "info",
        );
        void store.retryAll();
      }
      const week = store.snapshot;
      if (week.load === "error" && isRetryCode(week.loadError?.code)) void store.reload();
    }
    wasUnhealthy.current = { offline: session.offline, cannotVerify: session.cannot_verify };
  }, [session, store, announce]);

  if (!session) {
    return (
      <main class="boot" aria-busy={!bootError}>
        {bootError ? (
          <div class="boot-error" role="alert" data-testid="message">
            <p>The app could not start: {describeError(bootError)}</p>
            <button
              type="button"
              onClick={() => {
                setBootError(null);
                refreshSession();
              }}
            >
              Try again
            </button>
          </div>
        ) : (
          <p class="boot-loading">
            <Spinner /> Starting Timesheets…
          </p>
        )}
      </main>
    );
  }

  const pendingCount = week.edits.size;

  if (session.state !== "signed_in") {
    return <SignInScreen backend={backend} session={session} run={sessionCommand} unsavedCount={pendingCount} />;
  }

  const canApprove = can(session.scopes, "approve");
  const shown: Screen = screen === "approvals" && canApprove ? "approvals" : "week";

  return (
    <div class="app">
      <Header
        backend={backend}
        session={session}
        screen={shown}
        onScreen={setScreen}
        run={sessionCommand}
        unsavedCount={pendingCount}
        announce={announce}
      />
      <Notices session={session} notice={notice} onDismiss={() => setNotice(null)} />
      <main class="content" id="main">
        {shown === "week" ? (
          <WeekScreen store={store} />
        ) : (
          <ApprovalsScreen backend={backend} announce={announce} onError={onError} />
        )}
      </main>
      <StatusBar notice={notice} />
    </div>
  );
}
