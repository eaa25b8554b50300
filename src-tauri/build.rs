//! Generates the Tauri context from the configuration at the workspace root, and
//! declares the app's own commands so that each must be granted by a capability.

/// Every command the front end may call; `capabilities/main.json` grants each one.
const COMMANDS: &[&str] = &[
    "session",
    "sign_in",
    "cancel_sign_in",
    "sign_out",
    "today",
    "settings",
    "list_entries",
    "create_entry",
    "update_entry",
    "delete_entry",
    "submit_week",
    "withdraw_week",
    "pending_approvals",
    "decide",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}
