//! The limits that make the provider safe on a shared machine, over real HTTP:
//! oversized parameters, a sign-in spent by wrong passwords, the per-account
//! back-off, the per-address request rates, and waiting sign-ins displaced
//! oldest first instead of everyone being refused.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use common::*;
use reqwest::header;
use reqwest::StatusCode;

fn per_minute(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// `GET /authorize` with `request` from `browser`: status, `Location`, body.
async fn authorize(
    browser: &reqwest::Client,
    idp: &TestIdp,
    request: &Authorize,
) -> (StatusCode, Option<url::Url>, String) {
    let response = browser.get(request.url(idp)).send().await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|value| url::Url::parse(value.to_str().unwrap()).unwrap());
    (status, location, response.text().await.unwrap())
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get(header::RETRY_AFTER)
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A 429 whose `Retry-After` is a wait within the minute's window: the body,
/// for the caller to check.
fn too_many(response: reqwest::Response) -> reqwest::Response {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&response);
    assert!((1..=20).contains(&wait), "Retry-After {wait}");
    response
}

/// The employee signs in from 127.0.0.2, whatever 127.0.0.1 has done.
async fn another_address_signs_in(idp: &TestIdp) {
    let other = browser_at(2);
    let (request_id, csrf) = open_form(&other, idp, &Authorize::new(ALL_SCOPES)).await;
    let response = submit_form(
        &other,
        idp,
        &request_id,
        &csrf,
        "employee@example.com",
        "password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn state_nonce_and_redirect_uri_have_a_length_limit() {
    let idp = start(|_| {}).await;
    let browser = browser();
    let at_limit = "s".repeat(512);
    let over = "s".repeat(513);

    let request = Authorize::new(ALL_SCOPES)
        .set("state", &at_limit)
        .set("nonce", &at_limit);
    let (status, _, _) = authorize(&browser, &idp, &request).await;
    assert_eq!(status, StatusCode::OK, "512 bytes each are accepted");

    let request = Authorize::new(ALL_SCOPES).set("state", &over);
    let (status, location, _) = authorize(&browser, &idp, &request).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let pairs = query(&location.unwrap());
    assert_eq!(param(&pairs, "error"), Some("invalid_request"));
    assert!(
        param(&pairs, "error_description").is_some_and(|d| d.contains("state is 513 bytes")),
        "{pairs:?}"
    );
    assert_eq!(
        param(&pairs, "state"),
        None,
        "an oversized state is not echoed"
    );

    let request = Authorize::new(ALL_SCOPES).set("nonce", &"n".repeat(62_000));
    let (status, location, _) = authorize(&browser, &idp, &request).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let pairs = query(&location.unwrap());
    assert_eq!(param(&pairs, "error"), Some("invalid_request"));
    assert!(
        param(&pairs, "error_description").is_some_and(|d| d.contains("nonce is 62000 bytes")),
        "{pairs:?}"
    );
    assert_eq!(param(&pairs, "state"), Some("state-123"));

    let long_uri = format!(
        "com.example.timesheets:/oauth/callback?{}",
        "x".repeat(2048)
    );
    let request = Authorize::new(ALL_SCOPES).set("redirect_uri", &long_uri);
    let (status, location, body) = authorize(&browser, &idp, &request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(location.is_none(), "never redirected");
    assert!(body.contains("at most 2048 are accepted"), "{body}");
}

#[tokio::test]
async fn the_sixth_attempt_fails_even_with_the_right_password() {
    let idp = start(|_| {}).await;
    let browser = browser();
    let request = Authorize::new(ALL_SCOPES);
    let (request_id, csrf) = open_form(&browser, &idp, &request).await;

    // Five wrong passwords, each for another account, so no account backs off:
    // only the sign-in itself counts them.
    for attempt in 1..=5 {
        let email = format!("nobody{attempt}@example.com");
        let response = submit_form(&browser, &idp, &request_id, &csrf, &email, "guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let html = response.text().await.unwrap();
        if attempt < 5 {
            assert!(html.contains("Email or password is incorrect."), "{html}");
        } else {
            assert!(html.contains("Sign-in stopped"), "{html}");
        }
    }

    let response = submit_form(
        &browser,
        &idp,
        &request_id,
        &csrf,
        "employee@example.com",
        "password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(header::LOCATION).is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("Sign-in stopped"), "{html}");
    assert!(html.contains("Too many wrong passwords"), "{html}");
    assert!(html.contains("start signing in again"), "{html}");

    // A new sign-in starts afresh.
    let request = Authorize::new(ALL_SCOPES);
    sign_in_with(&idp, &request, "employee@example.com").await;
}

#[tokio::test]
async fn an_account_backs_off_after_repeated_wrong_passwords() {
    let idp = start(|config| {
        config.limits.account_failures_before_backoff = 3;
        config.limits.account_backoff = Duration::from_secs(2);
        config.limits.account_backoff_max = Duration::from_secs(8);
    })
    .await;
    let browser = browser();

    // Three wrong passwords for the employee, over two sign-ins.
    let (first_id, csrf) = open_form(&browser, &idp, &Authorize::new(ALL_SCOPES)).await;
    for _ in 0..2 {
        let response = submit_form(
            &browser,
            &idp,
            &first_id,
            &csrf,
            "employee@example.com",
            "x",
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let (second_id, csrf) = open_form(&browser, &idp, &Authorize::new(ALL_SCOPES)).await;
    let response = submit_form(
        &browser,
        &idp,
        &second_id,
        &csrf,
        "EMPLOYEE@example.com",
        "x",
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.unwrap();
    assert!(html.contains("can try again in 2 seconds"), "{html}");

    // Now even the right password is not checked, on any sign-in.
    let request = Authorize::new(ALL_SCOPES);
    let (request_id, csrf) = open_form(&browser, &idp, &request).await;
    let response = submit_form(
        &browser,
        &idp,
        &request_id,
        &csrf,
        "employee@example.com",
        "password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&response), 2);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Too many wrong passwords were tried for this account"),
        "{html}"
    );

    // Another account is not affected, and the refusal did not spend the form.
    let response = submit_form(
        &browser,
        &idp,
        &request_id,
        &csrf,
        "manager@example.com",
        "password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // After the back-off, the right password works again.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    sign_in_with(&idp, &Authorize::new(ALL_SCOPES), "employee@example.com").await;
}

#[tokio::test]
async fn the_authorize_page_is_rate_limited_per_address() {
    let idp = start(|config| config.limits.authorize_per_minute = per_minute(3)).await;
    let browser = browser();
    for _ in 0..3 {
        open_form(&browser, &idp, &Authorize::new(ALL_SCOPES)).await;
    }
    let response = browser
        .get(Authorize::new(ALL_SCOPES).url(&idp))
        .send()
        .await
        .unwrap();
    let html = too_many(response).text().await.unwrap();
    assert!(html.contains("Too many sign-in requests"), "{html}");

    // Another address still signs in.
    another_address_signs_in(&idp).await;
}

#[tokio::test]
async fn the_sign_in_form_is_rate_limited_per_address() {
    let idp = start(|config| config.limits.sign_in_per_minute = per_minute(3)).await;
    let browser = browser();
    let request = Authorize::new(ALL_SCOPES);
    let (request_id, csrf) = open_form(&browser, &idp, &request).await;
    for attempt in 0..3 {
        let email = format!("nobody{attempt}@example.com");
        let response = submit_form(&browser, &idp, &request_id, &csrf, &email, "x").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = submit_form(
        &browser,
        &idp,
        &request_id,
        &csrf,
        "employee@example.com",
        "password",
    )
    .await;
    let html = too_many(response).text().await.unwrap();
    assert!(html.contains("Too many sign-in attempts"), "{html}");

    // The sign-in itself is intact: from another address it completes.
    another_address_signs_in(&idp).await;
}

#[tokio::test]
async fn the_token_endpoint_is_rate_limited_with_an_oauth_error() {
    let idp = start(|config| config.limits.token_per_minute = per_minute(3)).await;
    let code = code_for(&idp, &Authorize::new(ALL_SCOPES), "employee@example.com").await;
    for _ in 0..3 {
        let (status, body) = refresh(&idp, "not-a-refresh-token").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let response = reqwest::Client::new()
        .post(idp.url("oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
            ("code_verifier", "irrelevant"),
        ])
        .send()
        .await
        .unwrap();
    let response = too_many(response);
    assert_eq!(
        response.headers().get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "slow_down");
    assert!(
        str_field(&body, "error_description").contains("try again in"),
        "{body}"
    );
}

#[tokio::test]
async fn a_flood_displaces_the_oldest_sign_in_instead_of_refusing_everyone() {
    let idp = start(|config| {
        config.limits.authorize_per_minute = per_minute(1000);
        config.limits.pending_per_client = 5;
        config.limits.pending_total = 8;
    })
    .await;
    let flooder = browser();
    let person = browser_at(2);
    let latecomer = browser_at(3);

    // The person opens a sign-in, then the flood begins.
    let (person_id, person_csrf) = open_form(&person, &idp, &Authorize::new(ALL_SCOPES)).await;
    let (first_flood_id, flood_csrf) = open_form(&flooder, &idp, &Authorize::new(ALL_SCOPES)).await;
    for _ in 0..20 {
        let (status, _, _) = authorize(&flooder, &idp, &Authorize::new(ALL_SCOPES)).await;
        assert_eq!(status, StatusCode::OK, "never refused: the oldest goes");
    }
    // The flood displaced only its own oldest sign-ins.
    let response = submit_form(
        &flooder,
        &idp,
        &first_flood_id,
        &flood_csrf,
        "employee@example.com",
        "password",
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("Sign-in expired"));
    let response = submit_form(
        &person,
        &idp,
        &person_id,
        &person_csrf,
        "employee@example.com",
        "password",
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the person signs in"
    );

    // When the whole table is full, a newcomer still gets a place: the oldest of
    // all (here the flood's) makes room.
    let (person_id, person_csrf) = open_form(&person, &idp, &Authorize::new(ALL_SCOPES)).await;
    let mut latest = None;
    for _ in 0..3 {
        latest = Some(open_form(&latecomer, &idp, &Authorize::new(ALL_SCOPES)).await);
    }
    let (late_id, late_csrf) = latest.unwrap();
    for (browser, id, csrf) in [
        (&latecomer, &late_id, &late_csrf),
        (&person, &person_id, &person_csrf),
    ] {
        let response =
            submit_form(browser, &idp, id, csrf, "manager@example.com", "password").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
}
