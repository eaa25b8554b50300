//! Discovery, the authorization endpoint, the sign-in form and the code exchange,
//! driven over real HTTP as a browser and a native app would.

mod common;

use std::time::Duration;

use common::*;
use reqwest::header;
use reqwest::StatusCode;
use serde_json::Value;
use timesheets_idp::pkce;

#[test]
fn pkce_matches_rfc7636_appendix_b() {
    assert_eq!(
        pkce::s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[tokio::test]
async fn discovery_document_and_jwks() {
    let idp = start(|_| {}).await;
    let response = reqwest::get(idp.url(".well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    let issuer = idp.issuer.as_str();
    assert!(issuer.ends_with('/'));
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["authorization_endpoint"], format!("{issuer}authorize"));
    assert_eq!(doc["token_endpoint"], format!("{issuer}oauth/token"));
    assert_eq!(doc["revocation_endpoint"], format!("{issuer}oauth/revoke"));
    assert_eq!(doc["jwks_uri"], format!("{issuer}.well-known/jwks.json"));
    assert_eq!(doc["userinfo_endpoint"], format!("{issuer}userinfo"));
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        serde_json::json!(["none"])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["timesheets_development_provider"], true);
    let scopes: Vec<&str> = doc["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for scope in ALL_SCOPES.split(' ') {
        assert!(scopes.contains(&scope), "{scope} missing from {scopes:?}");
    }

    let jwks = jwks(&idp).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
    assert!(!key["kid"].as_str().unwrap().is_empty());
    assert_eq!(key["e"], "AQAB");
    // 2048-bit modulus: 256 bytes, 342 base64url characters.
    assert_eq!(key["n"].as_str().unwrap().len(), 342);
    assert!(
        key.get("d").is_none(),
        "the private exponent must never be published"
    );

    // RFC 8414's own address serves the same metadata.
    let rfc8414: Value = reqwest::get(idp.url(".well-known/oauth-authorization-server"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rfc8414, doc);

    let health = reqwest::get(idp.url("healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

/// Signs in as `email` asking for every scope, and checks that exactly
/// `expected` timesheet scopes come back, in the response and in the token.
async fn full_sign_in(email: &str, sub: &str, name: &str, expected: &[&str]) {
    let idp = start(|_| {}).await;
    let request = Authorize::new(ALL_SCOPES);
    let callback = sign_in_with(&idp, &request, email).await;
    let pairs = query(&callback);
    assert_eq!(
        format!("{}:{}", callback.scheme(), callback.path()),
        REDIRECT_URI
    );
    assert_eq!(param(&pairs, "state"), Some("state-123"));
    assert_eq!(param(&pairs, "iss"), Some(idp.issuer.as_str()));
    let code = param(&pairs, "code").unwrap();
    assert!(code.len() >= 43, "a code carries at least 256 bits");

    let (status, body) = exchange(&idp, code, &request.verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let mut granted: Vec<&str> = ["openid", "profile", "email", "offline_access"].to_vec();
    granted.extend_from_slice(expected);
    let scope = str_field(&body, "scope");
    let mut got: Vec<&str> = scope.split(' ').collect();
    got.sort_unstable();
    granted.sort_unstable();
    assert_eq!(got, granted, "token response scope");
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);

    let (typ, claims) = verify(&idp, str_field(&body, "access_token"), "timesheets-api").await;
    assert_eq!(typ, "at+jwt");
    assert_eq!(claims["iss"], idp.issuer.as_str());
    assert_eq!(claims["sub"], sub);
    assert_eq!(claims["aud"], "timesheets-api");
    assert_eq!(claims["client_id"], CLIENT_ID);
    assert_eq!(claims["email"], email);
    assert_eq!(claims["name"], name);
    assert_eq!(claims["scope"], scope);
    for claim in ["iat", "nbf", "exp", "jti"] {
        assert!(!claims[claim].is_null(), "{claim} missing");
    }
    let timesheet_scopes: Vec<&str> = claims["scope"]
        .as_str()
        .unwrap()
        .split(' ')
        .filter(|s| s.ends_with(":timesheets"))
        .collect();
    assert_eq!(timesheet_scopes, expected, "access token timesheet scopes");

    let (typ, id) = verify(&idp, str_field(&body, "id_token"), CLIENT_ID).await;
    assert_eq!(typ, "JWT");
    assert_eq!(id["sub"], sub);
    assert_eq!(id["aud"], CLIENT_ID);
    assert_eq!(id["nonce"], "nonce-456");
    assert_eq!(id["email"], email);
    assert_eq!(id["name"], name);
    assert!(id["auth_time"].is_i64());
}

#[tokio::test]
async fn employee_gets_read_create_delete() {
    full_sign_in(
        "employee@example.com",
        "dev|employee",
        "Erin Employee",
        &["read:timesheets", "create:timesheets", "delete:timesheets"],
    )
    .await;
}

#[tokio::test]
async fn manager_gets_all_four() {
    full_sign_in(
        "manager@example.com",
        "dev|manager",
        "Morgan Manager",
        &[
            "read:timesheets",
            "create:timesheets",
            "delete:timesheets",
            "approve:timesheets",
        ],
    )
    .await;
}

#[tokio::test]
async fn auditor_gets_read_only() {
    full_sign_in(
        "auditor@example.com",
        "dev|auditor",
        "Avery Auditor",
        &["read:timesheets"],
    )
    .await;
}

#[tokio::test]
async fn granted_scope_is_what_was_asked_and_allowed() {
    let idp = start(|_| {}).await;
    // Asked for less than allowed: gets what was asked; no offline_access, no
    // refresh token; no openid, no ID token.
    let body = tokens_for(&idp, "manager@example.com", "read:timesheets").await;
    assert_eq!(body["scope"], "read:timesheets");
    assert!(body.get("refresh_token").is_none());
    assert!(body.get("id_token").is_none());
    // Asked for more than allowed: the auditor does not get approve.
    let body = tokens_for(&idp, "auditor@example.com", "openid approve:timesheets").await;
    assert_eq!(body["scope"], "openid");
}

#[tokio::test]
async fn sign_in_page_is_accessible_and_hardened() {
    let idp = start(|_| {}).await;
    let request = Authorize::new(ALL_SCOPES);
    let response = browser().get(request.url(&idp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("style-src 'unsafe-inline'"), "{csp}");
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("idp_csrf="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");

    let html = response.text().await.unwrap();
    assert!(html.contains("<main>"));
    assert!(html.contains("<h1>Sign in</h1>"));
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains(r#"<label for="email">"#));
    assert!(html.contains(r#"<label for="password">"#));
    assert!(html.contains(r#"autocomplete="username""#));
    assert!(html.contains(r#"autocomplete="current-password""#));
    assert!(html.contains("autofocus"));
    assert!(html.contains(r#"method="post" action="/authorize""#));
    for email in [
        "employee@example.com",
        "manager@example.com",
        "auditor@example.com",
    ] {
        assert!(html.contains(email), "{email} not listed");
    }
    // The CSRF token in the form is the cookie's value.
    let csrf = form_field(&html, "csrf");
    assert!(cookie.starts_with(&format!("idp_csrf={csrf};")));
}

#[tokio::test]
async fn the_loopback_client_is_redirected_on_any_port() {
    let idp = start(|_| {}).await;
    let redirect = "http://127.0.0.1:49321/callback";
    let request = Authorize::new("openid")
        .set("client_id", LOOPBACK_CLIENT_ID)
        .set("redirect_uri", redirect);
    let browser = browser();
    let response = browser.get(request.url(&idp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The form's CSP lets the post-sign-in redirect reach the app.
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:49321;"),
        "{csp}"
    );
    let html = response.text().await.unwrap();
    let response = submit_form(
        &browser,
        &idp,
        &form_field(&html, "request_id"),
        &form_field(&html, "csrf"),
        "employee@example.com",
        "password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = location(&response);
    assert_eq!(callback.host_str(), Some("127.0.0.1"));
    assert_eq!(callback.port(), Some(49321));
    let code = param(&query(&callback), "code").unwrap().to_owned();

    let (status, body) = post_form(
        &idp,
        "oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", LOOPBACK_CLIENT_ID),
            ("code_verifier", &request.verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // IPv6 loopback is fine too; localhost, or another path, is not.
    let v6 = Authorize::new("openid")
        .set("client_id", LOOPBACK_CLIENT_ID)
        .set("redirect_uri", "http://[::1]:5000/callback");
    let response = browser.get(v6.url(&idp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for refused in [
        "http://localhost:5000/callback",
        "http://127.0.0.1:5000/elsewhere",
    ] {
        let request = Authorize::new("openid")
            .set("client_id", LOOPBACK_CLIENT_ID)
            .set("redirect_uri", refused);
        let response = browser.get(request.url(&idp)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{refused}");
        assert!(response.headers().get(header::LOCATION).is_none());
    }
}

#[tokio::test]
async fn the_scheme_client_is_never_sent_to_a_loopback_port() {
    // Not even with an error: a page, never a redirect to whatever listens there.
    let idp = start(|_| {}).await;
    for request in [
        Authorize::new("openid").set("redirect_uri", "http://127.0.0.1:49321/callback"),
        Authorize::new("openid")
            .set("redirect_uri", "http://127.0.0.1:49321/callback")
            .set("response_type", "token"),
    ] {
        let response = browser().get(request.url(&idp)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get(header::LOCATION).is_none());
    }
}

/// Expects an authorize request to be refused with a page, never a redirect.
async fn expect_error_page(idp: &TestIdp, request: &Authorize, needle: &str) {
    let response = browser().get(request.url(idp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.headers().get(header::LOCATION).is_none(),
        "must not redirect"
    );
    assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>"), "{html}");
    assert!(
        !html.contains("request_id"),
        "no sign-in form on an error page"
    );
    assert!(html.contains(needle), "{needle:?} not in {html}");
}

#[tokio::test]
async fn unmatched_redirect_gets_an_error_page() {
    let idp = start(|_| {}).await;
    for redirect in [
        "https://evil.example/callback",
        "com.example.timesheets:/oauth/callback/extra",
        "com.example.timesheets:/oauth/callback?x=1",
    ] {
        let request = Authorize::new("openid").set("redirect_uri", redirect);
        expect_error_page(&idp, &request, "not registered").await;
    }
    let missing = Authorize::new("openid").remove("redirect_uri");
    expect_error_page(&idp, &missing, "no redirect_uri").await;
}

#[tokio::test]
async fn unknown_client_gets_an_error_page() {
    let idp = start(|_| {}).await;
    let request = Authorize::new("openid").set("client_id", "someone-else");
    expect_error_page(&idp, &request, "someone-else").await;
    let missing = Authorize::new("openid").remove("client_id");
    expect_error_page(&idp, &missing, "no client_id").await;
}

/// Expects an authorize request to be refused by redirecting back with `error`.
async fn expect_error_redirect(idp: &TestIdp, request: &Authorize, error: &str, needle: &str) {
    let response = browser().get(request.url(idp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = location(&response);
    assert!(callback.as_str().starts_with(REDIRECT_URI));
    let pairs = query(&callback);
    assert_eq!(param(&pairs, "error"), Some(error), "{callback}");
    assert_eq!(param(&pairs, "state"), Some("state-123"));
    assert_eq!(param(&pairs, "iss"), Some(idp.issuer.as_str()));
    assert!(param(&pairs, "code").is_none());
    let description = param(&pairs, "error_description").unwrap();
    assert!(
        description.contains(needle),
        "{needle:?} not in {description:?}"
    );
}

#[tokio::test]
async fn pkce_is_required_with_s256() {
    let idp = start(|_| {}).await;
    let base = Authorize::new("openid");
    let plain = base
        .clone()
        .set("code_challenge", &base.verifier)
        .set("code_challenge_method", "plain");
    expect_error_redirect(&idp, &plain, "invalid_request", "S256").await;
    let no_method = base.clone().remove("code_challenge_method");
    expect_error_redirect(&idp, &no_method, "invalid_request", "code_challenge_method").await;
    let no_challenge = base.clone().remove("code_challenge");
    expect_error_redirect(&idp, &no_challenge, "invalid_request", "code_challenge").await;
    let short = base.clone().set("code_challenge", "abc");
    expect_error_redirect(&idp, &short, "invalid_request", "43").await;
}

#[tokio::test]
async fn other_bad_requests_redirect_with_an_error() {
    let idp = start(|_| {}).await;
    let base = Authorize::new("openid");
    let token = base.clone().set("response_type", "token");
    expect_error_redirect(&idp, &token, "unsupported_response_type", "token").await;
    let audience = base.clone().set("audience", "https://other.example/api");
    expect_error_redirect(&idp, &audience, "invalid_target", "other.example").await;
    let no_scope = base.clone().remove("scope");
    expect_error_redirect(&idp, &no_scope, "invalid_scope", "scope").await;
    let silent = base.clone().set("prompt", "none");
    expect_error_redirect(&idp, &silent, "login_required", "prompt=none").await;

    // RFC 8707's resource works like Auth0's audience.
    let resource = base
        .clone()
        .remove("audience")
        .set("resource", "timesheets-api");
    let response = browser().get(resource.url(&idp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_verifier_is_refused() {
    let idp = start(|_| {}).await;
    let request = Authorize::new(ALL_SCOPES);
    let code = code_for(&idp, &request, "employee@example.com").await;
    let (status, body) = exchange(&idp, &code, &new_verifier()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("code_verifier"));
    // The code is spent by the failed attempt.
    let (status, body) = exchange(&idp, &code, &request.verifier).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn missing_verifier_is_refused() {
    let idp = start(|_| {}).await;
    let request = Authorize::new(ALL_SCOPES);
    let code = code_for(&idp, &request, "employee@example.com").await;
    let (status, body) = post_form(
        &idp,
        "oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("code_verifier"));
}

#[tokio::test]
async fn mismatched_redirect_uri_at_token_endpoint_is_refused() {
    let idp = start(|_| {}).await;
    let request = Authorize::new(ALL_SCOPES);
    let code = code_for(&idp, &request, "employee@example.com").await;
    let (status, body) = post_form(
        &idp,
        "oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1234/callback"),
            ("client_id", CLIENT_ID),
            ("code_verifier", &request.verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("redirect_uri"));
}

#[tokio::test]
async fn replayed_code_is_refused_and_kills_its_refresh_token() {
    let idp = start(|_| {}).await;
    let request = Authorize::new(ALL_SCOPES);
    let code = code_for(&idp, &request, "employee@example.com").await;
    let (status, first) = exchange(&idp, &code, &request.verifier).await;
    assert_eq!(status, StatusCode::OK);
    let refresh_token = str_field(&first, "refresh_token").to_owned();

    let (status, body) = exchange(&idp, &code, &request.verifier).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    let (status, body) = refresh(&idp, &refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn expired_code_is_refused() {
    let idp = start(|config| config.code_ttl = Duration::from_secs(1)).await;
    let request = Authorize::new(ALL_SCOPES);
    let code = code_for(&idp, &request, "employee@example.com").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = exchange(&idp, &code, &request.verifier).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

#[tokio::test]
async fn wrong_password_shows_the_form_again_without_telling_who_exists() {
    let idp = start(|_| {}).await;
    let request = Authorize::new(ALL_SCOPES);
    let browser = browser();
    let (request_id, csrf) = open_form(&browser, &idp, &request).await;

    let mut pages = Vec::new();
    for email in ["employee@example.com", "nobody@example.com"] {
        let response = submit_form(&browser, &idp, &request_id, &csrf, email, "wrong").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get(header::LOCATION).is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("Email or password is incorrect."));
        assert!(!html.contains("wrong"), "the password is never echoed");
        pages.push(html.replace(&format!(r#"value="{email}""#), r#"value="EMAIL""#));
    }
    assert_eq!(
        pages[0], pages[1],
        "same answer for a known and unknown email"
    );

    // The same form still works with the right password.
    let response = submit_form(
        &browser,
        &idp,
        &request_id,
        &csrf,
        "employee@example.com",
        "password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // And only once.
    let response = submit_form(
        &browser,
        &idp,
        &request_id,
        &csrf,
        "employee@example.com",
        "password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn missing_or_wrong_csrf_token_is_refused() {
    let idp = start(|_| {}).await;
    let request = Authorize::new(ALL_SCOPES);
    let browser = browser();
    let (request_id, csrf) = open_form(&browser, &idp, &request).await;

    // Right cookie, wrong field.
    let response = submit_form(
        &browser,
        &idp,
        &request_id,
        &common::new_verifier(),
        "employee@example.com",
        "password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(header::LOCATION).is_none());

    // Right field, no cookie: a cross-site post would look like this.
    let cross_site = common::browser();
    let response = submit_form(
        &cross_site,
        &idp,
        &request_id,
        &csrf,
        "employee@example.com",
        "password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Field missing.
    let response = browser
        .post(idp.url("authorize"))
        .form(&[
            ("request_id", request_id.as_str()),
            ("email", "employee@example.com"),
            ("password", "password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The request was not consumed by the refused attempts.
    let response = submit_form(
        &browser,
        &idp,
        &request_id,
        &csrf,
        "employee@example.com",
        "password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn token_endpoint_client_authentication() {
    let idp = start(|_| {}).await;
    let http = reqwest::Client::new();

    // HTTP Basic with an empty password, as the oauth2 crate sends it.
    let request = Authorize::new(ALL_SCOPES);
    let code = code_for(&idp, &request, "employee@example.com").await;
    let response = http
        .post(idp.url("oauth/token"))
        .basic_auth(CLIENT_ID, Some(""))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", request.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_no_store(response.headers());

    // Basic and body disagree.
    let response = http
        .post(idp.url("oauth/token"))
        .basic_auth(CLIENT_ID, Some(""))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "other"),
            ("refresh_token", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    assert_no_store(response.headers());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    // Unknown client, no client, a secret.
    for form in [
        vec![
            ("grant_type", "refresh_token"),
            ("client_id", "nobody"),
            ("refresh_token", "x"),
        ],
        vec![("grant_type", "refresh_token"), ("refresh_token", "x")],
        vec![
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", "s3cret"),
            ("refresh_token", "x"),
        ],
    ] {
        let (status, body) = post_form(&idp, "oauth/token", &form).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "invalid_client");
        assert!(body["error_description"].is_string());
    }

    // Bad grant types and garbage get clear 400s, never a 500.
    let (status, body) = post_form(
        &idp,
        "oauth/token",
        &[("grant_type", "password"), ("client_id", CLIENT_ID)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    let (status, body) = post_form(&idp, "oauth/token", &[("client_id", CLIENT_ID)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    let response = http
        .post(idp.url("oauth/token"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"{"grant_type":"authorization_code"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = http
        .post(idp.url("oauth/token"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("%%%&&&==client_id=\u{1F600}")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    let response = http
        .post(idp.url("oauth/token"))
        .header(header::AUTHORIZATION, "Basic not-base64!")
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Token responses, good or bad, are never cached (RFC 6749 §5.1) nor sniffed.
fn assert_no_store(headers: &reqwest::header::HeaderMap) {
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::PRAGMA], "no-cache");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn userinfo_answers_for_an_access_token_only() {
    let idp = start(|_| {}).await;
    let body = tokens_for(&idp, "manager@example.com", ALL_SCOPES).await;
    let http = reqwest::Client::new();
    let info: Value = http
        .get(idp.url("userinfo"))
        .bearer_auth(str_field(&body, "access_token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], "dev|manager");
    assert_eq!(info["email"], "manager@example.com");
    assert_eq!(info["name"], "Morgan Manager");

    // An ID token is not an access token.
    let response = http
        .get(idp.url("userinfo"))
        .bearer_auth(str_field(&body, "id_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let response = http.get(idp.url("userinfo")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn id_token_omits_nonce_when_none_was_sent() {
    let idp = start(|_| {}).await;
    let request = Authorize::new("openid profile email").remove("nonce");
    let code = code_for(&idp, &request, "employee@example.com").await;
    let (status, body) = exchange(&idp, &code, &request.verifier).await;
    assert_eq!(status, StatusCode::OK);
    let (_, id) = verify(&idp, str_field(&body, "id_token"), CLIENT_ID).await;
    assert!(id.get("nonce").is_none());
    assert_eq!(id["sub"], "dev|employee");
}

#[tokio::test]
async fn issuer_with_a_path_serves_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let issuer = format!("http://127.0.0.1:{port}/idp/");
    let config = timesheets_idp::Config::new(url::Url::parse(&issuer).unwrap(), dir.path());
    let idp = timesheets_idp::IdentityProvider::open(config)
        .await
        .unwrap();
    let router = idp.router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let doc: Value = reqwest::get(format!("{issuer}.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["token_endpoint"], format!("{issuer}oauth/token"));
    let health = reqwest::get(format!("{issuer}healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    server.abort();
}
