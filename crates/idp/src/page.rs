//! The HTML the provider shows a person: the sign-in form and error pages.
//!
//! Plain, accessible HTML with no script: labelled fields, a `<main>` landmark, a
//! single `<h1>`, autocomplete hints for password managers, and errors announced
//! with `role="alert"`. Every page is sent with headers that keep it out of frames
//! (clickjacking), caches and `Referer` headers, and a Content-Security-Policy that
//! allows nothing but inline style and posting the form back here.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::users::User;

/// What the sign-in form needs to render.
pub(crate) struct SignInForm<'a> {
    /// Where the form posts: the path of `{issuer}authorize`.
    pub(crate) action: &'a str,
    /// The pending authorize request's id.
    pub(crate) request_id: &'a str,
    /// The CSRF token, also in the cookie.
    pub(crate) csrf: &'a str,
    /// The client being signed in to, shown to the user.
    pub(crate) client_id: &'a str,
    /// The email to prefill after a failed attempt.
    pub(crate) email: &'a str,
    /// A message to show above the form.
    pub(crate) error: Option<&'a str>,
    /// The users to list as a hint: only those [`User::is_listed`] are shown.
    pub(crate) users: &'a [User],
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;padding:2rem;background:#f6f7f9;color:#1a1a1a}\
main{max-width:26rem;margin:0 auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}\
h1{font-size:1.5rem;margin-top:0}h2{font-size:1rem}\
label{display:block;font-weight:600;margin-bottom:.25rem}\
input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #767676;border-radius:.25rem}\
input:focus,button:focus{outline:3px solid #1a5fb4;outline-offset:2px}\
button{padding:.6rem 1.2rem;font-size:1rem;background:#1a5fb4;color:#fff;border:0;border-radius:.25rem;cursor:pointer}\
.error{background:#fdecea;border-left:4px solid #b3261e;padding:.5rem .75rem;color:#5f1410}\
.note{color:#555;font-size:.9rem}ul{padding-left:1.25rem}code{font-size:.95em}";

/// Renders the sign-in form.
pub(crate) fn sign_in(form: &SignInForm<'_>) -> String {
    let error = form
        .error
        .map(|message| {
            format!(
                r#"<p class="error" role="alert" id="error">{}</p>"#,
                escape(message)
            )
        })
        .unwrap_or_default();
    let listed: Vec<&User> = form.users.iter().filter(|user| user.is_listed()).collect();
    let described_by = match (form.error.is_some(), listed.is_empty()) {
        (true, false) => r#" aria-describedby="error users-hint""#,
        (true, true) => r#" aria-describedby="error""#,
        (false, false) => r#" aria-describedby="users-hint""#,
        (false, true) => "",
    };
    let users: String = listed
        .iter()
        .map(|user| {
            let scopes = if user.scopes.is_empty() {
                "no timesheet permissions".to_owned()
            } else {
                user.scopes.join(", ")
            };
            format!(
                "<li><code>{}</code> — {} ({})</li>",
                escape(&user.email),
                escape(&user.name),
                escape(&scopes)
            )
        })
        .collect();
    let users = if listed.is_empty() {
        String::new()
    } else {
        format!(
            r#"<h2 id="users-title">Development users</h2>
<ul id="users-hint" aria-labelledby="users-title">{users}</ul>
"#
        )
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Sign in — Timesheets development identity provider</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>Sign in</h1>
<p>Sign in to continue to <strong>{client}</strong>.</p>
{error}
<form method="post" action="{action}">
<input type="hidden" name="request_id" value="{request_id}">
<input type="hidden" name="csrf" value="{csrf}">
<p><label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="{email}"{described_by}></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>
{users}<p class="note">This is the development identity provider: for development and tests only, never for real accounts.</p>
</main>
</body>
</html>
"#,
        client = escape(form.client_id),
        action = escape(form.action),
        request_id = escape(form.request_id),
        csrf = escape(form.csrf),
        email = escape(form.email),
    )
}

/// Renders a page that explains why sign-in cannot go on. Used where redirecting
/// back to the app would be unsafe or impossible.
pub(crate) fn error(title: &str, message: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title} — Timesheets development identity provider</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p class="error" role="alert">{message}</p>
<p>Close this window, return to the app and start signing in again.</p>
</main>
</body>
</html>
"#,
        title = escape(title),
        message = escape(message),
    )
}

/// An HTML response with the provider's page headers.
///
/// `form_target` is an extra CSP `form-action` source: the origin (or scheme) of
/// the redirect URI the form's 303 leads to. Browsers such as Chrome apply
/// `form-action` to redirects that follow a form submission, so without it
/// `form-action 'self'` would block the final hop back to the app.
pub(crate) fn html(status: StatusCode, body: String, form_target: Option<&str>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let form_action = match form_target {
        Some(target) => format!("'self' {target}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    security_headers(&mut headers);
    (status, headers, body).into_response()
}

/// Headers every response that a browser renders or follows should carry.
pub(crate) fn security_headers(headers: &mut HeaderMap) {
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
}

/// Marks every response `X-Content-Type-Options: nosniff`, so that no browser
/// second-guesses a JSON answer (a token response, an error) into HTML.
pub(crate) async fn nosniff(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    response
}

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
