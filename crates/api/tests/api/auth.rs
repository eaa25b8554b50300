//! Bearer tokens: what is refused (401 invalid_token), what passes, and scopes (403).

use crate::both_backends;
use crate::support::issuer::{AUDIENCE, CLIENT_ID};
use crate::support::{parallel, Api, Backend, Issuer, Key, TestApp, EMPLOYEE, MANAGER};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    bad_tokens_are_refused,
    jwt_typ_passes_only_when_allowed,
    auth0_permissions_grant_scopes,
    unknown_kid_refetches_rate_limited,
    each_endpoint_names_its_missing_scope,
    display_name_falls_back,
    unreachable_issuer_is_503_not_401,
);

const RANGE: &str = "/v1/entries?from=2026-11-23&to=2026-11-29";

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn unsigned(header: Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

async fn bad_tokens_are_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let good = app.issuer.claims("alice", EMPLOYEE);
    let now = jsonwebtoken::get_current_timestamp();
    let header = Issuer::header(Key::K1);

    // The good token passes: the cases below differ from it in one way each.
    let reply = app.get(RANGE, &Issuer::sign(&header, &good, Key::K1)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let with_aud_array = with(good.clone(), "aud", json!(["other-api", AUDIENCE]));
    let reply = app
        .get(RANGE, &Issuer::sign(&header, &with_aud_array, Key::K1))
        .await;
    assert_eq!(
        reply.status, 200,
        "aud as an array containing ours: {}",
        reply.text
    );
    let mut typ_media = header.clone();
    typ_media.typ = Some("application/AT+JWT".into());
    let reply = app
        .get(RANGE, &Issuer::sign(&typ_media, &good, Key::K1))
        .await;
    assert_eq!(reply.status, 200, "typ application/at+jwt: {}", reply.text);

    // Clocks may disagree by up to the leeway (30 s by default).
    for (claim, value) in [("exp", now - 10), ("nbf", now + 10)] {
        let claims = with(good.clone(), claim, json!(value));
        let reply = app
            .get(RANGE, &Issuer::sign(&header, &claims, Key::K1))
            .await;
        assert_eq!(
            reply.status, 200,
            "{claim} within the leeway: {}",
            reply.text
        );
    }

    // Nothing at all: a bare challenge (RFC 6750 §3.1).
    let reply = app.call(Method::GET, RANGE, None, None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        "Bearer realm=\"timesheets\""
    );
    assert_eq!(reply.error(), "invalid_token");

    let hs256 = {
        let mut h = Header::new(Algorithm::HS256);
        h.typ = Some("at+jwt".into());
        h.kid = Some("k1".into());
        let secret = EncodingKey::from_secret(app.issuer.public_pem().as_bytes());
        jsonwebtoken::encode(&h, &good, &secret).unwrap()
    };
    let forged_signature = {
        // Signed by a key the issuer never published, claiming the issuer's kid.
        Issuer::sign(&header, &good, Key::Attacker)
    };
    let tampered = {
        // A real signature over the claims, then the claims swapped for more scopes.
        let token = Issuer::sign(&header, &good, Key::K1);
        let parts: Vec<&str> = token.split('.').collect();
        let evil = with(good.clone(), "scope", json!(MANAGER));
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(evil.to_string()),
            parts[2]
        )
    };
    let jku = {
        let mut h = Issuer::header(Key::Attacker);
        h.jku = Some("http://127.0.0.1:9/jwks".into());
        Issuer::sign(&h, &good, Key::Attacker)
    };
    let id_token = {
        let mut h = header.clone();
        h.typ = Some("JWT".into());
        let claims = with(good.clone(), "aud", json!(CLIENT_ID));
        Issuer::sign(&h, &claims, Key::K1)
    };
    let typed = |typ: Option<&str>| {
        let mut h = header.clone();
        h.typ = typ.map(str::to_owned);
        Issuer::sign(&h, &good, Key::K1)
    };
    let no_kid = {
        let mut h = header.clone();
        h.kid = None;
        Issuer::sign(&h, &good, Key::K1)
    };
    let issuer_without_slash = app.issuer.url.trim_end_matches('/').to_owned();

    let cases: Vec<(&str, String)> = vec![
        ("malformed", "not-a-jwt".into()),
        ("three garbage parts", "a.b.c".into()),
        (
            "alg none",
            unsigned(json!({"alg": "none", "typ": "at+jwt", "kid": "k1"}), &good),
        ),
        ("HS256 keyed with the public key", hs256),
        ("signature by another key", forged_signature),
        ("payload changed after signing", tampered),
        (
            "expired beyond the leeway",
            Issuer::sign(
                &header,
                &with(good.clone(), "exp", json!(now - 120)),
                Key::K1,
            ),
        ),
        (
            "not valid yet beyond the leeway",
            Issuer::sign(
                &header,
                &with(good.clone(), "nbf", json!(now + 120)),
                Key::K1,
            ),
        ),
        (
            "issuer without its trailing slash",
            Issuer::sign(
                &header,
                &with(good.clone(), "iss", json!(issuer_without_slash)),
                Key::K1,
            ),
        ),
        (
            "another issuer",
            Issuer::sign(
                &header,
                &with(good.clone(), "iss", json!("https://evil.example/")),
                Key::K1,
            ),
        ),
        (
            "issuer as an array",
            Issuer::sign(
                &header,
                &with(good.clone(), "iss", json!([app.issuer.url])),
                Key::K1,
            ),
        ),
        (
            "another audience",
            Issuer::sign(
                &header,
                &with(good.clone(), "aud", json!("other-api")),
                Key::K1,
            ),
        ),
        (
            "no audience",
            Issuer::sign(&header, &without(good.clone(), "aud"), Key::K1),
        ),
        (
            "no exp",
            Issuer::sign(&header, &without(good.clone(), "exp"), Key::K1),
        ),
        (
            "no sub",
            Issuer::sign(&header, &without(good.clone(), "sub"), Key::K1),
        ),
        (
            "empty sub",
            Issuer::sign(&header, &with(good.clone(), "sub", json!("")), Key::K1),
        ),
        (
            "unknown kid",
            Issuer::sign(&Issuer::header(Key::K2), &good, Key::K2),
        ),
        ("no kid", no_kid),
        ("jku pointing at the attacker's keys", jku),
        ("an ID token", id_token),
        ("typ JWT (not allowed by default)", typed(Some("JWT"))),
        ("typ dpop+jwt", typed(Some("dpop+jwt"))),
        ("no typ", typed(None)),
    ];
    for (case, token) in cases {
        let reply = app.get(RANGE, &token).await;
        assert_eq!(reply.status, 401, "{case}: {}", reply.text);
        let challenge = reply.header("www-authenticate");
        assert!(
            challenge.starts_with(
                "Bearer realm=\"timesheets\", error=\"invalid_token\", error_description=\""
            ),
            "{case}: {challenge}"
        );
        assert_eq!(reply.error(), "invalid_token", "{case}");
        assert_eq!(reply.header("content-type"), "application/json", "{case}");
    }

    for (case, value) in [
        ("Basic scheme", "Basic YWxpY2U6c2VjcmV0".to_owned()),
        ("Bearer without token", "Bearer ".to_owned()),
        (
            "token without scheme",
            Issuer::sign(&header, &good, Key::K1),
        ),
    ] {
        let reply = Api::send(
            app.request(Method::GET, RANGE, None)
                .header("authorization", value),
        )
        .await;
        assert_eq!(reply.status, 401, "{case}");
        assert!(
            reply.header("www-authenticate").contains("invalid_token"),
            "{case}"
        );
    }
}

async fn jwt_typ_passes_only_when_allowed(backend: Backend) {
    let strict = TestApp::start(backend).await;
    let lenient = TestApp::start_with(backend, |c| c.accept_jwt_typ = true).await;
    for (app, expected) in [(&strict, 401), (&lenient, 200)] {
        let mut header = Issuer::header(Key::K1);
        header.typ = Some("JWT".into());
        let token = Issuer::sign(&header, &app.issuer.claims("alice", EMPLOYEE), Key::K1);
        let reply = app.get(RANGE, &token).await;
        assert_eq!(reply.status, expected, "accept_jwt_typ: {}", reply.text);

        // An ID token has typ JWT too, but its audience is the client: refused
        // even by the lenient API.
        let id_claims = with(
            app.issuer.claims("alice", EMPLOYEE),
            "aud",
            json!(CLIENT_ID),
        );
        let reply = app
            .get(RANGE, &Issuer::sign(&header, &id_claims, Key::K1))
            .await;
        assert_eq!(reply.status, 401, "ID token: {}", reply.text);
    }
}

async fn auth0_permissions_grant_scopes(backend: Backend) {
    let app = TestApp::start(backend).await;
    let claims = with(
        without(app.issuer.claims("alice", ""), "scope"),
        "permissions",
        json!(["read:timesheets", "other:api"]),
    );
    let token = Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1);
    assert_eq!(app.get(RANGE, &token).await.status, 200);
    let reply = app
        .post(
            "/v1/entries",
            &token,
            json!({"date": "2026-11-23", "project": "A", "hours": 1}),
        )
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json["scope"], "create:timesheets");

    // Both sources together: the scope claim and the permissions add up.
    let both = with(
        app.issuer.claims("alice", "openid create:timesheets"),
        "permissions",
        json!(["read:timesheets"]),
    );
    let token = Issuer::sign(&Issuer::header(Key::K1), &both, Key::K1);
    assert_eq!(app.get(RANGE, &token).await.status, 200);
    app.create(&token, "2026-11-23", "A", 1.0).await;
}

async fn unknown_kid_refetches_rate_limited(backend: Backend) {
    let app = TestApp::start_with(backend, |c| {
        c.jwks_refresh_interval = Duration::from_secs(3)
    })
    .await;
    assert_eq!(app.issuer.jwks_hits(), 0, "nothing is fetched at start-up");
    let good = app.token("alice", EMPLOYEE);
    assert_eq!(app.get(RANGE, &good).await.status, 200);
    assert_eq!(app.issuer.jwks_hits(), 1);

    // A burst of tokens naming an unknown key, right after a fetch: refused, and
    // the issuer is not asked again.
    let k2 = Issuer::sign(
        &Issuer::header(Key::K2),
        &app.issuer.claims("alice", EMPLOYEE),
        Key::K2,
    );
    for reply in burst(&app, &k2).await {
        assert_eq!(reply.status, 401);
    }
    assert_eq!(
        app.issuer.jwks_hits(),
        1,
        "refetch must wait for the interval"
    );

    // The issuer rotates; once the interval has passed, a burst of tokens with the
    // new kid costs exactly one fetch, and all pass.
    app.issuer.rotate();
    tokio::time::sleep(Duration::from_millis(3200)).await;
    for reply in burst(&app, &k2).await {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_eq!(app.issuer.jwks_hits(), 2, "one fetch for the whole burst");

    // Known keys never cause a fetch; an unknown one right after is rate limited.
    assert_eq!(app.get(RANGE, &good).await.status, 200);
    let ghost = {
        let mut h = Issuer::header(Key::Attacker);
        h.kid = Some("ghost".into());
        Issuer::sign(&h, &app.issuer.claims("alice", EMPLOYEE), Key::Attacker)
    };
    assert_eq!(app.get(RANGE, &ghost).await.status, 401);
    assert_eq!(app.issuer.jwks_hits(), 2);
}

/// Twenty requests with `token` at once.
async fn burst(app: &TestApp, token: &str) -> Vec<crate::support::Reply> {
    parallel(20, |_| {
        let (api, token) = (app.api.clone(), token.to_owned());
        async move { api.get(RANGE, &token).await }
    })
    .await
}

async fn each_endpoint_names_its_missing_scope(backend: Backend) {
    let app = TestApp::start(backend).await;
    let everything = app.token("alice", MANAGER);
    let entry = app.create(&everything, "2026-11-23", "Apollo", 2.0).await;
    let id = entry["id"].as_str().unwrap();
    let body = json!({"date": "2026-11-24", "project": "A", "hours": 1});
    let cases = [
        (Method::GET, RANGE.to_owned(), None, "read:timesheets"),
        (
            Method::POST,
            "/v1/entries".to_owned(),
            Some(body.clone()),
            "create:timesheets",
        ),
        (
            Method::PATCH,
            format!("/v1/entries/{id}"),
            Some(json!({"hours": 3})),
            "create:timesheets",
        ),
        (
            Method::DELETE,
            format!("/v1/entries/{id}"),
            None,
            "delete:timesheets",
        ),
        (
            Method::GET,
            "/v1/approvals".to_owned(),
            None,
            "approve:timesheets",
        ),
        (
            Method::POST,
            format!("/v1/entries/{id}/decision"),
            Some(json!({"decision": "approve", "seen_updated_at": entry["updated_at"]})),
            "approve:timesheets",
        ),
    ];
    for (method, path, body, scope) in cases {
        // Every scope but the one needed.
        let others: Vec<&str> = MANAGER.split(' ').filter(|s| *s != scope).collect();
        let token = app.token("bob", &others.join(" "));
        let reply = app.call(method.clone(), &path, Some(&token), body).await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
        assert_eq!(
            reply.header("www-authenticate"),
            format!("Bearer realm=\"timesheets\", error=\"insufficient_scope\", scope=\"{scope}\""),
            "{method} {path}"
        );
        assert_eq!(reply.error(), "insufficient_scope");
        assert_eq!(reply.json["scope"], scope, "{method} {path}");
    }
}

async fn display_name_falls_back(backend: Backend) {
    let app = TestApp::start(backend).await;
    let named = app.issuer.claims("u-name", EMPLOYEE);
    let mailed = with(
        without(app.issuer.claims("u-mail", EMPLOYEE), "name"),
        "email",
        json!("m@example.com"),
    );
    let bare = without(app.issuer.claims("u-bare", EMPLOYEE), "name");
    for (claims, expected) in [
        (named, "u-name (name)"),
        (mailed, "m@example.com"),
        (bare, "u-bare"),
    ] {
        let token = Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1);
        let entry = app.create(&token, "2026-11-23", "A", 1.0).await;
        assert_eq!(entry["owner_name"], expected);
    }
}

async fn unreachable_issuer_is_503_not_401(backend: Backend) {
    // Tokens from an issuer whose keys cannot be fetched cannot be judged: the API
    // says "try again" rather than "your token is bad".
    let app = TestApp::start_with(backend, |c| c.issuer = "http://127.0.0.1:9/".into()).await;
    let mut claims = app.issuer.claims("alice", EMPLOYEE);
    claims["iss"] = json!("http://127.0.0.1:9/");
    let token = Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1);
    let reply = app.get(RANGE, &token).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert_eq!(reply.error(), "temporarily_unavailable");
    // Health does not depend on the issuer.
    let reply = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((reply.status, reply.text.as_str()), (200, "ok"));
}

/// The cache of verified tokens works: a token used many times is checked in
/// full once, and each other token once more. A count, so it cannot be noisy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_token_is_checked_in_full_once() {
    let app = TestApp::start(Backend::Sqlite).await;
    let alice = app.token("alice", EMPLOYEE);
    let bob = app.token("bob", EMPLOYEE);
    let before = app.ctx.full_token_checks();
    for _ in 0..20 {
        assert_eq!(app.get(RANGE, &alice).await.status, 200);
    }
    assert_eq!(app.ctx.full_token_checks(), before + 1);
    for _ in 0..5 {
        assert_eq!(app.get(RANGE, &bob).await.status, 200);
        assert_eq!(app.get(RANGE, &alice).await.status, 200);
    }
    assert_eq!(app.ctx.full_token_checks(), before + 2);
}

/// A token seen before is not verified again, but only while a full check would
/// still pass it: past its `exp` it is refused as expired, as ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_seen_before_is_refused_once_it_expires() {
    let app = TestApp::start_with(Backend::Sqlite, |c| c.leeway = Duration::ZERO).await;
    let now = jsonwebtoken::get_current_timestamp();
    let claims = with(app.issuer.claims("alice", EMPLOYEE), "exp", json!(now + 2));
    let token = Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1);
    for _ in 0..3 {
        assert_eq!(app.get(RANGE, &token).await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let reply = app.get(RANGE, &token).await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    assert!(
        reply
            .header("www-authenticate")
            .contains("the token has expired"),
        "{}",
        reply.header("www-authenticate")
    );
}

/// A token verified with a key the issuer has since retired is refused as soon
/// as the API learns of it, not when the token expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_whose_key_left_the_key_set_is_refused_at_once() {
    let app = TestApp::start_with(Backend::Sqlite, |c| {
        c.jwks_refresh_interval = Duration::from_secs(1)
    })
    .await;
    let old = app.token("alice", EMPLOYEE);
    for _ in 0..3 {
        assert_eq!(app.get(RANGE, &old).await.status, 200);
    }
    app.issuer.retire_k1();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // A token with the new key makes the API fetch the key set again.
    let new = Issuer::sign(
        &Issuer::header(Key::K2),
        &app.issuer.claims("alice", EMPLOYEE),
        Key::K2,
    );
    assert_eq!(app.get(RANGE, &new).await.status, 200);
    let reply = app.get(RANGE, &old).await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    assert!(
        reply.header("www-authenticate").contains("key is unknown"),
        "{}",
        reply.header("www-authenticate")
    );
}
