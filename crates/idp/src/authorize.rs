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

use std::collections::HashMap;
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
use crate::page::{self, SignInForm};
use crate::params::Params;
use crate::pkce;
use crate::scope::Scopes;
use crate::secret::{digest, random_token, Secret};
use crate::users::User;
use crate::IdentityProvider;

/// How long a user has to fill in the sign-in form.
const PENDING_TTL: Duration = Duration::from_secs(10 * 60);

/// At most this many sign-ins wait at once, so that a flood of authorize
/// requests cannot exhaust memory.
const PENDING_CAPACITY: usize = 10_000;

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
#[derive(Default)]
pub(crate) struct PendingRequests {
    entries: Mutex<HashMap<String, (Instant, AuthRequest)>>,
}

impl PendingRequests {
    fn insert(&self, key: String, request: AuthRequest) -> bool {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, (expires_at, _)| now < *expires_at);
        if entries.len() >= PENDING_CAPACITY {
            return false;
        }
        entries.insert(key, (now + PENDING_TTL, request));
        true
    }

    fn get(&self, key: &str) -> Option<AuthRequest> {
        let now = Instant::now();
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(expires_at, _)| now < *expires_at)
            .map(|(_, request)| request.clone())
    }

    fn take(&self, key: &str) -> Option<AuthRequest> {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .remove(key)
            .filter(|(expires_at, _)| now < *expires_at)
            .map(|(_, request)| request)
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
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or_default().as_bytes());
    let request = match check(&idp, &params) {
        Ok(request) => request,
        Err(refusal) => return refuse(&idp, refusal),
    };

    let request_id = random_token();
    if !idp
        .inner
        .pending
        .insert(digest(&request_id), request.clone())
    {
        tracing::warn!("too many sign-ins in progress; refusing a new one");
        return page::html(
            StatusCode::SERVICE_UNAVAILABLE,
            page::error(
                "Too many sign-ins",
                "Too many sign-ins are in progress right now. Try again in a few minutes.",
            ),
            None,
        );
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
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
    let Some(request) = idp.inner.pending.get(&key) else {
        return expired_page();
    };

    let email = params.get("email").unwrap_or_default().trim();
    let Some(user) = authenticate(&idp.config().users, email, &password) else {
        tracing::info!(client = %request.client_id, "sign-in failed: wrong email or password");
        return sign_in_form(
            &idp,
            &request,
            request_id,
            form_csrf,
            email,
            Some("Email or password is incorrect."),
            StatusCode::UNAUTHORIZED,
        );
    };

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
    if !client.accepts_redirect(redirect_uri) {
        return Err(Refusal::Page(format!(
            "The app asked to send you back to {redirect_uri:?}, which is not registered for {client_id:?}. For your safety you are not being sent there."
        )));
    }

    let state = if params.is_repeated("state") {
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
