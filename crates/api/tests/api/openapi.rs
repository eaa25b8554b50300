//! The OpenAPI document is served, without a token, and describes the API.

use crate::both_backends;
use crate::support::{Backend, TestApp};
use reqwest::Method;
use serde_json::json;

both_backends!(openapi_document_lists_every_path);

async fn openapi_document_lists_every_path(backend: Backend) {
    let app = TestApp::start(backend).await;
    let reply = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let doc = &reply.json;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method, scope) in [
        ("/v1/entries", "get", Some("read:timesheets")),
        ("/v1/entries", "post", Some("create:timesheets")),
        ("/v1/entries/{id}", "patch", Some("create:timesheets")),
        ("/v1/entries/{id}", "delete", Some("delete:timesheets")),
        ("/v1/weeks/{week}/submit", "post", Some("create:timesheets")),
        (
            "/v1/weeks/{week}/withdraw",
            "post",
            Some("create:timesheets"),
        ),
        ("/v1/approvals", "get", Some("approve:timesheets")),
        (
            "/v1/entries/{id}/decision",
            "post",
            Some("approve:timesheets"),
        ),
        ("/healthz", "get", None),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing");
        if let Some(scope) = scope {
            assert_eq!(op["security"][0]["bearer"][0], scope, "{method} {path}");
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for schema in [
        "Entry",
        "EntryList",
        "NewEntry",
        "EntryPatch",
        "DecisionRequest",
        "ErrorBody",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
    let params = doc["paths"]["/v1/entries"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["from", "to"]);

    // The workflow's fields: every status, and the rejection's reason.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Status"]["enum"],
        json!(["draft", "submitted", "approved", "rejected"])
    );
    assert!(schemas["Entry"]["properties"]["reason"].is_object());
    assert!(schemas["HistoryEvent"]["properties"]["actor_name"].is_object());
    assert_eq!(
        schemas["DecisionRequest"]["properties"]["reason"]["maxLength"],
        500
    );
    let week = &doc["paths"]["/v1/weeks/{week}/submit"]["post"]["parameters"][0];
    assert_eq!(week["name"], "week");
    assert_eq!(week["in"], "path");
}
