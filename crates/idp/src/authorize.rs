//! The authorization endpoint: checks an authorize request, shows the sign-in
//! form, checks the password and sends the browser back to the app with a code.
//!
//! Order matters (RFC 6749 §4.1.2.1): until the client and its redirect URI are
//! known to be good, an error is shown as a page and never redirected, or this
//! endpoint would be an open redirector. After that, errors go back to the app as
//! `error=` on its redirect URI, with `state` and `iss`.
//!
//! A checked request is kept server-side for 10 minutes under a random id; the
//! form carries only that id and a CSRF token that must match the `idp_csrf`
//! cookie (SameSite=Strict, HttpOnly), so another site cannot submit the form on a
//! user's behalf, and nothing the app sent can be altered on the way.
//!
//! Nobody can lock others out or guess at leisure (see [`crate::limits`]): each
//! client address has a request rate for the page and the form, a waiting
//! sign-in is forgotten oldest first when its address or the whole table is
//! full (never refused), a sign-in is spent after a few wrong passwords, and an
//! account backs off after a few in a row.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use url::Url;

use crate::code::CodeGrant;
use crate::limits::{retry_after_secs, ClientAddr, Limits, MAX_REDIRECT_URI_LEN, MAX_STATE_LEN};
use crate::page::{self, SignInForm};
use crate::params::Params;
use crate::pkce;
use crate::scope::Scopes;
use crate::secret::{digest, random_token, Secret};
use crate::users::User;
use crate::IdentityProvider;

/// How long a user has to fill in the sign-in form.
const PENDING_TTL: Duration = Duration::from_secs(10 * 60);

/// The CSRF cookie on plain http. On https the `__Host-` prefix binds it to this
/// exact origin.
const CSRF_COOKIE: &str = "idp_csrf";
const CSRF_COOKIE_HOST: &str = "__Host-idp_csrf";

/// An authorize request that passed every check, waiting for the user to sign in.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    scope: Scopes,
    audience: String,
    code_challenge: String,
}

/// Sign-ins in progress, by the SHA-256 of their form id.
///
/// Bounded twice, so that memory stays small and a flood costs only its sender:
/// each client address may have `pending_per_client` waiting, and all together
/// `pending_total`. A new sign-in always gets a place; the one it displaces is
/// the oldest of its own address, else the oldest of all.
pub(crate) struct PendingRequests {
    per_client: usize,
    total: usize,
    failures_allowed: u32,
    table: Mutex<PendingTable>,
}

/// The waiting sign-ins and their order.
#[derive(Default)]
struct PendingTable {
    next_seq: u64,
    entries: HashMap<String, Pending>,
    /// Every entry's key by the order it arrived in: oldest first, which is also
    /// the order they expire in.
    order: BTreeMap<u64, String>,
    /// Each client address's entries, oldest first.
    by_client: HashMap<ClientAddr, VecDeque<u64>>,
}

struct Pending {
    seq: u64,
    client: ClientAddr,
    expires_at: Instant,
    failures: u32,
    request: AuthRequest,
}

/// What a form's request id leads to.
pub(crate) enum Lookup {
    /// A sign-in waiting for the right password.
    Waiting(AuthRequest),
    /// A sign-in spent by too many wrong passwords.
    Spent,
    /// Nothing: expired, displaced, completed, or never issued.
    Missing,
}

impl PendingRequests {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            per_client: limits.pending_per_client,
            total: limits.pending_total,
            failures_allowed: limits.failures_per_sign_in,
            table: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PendingTable> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `request` under `key`, displacing the oldest sign-in of `client` or
    /// of all when either is full. Returns how many were displaced.
    fn insert(&self, key: String, client: ClientAddr, request: AuthRequest) -> usize {
        let now = Instant::now();
        let mut table = self.lock();
        table.remove_expired(now);
        let mut displaced = 0;
        while table
            .by_client
            .get(&client)
            .is_some_and(|seqs| seqs.len() >= self.per_client)
        {
            let oldest = table
                .by_client
                .get(&client)
                .and_then(|seqs| seqs.front().copied());
            match oldest.and_then(|seq| table.order.get(&seq).cloned()) {
                Some(key) => {
                    table.remove(&key);
                    displaced += 1;
                }
                None => break,
            }
        }
        while table.entries.len() >= self.total {
            match table.order.first_key_value().map(|(_, key)| key.clone()) {
                Some(key) => {
                    table.remove(&key);
                    displaced += 1;
                }
                None => break,
            }
        }
        table.remove(&key);
        let seq = table.next_seq;
        table.next_seq += 1;
        table.order.insert(seq, key.clone());
        table.by_client.entry(client).or_default().push_back(seq);
        table.entries.insert(
            key,
            Pending {
                seq,
                client,
                expires_at: now + PENDING_TTL,
                failures: 0,
                request,
            },
        );
        displaced
    }

    fn lookup(&self, key: &str) -> Lookup {
        let now = Instant::now();
        let table = self.lock();
        match table.entries.get(key) {
            Some(pending) if now >= pending.expires_at => Lookup::Missing,
            Some(pending) if pending.failures >= self.failures_allowed => Lookup::Spent,
            Some(pending) => Lookup::Waiting(pending.request.clone()),
            None => Lookup::Missing,
        }
    }

    /// Counts a wrong password against the sign-in; returns whether that spent it.
    fn fail(&self, key: &str) -> bool {
        let mut table = self.lock();
        match table.entries.get_mut(key) {
            Some(pending) => {
                pending.failures = pending.failures.saturating_add(1);
                pending.failures >= self.failures_allowed
            }
            None => true,
        }
    }

    /// Removes and returns a sign-in that is still waiting (single use).
    fn take(&self, key: &str) -> Option<AuthRequest> {
        let now = Instant::now();
        let mut table = self.lock();
        let usable = table
            .entries
            .get(key)
            .is_some_and(|p| now < p.expires_at && p.failures < self.failures_allowed);
        if !usable {
            return None;
        }
        table.remove(key).map(|pending| pending.request)
    }

    /// How many sign-ins are kept, spent ones included.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

impl PendingTable {
    fn remove(&mut self, key: &str) -> Option<Pending> {
        let pending = self.entries.remove(key)?;
        self.order.remove(&pending.seq);
        if let Some(seqs) = self.by_client.get_mut(&pending.client) {
            seqs.retain(|seq| *seq != pending.seq);
            if seqs.is_empty() {
                self.by_client.remove(&pending.client);
            }
        }
        Some(pending)
    }

    /// Drops the expired sign-ins, oldest first, stopping at the first live one.
    fn remove_expired(&mut self, now: Instant) {
        while let Some(key) = self.order.first_key_value().map(|(_, key)| key.clone()) {
            let expired = self
                .entries
                .get(&key)
                .is_none_or(|pending| now >= pending.expires_at);
            if !expired {
                break;
            }
            if self.remove(&key).is_none() {
                // An order entry without its sign-in: cannot happen, but never spin.
                self.order.pop_first();
            }
        }
    }
}

/// Why an authorize request is refused.
enum Refusal {
    /// The client or redirect URI cannot be trusted: show a page, never redirect.
    Page(String),
    /// Tell the app, through its (checked) redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

/// `GET /authorize`: check the request, then show the sign-in form.
pub(crate) async fn show(
    State(idp): State<IdentityProvider>,
    client: ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(wait) = idp.inner.rates.authorize.check(client) {
        tracing::info!(%client, "authorize request refused: too many from this address");
        return too_many_requests(
            "Too many sign-in requests",
            "Too many sign-in requests came from your address.",
            wait,
        );
    }
    let params = Params::parse(query.as_deref().unwrap_or_default().as_bytes());
    let request = match check(&idp, &params) {
        Ok(request) => request,
        Err(refusal) => return refuse(&idp, refusal),
    };

    let request_id = random_token();
    let displaced = idp
        .inner
        .pending
        .insert(digest(&request_id), client, request.clone());
    if displaced > 0 {
        tracing::debug!(%client, displaced, "waiting sign-ins full; forgot the oldest");
    }

    // Keep an existing well-formed CSRF cookie, so several open tabs all work.
    let cookie_name = csrf_cookie_name(&idp);
    let existing = cookie(&headers, cookie_name).filter(|value| is_token_shaped(value));
    let (csrf, set_cookie) = match existing {
        Some(value) => (value.to_owned(), None),
        None => {
            let value = random_token();
            let secure = if cookie_name == CSRF_COOKIE_HOST {
                "; Secure"
            } else {
                ""
            };
            let header =
                format!("{cookie_name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}");
            (value, Some(header))
        }
    };

    let mut response = sign_in_form(&idp, &request, &request_id, &csrf, "", None, StatusCode::OK);
    if let Some(set_cookie) = set_cookie.and_then(|value| HeaderValue::from_str(&value).ok()) {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, set_cookie);
    }
    response
}

/// `POST /authorize`: the sign-in form was submitted.
pub(crate) async fn submit(
    State(idp): State<IdentityProvider>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(wait) = idp.inner.rates.sign_in.check(client) {
        tracing::info!(%client, "sign-in form refused: too many posts from this address");
        return too_many_requests(
            "Too many sign-in attempts",
            "Too many sign-in attempts came from your address.",
            wait,
        );
    }
    let mut params = Params::parse(&body);
    let password = Secret::new(params.take("password").unwrap_or_default());
    let form_csrf = params.get("csrf").unwrap_or_default();
    let cookie_csrf = cookie(&headers, csrf_cookie_name(&idp)).unwrap_or_default();
    if !csrf_matches(cookie_csrf, form_csrf) {
        tracing::info!("sign-in form refused: CSRF token missing or mismatched");
        return page::html(
            StatusCode::FORBIDDEN,
            page::error(
                "Sign-in refused",
                "This form failed its security check: it was not sent from this provider's sign-in page, or the browser did not send back its cookie.",
            ),
            None,
        );
    }
    if let Some(name) = params.repeated() {
        return page::html(
            StatusCode::BAD_REQUEST,
            page::error(
                "Sign-in refused",
                &format!("The form field {name:?} was sent more than once."),
            ),
            None,
        );
    }
    let request_id = params.get("request_id").unwrap_or_default();
    let key = digest(request_id);
    let request = match idp.inner.pending.lookup(&key) {
        Lookup::Waiting(request) => request,
        Lookup::Spent => return stopped_page(StatusCode::FORBIDDEN),
        Lookup::Missing => return expired_page(),
    };

    let email = params.get("email").unwrap_or_default().trim();
    let now = Instant::now();
    if let Err(wait) = idp.inner.accounts.check(email, now) {
        // No password is checked while the account backs off, so trying tells
        // nothing; nor does it count against this sign-in.
        tracing::info!(client = %request.client_id, "sign-in refused: the account is backing off");
        let message = format!(
            "Too many wrong passwords were tried for this account. Wait {} seconds, then try again.",
            retry_after_secs(wait)
        );
        let response = sign_in_form(
            &idp,
            &request,
            request_id,
            form_csrf,
            email,
            Some(&message),
            StatusCode::TOO_MANY_REQUESTS,
        );
        return with_retry_after(response, wait);
    }
    let Some(user) = authenticate(&idp.config().users, email, &password) else {
        let backoff = idp.inner.accounts.failed(email, now);
        let spent = idp.inner.pending.fail(&key);
        tracing::info!(
            client = %request.client_id,
            spent,
            account_backoff_s = backoff.map(|wait| wait.as_secs()),
            "sign-in failed: wrong email or password"
        );
        if spent {
            return stopped_page(StatusCode::UNAUTHORIZED);
        }
        let message = match backoff {
            Some(wait) => format!(
                "Email or password is incorrect. After so many wrong passwords, this account can try again in {} seconds.",
                retry_after_secs(wait)
            ),
            None => "Email or password is incorrect.".to_owned(),
        };
        return sign_in_form(
            &idp,
            &request,
            request_id,
            form_csrf,
            email,
            Some(&message),
            StatusCode::UNAUTHORIZED,
        );
    };
    idp.inner.accounts.succeeded(email);

    // Single use: a double submit finds nothing the second time.
    let Some(request) = idp.inner.pending.take(&key) else {
        return expired_page();
    };
    let scope = request
        .scope
        .intersection(&Scopes::allowed_for(&user.scopes));
    let code = random_token();
    let grant = CodeGrant {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        sub: user.sub.clone(),
        scope: scope.clone(),
        audience: request.audience.clone(),
        nonce: request.nonce.clone(),
        auth_time: crate::now_s(),
        family_id: random_token(),
    };
    if !idp
        .inner
        .codes
        .issue(digest(&code), grant, idp.config().code_ttl)
    {
        tracing::warn!("too many unredeemed authorization codes; refusing a sign-in");
        return redirect_error(
            &idp,
            &request.redirect_uri,
            request.state.as_deref(),
            "temporarily_unavailable",
            "too many sign-ins are in progress; try again in a few minutes",
        );
    }
    tracing::info!(
        sub = %user.sub,
        client = %request.client_id,
        scope = %scope.to_param(),
        "signed in; authorization code issued"
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = request.state.as_deref() {
        pairs.push(("state", state));
    }
    pairs.push(("iss", idp.config().issuer.as_str()));
    redirect(&request.redirect_uri, &pairs)
}

/// Checks an authorize request in the order RFC 6749 §4.1.2.1 requires.
fn check(idp: &IdentityProvider, params: &Params) -> Result<AuthRequest, Refusal> {
    let config = idp.config();
    if params.is_repeated("client_id") {
        return Err(Refusal::Page(
            "The request names client_id more than once.".to_owned(),
        ));
    }
    let client_id = params.get("client_id").ok_or_else(|| {
        Refusal::Page(
            "The request has no client_id, so it is not clear which app is asking.".to_owned(),
        )
    })?;
    let client = config
        .clients
        .iter()
        .find(|client| client.client_id == client_id)
        .ok_or_else(|| {
            Refusal::Page(format!(
                "No app is registered with client_id {client_id:?}."
            ))
        })?;
    if params.is_repeated("redirect_uri") {
        return Err(Refusal::Page(
            "The request names redirect_uri more than once.".to_owned(),
        ));
    }
    let redirect_uri = params.get("redirect_uri").ok_or_else(|| {
        Refusal::Page(
            "The request has no redirect_uri, so there is nowhere to send you back to.".to_owned(),
        )
    })?;
    if redirect_uri.len() > MAX_REDIRECT_URI_LEN {
        return Err(Refusal::Page(format!(
            "The request's redirect_uri is {} bytes long; at most {MAX_REDIRECT_URI_LEN} are accepted.",
            redirect_uri.len()
        )));
    }
    if !client.accepts_redirect(redirect_uri) {
        return Err(Refusal::Page(format!(
            "The app asked to send you back to {redirect_uri:?}, which is not registered for {client_id:?}. For your safety you are not being sent there."
        )));
    }

    // An oversized state is not echoed back: the error names it instead.
    let state_len = params.get("state").map_or(0, str::len);
    let state = if params.is_repeated("state") || state_len > MAX_STATE_LEN {
        None
    } else {
        params.get("state").map(str::to_owned)
    };
    let refuse = |error: &'static str, description: String| Refusal::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
        description,
    };
    if state_len > MAX_STATE_LEN {
        return Err(refuse(
            "invalid_request",
            format!("state is {state_len} bytes long; at most {MAX_STATE_LEN} are accepted"),
        ));
    }
    let nonce_len = params.get("nonce").map_or(0, str::len);
    if nonce_len > MAX_STATE_LEN {
        return Err(refuse(
            "invalid_request",
            format!("nonce is {nonce_len} bytes long; at most {MAX_STATE_LEN} are accepted"),
        ));
    }

    if let Some(name) = params.repeated() {
        return Err(refuse(
            "invalid_request",
            format!("parameter {name} was sent more than once"),
        ));
    }
    if params.get("request").is_some() {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported".to_owned(),
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is not supported".to_owned(),
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => {
            return Err(refuse(
                "invalid_request",
                "response_type is required and must be code".to_owned(),
            ))
        }
        Some(other) => {
            return Err(refuse(
                "unsupported_response_type",
                format!("response_type {other:?} is not supported; use code"),
            ))
        }
    }
    match params.get("response_mode") {
        None | Some("query") => {}
        Some(other) => {
            return Err(refuse(
                "invalid_request",
                format!("response_mode {other:?} is not supported; use query"),
            ))
        }
    }
    let code_challenge = params.get("code_challenge").ok_or_else(|| {
        refuse(
            "invalid_request",
            "code_challenge is required: this provider requires PKCE (RFC 7636) with S256"
                .to_owned(),
        )
    })?;
    match params.get("code_challenge_method") {
        Some("S256") => {}
        None => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method is required and must be S256 (plain is not accepted)"
                    .to_owned(),
            ))
        }
        Some(other) => {
            return Err(refuse(
                "invalid_request",
                format!("code_challenge_method {other:?} is not supported; use S256"),
            ))
        }
    }
    if !pkce::is_valid_s256_challenge(code_challenge) {
        return Err(refuse(
            "invalid_request",
            "code_challenge must be 43 base64url characters: BASE64URL(SHA-256(code_verifier))"
                .to_owned(),
        ));
    }

    let audience = match (params.get("audience"), params.get("resource")) {
        (Some(audience), Some(resource)) if audience != resource => {
            return Err(refuse(
                "invalid_target",
                format!("audience {audience:?} and resource {resource:?} name different APIs"),
            ))
        }
        (Some(named), _) | (None, Some(named)) => named,
        (None, None) => config.default_audience.as_str(),
    };
    if audience != config.default_audience {
        return Err(refuse(
            "invalid_target",
            format!(
                "unknown audience {audience:?}; this provider issues tokens for {:?}",
                config.default_audience
            ),
        ));
    }

    let scope = params.get("scope").ok_or_else(|| {
        refuse(
            "invalid_scope",
            "scope is required, e.g. \"openid profile email offline_access read:timesheets\""
                .to_owned(),
        )
    })?;
    let scope = Scopes::parse(scope).map_err(|problem| refuse("invalid_scope", problem))?;

    if params
        .get("prompt")
        .is_some_and(|prompt| prompt.split(' ').any(|p| p == "none"))
    {
        return Err(refuse(
            "login_required",
            "this provider keeps no sign-in session, so prompt=none cannot be honoured".to_owned(),
        ));
    }

    Ok(AuthRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state,
        nonce: params.get("nonce").map(str::to_owned),
        scope,
        audience: audience.to_owned(),
        code_challenge: code_challenge.to_owned(),
    })
}

fn refuse(idp: &IdentityProvider, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(message) => {
            tracing::info!(reason = %message, "authorize request refused with an error page");
            page::html(
                StatusCode::BAD_REQUEST,
                page::error("Sign-in cannot continue", &message),
                None,
            )
        }
        Refusal::Redirect {
            redirect_uri,
            state,
            error,
            description,
        } => {
            tracing::info!(error, reason = %description, "authorize request refused");
            redirect_error(idp, &redirect_uri, state.as_deref(), error, &description)
        }
    }
}

fn redirect_error(
    idp: &IdentityProvider,
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", idp.config().issuer.as_str()));
    redirect(redirect_uri, &pairs)
}

/// A 303 to `redirect_uri` with `pairs` added to its query.
fn redirect(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        // Unreachable for checked URIs; refuse rather than guess.
        return page::html(
            StatusCode::BAD_REQUEST,
            page::error(
                "Sign-in cannot continue",
                "The redirect address is not a valid URL.",
            ),
            None,
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
    }
    let Ok(location) = HeaderValue::from_str(url.as_str()) else {
        return page::html(
            StatusCode::BAD_REQUEST,
            page::error(
                "Sign-in cannot continue",
                "The redirect address cannot be sent.",
            ),
            None,
        );
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::LOCATION, location);
    page::security_headers(&mut headers);
    (StatusCode::SEE_OTHER, headers).into_response()
}

fn sign_in_form(
    idp: &IdentityProvider,
    request: &AuthRequest,
    request_id: &str,
    csrf: &str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let action = format!("{}authorize", idp.config().issuer.path());
    let body = page::sign_in(&SignInForm {
        action: &action,
        request_id,
        csrf,
        client_id: &request.client_id,
        email,
        error,
        users: &idp.config().users,
    });
    page::html(status, body, form_target(&request.redirect_uri).as_deref())
}

/// A 429 page with `Retry-After`, for an address that asks too often.
fn too_many_requests(title: &str, message: &str, wait: Duration) -> Response {
    let message = format!(
        "{message} Wait {} seconds, then try again.",
        retry_after_secs(wait)
    );
    with_retry_after(
        page::html(
            StatusCode::TOO_MANY_REQUESTS,
            page::error(title, &message),
            None,
        ),
        wait,
    )
}

/// Adds `Retry-After` in whole seconds (RFC 9110 §10.2.3).
fn with_retry_after(mut response: Response, wait: Duration) -> Response {
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs(wait)),
    );
    response
}

/// The answer to a sign-in spent by too many wrong passwords: it cannot go on,
/// whatever is typed now, so say so and send the person back to the app.
fn stopped_page(status: StatusCode) -> Response {
    page::html(
        status,
        page::error(
            "Sign-in stopped",
            "Too many wrong passwords were tried on this sign-in, so it has been stopped to protect the account.",
        ),
        None,
    )
}

fn expired_page() -> Response {
    page::html(
        StatusCode::BAD_REQUEST,
        page::error(
            "Sign-in expired",
            "This sign-in request has expired or was already completed.",
        ),
        None,
    )
}

/// The CSP `form-action` source that lets the post-sign-in 303 reach
/// `redirect_uri`: its scheme for a private-use scheme, its origin for http(s).
/// CSP host sources cannot name an IPv6 literal, so `[::1]` falls back to `http:`.
fn form_target(redirect_uri: &str) -> Option<String> {
    let url = Url::parse(redirect_uri).ok()?;
    match url.scheme() {
        "http" | "https" => match url.host()? {
            url::Host::Ipv6(_) => Some(format!("{}:", url.scheme())),
            _ => Some(url.origin().ascii_serialization()),
        },
        scheme => Some(format!("{scheme}:")),
    }
}

/// Finds the user with `email` whose password matches. Passwords are compared as
/// SHA-256 digests in constant time, and an unknown email costs the same as a
/// wrong password, so timing tells nothing about who exists.
fn authenticate<'a>(users: &'a [User], email: &str, password: &Secret<String>) -> Option<&'a User> {
    let candidate = users
        .iter()
        .find(|user| user.email.eq_ignore_ascii_case(email));
    let expected = Sha256::digest(
        candidate
            .map_or("", |user| user.password.as_str())
            .as_bytes(),
    );
    let given = Sha256::digest(password.expose().as_bytes());
    let matches: bool = expected.ct_eq(&given).into();
    candidate.filter(|_| matches && !password.expose().is_empty())
}

fn csrf_cookie_name(idp: &IdentityProvider) -> &'static str {
    if idp.config().issuer.scheme() == "https" {
        CSRF_COOKIE_HOST
    } else {
        CSRF_COOKIE
    }
}

fn csrf_matches(cookie: &str, form: &str) -> bool {
    !cookie.is_empty() && !form.is_empty() && bool::from(cookie.as_bytes().ct_eq(form.as_bytes()))
}

fn is_token_shaped(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The value of cookie `name` from the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AuthRequest {
        AuthRequest {
            client_id: "c".to_owned(),
            redirect_uri: "r".to_owned(),
            state: None,
            nonce: None,
            scope: Scopes::default(),
            audience: "a".to_owned(),
            code_challenge: "x".to_owned(),
        }
    }

    fn client(last: u8) -> ClientAddr {
        ClientAddr::from_ip(std::net::IpAddr::from([127, 0, 0, last]))
    }

    #[test]
    fn a_full_address_displaces_its_own_oldest_only() {
        let limits = Limits {
            pending_per_client: 2,
            pending_total: 4,
            ..Limits::default()
        };
        let pending = PendingRequests::new(&limits);
        assert_eq!(pending.insert("other".into(), client(2), request()), 0);
        for key in ["a", "b"] {
            assert_eq!(pending.insert(key.into(), client(1), request()), 0);
        }
        assert_eq!(pending.insert("c".into(), client(1), request()), 1);
        assert!(matches!(pending.lookup("a"), Lookup::Missing));
        assert!(matches!(pending.lookup("b"), Lookup::Waiting(_)));
        assert!(matches!(pending.lookup("other"), Lookup::Waiting(_)));
        assert_eq!(pending.len(), 3);

        // Full in total: the oldest of all goes.
        assert_eq!(pending.insert("d".into(), client(3), request()), 0);
        assert_eq!(pending.insert("e".into(), client(4), request()), 1);
        assert!(matches!(pending.lookup("other"), Lookup::Missing));
        assert_eq!(pending.len(), 4);

        // Taking one frees its place without disturbing the order.
        assert!(pending.take("b").is_some());
        assert!(pending.take("b").is_none());
        assert_eq!(pending.insert("f".into(), client(1), request()), 0);
        assert!(matches!(pending.lookup("c"), Lookup::Waiting(_)));
    }

    #[test]
    fn a_sign_in_is_spent_by_its_last_allowed_failure() {
        let limits = Limits {
            failures_per_sign_in: 2,
            ..Limits::default()
        };
        let pending = PendingRequests::new(&limits);
        pending.insert("a".into(), client(1), request());
        assert!(!pending.fail("a"));
        assert!(matches!(pending.lookup("a"), Lookup::Waiting(_)));
        assert!(pending.fail("a"));
        assert!(matches!(pending.lookup("a"), Lookup::Spent));
        assert!(
            pending.take("a").is_none(),
            "a spent sign-in cannot complete"
        );
    }

    #[test]
    fn form_targets() {
        assert_eq!(
            form_target("com.example.timesheets:/oauth/callback").as_deref(),
            Some("com.example.timesheets:")
        );
        assert_eq!(
            form_target("http://127.0.0.1:4321/cb").as_deref(),
            Some("http://127.0.0.1:4321")
        );
        assert_eq!(
            form_target("http://[::1]:4321/cb").as_deref(),
            Some("http:")
        );
    }

    #[test]
    fn password_check() {
        let users = crate::default_users();
        let right = Secret::new("password".to_owned());
        let wrong = Secret::new("Password".to_owned());
        assert!(authenticate(&users, "EMPLOYEE@example.com", &right).is_some());
        assert!(authenticate(&users, "employee@example.com", &wrong).is_none());
        assert!(authenticate(&users, "nobody@example.com", &right).is_none());
        assert!(authenticate(&users, "", &Secret::new(String::new())).is_none());
    }

    #[test]
    fn cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; idp_csrf=xyz"),
        );
        assert_eq!(cookie(&headers, "idp_csrf"), Some("xyz"));
        assert_eq!(cookie(&headers, "b"), None);
        assert!(csrf_matches("xyz", "xyz"));
        assert!(!csrf_matches("xyz", "xy"));
        assert!(!csrf_matches("", ""));
    }
}
