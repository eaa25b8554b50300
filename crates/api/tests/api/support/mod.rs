//! What every scenario needs: a database of each kind, a test issuer, and the API
//! served on a real socket.

pub mod issuer;

pub use issuer::{Issuer, Key};

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;
use timesheets_api::{ApiContext, Config};

/// The environment variable naming the PostgreSQL server the tests may use.
pub const POSTGRES_ENV: &str = "TIMESHEETS_TEST_POSTGRES_URL";

/// Runs each named scenario (an `async fn(Backend)`) once on SQLite and once on
/// PostgreSQL, as `scenario::sqlite` and `scenario::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::support::Backend::Postgres).await
                }
            }
        )*
    };
}

/// Which database a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database that goes away with the guard.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub async fn create(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("timesheets.db").display());
                TestDb {
                    url,
                    cleanup: Cleanup::Sqlite(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
                    panic!(
                        "{POSTGRES_ENV} is not set, so the PostgreSQL variant cannot run. \
                         Run the project's test script (scripts/test), which starts a \
                         PostgreSQL server and sets it, or set it yourself, e.g. \
                         {POSTGRES_ENV}=postgres://postgres@127.0.0.1:55432/postgres"
                    )
                });
                let name = format!("t_{}", uuid::Uuid::new_v4().simple());
                use sqlx::Connection;
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {POSTGRES_ENV}: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                admin.close().await.ok();
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&format!("/{name}"));
                TestDb {
                    url: url.to_string(),
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
        }
    }

    /// A pool on the same database, to look at what the API wrote.
    pub async fn pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop is not async: drop the database from a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    use sqlx::Connection;
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut admin)
                                .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// An answer from the API.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON, or `Null` when it is not JSON.
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `field` an error body names.
    pub fn field(&self) -> &str {
        self.json["field"].as_str().unwrap_or("")
    }

    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }
}

/// A client of the API: cheap to clone into spawned tasks.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req
    }

    pub async fn send(req: reqwest::RequestBuilder) -> Reply {
        let response = req.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.request(method, path, token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        Self::send(req).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Creates an entry and returns it, failing the test if that is refused.
    pub async fn create(&self, token: &str, date: &str, project: &str, hours: f64) -> Value {
        let reply = self
            .post(
                "/v1/entries",
                token,
                serde_json::json!({"date": date, "project": project, "hours": hours}),
            )
            .await;
        assert_eq!(reply.status, 201, "create refused: {}", reply.text);
        reply.json
    }

    /// Submits the caller's week from `monday`; answers the week's entries.
    pub async fn submit(&self, token: &str, monday: &str) -> Vec<Value> {
        let reply = self
            .post(
                &format!("/v1/weeks/{monday}/submit"),
                token,
                serde_json::json!({}),
            )
            .await;
        assert_eq!(reply.status, 200, "submit refused: {}", reply.text);
        reply.json["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// An entry made and submitted at once (with every other draft of its
    /// week), as it stands submitted.
    pub async fn submitted(&self, token: &str, date: &str, project: &str, hours: f64) -> Value {
        let made = self.create(token, date, project, hours).await;
        let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        let monday = day
            - chrono::Days::new(u64::from(
                chrono::Datelike::weekday(&day).num_days_from_monday(),
            ));
        let week = self.submit(token, &monday.to_string()).await;
        let entry = week
            .into_iter()
            .find(|e| e["id"] == made["id"])
            .unwrap_or_else(|| panic!("{made} is not in its week"));
        assert_eq!(entry["status"], "submitted", "{entry}");
        entry
    }
}

/// Runs `count` copies of a request at once (spawned tasks, so truly in
/// parallel on a multi-threaded runtime) and returns their replies in order.
pub async fn parallel<F, Fut>(count: usize, make: F) -> Vec<Reply>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let handles: Vec<_> = (0..count).map(|i| tokio::spawn(make(i))).collect();
    let mut replies = Vec::with_capacity(count);
    for handle in handles {
        replies.push(handle.await.unwrap());
    }
    replies
}

/// The API on a real socket, its issuer, and its database.
pub struct TestApp {
    pub api: Api,
    pub issuer: Issuer,
    pub db: TestDb,
    /// The API's context, for what it offers besides the router (the issuer check).
    pub ctx: ApiContext,
}

impl std::ops::Deref for TestApp {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

pub fn config(issuer: &Issuer, db: &TestDb) -> Config {
    Config::new(issuer.url.clone(), issuer::AUDIENCE, db.url.clone())
}

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::start_trusting(backend, Issuer::start().await, adjust).await
    }

    /// The API trusting `issuer` (as its URL is written, unless `adjust` says
    /// otherwise).
    pub async fn start_trusting(
        backend: Backend,
        issuer: Issuer,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        Self::start_on(TestDb::create(backend).await, issuer, adjust).await
    }

    /// The API on `db` as it is (e.g. made by an older schema), trusting `issuer`.
    pub async fn start_on(db: TestDb, issuer: Issuer, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = config(&issuer, &db);
        adjust(&mut config);
        let ctx = ApiContext::connect(config).await.unwrap();
        let app = timesheets_api::router(ctx.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        TestApp {
            api: Api {
                base: format!("http://{addr}"),
                http,
            },
            issuer,
            db,
            ctx,
        }
    }

    /// A good token for `sub` with the space-separated `scope`.
    pub fn token(&self, sub: &str, scope: &str) -> String {
        self.issuer.token(sub, scope)
    }

    /// `(action, actor, entry_id)` of every audit row, oldest first.
    pub async fn audit(&self) -> Vec<(String, String, String)> {
        let pool = self.db.pool().await;
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT action, actor, entry_id FROM audit ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        pool.close().await;
        rows
    }

    /// The detail of the audit row of `action` on entry `id`.
    pub async fn audit_detail(&self, id: &str, action: &str) -> Value {
        let pool = self.db.pool().await;
        let detail: String =
            sqlx::query_scalar("SELECT detail FROM audit WHERE entry_id = $1 AND action = $2")
                .bind(id)
                .bind(action)
                .fetch_one(&pool)
                .await
                .unwrap();
        pool.close().await;
        serde_json::from_str(&detail).unwrap()
    }
}

/// Scopes of the development users.
pub const EMPLOYEE: &str = "openid read:timesheets create:timesheets delete:timesheets";
pub const MANAGER: &str =
    "openid read:timesheets create:timesheets delete:timesheets approve:timesheets";
