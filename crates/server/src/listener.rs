//! Serves one listener so that idle and slow connections cannot take the server
//! from everyone else.
//!
//! `axum::serve` keeps a connection for as long as the client likes: 300 clients
//! sending a byte a second, or 1,100 that send nothing, hold their sockets for ever,
//! and under the usual limit of 1,024 open files the next `accept` fails with
//! `EMFILE` for everyone, on both listeners. [`serve`] instead runs its own accept
//! loop on `hyper-util` and gives each connection a deadline for what it owes:
//!
//! | the connection is | it is closed after | why |
//! | --- | --- | --- |
//! | new, or has begun a request head | [`Limits::header_read_timeout`] | a head is a few hundred bytes: a client that needs longer is trickling |
//! | between requests, nothing of the next one yet | [`Limits::idle_timeout`] | keep-alive is a courtesy, not a reservation |
//! | being answered | never by this module | the routers time their own requests out |
//!
//! (as Go's `net/http` does with `ReadHeaderTimeout` and `IdleTimeout`). hyper's own
//! `header_read_timeout` is not used: it restarts when a kept-alive connection goes
//! idle, so it would close those after the header timeout rather than the idle one,
//! and it does not run while `auto::Builder` waits for the bytes that tell HTTP/1
//! from HTTP/2, so a connection that sends nothing would never be timed.
//!
//! At most [`Limits::max_connections`] connections are kept per listener. When one
//! more arrives, the connection that has owed its next request the longest (idle,
//! or still sending its head) is closed to make room, so idle clients cannot lock
//! active ones out; only when every connection is being answered is the newcomer
//! turned away at once, with a 503.
//!
//! Each router sees the client's address as `ConnectInfo<SocketAddr>`, exactly as
//! with `Router::into_make_service_with_connect_info::<SocketAddr>()`.

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Request, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::{Service as _, ServiceExt as _};

/// What each connection of a listener may hold, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections kept open at once on the listener.
    pub max_connections: usize,
    /// How long a client may take to send a request head, counted from the
    /// connection's start or from the first byte after an idle spell.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may stay open without starting another request.
    pub idle_timeout: Duration,
}

/// Open files kept aside, when the connection limit is derived from the open-file
/// limit, for everything but client connections: the database and its journal
/// files, the provider's keys, logs, the runtime's own descriptors.
const RESERVED_FILES: u64 = 128;

/// The listeners sharing the open-file limit: the API and the identity provider.
const LISTENERS: u64 = 2;

/// The derived connection limit is never below this, so that a very low open-file
/// limit still serves a few clients (and fails loudly on `accept` rather than not at all).
const MIN_DEFAULT_CONNECTIONS: usize = 16;

/// Nor above this: past a few thousand the connections' memory, not the file
/// table, is what runs out.
const MAX_DEFAULT_CONNECTIONS: usize = 4096;

/// Raises the soft open-file limit to the hard one, where the platform has such
/// limits, and returns the soft limit now in force (`None` where there is none).
/// Many systems start services with a soft limit of 1,024 although they allow far
/// more; every connection costs one.
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        // `u64::MAX` back means "no such limit here" (or an unlimited one).
        Ok(u64::MAX) => None,
        Ok(limit) => Some(limit),
        Err(error) => {
            tracing::warn!("cannot read or raise the open-file limit: {error}");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
                .filter(|&soft| soft != u64::MAX)
        }
    }
}

/// The connection limit per listener when `--max-connections` is not given: what
/// is left of the open-file limit after [`RESERVED_FILES`], shared by both listeners.
pub fn default_max_connections(open_files: Option<u64>) -> usize {
    match open_files {
        None => MAX_DEFAULT_CONNECTIONS,
        Some(limit) => {
            let share = limit.saturating_sub(RESERVED_FILES) / LISTENERS;
            usize::try_from(share)
                .unwrap_or(usize::MAX)
                .clamp(MIN_DEFAULT_CONNECTIONS, MAX_DEFAULT_CONNECTIONS)
        }
    }
}

/// Whether `max_connections` on each listener, with the files kept aside, fits
/// the open-file limit. When it does not, `accept` fails with `EMFILE` before the
/// limit is reached (the server then makes room by closing idle connections).
pub fn fits_open_file_limit(max_connections: usize, open_files: Option<u64>) -> bool {
    let needed = (max_connections as u64)
        .saturating_mul(LISTENERS)
        .saturating_add(RESERVED_FILES);
    open_files.is_none_or(|limit| needed <= limit)
}

/// The answer to a connection turned away because every slot is answering a request.
const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    content-type: text/plain\r\ncontent-length: 12\r\nretry-after: 1\r\n\
    connection: close\r\n\r\nserver busy\n";

/// The shortest and longest pause after `accept` fails for want of resources.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

/// At most one "turned away" warning per listener in this span, however many are.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` within `limits` until `stopping` turns true; then
/// closes idle connections, lets requests in flight finish and returns once every
/// connection is closed. `name` says which listener in the logs.
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The deadlines are this module's (see the module documentation); without a
    // timer hyper's own default header timeout would not run, but say so plainly.
    builder.http1().header_read_timeout(None);
    let builder = Arc::new(builder);
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();

    let mut open: HashMap<tokio::task::Id, Arc<Tracker>> = HashMap::new();
    let mut tasks = JoinSet::new();
    let mut accept_failures = AcceptFailures::default();
    let mut last_full_warning: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stopping.wait_for(|stop| *stop) => break,
            Some(done) = tasks.join_next_with_id() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(error) => {
                        tracing::error!("a {name} connection failed: {error}");
                        error.id()
                    }
                };
                open.remove(&id);
                continue;
            }
            () = tokio::time::sleep_until(accept_failures.resume_at), if accept_failures.paused => {
                accept_failures.paused = false;
                continue;
            }
            accepted = listener.accept(), if !accept_failures.paused => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => {
                accept_failures.recovered(name);
                accepted
            }
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                // Most likely out of file descriptors (EMFILE, ENFILE) or memory:
                // closing the longest-idle connection frees one; either way, pause
                // rather than spin on a listener that stays readable.
                let freed = evict_longest_idle(open.values());
                accept_failures.failed(name, &error, freed);
                continue;
            }
        };
        if open.len() >= limits.max_connections && !evict_longest_idle(open.values()) {
            if last_full_warning.is_none_or(|at| at.elapsed() >= FULL_WARNING_EVERY) {
                tracing::warn!(
                    "{name}: all {} connections are answering requests; \
                     turning new ones away",
                    limits.max_connections
                );
                last_full_warning = Some(Instant::now());
            }
            // Non-blocking: a client that does not take the answer at once just
            // sees the connection close.
            let _ = stream.try_write(BUSY_RESPONSE);
            continue;
        }
        // Exactly what `into_make_service_with_connect_info` hands `axum::serve`:
        // the router with a `ConnectInfo<SocketAddr>` extension. It is always ready.
        let router = match make_service.call(remote).await {
            Ok(router) => router,
            Err(never) => match never {},
        };
        let tracker = Arc::new(Tracker::new());
        let task = tasks.spawn(serve_connection(
            Arc::clone(&builder),
            stream,
            router,
            Arc::clone(&tracker),
            limits,
            stopping.clone(),
        ));
        open.insert(task.id(), tracker);
    }
    // No new connections from here; every open one sees `stopping` itself.
    drop(listener);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Drives one connection to its end: closed by the client, by hyper after an
/// error, by a deadline of [`Limits`], to make room for a newer one, or on shutdown.
async fn serve_connection<R>(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    router: R,
    tracker: Arc<Tracker>,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) where
    R: tower::Service<Request<Incoming>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    R::Future: Send + 'static,
{
    // Each request counts as in flight until its response body is done.
    let counted = Arc::clone(&tracker);
    let service = TowerToHyperService::new(tower::service_fn(move |request: Request<Incoming>| {
        let in_flight = InFlight::start(&counted);
        let response = router.clone().oneshot(request);
        async move {
            let response = response.await?;
            Ok::<_, Infallible>(response.map(|body| InFlightBody {
                body,
                _in_flight: in_flight,
            }))
        }
    }));
    // Small answers go out at once rather than waiting for more to send.
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(Watched {
        stream,
        tracker: Arc::clone(&tracker),
    });
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut stop_requested = false;
    // Once hyper is told to finish, it alone closes the connection: dropping it
    // then could cut off a response it has not finished writing.
    let mut finishing = false;
    loop {
        // Once finishing, hyper closes the connection itself.
        let deadline = if finishing {
            None
        } else {
            tracker.deadline(&limits)
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!("connection ended: {error}");
                }
                return;
            }
            () = tracker.changed.notified() => {}
            () = sleep_until(deadline) => {}
            _ = stopping.wait_for(|stop| *stop), if !stop_requested => stop_requested = true,
        }
        if finishing {
            continue;
        }
        let state = tracker.state();
        let close =
            state.evict || stop_requested || deadline.is_some_and(|at| at <= Instant::now());
        if !close {
            continue;
        }
        if matches!(state.phase, Phase::Answering { .. }) {
            // A request came in before the close: answer it, then close.
            drop(state);
            connection.as_mut().graceful_shutdown();
            finishing = true;
        } else {
            // Nothing is owed to the client: close now.
            return;
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Marks the connection that has owed a request the longest (idle or sending a
/// head, and not already on its way out) to be closed. Whether one was found.
fn evict_longest_idle<'a>(open: impl IntoIterator<Item = &'a Arc<Tracker>>) -> bool {
    let longest = open
        .into_iter()
        .filter_map(|tracker| {
            let state = tracker.state();
            match state.phase {
                _ if state.evict => None,
                Phase::Head { since } | Phase::Idle { since } => Some((since, tracker)),
                Phase::Answering { .. } => None,
            }
        })
        .min_by_key(|(since, _)| *since);
    match longest {
        Some((_, tracker)) => {
            tracker.state().evict = true;
            tracker.changed.notify_one();
            true
        }
        None => false,
    }
}

/// Errors of one connection that `accept` reports: the next one is unaffected.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// A run of failing `accept` calls: logged once at its start and once at its end,
/// with pauses growing from [`ACCEPT_BACKOFF`]'s shortest to its longest.
#[derive(Debug)]
struct AcceptFailures {
    count: u64,
    pause: Duration,
    paused: bool,
    resume_at: Instant,
}

impl Default for AcceptFailures {
    fn default() -> Self {
        Self {
            count: 0,
            pause: ACCEPT_BACKOFF.0,
            paused: false,
            resume_at: Instant::now(),
        }
    }
}

impl AcceptFailures {
    fn failed(&mut self, name: &str, error: &io::Error, freed_one: bool) {
        if self.count == 0 {
            tracing::error!(
                "{name}: cannot accept connections ({error}); \
                 closing idle ones and retrying"
            );
        }
        self.count += 1;
        // Closing an idle connection frees a descriptor at once: retry soon.
        let pause = if freed_one {
            ACCEPT_BACKOFF.0
        } else {
            self.pause
        };
        self.pause = (self.pause * 2).min(ACCEPT_BACKOFF.1);
        self.paused = true;
        self.resume_at = Instant::now() + pause;
    }

    fn recovered(&mut self, name: &str) {
        if self.count > 0 {
            tracing::info!(
                "{name}: accepting connections again after {} failed attempts",
                self.count
            );
            *self = Self::default();
        }
    }
}

/// Where one connection is, shared by its task, its service, its socket and the
/// accept loop.
#[derive(Debug)]
struct Tracker {
    state: Mutex<State>,
    /// Woken whenever `state` changes, so the connection's task re-reads its deadline.
    changed: Notify,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// Chosen to make room for a newer connection: close as soon as nothing is owed.
    evict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// New, or the first bytes of a request came after an idle spell: the head is
    /// due [`Limits::header_read_timeout`] after `since`.
    Head { since: Instant },
    /// Every request answered and nothing of the next one yet.
    Idle { since: Instant },
    /// Requests being answered: one over HTTP/1, several over HTTP/2.
    Answering { requests: usize },
}

impl Tracker {
    fn new() -> Self {
        Self {
            state: Mutex::new(State {
                phase: Phase::Head {
                    since: Instant::now(),
                },
                evict: false,
            }),
            changed: Notify::new(),
        }
    }

    /// The state, even if a panic elsewhere left the lock poisoned: it holds no
    /// invariant a half-done update could break.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, phase: Phase) {
        self.state().phase = phase;
        self.changed.notify_one();
    }

    /// When the connection is to be closed unless something happens first.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match self.state().phase {
            Phase::Head { since } => Some(since + limits.header_read_timeout),
            Phase::Idle { since } => Some(since + limits.idle_timeout),
            Phase::Answering { .. } => None,
        }
    }

    /// Bytes arrived: if the connection was idle, a request head has begun.
    fn bytes_arrived(&self) {
        let mut state = self.state();
        if matches!(state.phase, Phase::Idle { .. }) {
            state.phase = Phase::Head {
                since: Instant::now(),
            };
            drop(state);
            self.changed.notify_one();
        }
    }
}

/// One request in flight on a connection, from the router's call until its
/// response body is done (or dropped: the client went away).
#[derive(Debug)]
struct InFlight(Arc<Tracker>);

impl InFlight {
    fn start(tracker: &Arc<Tracker>) -> Self {
        let requests = match tracker.state().phase {
            Phase::Answering { requests } => requests + 1,
            Phase::Head { .. } | Phase::Idle { .. } => 1,
        };
        tracker.set(Phase::Answering { requests });
        Self(Arc::clone(tracker))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let phase = match self.0.state().phase {
            Phase::Answering { requests } if requests > 1 => Phase::Answering {
                requests: requests - 1,
            },
            _ => Phase::Idle {
                since: Instant::now(),
            },
        };
        self.0.set(phase);
    }
}

/// A response body that keeps its request counted as in flight until hyper has
/// taken all of it, so that a large answer to a slow reader is not cut off as idle.
#[derive(Debug)]
struct InFlightBody {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for InFlightBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The client's socket, telling its [`Tracker`] when bytes arrive, which is how an
/// idle connection is seen to begin a request head before hyper has all of it.
struct Watched {
    stream: TcpStream,
    tracker: Arc<Tracker>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.tracker.bytes_arrived();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limit_shares_what_the_open_file_limit_leaves() {
        assert_eq!(default_max_connections(Some(1024)), 448);
        assert_eq!(default_max_connections(Some(256)), 64);
        assert_eq!(default_max_connections(Some(64)), MIN_DEFAULT_CONNECTIONS);
        assert_eq!(
            default_max_connections(Some(1 << 20)),
            MAX_DEFAULT_CONNECTIONS
        );
        assert_eq!(default_max_connections(None), MAX_DEFAULT_CONNECTIONS);
        assert!(fits_open_file_limit(448, Some(1024)));
        assert!(!fits_open_file_limit(449, Some(1024)));
        assert!(fits_open_file_limit(usize::MAX, None));
    }

    #[test]
    fn deadlines_follow_the_phase() {
        let limits = Limits {
            max_connections: 1,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        };
        let tracker = Arc::new(Tracker::new());
        let Phase::Head { since: accepted } = tracker.state().phase else {
            panic!("a new connection owes a head");
        };
        assert_eq!(
            tracker.deadline(&limits),
            Some(accepted + limits.header_read_timeout)
        );
        tracker.bytes_arrived();
        assert_eq!(
            tracker.deadline(&limits),
            Some(accepted + limits.header_read_timeout),
            "more bytes of the same head do not extend it"
        );

        let first = InFlight::start(&tracker);
        let second = InFlight::start(&tracker);
        assert_eq!(tracker.deadline(&limits), None);
        drop(first);
        assert_eq!(tracker.deadline(&limits), None, "one is still answered");
        let before = Instant::now();
        drop(second);
        let Phase::Idle { since: idle } = tracker.state().phase else {
            panic!("every request is answered");
        };
        assert!(idle >= before);
        assert_eq!(tracker.deadline(&limits), Some(idle + limits.idle_timeout));

        let before = Instant::now();
        tracker.bytes_arrived();
        let Phase::Head { since: head } = tracker.state().phase else {
            panic!("bytes after an idle spell begin a head");
        };
        assert!(head >= before);
        assert_eq!(
            tracker.deadline(&limits),
            Some(head + limits.header_read_timeout)
        );
    }

    #[test]
    fn the_connection_owing_a_request_longest_makes_room() {
        let now = Instant::now();
        let answering = Arc::new(Tracker::new());
        answering.set(Phase::Answering { requests: 1 });
        let older = Arc::new(Tracker::new());
        older.set(Phase::Idle {
            since: now - Duration::from_secs(5),
        });
        let newer = Arc::new(Tracker::new());
        newer.set(Phase::Head {
            since: now - Duration::from_secs(1),
        });
        let open = [&answering, &newer, &older];
        assert!(evict_longest_idle(open));
        assert!(older.state().evict);
        assert!(!newer.state().evict);
        assert!(evict_longest_idle(open));
        assert!(newer.state().evict);
        assert!(!evict_longest_idle(open), "only answering is left");
        assert!(!answering.state().evict);
    }
}
