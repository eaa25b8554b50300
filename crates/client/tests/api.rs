//! The API client against the real API, with tokens from the real provider.

mod common;

use common::Stack;
use std::time::Duration;
use timesheets_client::{Decision, EntryPatch, NewEntry, Status};

const TTL: Duration = Duration::from_secs(300);

fn week() -> timesheets_client::Week {
    timesheets_client::Week::containing(chrono::Local::now().date_naive())
}

fn entry(day: chrono::NaiveDate, project: &str, hours: f64) -> NewEntry {
    NewEntry {
        date: day.format("%Y-%m-%d").to_string(),
        project: project.into(),
        notes: String::new(),
        hours,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_keeps_a_week_and_a_manager_decides_it() {
    let stack = Stack::start(TTL).await;
    let (employee, _) = stack.signed_in("employee@example.com").await;
    let (manager, _) = stack.signed_in("manager@example.com").await;
    let (auditor, _) = stack.signed_in("auditor@example.com").await;
    let week = week();
    let api = employee.api();

    // Create, list, update, delete.
    let monday = api
        .create_entry(&entry(week.monday(), "Apollo", 7.5))
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    assert_eq!(monday.status, Status::Draft);
    assert_eq!(monday.owner_name, "Erin Employee");
    let sunday = api
        .create_entry(&entry(week.sunday(), "Gemini", 2.0))
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    let third = api
        .create_entry(&entry(week.monday(), "Mercury", 1.0))
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    let listed = api
        .list_entries(week.monday(), week.sunday())
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    assert_eq!(listed.len(), 3);

    let patched = api
        .update_entry(
            &monday.id,
            &EntryPatch {
                hours: Some(8.0),
                ..EntryPatch::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("update: {e}"));
    assert_eq!(patched.hours.as_f64(), 8.0);
    api.delete_entry(&third.id)
        .await
        .unwrap_or_else(|e| panic!("delete: {e}"));
    assert_eq!(
        api.delete_entry(&third.id).await.err().map(|e| e.code()),
        Some("not_found")
    );

    // Bad input is refused before sending, naming the field.
    let bad = api
        .create_entry(&entry(week.monday(), "Apollo", 0.3))
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted 0.3 hours"));
    assert_eq!(bad.code(), "invalid");
    assert_eq!(
        timesheets_client::ErrorView::from(&bad).field.as_deref(),
        Some("hours")
    );

    // Scopes: the auditor may read but not create; the employee may not approve.
    let refused = auditor
        .api()
        .create_entry(&entry(week.monday(), "Apollo", 1.0))
        .await
        .err()
        .unwrap_or_else(|| panic!("the auditor created an entry"));
    assert_eq!(refused.code(), "forbidden");
    assert_eq!(
        timesheets_client::ErrorView::from(&refused)
            .scope
            .as_deref(),
        Some("create:timesheets")
    );
    let refused = api
        .pending_approvals(week.monday(), week.sunday())
        .await
        .err()
        .unwrap_or_else(|| panic!("the employee saw approvals"));
    assert_eq!(
        timesheets_client::ErrorView::from(&refused)
            .scope
            .as_deref(),
        Some("approve:timesheets")
    );

    // Drafts are not the manager's yet; submitted, they are.
    let drafts = manager
        .api()
        .pending_approvals(week.monday(), week.sunday())
        .await
        .unwrap_or_else(|e| panic!("approvals: {e}"));
    assert!(drafts.is_empty(), "{drafts:?}");
    let submitted = api
        .submit_week(week.monday())
        .await
        .unwrap_or_else(|e| panic!("submit: {e}"));
    assert!(submitted.iter().all(|e| e.status == Status::Submitted));
    let refused = api.submit_week(week.monday()).await.err();
    assert_eq!(
        refused.map(|e| e.code()),
        Some("conflict"),
        "nothing left to submit"
    );
    let not_monday = api.submit_week(week.sunday()).await.err();
    assert_eq!(not_monday.map(|e| e.code()), Some("invalid"));

    // The manager sees both submitted entries and decides them in one go.
    let pending = manager
        .api()
        .pending_approvals(week.monday(), week.sunday())
        .await
        .unwrap_or_else(|e| panic!("approvals: {e}"));
    let mut ids: Vec<String> = pending.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    let mut expected = vec![monday.id.clone(), sunday.id.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    ids.push("no-such-entry".into());
    let unexplained = manager
        .api()
        .decide(&ids[..1], Decision::Reject, None)
        .await;
    assert_eq!(
        unexplained[0].error.as_ref().map(|e| e.code),
        Some("invalid"),
        "a rejection without a reason is refused before it is sent"
    );
    let outcomes = manager.api().decide(&ids, Decision::Approve, None).await;
    assert_eq!(outcomes.len(), 3);
    for (outcome, id) in outcomes.iter().zip(&ids) {
        assert_eq!(&outcome.id, id);
    }
    assert!(outcomes[..2]
        .iter()
        .all(|o| o.entry.as_ref().map(|e| e.status) == Some(Status::Approved)));
    // An entry not on the list the manager saw is not decided blind.
    assert_eq!(outcomes[2].error.as_ref().map(|e| e.code), Some("conflict"));

    // Approved entries are frozen.
    let frozen = api.delete_entry(&monday.id).await.err();
    assert_eq!(frozen.map(|e| e.code()), Some("conflict"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_never_decides_hours_changed_after_the_list_was_shown() {
    let stack = Stack::start(TTL).await;
    let (employee, _) = stack.signed_in("employee@example.com").await;
    let (manager, _) = stack.signed_in("manager@example.com").await;
    let week = week();
    let entry = employee
        .api()
        .create_entry(&entry(week.monday(), "Apollo", 2.0))
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    employee
        .api()
        .submit_week(week.monday())
        .await
        .unwrap_or_else(|e| panic!("submit: {e}"));
    let shown = manager
        .api()
        .pending_approvals(week.monday(), week.sunday())
        .await
        .unwrap_or_else(|e| panic!("approvals: {e}"));
    assert_eq!(shown.len(), 1);

    // The owner withdraws the week and raises the hours while the manager
    // looks at the old list, then submits again.
    employee
        .api()
        .withdraw_week(week.monday())
        .await
        .unwrap_or_else(|e| panic!("withdraw: {e}"));
    employee
        .api()
        .update_entry(
            &entry.id,
            &EntryPatch {
                hours: Some(12.0),
                ..EntryPatch::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("update: {e}"));
    employee
        .api()
        .submit_week(week.monday())
        .await
        .unwrap_or_else(|e| panic!("submit: {e}"));
    let stale = manager
        .api()
        .decide_one(&entry.id, Decision::Approve, None)
        .await
        .err()
        .unwrap_or_else(|| panic!("approved hours the manager never saw"));
    assert_eq!(stale.code(), "conflict");

    // Shown again, the new hours can be decided.
    manager
        .api()
        .pending_approvals(week.monday(), week.sunday())
        .await
        .unwrap_or_else(|e| panic!("approvals: {e}"));
    let approved = manager
        .api()
        .decide_one(&entry.id, Decision::Approve, None)
        .await
        .unwrap_or_else(|e| panic!("decide: {e}"));
    assert_eq!(approved.hours.as_f64(), 12.0);
    assert_eq!(approved.status, Status::Approved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_renewed_once_and_retried_once() {
    // An API that expects another audience refuses every token of this provider.
    let stack = Stack::start(TTL).await;
    let other_api = stack.extra_api("another-api").await;
    let mut config = stack.config();
    config.api_base = other_api;
    let store = std::sync::Arc::new(timesheets_client::MemoryStore::new());
    let person = std::sync::Arc::new(common::Person::default());
    let client = timesheets_client::Client::new(config, store, person.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    common::sign_in(&client, &person, "employee@example.com").await;

    let week = week();
    let error = client
        .api()
        .list_entries(week.monday(), week.sunday())
        .await
        .err()
        .unwrap_or_else(|| panic!("a token for another audience was accepted"));
    assert_eq!(error.code(), "unknown");
    assert!(error.to_string().contains("audience"), "{error}");
    assert_eq!(
        stack.counts.refreshes(),
        1,
        "renewed more or less than once"
    );
    // A 401 is not a sign-out: the session is still there.
    assert_eq!(
        client.view().state,
        timesheets_client::SessionState::SignedIn
    );
}
