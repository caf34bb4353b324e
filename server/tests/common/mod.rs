//! Test harness: a real `tts` server on a free port with a database of its own.
//!
//! The backend comes from `TTS_TEST_DATABASE_URL`: unset, each test gets a fresh SQLite file;
//! set to a PostgreSQL URL, each test gets a fresh schema in that database. The test command
//! runs the whole suite once each way.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use domain::{RoleGrant, System, SystemRole};
use tts_server::RunningServer;
use tts_server::config::{Config, RawConfig};

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub address: SocketAddr,
    pub server: Option<RunningServer>,
    pub config: Config,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// The site's origin, as a browser sends it in `Origin` with its own pages' requests.
    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A client with a cookie jar that sends this site's `Origin`, as a browser on TTS's own
    /// pages would.
    pub fn browser(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("origin", self.origin().parse().unwrap());
        reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .default_headers(headers)
            .build()
            .unwrap()
    }

    pub fn db(&self) -> &services::Db {
        self.services().db()
    }

    pub fn services(&self) -> &services::Services {
        &self.server.as_ref().expect("server running").services
    }

    /// Creates a user with `role` in TTS; returns their id.
    pub async fn user(&self, email: &str, role: SystemRole) -> i64 {
        services::users::create(
            self.services().db(),
            services::audit::Actor::System,
            services::users::NewUser {
                email: email.to_owned(),
                full_name: format!("Test {role}"),
                password: Some(PASSWORD.to_owned()),
                roles: vec![RoleGrant {
                    system: System::Tts,
                    role,
                }],
            },
        )
        .await
        .expect("create test user")
    }

    /// Signs in over REST; returns the access token.
    pub async fn token(&self, email: &str) -> String {
        self.tokens(email).await.0
    }

    /// Signs in over REST; returns the access and refresh tokens.
    pub async fn tokens(&self, email: &str) -> (String, String) {
        let response = client()
            .post(self.url("/api/v1/auth/token/"))
            .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "sign-in of {email} failed");
        let body: serde_json::Value = response.json().await.unwrap();
        (
            body["access"].as_str().unwrap().to_owned(),
            body["refresh"].as_str().unwrap().to_owned(),
        )
    }

    /// The messages in the mailbox folder (the embedded default mail transport), oldest
    /// first, as (recipient line, subject line, whole text).
    pub fn mails(&self) -> Vec<Mail> {
        let folder = self.config.data_dir.join("mailbox");
        let mut entries: Vec<_> = std::fs::read_dir(&folder)
            .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        entries.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        entries
            .iter()
            .map(|path| {
                let raw = std::fs::read_to_string(path).unwrap();
                let header = |name: &str| {
                    raw.lines()
                        .find(|l| {
                            l.to_lowercase()
                                .starts_with(&format!("{}: ", name.to_lowercase()))
                        })
                        .map(|l| l[name.len() + 2..].trim().to_owned())
                        .unwrap_or_default()
                };
                Mail {
                    to: header("To"),
                    subject: header("Subject"),
                    text: unfold(&raw),
                }
            })
            .collect()
    }

    /// Waits (briefly) for a mail to `to` whose subject contains `subject`.
    pub async fn wait_for_mail(&self, to: &str, subject: &str) -> Mail {
        for _ in 0..100 {
            if let Some(mail) = self
                .mails()
                .into_iter()
                .rev()
                .find(|m| m.to.contains(to) && m.subject.contains(subject))
            {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "no mail to {to} about {subject:?}; mailbox: {:#?}",
            self.mails()
        );
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop(Duration::from_secs(5)).await;
        }
    }
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// The e-mail text with quoted-printable soft line breaks joined, for searching.
fn unfold(raw: &str) -> String {
    raw.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// Longest a test waits for one response: a request that hangs fails its test with the URL
/// instead of stalling the whole run.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// An HTTP client that does not follow redirects (tests look at them) and keeps no cookies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// How a test request authenticates.
pub enum Credentials<'a> {
    Bearer(&'a str),
    ApiKey(&'a str),
}

/// Sends a JSON request and returns the status and the JSON answer (`null` if not JSON).
pub async fn call_json(
    url: String,
    method: &str,
    credentials: Credentials<'_>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = match method {
        "GET" => client().get(url),
        "POST" => client().post(url),
        "PATCH" => client().patch(url),
        "PUT" => client().put(url),
        "DELETE" => client().delete(url),
        other => panic!("{other}"),
    };
    request = match credentials {
        Credentials::Bearer(token) => request.bearer_auth(token),
        Credentials::ApiKey(key) => request.header("x-api-key", key),
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// A client with a cookie jar, as a browser would be.
pub fn browser_like_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// The database URL for a new test: a fresh SQLite file in `dir`, or a fresh schema in the
/// PostgreSQL database named by `TTS_TEST_DATABASE_URL`.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("TTS_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => services::db::new_postgres_schema(&base)
            .await
            .expect("TTS_TEST_DATABASE_URL must point at a reachable PostgreSQL"),
        _ => format!("sqlite://{}", dir.join("tts.db").display()),
    }
}

pub fn backend_is_postgres() -> bool {
    std::env::var("TTS_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty())
}

pub async fn spawn() -> TestApp {
    spawn_with(false).await
}

pub async fn spawn_with(demo: bool) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let raw = RawConfig {
        database_url: Some(fresh_database_url(dir.path()).await),
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        jwt_secret: Some(JWT_SECRET.into()),
        log_level: "warn".into(),
        // Generous, so only the test of the rate limit meets it.
        auth_rate_per_minute: 10_000,
        ..RawConfig::default()
    };
    spawn_configured(raw, demo, dir).await
}

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-42";

/// A test server with a configuration the test adjusts first.
pub async fn spawn_with_config(adjust: impl FnOnce(&mut RawConfig)) -> TestApp {
    spawn_with_demo_and_config(false, adjust).await
}

/// [`spawn_with_config`], with the demo data if `demo`.
pub async fn spawn_with_demo_and_config(
    demo: bool,
    adjust: impl FnOnce(&mut RawConfig),
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut raw = RawConfig {
        database_url: Some(fresh_database_url(dir.path()).await),
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        jwt_secret: Some(JWT_SECRET.into()),
        log_level: "warn".into(),
        auth_rate_per_minute: 10_000,
        ..RawConfig::default()
    };
    adjust(&mut raw);
    spawn_configured(raw, demo, dir).await
}

async fn spawn_configured(raw: RawConfig, demo: bool, dir: tempfile::TempDir) -> TestApp {
    // The server's warnings and errors go to the test's output, shown when a test fails (a
    // 500 then says why; `TTS_TEST_LOG=info` shows more).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("TTS_TEST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let config = raw.resolve().unwrap();
    let server = tts_server::start(config.clone(), demo)
        .await
        .expect("server starts");
    TestApp {
        address: server.address,
        server: Some(server),
        config,
        _data_dir: dir,
    }
}

/// A caller with a bearer token, for tests that speak JSON to the REST API.
#[derive(Clone)]
pub struct As<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl As<'_> {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        call_json(
            self.app.url(path),
            method,
            Credentials::Bearer(&self.token),
            body,
        )
        .await
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call("POST", path, Some(body)).await
    }
}

/// A user created with [`TestApp::user`], signed in.
pub async fn signed_in<'a>(app: &'a TestApp, email: &str) -> As<'a> {
    As {
        app,
        token: app.token(email).await,
    }
}

/// Signs in a demo account (demo password).
pub async fn demo_signed_in<'a>(app: &'a TestApp, email: &str) -> As<'a> {
    let response = client()
        .post(app.url("/api/v1/auth/token/"))
        .json(&serde_json::json!({ "email": email, "password": services::demo::DEMO_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "demo sign-in of {email}");
    let body: serde_json::Value = response.json().await.unwrap();
    As {
        app,
        token: body["access"].as_str().unwrap().to_owned(),
    }
}

/// Loads the demo accounts, reference data and the three demo workflows.
pub async fn seed_demo(app: &TestApp) {
    let db = app.db();
    services::demo::seed(db).await.unwrap();
    services::demo::seed_helpdesk(db).await.unwrap();
    assert_eq!(services::demo::seed_workflows(db).await.unwrap(), 3);
}
