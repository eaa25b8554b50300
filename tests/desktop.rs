//! The real app in a real window, end to end: `timesheets-server` as a process,
//! the debug build of the app driven through tauri-driver and WebDriver, the
//! scripted person in `test-browser` signing in at the development identity
//! provider, and the refresh token in the real Secret Service.
//!
//! Needs a display, a D-Bus session and an unlocked keyring; run through
//! `scripts/test`, or `dbus-run-session -- scripts/with-desktop cargo test -p timesheets`
//! after building the app and the server. Without them every test here fails
//! and says so; none is skipped.
//!
//! Tests take turns on the desktop (the app is a single instance per D-Bus
//! session); each has its own server, data, keyring service and log folder
//! (`test-output/logs/<test>/`). Screenshots go to `test-output/screenshots/`.

use anyhow::{ensure, Context as _, Result};
use chrono::NaiveDate;
use fantoccini::key::Key;
use std::time::Duration;
use timesheets::api::Api;
use timesheets::oauth::{self, ALL_SCOPES};
use timesheets::{App, BrowserScript, Desktop, Server, AUDITOR, EMPLOYEE, MANAGER};
use timesheets_core::{Status, Week};

fn test_browser() -> std::path::PathBuf {
    timesheets::test_browser()
}

/// The days of the week the app opens on: the one containing today, in the
/// machine's time zone (the app uses the same clock).
fn this_week() -> Vec<NaiveDate> {
    Week::containing(chrono::Local::now().date_naive())
        .days()
        .collect()
}

/// Clicks Sign in and waits until the header shows `name`.
async fn sign_in(app: &App, name: &str) -> Result<()> {
    app.click("sign-in").await?;
    app.wait_text("user-name", name)
        .await
        .context("the app did not come back signed in from the browser")
}

/// Fresh tokens for `person`, got over HTTP through the provider's sign-in form.
async fn api_as(server: &Server, person: timesheets::Person) -> Result<Api> {
    let tokens = oauth::sign_in(&server.issuer, person).await?;
    Ok(Api::new(&server.api_url, tokens))
}

/// Waits `pause` and checks the app still shows the sign-in screen with nobody
/// signed in: an ignored link changes nothing, so there is no event to wait for.
async fn still_signed_out(app: &App, pause: Duration) -> Result<()> {
    tokio::time::sleep(pause).await;
    app.find("sign-in").await?;
    ensure!(
        !app.exists("user-name").await?,
        "a forged link signed someone in"
    );
    Ok(())
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// How many requests the provider's token endpoint has answered: the server logs
/// one line per request it finished, with its path.
fn token_requests(server: &Server) -> usize {
    server
        .log_text()
        .lines()
        .filter(|line| line.contains("path=/oauth/token") && line.contains("finished processing"))
        .count()
}

#[tokio::test]
async fn the_employee_fills_in_the_week_and_it_survives_a_restart() -> Result<()> {
    let desk = Desktop::claim("employee_week", &test_browser()).await?;
    let server = desk.start_server().await?;
    let days = this_week();
    let (mon, tue) = (days[0], days[1]);

    let app = desk
        .launch(&server, &BrowserScript::signs_in_as(EMPLOYEE))
        .await?;
    app.find("sign-in").await?;
    app.screenshot("sign-in").await?;
    sign_in(&app, EMPLOYEE.name).await?;
    app.wait_text("user-email", EMPLOYEE.email).await?;
    app.wait_text("permissions", "View, Add & edit, Delete")
        .await?;
    ensure!(
        desk.stored_items()? == 2,
        "the refresh token (and whose it is) is not in the keyring after signing in"
    );

    // This week: a column (with its total) for each day of the current week.
    app.wait_attr("this-week", "aria-current", "true").await?;
    for day in &days {
        app.find(&format!("total-{day}")).await?;
    }

    // A new row, hours on two days; the totals follow.
    app.type_into("new-project", "Apollo").await?;
    app.click("add-row").await?;
    app.enter_in_cell(&format!("cell-Apollo-{mon}"), "7.5", Key::Enter)
        .await?;
    app.enter_in_cell(&format!("cell-Apollo-{tue}"), "6", Key::Tab)
        .await?;
    for day in [mon, tue] {
        app.wait_attr(&format!("status-Apollo-{day}"), "data-status", "draft")
            .await?;
    }
    app.wait_text(&format!("status-Apollo-{mon}"), "Draft")
        .await?;
    app.wait_text(&format!("total-{mon}"), "7.5").await?;
    app.wait_text(&format!("total-{tue}"), "6").await?;
    app.wait_text("row-total-Apollo", "13.5").await?;
    app.wait_text("total-week", "13.5").await?;
    // Against the server's weekly target (40 hours unless it is told otherwise).
    app.wait_text_contains("week-target", "13.5 of 40 h")
        .await?;

    // Edit one.
    app.enter_in_cell(&format!("cell-Apollo-{mon}"), "8", Key::Enter)
        .await?;
    app.wait_text(&format!("total-{mon}"), "8").await?;
    app.wait_text("row-total-Apollo", "14").await?;
    app.wait_text("total-week", "14").await?;
    app.screenshot("my-week").await?;

    // Delete the other.
    app.click(&format!("delete-Apollo-{tue}")).await?;
    app.wait_gone(&format!("status-Apollo-{tue}")).await?;
    app.wait_text(&format!("total-{tue}"), "0").await?;
    app.wait_text("row-total-Apollo", "8").await?;
    app.wait_text("total-week", "8").await?;

    // What the API holds is what the window shows.
    let api = api_as(&server, EMPLOYEE).await?;
    let stored = api.entries(mon, days[6]).await?;
    ensure!(stored.len() == 1, "the API holds {stored:?}");
    ensure!(
        stored[0].project == "Apollo"
            && stored[0].date == mon
            && stored[0].hours.to_string() == "8"
            && stored[0].status == Status::Draft,
        "the API holds {:?}",
        stored[0]
    );

    // A restart: the session comes back from the keyring, without the browser.
    let browser_before = desk.browser_log();
    ensure!(
        count(
            &browser_before,
            "handed com.example.timesheets:/oauth/callback"
        ) == 1,
        "the browser log does not show one sign-in:\n{browser_before}"
    );
    app.close().await?;
    let app = desk.launch(&server, &BrowserScript::unused()).await?;
    app.wait_text("user-name", EMPLOYEE.name)
        .await
        .context("the session did not come back from the keyring")?;
    app.wait_text(&format!("total-{mon}"), "8").await?;
    app.wait_text("total-week", "8").await?;
    app.wait_attr(&format!("status-Apollo-{mon}"), "data-status", "draft")
        .await?;
    let value = app
        .find(&format!("cell-Apollo-{mon}"))
        .await?
        .prop("value")
        .await?;
    ensure!(value.as_deref() == Some("8"), "the cell holds {value:?}");
    ensure!(
        desk.browser_log() == browser_before,
        "the browser was opened on restart:\n{}",
        desk.browser_log()
    );
    ensure!(
        !app.exists("not-remembered").await?,
        "the app says the session is not remembered"
    );
    app.close().await?;
    Ok(())
}

#[tokio::test]
async fn the_auditor_sees_the_grid_with_every_change_disabled_and_why() -> Result<()> {
    let desk = Desktop::claim("auditor_read_only", &test_browser()).await?;
    let mon = this_week()[0];

    // The read-only auditor has no entries to show unless they once could write:
    // give them create:timesheets on a first start, write an entry, then restart
    // the server on the same data with the built-in read-only auditor.
    let once_a_writer = format!(
        "[[users]]\nsub = \"{}\"\nemail = \"{}\"\nname = \"{}\"\npassword = \"{}\"\n\
         scopes = [\"read:timesheets\", \"create:timesheets\"]\n",
        AUDITOR.sub, AUDITOR.email, AUDITOR.name, AUDITOR.password
    );
    let server = desk.start_server_with_users(&once_a_writer).await?;
    api_as(&server, AUDITOR)
        .await?
        .create_entry(mon, "Audit", 4.0, "before the permissions changed")
        .await?;
    server.stop();
    let server = desk.start_server().await?;

    let app = desk
        .launch(&server, &BrowserScript::signs_in_as(AUDITOR))
        .await?;
    sign_in(&app, AUDITOR.name).await?;
    app.wait_text("permissions", "View").await?;

    // The grid is there, with the entry…
    let cell = format!("cell-Audit-{mon}");
    app.wait_text(&format!("total-{mon}"), "4").await?;
    app.wait_attr(&format!("status-Audit-{mon}"), "data-status", "draft")
        .await?;

    // …but nothing can be added, edited or deleted, and each control says which
    // permission is missing.
    for id in ["new-project", "add-row"] {
        ensure!(
            !app.is_enabled(id).await?,
            "{id} is enabled for the auditor"
        );
        let why = app.described_by(id).await?;
        ensure!(
            why.contains("create:timesheets"),
            "{id} is described by {why:?}"
        );
    }
    let read_only = app.find(&cell).await?.prop("readOnly").await?;
    ensure!(read_only.as_deref() == Some("true"), "{cell} is editable");
    let why = app.described_by(&cell).await?;
    ensure!(
        why.contains("create:timesheets"),
        "{cell} is described by {why:?}"
    );

    let delete = format!("delete-Audit-{mon}");
    ensure!(!app.is_enabled(&delete).await?, "{delete} is enabled");
    let why = app.described_by(&delete).await?;
    ensure!(
        why.contains("delete:timesheets"),
        "{delete} is described by {why:?}"
    );

    ensure!(
        !app.is_enabled("tab-approvals").await?,
        "Approvals is enabled"
    );
    let why = app.described_by("tab-approvals").await?;
    ensure!(
        why.contains("approve:timesheets"),
        "Approvals is described by {why:?}"
    );

    // The same words are on screen, not only for screen readers.
    let shown = app
        .execute("return document.querySelector('.permission-notes').innerText;")
        .await?;
    let shown = shown.as_str().unwrap_or_default();
    for scope in ["create:timesheets", "delete:timesheets"] {
        ensure!(
            shown.contains(scope),
            "the notes {shown:?} do not name {scope}"
        );
    }
    app.screenshot("read-only-week").await?;
    app.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_week_goes_round_submitted_rejected_fixed_and_approved() -> Result<()> {
    let desk = Desktop::claim("week_workflow", &test_browser()).await?;
    let server = desk.start_server().await?;
    let days = this_week();
    let (mon, tue) = (days[0], days[1]);
    let reason = "Tuesday was the offsite: 2 hours on Apollo, not 9.";

    // The employee fills the week: drafts, until submitted; then read-only.
    let app = desk
        .launch(&server, &BrowserScript::signs_in_as(EMPLOYEE))
        .await?;
    sign_in(&app, EMPLOYEE.name).await?;
    ensure!(
        !app.is_enabled("submit-week").await?,
        "an empty week can be submitted"
    );
    app.type_into("new-project", "Apollo").await?;
    app.click("add-row").await?;
    app.enter_in_cell(&format!("cell-Apollo-{mon}"), "7.5", Key::Enter)
        .await?;
    app.enter_in_cell(&format!("cell-Apollo-{tue}"), "9", Key::Tab)
        .await?;
    for day in [mon, tue] {
        app.wait_attr(&format!("status-Apollo-{day}"), "data-status", "draft")
            .await?;
    }
    app.wait_text_contains("week-state", "Not submitted")
        .await?;
    app.click("submit-week").await?;
    for day in [mon, tue] {
        app.wait_attr(&format!("status-Apollo-{day}"), "data-status", "submitted")
            .await?;
    }
    app.wait_text_contains("week-state", "Submitted").await?;
    let readonly = app.attr(&format!("cell-Apollo-{mon}"), "readonly").await?;
    ensure!(readonly.is_some(), "a submitted cell can be typed into");
    ensure!(
        !app.exists(&format!("delete-Apollo-{mon}")).await?,
        "a submitted cell offers a delete"
    );
    ensure!(!app.is_enabled("submit-week").await?);
    app.screenshot("workflow-1-submitted").await?;
    app.click("sign-out").await?;
    app.find("sign-in").await?;
    app.close().await?;

    let employee = api_as(&server, EMPLOYEE).await?;
    let week = employee.entries(mon, days[6]).await?;
    let id_of = |day: NaiveDate| {
        week.iter()
            .find(|e| e.date == day)
            .map(|e| e.id.clone())
            .unwrap_or_default()
    };
    let (monday_id, tuesday_id) = (id_of(mon), id_of(tue));

    // The manager rejects Tuesday, saying why, and approves Monday.
    let app = desk
        .launch(&server, &BrowserScript::signs_in_as(MANAGER))
        .await?;
    sign_in(&app, MANAGER.name).await?;
    app.click("tab-approvals").await?;
    for id in [&monday_id, &tuesday_id] {
        app.wait_text_contains(&format!("approval-{id}"), "Apollo")
            .await?;
    }
    // Grouped by person and week: the group's checkbox names the employee.
    let group = format!("select-group-dev-employee-{mon}");
    let label = app.attr(&group, "aria-label").await?.unwrap_or_default();
    ensure!(
        label.contains(EMPLOYEE.name),
        "the group is not the employee's: {label:?}"
    );
    app.screenshot("approvals").await?;
    app.click(&format!("reject-{tuesday_id}")).await?;
    // Rejecting without a reason is not possible.
    app.click("confirm-reject").await?;
    app.find(&format!("reject-{tuesday_id}")).await?;
    app.type_into("reject-reason", reason).await?;
    app.screenshot("workflow-2-reject-with-a-reason").await?;
    app.click("confirm-reject").await?;
    app.wait_gone(&format!("reject-{tuesday_id}")).await?;
    app.wait_text_contains("decision-result", "rejected")
        .await?;
    app.click(&format!("approve-{monday_id}")).await?;
    app.wait_gone(&format!("approve-{monday_id}")).await?;
    app.find("approvals-empty").await?;
    app.click("sign-out").await?;
    app.find("sign-in").await?;
    app.close().await?;

    // The employee sees the reason at the cell and in the notice, fixes the
    // hours and submits again.
    let app = desk
        .launch(&server, &BrowserScript::signs_in_as(EMPLOYEE))
        .await?;
    sign_in(&app, EMPLOYEE.name).await?;
    app.wait_attr(&format!("status-Apollo-{mon}"), "data-status", "approved")
        .await?;
    app.wait_attr(&format!("status-Apollo-{tue}"), "data-status", "rejected")
        .await?;
    // At the cell, one line with the whole reason in its tooltip.
    app.wait_attr(&format!("reason-Apollo-{tue}"), "title", reason)
        .await?;
    app.wait_text_contains("rejected-notice", reason).await?;
    app.screenshot("workflow-3-rejection-seen").await?;
    app.enter_in_cell(&format!("cell-Apollo-{tue}"), "2", Key::Enter)
        .await?;
    app.wait_attr(&format!("status-Apollo-{tue}"), "data-status", "draft")
        .await?;
    ensure!(!app.exists("rejected-notice").await?);
    app.click("submit-week").await?;
    app.wait_attr(&format!("status-Apollo-{tue}"), "data-status", "submitted")
        .await?;
    app.click("sign-out").await?;
    app.find("sign-in").await?;
    app.close().await?;

    // The manager approves the fixed hours.
    let app = desk
        .launch(&server, &BrowserScript::signs_in_as(MANAGER))
        .await?;
    sign_in(&app, MANAGER.name).await?;
    app.click("tab-approvals").await?;
    app.wait_text_contains(&format!("approval-{tuesday_id}"), "2")
        .await?;
    app.click(&format!("approve-{tuesday_id}")).await?;
    app.find("approvals-empty").await?;
    app.click("sign-out").await?;
    app.find("sign-in").await?;
    app.close().await?;

    // The week is approved and locked.
    let app = desk
        .launch(&server, &BrowserScript::signs_in_as(EMPLOYEE))
        .await?;
    sign_in(&app, EMPLOYEE.name).await?;
    for day in [mon, tue] {
        app.wait_attr(&format!("status-Apollo-{day}"), "data-status", "approved")
            .await?;
        let readonly = app.attr(&format!("cell-Apollo-{day}"), "readonly").await?;
        ensure!(readonly.is_some(), "an approved cell can be typed into");
    }
    app.wait_text_contains("week-state", "Approved").await?;
    ensure!(!app.is_enabled("submit-week").await?);
    ensure!(!app.is_enabled("withdraw-week").await?);
    app.screenshot("workflow-4-approved").await?;

    // Next week starts from this one: its rows and hours, as drafts.
    let (next_mon, next_tue) = (mon + chrono::Days::new(7), tue + chrono::Days::new(7));
    app.click("next-week").await?;
    app.wait_text_contains("week-state", "Nothing entered yet")
        .await?;
    app.click("copy-hours").await?;
    app.wait_attr(&format!("status-Apollo-{next_tue}"), "data-status", "draft")
        .await?;
    app.wait_attr(&format!("status-Apollo-{next_mon}"), "data-status", "draft")
        .await?;
    app.wait_text("total-week", "9.5").await?;
    app.close().await?;

    // And the API agrees.
    let now = employee.entries(mon, days[6]).await?;
    ensure!(
        now.iter().all(|e| e.status == Status::Approved) && now.len() == 2,
        "{now:?}"
    );
    ensure!(now.iter().any(|e| e.hours.to_string() == "2"), "{now:?}");
    let next = employee
        .entries(mon + chrono::Days::new(7), days[6] + chrono::Days::new(7))
        .await?;
    ensure!(
        next.len() == 2 && next.iter().all(|e| e.status == Status::Draft),
        "{next:?}"
    );
    Ok(())
}

#[tokio::test]
async fn with_a_certified_provider_the_manager_sees_the_employee_by_name() -> Result<()> {
    use timesheets::certified::{EMPLOYEE, MANAGER};
    let desk = Desktop::claim("certified_provider", &test_browser()).await?;
    let (provider, server) = desk.start_certified().await?;
    let days = this_week();
    let mon = days[0];
    let port = url::Url::parse(&provider.issuer)?
        .port()
        .unwrap_or_default();

    // The employee, through the private-use scheme, as configured for any provider.
    let scheme = provider.app_env(
        "timesheets-desktop",
        "com.example.timesheets:/oauth/callback",
    );
    let scheme: Vec<(&str, &str)> = scheme
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let app = desk
        .launch_with_env(&server, &BrowserScript::signs_in_as(EMPLOYEE), &scheme)
        .await?;
    // Another provider on 127.0.0.1 is named by its address, not "Development sign-in".
    app.wait_text("sign-in", &format!("Sign in with 127.0.0.1:{port}"))
        .await?;
    sign_in(&app, EMPLOYEE.name).await?;
    app.wait_text("permissions", "View, Add & edit, Delete")
        .await?;
    app.type_into("new-project", "Apollo").await?;
    app.click("add-row").await?;
    app.enter_in_cell(&format!("cell-Apollo-{mon}"), "6", Key::Enter)
        .await?;
    app.wait_attr(&format!("status-Apollo-{mon}"), "data-status", "draft")
        .await?;
    app.click("submit-week").await?;
    app.wait_attr(&format!("status-Apollo-{mon}"), "data-status", "submitted")
        .await?;
    ensure!(
        count(&desk.browser_log(), "form loaded from") == 2,
        "expected a login and a consent page: {}",
        desk.browser_log()
    );
    app.click("sign-out").await?;
    app.find("sign-in").await?;
    app.close().await?;

    // The manager, through a loopback redirect (RFC 8252 §7.3).
    let loopback = provider.app_env("timesheets-desktop-loopback", "http://127.0.0.1/callback");
    let loopback: Vec<(&str, &str)> = loopback
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let app = desk
        .launch_with_env(&server, &BrowserScript::signs_in_as(MANAGER), &loopback)
        .await?;
    sign_in(&app, MANAGER.name).await?;
    ensure!(
        desk.browser_log().contains("loopback listener"),
        "the manager did not come back over loopback: {}",
        desk.browser_log()
    );
    app.click("tab-approvals").await?;
    let group = format!("select-group-{}-{mon}", EMPLOYEE.sub);
    app.find(&group).await?;
    let label = app.attr(&group, "aria-label").await?.unwrap_or_default();
    ensure!(
        label.contains(EMPLOYEE.name),
        "the manager does not see the employee's name: {label:?}"
    );
    ensure!(!label.contains(EMPLOYEE.sub), "{label:?}");
    app.screenshot("approvals-certified-provider").await?;
    app.close().await?;
    Ok(())
}

#[tokio::test]
async fn forged_sign_in_links_are_ignored_and_never_reach_the_token_endpoint() -> Result<()> {
    let desk = Desktop::claim("forged_callback", &test_browser()).await?;
    let server = desk.start_server().await?;
    let discovery = oauth::discover(&server.issuer).await?;
    let go_ahead = desk.logs().join("browser-may-sign-in");
    let app = desk
        .launch(
            &server,
            &BrowserScript {
                person: Some(EMPLOYEE),
                wait_for: Some(go_ahead.clone()),
            },
        )
        .await?;
    let pause = Duration::from_secs(2);

    // A real code, issued to this client for someone else's sign-in (its PKCE
    // verifier is ours), delivered with a state the app never made. Had the app
    // sent it to the token endpoint, the provider would have spent it: redeeming it
    // ourselves afterwards proves nobody presented it.
    let forge = |issued: &oauth::IssuedCode| {
        let mut link = issued.link.clone();
        link.query_pairs_mut()
            .clear()
            .append_pair("code", &issued.code)
            .append_pair("state", "forged")
            .append_pair("iss", server.issuer.as_str());
        link.to_string()
    };
    let crude = "com.example.timesheets:/oauth/callback?code=x&state=forged";

    // 1. Signed out, no sign-in waiting.
    app.find("sign-in").await?;
    let issued = oauth::authorize(&discovery, EMPLOYEE, ALL_SCOPES).await?;
    let before = token_requests(&server);
    desk.open_link(crude).await?;
    desk.open_link(&forge(&issued)).await?;
    still_signed_out(&app, pause).await?;
    ensure!(
        token_requests(&server) == before,
        "a forged link led to a token request:\n{}",
        server.log_text()
    );
    let (status, body) = oauth::redeem(&discovery, &issued.code, &issued.pkce.verifier).await?;
    ensure!(
        status.is_success(),
        "the forged code was spent by someone ({status}: {body})"
    );

    // 2. A sign-in waiting for the browser: forged links leave it waiting.
    app.click("sign-in").await?;
    app.find("cancel-sign-in").await?;
    app.screenshot("waiting-for-browser").await?;
    let issued = oauth::authorize(&discovery, EMPLOYEE, ALL_SCOPES).await?;
    let before = token_requests(&server);
    desk.open_link(crude).await?;
    desk.open_link(&forge(&issued)).await?;
    tokio::time::sleep(pause).await;
    app.find("cancel-sign-in").await?;
    ensure!(
        !app.exists("user-name").await?,
        "a forged link signed someone in"
    );
    ensure!(
        token_requests(&server) == before,
        "a forged link led to a token request:\n{}",
        server.log_text()
    );
    let (status, body) = oauth::redeem(&discovery, &issued.code, &issued.pkce.verifier).await?;
    ensure!(
        status.is_success(),
        "the forged code was spent by someone ({status}: {body})"
    );

    // The real sign-in still finishes.
    std::fs::write(&go_ahead, b"")?;
    app.wait_text("user-name", EMPLOYEE.name).await?;

    // 3. Signed in: a forged link changes nothing either.
    let before = token_requests(&server);
    desk.open_link(crude).await?;
    tokio::time::sleep(pause).await;
    app.wait_text("user-name", EMPLOYEE.name).await?;
    ensure!(
        token_requests(&server) == before,
        "a forged link led to a token request"
    );

    // Every link did reach the app, which turned each down: five forged links.
    let app_log = desk.app_log();
    ensure!(
        count(&app_log, "sign-in link not accepted") == 5,
        "the app did not turn down exactly the five forged links:\n{app_log}"
    );
    // The provider answered exactly three token requests, all successful code
    // exchanges: our two redemptions and the app's one real sign-in. (Also
    // proves the log has the per-request lines the checks above count.)
    let log = server.log_text();
    ensure!(
        token_requests(&server) == 3 && count(&log, "authorization code exchanged") == 3,
        "the provider's log shows other token requests than expected:\n{log}"
    );
    app.close().await?;
    Ok(())
}

#[tokio::test]
async fn signing_out_empties_the_keyring_and_revokes_the_refresh_token() -> Result<()> {
    let desk = Desktop::claim("sign_out", &test_browser()).await?;
    let server = desk.start_server().await?;
    let app = desk
        .launch(&server, &BrowserScript::signs_in_as(EMPLOYEE))
        .await?;
    sign_in(&app, EMPLOYEE.name).await?;

    let refresh_token = desk
        .stored_refresh_token(&server)?
        .context("no refresh token in the keyring after signing in")?;
    ensure!(
        desk.stored_items()? == 2,
        "expected two keyring items: the refresh token and whose it is"
    );

    app.click("sign-out").await?;
    app.find("sign-in").await?;
    ensure!(
        desk.stored_items()? == 0 && desk.stored_refresh_token(&server)?.is_none(),
        "the keyring still holds the session after signing out"
    );

    let discovery = oauth::discover(&server.issuer).await?;
    let (status, body) = oauth::refresh(&discovery, &refresh_token).await?;
    ensure!(
        status == reqwest::StatusCode::BAD_REQUEST && body["error"] == "invalid_grant",
        "the refresh token still works after signing out ({status}: {body})"
    );

    // A restart finds nobody signed in.
    app.close().await?;
    let app = desk.launch(&server, &BrowserScript::unused()).await?;
    still_signed_out(&app, Duration::from_secs(2)).await?;
    app.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_refused_sign_in_is_explained_in_plain_words() -> Result<()> {
    let desk = Desktop::claim("refused_sign_in", &test_browser()).await?;
    let server = desk.start_server().await?;
    // An app configured for an API the provider does not know: the provider sends
    // the browser straight back with error=invalid_target and the app's state.
    let app = desk
        .launch_with_env(
            &server,
            &BrowserScript::signs_in_as(EMPLOYEE),
            &[("TIMESHEETS_AUDIENCE", "https://unknown.example.com/api")],
        )
        .await?;
    app.click("sign-in").await?;
    // The provider's error code, in a sentence, announced as an alert.
    let message = app.wait_text_contains("message", "invalid_target").await?;
    ensure!(
        app.attr("message", "role").await?.as_deref() == Some("alert"),
        "the message {message:?} is not announced"
    );
    app.find("sign-in").await?;
    ensure!(!app.exists("user-name").await?, "signed in regardless");
    app.screenshot("sign-in-error").await?;
    app.close().await?;
    Ok(())
}
