//! Refresh-token rotation, reuse detection, revocation, concurrency and restart.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn rotation_and_reuse_detection_revoke_the_family() {
    let idp = start(|_| {}).await;
    let first = tokens_for(&idp, "employee@example.com", ALL_SCOPES).await;
    let rt1 = str_field(&first, "refresh_token").to_owned();

    let (status, second) = refresh(&idp, &rt1).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let rt2 = str_field(&second, "refresh_token").to_owned();
    assert_ne!(rt1, rt2, "a new refresh token each time");
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["scope"], first["scope"]);
    let (typ, claims) = verify(&idp, str_field(&second, "access_token"), "timesheets-api").await;
    assert_eq!(typ, "at+jwt");
    assert_eq!(claims["sub"], "dev|employee");
    assert!(second["id_token"].is_string(), "openid was granted");

    let (status, third) = refresh(&idp, &rt2).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let rt3 = str_field(&third, "refresh_token").to_owned();

    // rt1 was spent: presenting it again is theft, and kills the family.
    let (status, body) = refresh(&idp, &rt1).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = refresh(&idp, &rt3).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the newest token is dead too"
    );
    assert_eq!(body["error"], "invalid_grant");

    // Another sign-in is unaffected.
    let other = tokens_for(&idp, "employee@example.com", ALL_SCOPES).await;
    let (status, _) = refresh(&idp, str_field(&other, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn refresh_may_narrow_scope_but_not_widen_it() {
    let idp = start(|_| {}).await;
    let first = tokens_for(
        &idp,
        "manager@example.com",
        "openid offline_access read:timesheets approve:timesheets",
    )
    .await;
    let rt = str_field(&first, "refresh_token").to_owned();

    // Widening is refused, and does not cost the client its token.
    let (status, body) = post_form(
        &idp,
        "oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", CLIENT_ID),
            ("scope", "read:timesheets delete:timesheets"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");

    let (status, body) = post_form(
        &idp,
        "oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", CLIENT_ID),
            ("scope", "read:timesheets"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read:timesheets");
    let (_, claims) = verify(&idp, str_field(&body, "access_token"), "timesheets-api").await;
    assert_eq!(claims["scope"], "read:timesheets");
    assert!(body.get("id_token").is_none());

    // The narrowing applied to that access token only: the next refresh may ask
    // for everything originally granted.
    let (status, body) = refresh(&idp, str_field(&body, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["scope"],
        "openid offline_access read:timesheets approve:timesheets"
    );
}

#[tokio::test]
async fn revocation_kills_the_family() {
    let idp = start(|_| {}).await;
    let first = tokens_for(&idp, "employee@example.com", ALL_SCOPES).await;
    let rt1 = str_field(&first, "refresh_token").to_owned();
    let (_, second) = refresh(&idp, &rt1).await;
    let rt2 = str_field(&second, "refresh_token").to_owned();

    // Revoking the (already spent) first token revokes the family, rt2 included.
    let (status, _) = post_form(
        &idp,
        "oauth/revoke",
        &[
            ("token", rt1.as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", CLIENT_ID),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = refresh(&idp, &rt2).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    // Revoking with HTTP Basic, as the oauth2 crate does.
    let other = tokens_for(&idp, "auditor@example.com", ALL_SCOPES).await;
    let rt = str_field(&other, "refresh_token");
    let response = reqwest::Client::new()
        .post(idp.url("oauth/revoke"))
        .basic_auth(CLIENT_ID, Some(""))
        .form(&[("token", rt)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = refresh(&idp, rt).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Unknown tokens and access tokens: 200, nothing to do.
    for token in ["not-a-token", str_field(&first, "access_token")] {
        let (status, _) = post_form(
            &idp,
            "oauth/revoke",
            &[("token", token), ("client_id", CLIENT_ID)],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    // A missing token or client is a client error.
    let (status, body) = post_form(&idp, "oauth/revoke", &[("client_id", CLIENT_ID)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    let (status, body) = post_form(&idp, "oauth/revoke", &[("token", "x")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_fifty_parallel_refreshes_exactly_one_wins() {
    let idp = start(|_| {}).await;
    let first = tokens_for(&idp, "employee@example.com", ALL_SCOPES).await;
    let rt = str_field(&first, "refresh_token").to_owned();
    let url = idp.url("oauth/token");
    let http = reqwest::Client::new();

    let attempts = (0..50).map(|_| {
        let http = http.clone();
        let url = url.clone();
        let rt = rt.clone();
        tokio::spawn(async move {
            http.post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                    ("client_id", CLIENT_ID),
                ])
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let mut statuses = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        statuses.push(attempt.await.unwrap());
    }
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!(won, 1, "{statuses:?}");
    assert_eq!(refused, 49, "{statuses:?}");
}

#[tokio::test]
async fn refresh_family_has_an_absolute_lifetime() {
    let idp = start(|config| config.refresh_absolute_lifetime = Duration::from_secs(2)).await;
    let first = tokens_for(&idp, "employee@example.com", ALL_SCOPES).await;
    let (status, second) = refresh(&idp, str_field(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (status, body) = refresh(&idp, str_field(&second, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

#[tokio::test]
async fn reuse_interval_forgives_a_quick_retry() {
    let idp = start(|config| config.refresh_reuse_interval = Duration::from_secs(30)).await;
    let first = tokens_for(&idp, "employee@example.com", ALL_SCOPES).await;
    let rt1 = str_field(&first, "refresh_token").to_owned();
    let (status, _) = refresh(&idp, &rt1).await;
    assert_eq!(status, StatusCode::OK);
    let (status, second) = refresh(&idp, &rt1).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "within the reuse interval: {second}"
    );
    let (status, _) = refresh(&idp, str_field(&second, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn refresh_token_of_another_client_or_garbage_is_refused() {
    let idp = start(|config| {
        config.clients.push(timesheets_idp::Client {
            client_id: "other-app".to_owned(),
            redirect_uris: vec!["com.example.other:/cb".to_owned()],
        });
    })
    .await;
    let first = tokens_for(&idp, "employee@example.com", ALL_SCOPES).await;
    let (status, body) = post_form(
        &idp,
        "oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", str_field(&first, "refresh_token")),
            ("client_id", "other-app"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = refresh(&idp, "garbage").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    // The rightful client still can.
    let (status, _) = refresh(&idp, str_field(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn restart_keeps_the_key_and_the_refresh_tokens() {
    // An empty directory: the key is generated on first start.
    let dir = tempfile::tempdir().unwrap();
    let idp = start_in(dir, |_| {}).await;
    let key_path = idp.dir.path().join("signing-key.pem");
    let pem = std::fs::read_to_string(&key_path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
    #[cfg(unix)]
    assert!(is_owner_only(&key_path), "the key file is mode 0600");
    assert!(idp.dir.path().join("idp.sqlite3").exists());

    let jwks_before = jwks(&idp).await;
    let first = tokens_for(&idp, "manager@example.com", ALL_SCOPES).await;
    let rt = str_field(&first, "refresh_token").to_owned();

    // The database holds only digests.
    let db = std::fs::read(idp.dir.path().join("idp.sqlite3")).unwrap();
    let wal = std::fs::read(idp.dir.path().join("idp.sqlite3-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(rt.len()).any(|w| w == rt.as_bytes()),
            "the raw refresh token must not be stored"
        );
    }

    let dir = idp.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let idp = start_in(dir, |_| {}).await;
    let jwks_after = jwks(&idp).await;
    assert_eq!(jwks_before, jwks_after, "same key, same kid");

    let (status, body) = refresh(&idp, &rt).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, claims) = verify(&idp, str_field(&body, "access_token"), "timesheets-api").await;
    assert_eq!(claims["sub"], "dev|manager");
}
