//! How the shell opens the sign-in page: the system browser, through
//! tauri-plugin-opener (RFC 8252: never a web view inside the app).

use tauri::AppHandle;
use timesheets_client::{Browser, BrowserError};
use url::Url;

/// Opens sign-in pages in the person's default browser.
pub struct SystemBrowser {
    app: AppHandle,
}

impl Browser for SystemBrowser {
    fn open(&self, url: &Url) -> Result<(), BrowserError> {
        use tauri_plugin_opener::OpenerExt;
        self.app
            .opener()
            .open_url(url.as_str(), None::<&str>)
            .map_err(|e| BrowserError(format!("no browser could be started ({e})")))
    }
}

/// The browser for this run. Debug builds honour `TIMESHEETS_TEST_BROWSER`, a
/// program started with the authorize URL in place of the system browser, so the
/// end-to-end tests can sign in as a person would; release builds never do.
pub fn for_app(app: AppHandle) -> Box<dyn Browser> {
    #[cfg(debug_assertions)]
    if let Some(program) = std::env::var_os("TIMESHEETS_TEST_BROWSER") {
        return Box::new(TestBrowser { program });
    }
    Box::new(SystemBrowser { app })
}

/// A scripted stand-in for the browser, for end-to-end tests only.
#[cfg(debug_assertions)]
struct TestBrowser {
    program: std::ffi::OsString,
}

#[cfg(debug_assertions)]
impl Browser for TestBrowser {
    fn open(&self, url: &Url) -> Result<(), BrowserError> {
        std::process::Command::new(&self.program)
            .arg(url.as_str())
            .spawn()
            .map(drop)
            .map_err(|e| BrowserError(format!("the test browser could not be started ({e})")))
    }
}
