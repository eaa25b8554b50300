//! `PUT /v1/me`: a person's real name from a verified ID token, and managers
//! seeing it. Access tokens here carry no `name`, as most providers send them.

use crate::both_backends;
use crate::support::issuer::CLIENT_ID;
use crate::support::{Backend, Issuer, Key, TestApp, EMPLOYEE, MANAGER};
use serde_json::{json, Value};

both_backends!(
    a_verified_id_token_names_the_person_for_managers,
    an_id_token_is_checked_like_an_access_token,
    the_access_token_name_wins,
    a_name_that_reads_differently_is_refused,
);

/// An access token with no `name` or `email`, as Auth0 sends by default.
fn nameless(app: &TestApp, sub: &str, scope: &str) -> String {
    let mut claims = app.issuer.claims(sub, scope);
    claims.as_object_mut().map(|c| c.remove("name"));
    Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1)
}

async fn a_verified_id_token_names_the_person_for_managers(backend: Backend) {
    let app = TestApp::start(backend).await;
    let employee = nameless(&app, "auth0|65f0aa", EMPLOYEE);
    let manager = nameless(&app, "auth0|77bb01", MANAGER);
    app.submitted(&employee, "2026-11-23", "Apollo", 2.0).await;

    // Before: the manager sees only the subject.
    let list = app.get("/v1/approvals", &manager).await;
    assert_eq!(list.json["entries"][0]["owner_name"], "auth0|65f0aa");
    let me = app.get("/v1/me", &employee).await;
    assert_eq!(me.json["name"], "auth0|65f0aa", "{}", me.text);

    let id_token = app
        .issuer
        .id_token("auth0|65f0aa", "Erin Employee", "erin@example.com");
    let reply = app
        .put("/v1/me", &employee, json!({"id_token": id_token}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.json,
        json!({"sub": "auth0|65f0aa", "name": "Erin Employee", "email": "erin@example.com"})
    );
    let me = app.get("/v1/me", &employee).await;
    assert_eq!(me.json["name"], "Erin Employee");

    // After: every entry of hers shows her name, old and new.
    app.submitted(&employee, "2026-11-24", "Apollo", 3.0).await;
    let list = app.get("/v1/approvals", &manager).await;
    let names: Vec<&Value> = list.json["entries"]
        .as_array()
        .map(|e| e.iter().map(|e| &e["owner_name"]).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        vec!["Erin Employee", "Erin Employee"],
        "{}",
        list.text
    );

    // Presented again with a new name: updated.
    let renamed = app
        .issuer
        .id_token("auth0|65f0aa", "Erin Smith", "erin@example.com");
    let reply = app
        .put("/v1/me", &employee, json!({"id_token": renamed}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let list = app.get("/v1/approvals", &manager).await;
    assert_eq!(list.json["entries"][0]["owner_name"], "Erin Smith");
}

async fn an_id_token_is_checked_like_an_access_token(backend: Backend) {
    let app = TestApp::start(backend).await;
    let sub = "okta|00u1";
    let access = nameless(&app, sub, EMPLOYEE);
    let good = app.issuer.id_claims(sub, "Mallory", "m@example.com");
    let now = jsonwebtoken::get_current_timestamp();
    let change = |key: &str, value: Value| {
        let mut claims = good.clone();
        claims[key] = value;
        Issuer::sign(&Issuer::id_header(Key::K1), &claims, Key::K1)
    };
    let crit = json!({"alg": "RS256", "typ": "JWT", "kid": "k1", "crit": ["exp"]});
    let cases: Vec<(&str, String)> = vec![
        ("someone else's", change("sub", json!("okta|00u2"))),
        ("another client's", change("aud", json!("someone-else"))),
        (
            "the API's (an access token)",
            change("aud", json!("timesheets-api")),
        ),
        (
            "several audiences without azp",
            change("aud", json!([CLIENT_ID, "other"])),
        ),
        (
            "another issuer's",
            change("iss", json!("https://evil.example.com/")),
        ),
        ("expired", change("exp", json!(now - 3600))),
        ("from the future", change("iat", json!(now + 86_400))),
        (
            "typed as an access token",
            Issuer::sign(&Issuer::header(Key::K1), &good, Key::K1),
        ),
        (
            "signed by a key the issuer never published",
            Issuer::sign(&Issuer::id_header(Key::Attacker), &good, Key::Attacker),
        ),
        ("with crit", Issuer::sign_raw(&crit, &good, Key::K1)),
        ("not a JWT", "not.a.jwt".to_owned()),
    ];
    for (what, id_token) in cases {
        let reply = app
            .put("/v1/me", &access, json!({"id_token": id_token}))
            .await;
        assert_eq!(reply.status, 422, "{what}: {}", reply.text);
        assert_eq!(reply.field(), "id_token", "{what}");
    }
    // Nothing was recorded.
    let me = app.get("/v1/me", &access).await;
    assert_eq!(me.json["name"], sub, "{}", me.text);

    // Several audiences are fine when azp names the app.
    let mut claims = good.clone();
    claims["aud"] = json!([CLIENT_ID, "other"]);
    claims["azp"] = json!(CLIENT_ID);
    let id_token = Issuer::sign(&Issuer::id_header(Key::K1), &claims, Key::K1);
    let reply = app
        .put("/v1/me", &access, json!({"id_token": id_token}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // Bad bodies and no access token.
    let reply = app.put("/v1/me", &access, json!({"id": "x"})).await;
    assert_eq!((reply.status, reply.field()), (422, "id"), "{}", reply.text);
    let reply = app
        .call(
            reqwest::Method::PUT,
            "/v1/me",
            None,
            Some(json!({"id_token": "x"})),
        )
        .await;
    assert_eq!(reply.status, 401);
}

async fn the_access_token_name_wins(backend: Backend) {
    let app = TestApp::start(backend).await;
    // The test issuer's access tokens carry `name` = "<sub> (name)".
    let access = app.token("kc-1", EMPLOYEE);
    let id_token = app
        .issuer
        .id_token("kc-1", "From The ID Token", "id@example.com");
    let reply = app
        .put("/v1/me", &access, json!({"id_token": id_token}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["name"], "kc-1 (name)");
    assert_eq!(reply.json["email"], "id@example.com");
}

async fn a_name_that_reads_differently_is_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let employee = nameless(&app, "auth0|65f0aa", EMPLOYEE);
    let manager = nameless(&app, "auth0|77bb01", MANAGER);
    app.submitted(&employee, "2026-11-23", "Apollo", 2.0).await;
    for (name, email, field) in [
        ("Erin \u{202e}reganaM", "erin@example.com", "name"),
        ("Erin Employee", "erin\u{2066}@example.com", "email"),
    ] {
        let id_token = app.issuer.id_token("auth0|65f0aa", name, email);
        let reply = app
            .put("/v1/me", &employee, json!({"id_token": id_token}))
            .await;
        assert_eq!(
            (reply.status, reply.field()),
            (422, field),
            "{}",
            reply.text
        );
    }
    // Nothing was stored: the manager still sees the subject.
    let list = app.get("/v1/approvals", &manager).await;
    assert_eq!(
        list.json["entries"][0]["owner_name"], "auth0|65f0aa",
        "{}",
        list.text
    );

    // A name in an access token is shown without its spoofing characters.
    let mut claims = app.issuer.claims("auth0|99cc02", EMPLOYEE);
    claims["name"] = json!("Mallory \u{202e}nimdA");
    let spoofed = Issuer::sign(&Issuer::header(Key::K1), &claims, Key::K1);
    app.submitted(&spoofed, "2026-11-24", "Apollo", 1.0).await;
    let list = app.get("/v1/approvals", &manager).await;
    let names: Vec<&str> = list.json["entries"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["owner_name"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.contains(&"Mallory nimdA"), "{names:?}");
}
