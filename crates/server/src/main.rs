//! `timesheets-server`: the timesheet API, and beside it the development identity
//! provider unless `--issuer` points the API at a real one.
//!
//! Both listeners are bound before anything else happens, so the development
//! provider's issuer URL is known (even with port 0) before the API is told to trust it.
//! Each listener is served by [`listener::serve`], which bounds what idle and slow
//! connections can hold.

mod listener;

use anyhow::{bail, Context as _};
use clap::Parser;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use url::Url;

/// mimalloc instead of the system allocator: SQLite rows are allocated on sqlx's
/// worker threads and freed on Tokio's, which glibc's arenas handle poorly (in a
/// profile of a 500-entry week, over a third of the CPU went to malloc and free).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The audience the development provider puts in access tokens and the API requires.
const DEV_AUDIENCE: &str = "timesheets-api";

#[derive(Debug, Parser)]
#[command(name = "timesheets-server", version, about)]
struct Args {
    /// Address the timesheet API listens on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "TIMESHEETS_LISTEN")]
    listen: SocketAddr,

    /// Address the development identity provider listens on.
    #[arg(long, default_value = "127.0.0.1:8081", env = "TIMESHEETS_IDP_LISTEN")]
    idp_listen: SocketAddr,

    /// Where the SQLite database, the provider's signing key and its refresh tokens live.
    /// Defaults to the user's data directory.
    #[arg(long, env = "TIMESHEETS_DATA_DIR")]
    data_dir: Option<PathBuf>,

    /// Database for the API: `sqlite://FILE` or `postgres://…`. Defaults to a SQLite
    /// file in the data directory.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,

    /// Trust this external OpenID provider (Auth0, Okta, Entra ID, Keycloak, …)
    /// instead of starting the development one. Kept exactly as written and
    /// compared exactly with `iss`: `https://tenant.auth0.com/` (with its slash),
    /// `https://org.okta.com` (without), `https://kc.example.com/realms/acme`.
    #[arg(long, env = "TIMESHEETS_ISSUER", requires = "audience", value_parser = issuer_arg)]
    issuer: Option<String>,

    /// The API identifier access tokens must carry in `aud`.
    #[arg(long, env = "TIMESHEETS_AUDIENCE")]
    audience: Option<String>,

    /// Accept access tokens typed `JWT`, or not typed at all, rather than `at+jwt`
    /// (Auth0's default token profile, Okta, Entra ID, Keycloak).
    #[arg(long, env = "TIMESHEETS_ACCEPT_JWT_TYP")]
    accept_jwt_typ: bool,

    /// The access-token claims granted scopes are read from, comma-separated:
    /// `scope` (RFC 9068), `scp` (Okta's array, Entra ID's string), `permissions`
    /// (Auth0 RBAC).
    #[arg(
        long,
        env = "TIMESHEETS_SCOPE_CLAIMS",
        value_delimiter = ',',
        default_value = "scope,scp,permissions"
    )]
    scope_claims: Vec<timesheets_api::ScopeClaim>,

    /// The desktop app's client ids, comma-separated: an ID token the app presents
    /// (for the person's name) must be meant for one of them.
    #[arg(long, env = "TIMESHEETS_CLIENT_IDS", value_delimiter = ',',
          default_value = timesheets_api::DEFAULT_CLIENT_ID)]
    client_ids: Vec<String>,

    /// The hours a full week is expected to hold (0 to 168, in quarter hours):
    /// the app shows each week's total against it.
    #[arg(long, env = "TIMESHEETS_WEEKLY_TARGET_HOURS",
          default_value_t = timesheets_core::settings::DEFAULT_WEEKLY_TARGET_HOURS,
          value_parser = weekly_target)]
    weekly_target_hours: f64,

    /// A TOML file of development users (`[[users]]` with sub, email, name, password, scopes).
    /// Its users are never printed nor listed on the sign-in page: their passwords
    /// may be real.
    #[arg(long, env = "TIMESHEETS_USERS")]
    users: Option<PathBuf>,

    /// Sign-in page requests (`GET /authorize`) the development provider accepts
    /// per minute from one client address; also how many may come at once.
    #[arg(long, env = "TIMESHEETS_IDP_AUTHORIZE_PER_MINUTE",
          default_value_t = timesheets_idp::Limits::default().authorize_per_minute)]
    idp_authorize_per_minute: NonZeroU32,

    /// Sign-in form posts the development provider accepts per minute from one
    /// client address; also how many may come at once.
    #[arg(long, env = "TIMESHEETS_IDP_SIGN_IN_PER_MINUTE",
          default_value_t = timesheets_idp::Limits::default().sign_in_per_minute)]
    idp_sign_in_per_minute: NonZeroU32,

    /// Token and revocation requests the development provider accepts per minute
    /// from one client address; also how many may come at once.
    #[arg(long, env = "TIMESHEETS_IDP_TOKEN_PER_MINUTE",
          default_value_t = timesheets_idp::Limits::default().token_per_minute)]
    idp_token_per_minute: NonZeroU32,

    /// Lifetime of access tokens from the development provider, in seconds.
    #[arg(long, default_value_t = 300, env = "TIMESHEETS_ACCESS_TOKEN_TTL")]
    access_token_ttl: u64,

    /// Grace period in which a spent refresh token may be presented again without
    /// being treated as reuse, in seconds.
    #[arg(long, default_value_t = 0, env = "TIMESHEETS_REFRESH_REUSE_INTERVAL")]
    refresh_reuse_interval: u64,

    /// Absolute lifetime of a refresh-token family, in seconds.
    #[arg(long, default_value_t = 30 * 24 * 3600, env = "TIMESHEETS_REFRESH_LIFETIME")]
    refresh_lifetime: u64,

    /// Connections each listener keeps open at once. When one more arrives, the
    /// longest-idle connection is closed to make room; only when all are answering
    /// requests is the new one turned away (503). Defaults to half of what the open-file
    /// limit leaves after 128, at most 4096 (448 under the common limit of 1,024; the soft
    /// limit is first raised to the hard one).
    #[arg(long, env = "TIMESHEETS_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: Option<u32>,

    /// Seconds a client may take to send a request's headers, from connecting or
    /// from the first byte after an idle spell; a slower one is disconnected.
    #[arg(long, default_value_t = 10, env = "TIMESHEETS_HEADER_READ_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout: u64,

    /// Seconds a kept-alive connection may wait for its next request before it is closed.
    #[arg(long, default_value_t = 60, env = "TIMESHEETS_IDLE_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
}

impl Args {
    /// What each listener allows its connections, given the open-file limit in force.
    fn limits(&self, open_files: Option<u64>) -> listener::Limits {
        let max_connections = match self.max_connections {
            Some(max) => usize::try_from(max).unwrap_or(usize::MAX),
            None => listener::default_max_connections(open_files),
        };
        listener::Limits {
            max_connections,
            header_read_timeout: Duration::from_secs(self.header_read_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
        }
    }
}

/// How long in-flight requests may take to finish after SIGTERM or Ctrl-C before
/// the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    use std::io::IsTerminal as _;
    // Log lines are written by a thread of their own, so a request never waits for
    // the terminal or a pipe: a request line costs a copy into a queue. Lines are
    // never dropped; only a queue of 128,000 unwritten lines makes writers wait.
    let (writer, flush_at_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let result = run(args).await;
    // Everything logged is out before the last word below.
    drop(flush_at_exit);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line an operator can act on, rather than anyhow's `Debug` (which
            // prints a stack backtrace whenever RUST_BACKTRACE is set).
            eprintln!("timesheets-server: {}", report(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause whose text the previous
/// message already quotes (thiserror variants often repeat their source).
/// Parses `--weekly-target-hours`, saying what a target may be.
fn weekly_target(raw: &str) -> Result<f64, String> {
    let hours: f64 = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not a number of hours"))?;
    timesheets_core::settings::weekly_target(hours).map_err(|e| e.message)
}

fn report(error: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut previous = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !previous.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        previous = text;
    }
    line
}

async fn run(args: Args) -> anyhow::Result<()> {
    let open_files = listener::raise_open_file_limit();
    let limits = args.limits(open_files);
    let open_files_text = open_files.map_or("none".to_owned(), |n| n.to_string());
    if listener::fits_open_file_limit(limits.max_connections, open_files) {
        tracing::info!(
            "at most {} connections per listener (open-file limit {open_files_text})",
            limits.max_connections
        );
    } else {
        tracing::warn!(
            "--max-connections {} on each listener does not fit the open-file limit \
             {open_files_text}: idle connections are closed when files run out",
            limits.max_connections
        );
    }
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => directories::ProjectDirs::from("com", "example", "timesheets")
            .context("no home directory to keep data in; pass --data-dir")?
            .data_dir()
            .to_path_buf(),
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let database_url = match args.database_url.clone() {
        Some(url) => url,
        None => sqlite_url(&data_dir.join("timesheets.sqlite3"))?,
    };

    let api_listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {} for the API", args.listen))?;
    let api_addr = api_listener.local_addr()?;

    // One listener for SIGTERM/Ctrl-C, fanned out to both servers, so that each
    // stops accepting and finishes its requests in flight before the process ends.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let (issuer, audience) = match (&args.issuer, &args.audience) {
        (Some(issuer), Some(audience)) => (issuer.clone(), audience.clone()),
        (Some(_), None) => bail!("--issuer needs --audience: the API identifier tokens carry"),
        (None, audience) => {
            let idp_listener = TcpListener::bind(args.idp_listen).await.with_context(|| {
                format!(
                    "cannot listen on {} for the identity provider",
                    args.idp_listen
                )
            })?;
            let idp_addr = idp_listener.local_addr()?;
            let issuer = Url::parse(&format!("http://{idp_addr}/"))?;
            let audience = audience.clone().unwrap_or_else(|| DEV_AUDIENCE.to_owned());
            let idp = start_idp(&args, issuer.clone(), &data_dir, &audience).await?;
            println!("Development identity provider: {issuer}");
            tasks.spawn(listener::serve(
                "identity provider",
                idp_listener,
                with_request_log(idp.router()),
                limits,
                stopping.clone(),
            ));
            (issuer.to_string(), audience)
        }
    };

    let mut api_config = timesheets_api::Config::new(&issuer, &audience, &database_url);
    api_config.accept_jwt_typ = args.accept_jwt_typ;
    api_config.scope_claims = args.scope_claims.clone();
    api_config.client_ids = args.client_ids.clone();
    api_config.weekly_target_hours = args.weekly_target_hours;
    let api = timesheets_api::ApiContext::connect(api_config)
        .await
        .with_context(|| {
            format!(
                "cannot open the API's database {}",
                timesheets_api::redact_database_url(&database_url)
            )
        })?;
    if args.issuer.is_some() {
        check_issuer(&api, &issuer).await?;
    }
    println!("Timesheet API: http://{api_addr} (trusting {issuer}, audience {audience})");
    println!(
        "Database: {}",
        timesheets_api::redact_database_url(&database_url)
    );
    tasks.spawn(listener::serve(
        "API",
        api_listener,
        timesheets_api::router(api),
        limits,
        stopping,
    ));

    tokio::select! {
        finished = tasks.join_next() => {
            // A server stopped on its own: that is a failure, and the other one goes too.
            let _ = stop.send(true);
            return match finished {
                Some(Ok(Err(e))) => Err(e),
                Some(Err(e)) => Err(e.into()),
                _ => Ok(()),
            };
        }
        () = shutdown_signal() => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
    let _ = stop.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while let Some(finished) = tasks.join_next().await {
            finished??;
        }
        anyhow::Ok(())
    })
    .await;
    match drained {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                "requests still running after {} s; exiting anyway",
                SHUTDOWN_GRACE.as_secs()
            );
            Ok(())
        }
    }
}

/// How long the start-up check of an external issuer may take.
const ISSUER_CHECK_LIMIT: Duration = Duration::from_secs(10);

/// Asks the external issuer for its discovery document and keys once at start:
/// a wrong `--issuer` (nothing published there, or a document naming another
/// issuer) is one line and exit status 1 now, rather than a 503 on every request
/// later. An issuer that does not answer yet is only a warning: the API starts
/// anyway and asks again on the first token.
async fn check_issuer(api: &timesheets_api::ApiContext, issuer: &str) -> anyhow::Result<()> {
    use timesheets_api::IssuerCheck;
    match tokio::time::timeout(ISSUER_CHECK_LIMIT, api.check_issuer()).await {
        Ok(IssuerCheck::Ready(keys)) => {
            tracing::info!(
                keys,
                "the issuer's discovery document and key set are in order"
            );
            Ok(())
        }
        Ok(IssuerCheck::Misconfigured(why)) => {
            bail!("--issuer (TIMESHEETS_ISSUER) {issuer:?} cannot be used: {why}")
        }
        Ok(IssuerCheck::Unreachable(why)) => {
            tracing::warn!(
                "--issuer (TIMESHEETS_ISSUER) {issuer:?} does not answer yet ({why}); \
                 requests with a token get 503 until it does"
            );
            Ok(())
        }
        Err(_) => {
            tracing::warn!(
                "--issuer (TIMESHEETS_ISSUER) {issuer:?} did not answer within {} s; \
                 requests with a token get 503 until it does",
                ISSUER_CHECK_LIMIT.as_secs()
            );
            Ok(())
        }
    }
}

/// Reads `--issuer`: any http(s) URL without query or fragment, kept exactly as
/// written (no slash added or removed: it is compared with `iss` as a string).
fn issuer_arg(value: &str) -> Result<String, String> {
    let url = Url::parse(value).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must have no query or fragment (RFC 8414 §2)".into());
    }
    Ok(value.to_owned())
}

async fn start_idp(
    args: &Args,
    issuer: Url,
    data_dir: &std::path::Path,
    audience: &str,
) -> anyhow::Result<timesheets_idp::IdentityProvider> {
    let mut config = timesheets_idp::Config::new(issuer, data_dir.join("idp"));
    if let Some(path) = &args.users {
        config.users = timesheets_idp::load_users(path)?;
    }
    config.default_audience = audience.to_owned();
    config.access_token_ttl = Duration::from_secs(args.access_token_ttl);
    config.refresh_reuse_interval = Duration::from_secs(args.refresh_reuse_interval);
    config.refresh_absolute_lifetime = Duration::from_secs(args.refresh_lifetime);
    config.limits.authorize_per_minute = args.idp_authorize_per_minute;
    config.limits.sign_in_per_minute = args.idp_sign_in_per_minute;
    config.limits.token_per_minute = args.idp_token_per_minute;
    // Only the built-in users, whose password is public, are printed: a users
    // file may hold real passwords, so not even its emails are shown.
    match &args.users {
        Some(path) => println!(
            "Development users: {} from {} (not shown)",
            config.users.len(),
            path.display()
        ),
        None => println!("Development users:"),
    }
    for user in config.users.iter().filter(|user| user.is_listed()) {
        println!(
            "  {:<24} {:<18} {}",
            user.email,
            format!("password {:?}", user.password),
            user.scopes.join(" ")
        );
    }
    timesheets_idp::IdentityProvider::open(config)
        .await
        .context("cannot start the development identity provider")
}

/// One log line per request to the identity provider, as the API writes: method,
/// path and status only. Never the query (it carries `state` and the PKCE challenge)
/// nor a header (cookies, Basic credentials), and bodies are capped.
fn with_request_log(router: axum::Router) -> axum::Router {
    use tower_http::trace::{DefaultOnResponse, TraceLayer};
    router.layer(
        tower::ServiceBuilder::new()
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                        tracing::info_span!(
                            "idp_request",
                            method = %req.method(),
                            path = %req.uri().path(),
                        )
                    })
                    .on_request(())
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                    .on_failure(()),
            )
            .layer(tower_http::limit::RequestBodyLimitLayer::new(IDP_MAX_BODY))
            // A request whose body trickles in would otherwise hold its connection
            // (and one of the listener's slots) for as long as its sender likes.
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                IDP_REQUEST_TIMEOUT,
            )),
    )
}

/// How long one request to the identity provider may take, its body included.
const IDP_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest request the identity provider reads: its forms are a few hundred bytes.
const IDP_MAX_BODY: usize = 16 * 1024;

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

fn sqlite_url(path: &std::path::Path) -> anyhow::Result<String> {
    let text = path
        .to_str()
        .with_context(|| format!("the path {} is not valid UTF-8", path.display()))?;
    Ok(format!("sqlite://{text}?mode=rwc"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_reported_on_one_line_without_repeats() {
        let error = anyhow::Error::from(std::io::Error::other("refused"))
            .context("database: refused")
            .context("cannot open the API's database");
        assert_eq!(
            report(&error),
            "cannot open the API's database: database: refused"
        );
    }

    #[test]
    fn arguments_parse_with_defaults() {
        let args = Args::try_parse_from(["timesheets-server"]).map_err(|e| e.to_string());
        let args = args.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.listen.port(), 8080);
        assert_eq!(args.idp_listen.port(), 8081);
        assert!(Args::try_parse_from(["timesheets-server", "--issuer", "https://x/"]).is_err());
        assert_eq!(args.scope_claims, timesheets_api::ScopeClaim::ALL.to_vec());
        assert_eq!(args.client_ids, vec!["timesheets-desktop"]);
        let limits = timesheets_idp::Limits::default();
        assert_eq!(args.idp_authorize_per_minute, limits.authorize_per_minute);
        assert_eq!(args.idp_sign_in_per_minute, limits.sign_in_per_minute);
        assert_eq!(args.idp_token_per_minute, limits.token_per_minute);
    }

    #[test]
    fn the_weekly_target_is_a_week_of_quarter_hours() {
        let args = Args::try_parse_from(["timesheets-server"]).map_err(|e| e.to_string());
        assert_eq!(args.map(|a| a.weekly_target_hours), Ok(40.0));
        let args = Args::try_parse_from(["timesheets-server", "--weekly-target-hours", "37.5"]);
        assert_eq!(args.map(|a| a.weekly_target_hours).ok(), Some(37.5));
        for bad in ["169", "37.1", "forty"] {
            let args = Args::try_parse_from(["timesheets-server", "--weekly-target-hours", bad]);
            let message = args.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                message.contains("--weekly-target-hours"),
                "{bad}: {message}"
            );
        }
    }

    #[test]
    fn a_rate_limit_cannot_be_turned_off_with_zero() {
        let args = Args::try_parse_from(["timesheets-server", "--idp-token-per-minute", "0"]);
        let message = args.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("--idp-token-per-minute"), "{message}");
    }

    #[test]
    fn the_issuer_is_kept_exactly_as_written() {
        for issuer in [
            "http://127.0.0.1:9000",
            "https://tenant.auth0.com/",
            "https://login.microsoftonline.com/TENANT/v2.0",
        ] {
            let args = Args::try_parse_from([
                "timesheets-server",
                "--issuer",
                issuer,
                "--audience",
                "api",
            ])
            .map_err(|e| e.to_string());
            assert_eq!(args.map(|a| a.issuer), Ok(Some(issuer.to_owned())));
        }
        for bad in ["not a url", "ftp://x/", "https://x/?a=b"] {
            let args =
                Args::try_parse_from(["timesheets-server", "--issuer", bad, "--audience", "api"]);
            let message = args.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains("--issuer"), "{message}");
        }
    }

    #[test]
    fn an_unknown_scope_claim_is_refused_by_name() {
        let args = Args::try_parse_from(["timesheets-server", "--scope-claims", "scope,roles"]);
        let message = args.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("--scope-claims"), "{message}");
        assert!(message.contains("roles"), "{message}");
        let args = Args::try_parse_from(["timesheets-server", "--scope-claims", "scp"])
            .map_err(|e| e.to_string());
        assert_eq!(
            args.map(|a| a.scope_claims),
            Ok(vec![timesheets_api::ScopeClaim::Scp])
        );
    }
}
