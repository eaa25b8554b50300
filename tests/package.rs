//! The Debian package, as `scripts/package-deb` builds it: its desktop file must
//! hand the sign-in link to the app (`%u`) and claim the app's URL scheme, or the
//! browser's redirect never reaches an installed app.

use std::path::PathBuf;
use std::process::Command;

/// The scheme declared in `tauri.conf.json`.
const SCHEME: &str = "com.example.timesheets";

fn built_package() -> PathBuf {
    let path = std::env::var_os("TIMESHEETS_DEB").map(PathBuf::from).unwrap_or_else(|| {
        panic!("TIMESHEETS_DEB is unset: build the package with scripts/package-deb and point it there, or run scripts/test")
    });
    assert!(path.is_file(), "{} is not a file", path.display());
    path
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_package_installs_a_desktop_file_that_receives_the_sign_in_link() {
    let deb = built_package();
    let root = tempfile::tempdir().expect("temp dir");
    run(Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(root.path()));

    let applications = root.path().join("usr/share/applications");
    let desktop_files: Vec<PathBuf> = std::fs::read_dir(&applications)
        .expect("the package has usr/share/applications")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "desktop"))
        .collect();
    assert_eq!(desktop_files.len(), 1, "{desktop_files:?}");
    let desktop = std::fs::read_to_string(&desktop_files[0]).expect("readable");

    let exec = desktop
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .expect("an Exec line");
    assert!(
        exec.split_whitespace().any(|arg| arg == "%u"),
        "Exec must pass the URL: {exec}"
    );
    let program = exec.split_whitespace().next().unwrap_or_default();
    assert!(
        root.path().join("usr/bin").join(program).is_file(),
        "Exec names {program}, which the package does not install"
    );

    let mime = desktop
        .lines()
        .find_map(|l| l.strip_prefix("MimeType="))
        .expect("a MimeType line");
    assert!(
        mime.split(';')
            .any(|m| m == format!("x-scheme-handler/{SCHEME}")),
        "MimeType must claim the scheme: {mime}"
    );

    // The desktop-entry specification's own validator.
    run(Command::new("desktop-file-validate").arg(&desktop_files[0]));
}

#[test]
fn the_package_depends_on_the_webview_it_needs() {
    let deb = built_package();
    let depends = run(Command::new("dpkg-deb")
        .args(["-f"])
        .arg(&deb)
        .arg("Depends"));
    assert!(depends.contains("libwebkit2gtk-4.1"), "{depends}");
    let package = run(Command::new("dpkg-deb")
        .args(["-f"])
        .arg(&deb)
        .arg("Package"));
    assert_eq!(package.trim(), "timesheets");
}
