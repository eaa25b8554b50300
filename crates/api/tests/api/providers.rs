//! Tokens as real providers shape them: every way an issuer is written, every
//! claim scopes come in, and the header rules RFC 7515 adds. Each profile follows
//! what the provider documents for its access tokens.

use crate::both_backends;
use crate::support::issuer::Shape;
use crate::support::{Backend, Issuer, Key, TestApp};
use jsonwebtoken::Header;
use serde_json::{json, Value};
use timesheets_api::{IssuerCheck, ScopeClaim};

both_backends!(
    every_issuer_shape_is_compared_exactly,
    provider_profiles_grant_exactly_their_scopes,
    only_configured_scope_claims_count,
    misshapen_scope_claims_are_invalid_tokens,
    crit_and_future_iat_are_refused,
);

const RANGE: &str = "/v1/entries?from=2026-11-23&to=2026-11-29";

/// The issuer with its last character changed: one slash more or less, or a
/// different last letter.
fn one_character_off(issuer: &str) -> String {
    match issuer.strip_suffix('/') {
        Some(without) => without.to_owned(),
        None => format!("{issuer}/"),
    }
}

async fn every_issuer_shape_is_compared_exactly(backend: Backend) {
    for shape in [Shape::Slash, Shape::NoSlash, Shape::Path] {
        let app = TestApp::start_trusting(backend, Issuer::start_as(shape).await, |_| {}).await;
        let url = app.issuer.url.clone();
        assert_eq!(
            app.ctx.check_issuer().await,
            IssuerCheck::Ready(1),
            "{shape:?} {url}"
        );
        let token = app.token("alice", "read:timesheets");
        let reply = app.get(RANGE, &token).await;
        assert_eq!(reply.status, 200, "{shape:?} {url}: {}", reply.text);

        // The same token with `iss` one character off: another issuer.
        let mut claims = app.issuer.claims("alice", "read:timesheets");
        claims["iss"] = json!(one_character_off(&url));
        let forged = Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1);
        let reply = app.get(RANGE, &forged).await;
        assert_eq!(reply.status, 401, "{shape:?}: {}", reply.text);
        assert!(
            reply.header("www-authenticate").contains("another issuer"),
            "{}",
            reply.header("www-authenticate")
        );
    }
}

async fn misconfigured_issuers_are_named_not_500(backend: Backend) {
    // The API told the issuer with a slash the provider does not write.
    let issuer = Issuer::start_as(Shape::NoSlash).await;
    let written = issuer.url.clone();
    let app = TestApp::start_trusting(backend, issuer, |c| c.issuer = format!("{written}/")).await;
    match app.ctx.check_issuer().await {
        IssuerCheck::Misconfigured(why) => {
            assert!(why.contains("names the issuer"), "{why}");
            assert!(why.contains(&format!("{written:?}")), "{why}");
        }
        other => panic!("not a misconfiguration: {other:?}"),
    }
    let mut claims = app.issuer.claims("alice", "read:timesheets");
    claims["iss"] = json!(format!("{written}/"));
    let token = Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1);
    let reply = app.get(RANGE, &token).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert_eq!(reply.error(), "temporarily_unavailable");

    // Discovery that names another issuer.
    let app = TestApp::start_trusting(backend, Issuer::start().await, |_| {}).await;
    app.issuer.advertise("https://someone-else.example.com/");
    assert!(matches!(
        app.ctx.check_issuer().await,
        IssuerCheck::Misconfigured(why) if why.contains("someone-else")
    ));

    // Nothing published there at all (404), and nobody listening.
    let app = TestApp::start_trusting(backend, Issuer::start().await, |c| {
        c.issuer = format!("{}nowhere", c.issuer)
    })
    .await;
    assert!(matches!(
        app.ctx.check_issuer().await,
        IssuerCheck::Misconfigured(why) if why.contains("404")
    ));
    let app = TestApp::start_trusting(backend, Issuer::start().await, |c| {
        c.issuer = "http://127.0.0.1:9".into()
    })
    .await;
    assert!(matches!(
        app.ctx.check_issuer().await,
        IssuerCheck::Unreachable(_)
    ));
}

both_backends!(misconfigured_issuers_are_named_not_500);

/// A provider's documented access-token shape.
struct Profile {
    name: &'static str,
    shape: Shape,
    /// The header's `typ`, `None` for none.
    typ: Option<&'static str>,
    /// Builds the scope-bearing claims for "read and create".
    scopes: fn() -> Value,
}

fn profiles() -> Vec<Profile> {
    vec![
        Profile {
            // Auth0 with RBAC and "Add Permissions in the Access Token": `typ: JWT`,
            // `scope` holds only the OpenID scopes, `permissions` the API's.
            name: "Auth0",
            shape: Shape::Slash,
            typ: Some("JWT"),
            scopes: || {
                json!({"scope": "openid profile email offline_access",
                              "permissions": ["read:timesheets", "create:timesheets"]})
            },
        },
        Profile {
            // Okta: `scp` as an array, issuer without a trailing slash.
            name: "Okta",
            shape: Shape::NoSlash,
            typ: None,
            scopes: || json!({"scp": ["openid", "read:timesheets", "create:timesheets"]}),
        },
        Profile {
            // Microsoft Entra ID v2: `scp` as a space-separated string, issuer
            // with a path.
            name: "Entra ID",
            shape: Shape::Path,
            typ: Some("JWT"),
            scopes: || json!({"scp": "read:timesheets create:timesheets"}),
        },
        Profile {
            // Keycloak: `scope` string, issuer with a realm path.
            name: "Keycloak",
            shape: Shape::Path,
            typ: Some("JWT"),
            scopes: || json!({"scope": "openid email profile read:timesheets create:timesheets"}),
        },
    ]
}

async fn provider_profiles_grant_exactly_their_scopes(backend: Backend) {
    for profile in profiles() {
        let issuer = Issuer::start_as(profile.shape).await;
        let app = TestApp::start_trusting(backend, issuer, |c| c.accept_jwt_typ = true).await;
        let mut claims = app.issuer.claims("person-1", "");
        let Value::Object(map) = &mut claims else {
            panic!("claims are an object")
        };
        // No name in the access token, as these providers send it.
        map.remove("scope");
        map.remove("name");
        if let Value::Object(scopes) = (profile.scopes)() {
            map.extend(scopes);
        }
        let header = Header {
            typ: profile.typ.map(str::to_owned),
            ..Issuer::header(Key::K1)
        };
        let token = Issuer::sign(&header, &claims, Key::K1);
        let name = profile.name;

        let reply = app.get(RANGE, &token).await;
        assert_eq!(reply.status, 200, "{name}: read: {}", reply.text);
        let reply = app
            .post(
                "/v1/entries",
                &token,
                json!({"date": "2026-11-23", "project": "A", "hours": 1}),
            )
            .await;
        assert_eq!(reply.status, 201, "{name}: create: {}", reply.text);
        // Without a name anywhere, the entry is shown under the subject.
        assert_eq!(reply.json["owner_name"], "person-1", "{name}");
        let id = reply.json["id"].as_str().unwrap_or_default().to_owned();
        let reply = app.delete(&format!("/v1/entries/{id}"), &token).await;
        assert_eq!(reply.status, 403, "{name}: delete: {}", reply.text);
        assert_eq!(reply.json["scope"], "delete:timesheets", "{name}");
        let reply = app.get("/v1/approvals", &token).await;
        assert_eq!(reply.status, 403, "{name}: approvals: {}", reply.text);
        assert_eq!(reply.json["scope"], "approve:timesheets", "{name}");
    }
}

async fn only_configured_scope_claims_count(backend: Backend) {
    let app = TestApp::start_with(backend, |c| c.scope_claims = vec![ScopeClaim::Scope]).await;
    let mut claims = app.issuer.claims("alice", "read:timesheets");
    claims["scp"] = json!(["create:timesheets"]);
    claims["permissions"] = json!(["create:timesheets"]);
    let token = Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1);
    assert_eq!(app.get(RANGE, &token).await.status, 200);
    let reply = app
        .post(
            "/v1/entries",
            &token,
            json!({"date": "2026-11-23", "project": "A", "hours": 1}),
        )
        .await;
    assert_eq!(
        reply.status, 403,
        "scp and permissions must not count: {}",
        reply.text
    );

    let app = TestApp::start_with(backend, |c| c.scope_claims = vec![ScopeClaim::Scp]).await;
    let mut claims = app.issuer.claims("alice", "read:timesheets");
    claims["scp"] = json!("create:timesheets");
    let token = Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1);
    assert_eq!(
        app.get(RANGE, &token).await.status,
        403,
        "scope must not count"
    );
    app.create(&token, "2026-11-23", "A", 1.0).await;
}

async fn misshapen_scope_claims_are_invalid_tokens(backend: Backend) {
    let app = TestApp::start(backend).await;
    for (claim, value) in [
        ("scope", json!(42)),
        ("scope", json!(["read:timesheets"])),
        ("scp", json!({"read:timesheets": true})),
        ("scp", json!(["read:timesheets", 1])),
        ("permissions", json!("read:timesheets")),
        ("permissions", json!(3.5)),
    ] {
        let mut claims = app.issuer.claims("alice", "read:timesheets");
        claims[claim] = value.clone();
        let token = Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1);
        let reply = app.get(RANGE, &token).await;
        assert_eq!(reply.status, 401, "{claim} = {value}: {}", reply.text);
        assert_eq!(reply.error(), "invalid_token", "{claim} = {value}");
        assert!(
            reply
                .header("www-authenticate")
                .contains("scopes are in a form"),
            "{}",
            reply.header("www-authenticate")
        );
    }
}

async fn crit_and_future_iat_are_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let good = app.token("alice", "read:timesheets");
    assert_eq!(app.get(RANGE, &good).await.status, 200);

    // jsonwebtoken cannot write `crit`, so the header is written by hand and
    // signed with the provider's own key.
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": "k1", "crit": ["urn:unknown"]});
    let claims = app.issuer.claims("alice", "read:timesheets");
    let token = Issuer::sign_raw(&header, &claims, Key::K1);
    let reply = app.get(RANGE, &token).await;
    assert_eq!(reply.status, 401, "crit: {}", reply.text);
    assert!(reply.header("www-authenticate").contains("extensions"));
    // The same token without `crit` passes: it is the `crit` that is refused.
    let plain = json!({"alg": "RS256", "typ": "at+jwt", "kid": "k1"});
    let reply = app
        .get(RANGE, &Issuer::sign_raw(&plain, &claims, Key::K1))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let now = jsonwebtoken::get_current_timestamp();
    for (iat, expected) in [(now + 86_400, 401), (now + 120, 401), (now + 10, 200)] {
        let mut claims = app.issuer.claims("alice", "read:timesheets");
        claims["iat"] = json!(iat);
        let token = Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1);
        let reply = app.get(RANGE, &token).await;
        assert_eq!(
            reply.status,
            expected,
            "iat now+{}: {}",
            iat - now,
            reply.text
        );
    }
}
