//! The browser-test harness: a `tts` process of its own per test, a chromedriver and a headless
//! Chromium session per browser, and helpers that wait for what a user would wait for.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(20);
pub const DEMO_PASSWORD: &str = "tts-demo-2026";

/// A `tts serve --demo` process, run from a copy of the binary alone in an empty folder.
pub struct Tts {
    pub base: String,
    _process: Child,
    folder: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Tts {
    pub async fn start() -> Tts {
        Self::start_with(&[]).await
    }

    /// [`Tts::start`] with extra environment variables (`AMQP_URL`, say).
    pub async fn start_with(env: &[(&str, &str)]) -> Tts {
        let binary = std::env::var("TTS_E2E_BINARY").expect(
            "TTS_E2E_BINARY must name the release binary (scripts/test.sh builds and sets it)",
        );
        let folder = tempfile::tempdir().unwrap();
        std::fs::copy(&binary, folder.path().join("tts")).expect("copy the binary");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let (process, base) = launch(folder.path(), "127.0.0.1:0", &env).await;
        Tts {
            base,
            _process: process,
            folder,
            env,
        }
    }

    /// Stops the server (SIGKILL) and starts it again on the same address with the same data,
    /// as after a crash or a deployment: open pages lose their sockets and must reconnect.
    pub async fn restart(&mut self) {
        let _ = self._process.kill().await;
        let _ = self._process.wait().await;
        let address = self.base.trim_start_matches("http://").to_owned();
        let (process, base) = launch(self.folder.path(), &address, &self.env).await;
        assert_eq!(base, self.base, "restarted on the same address");
        self._process = process;
    }

    /// Signs a demo account in over REST; its access token.
    pub async fn token(&self, email: &str) -> String {
        let answer: Value = reqwest::Client::new()
            .post(self.url("/api/v1/auth/token/"))
            .json(&json!({ "email": email, "password": DEMO_PASSWORD }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["access"].as_str().unwrap().to_owned()
    }

    /// `POST`s JSON with the token; the answer, which must be a success.
    pub async fn post(&self, token: &str, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Calls the REST API with the token; the status and the JSON answer (`null` if none).
    pub async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A draft workflow of `count` steps in a chain (20 to a row), each done by the demo's
    /// IT Support role; its id and the first step's id.
    pub async fn chain_workflow(&self, token: &str, name: &str, count: i64) -> (i64, i64) {
        let (_, roles) = self.call(token, "GET", "/api/v1/roles", None).await;
        let support = roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "IT Support")
            .unwrap()["id"]
            .clone();
        let (status, created) = self
            .call(
                token,
                "POST",
                "/api/v1/workflows",
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let steps: Vec<Value> = (1..=count)
            .map(|i| {
                json!({
                    "id": -i,
                    "name": format!("Step {i}"),
                    "role": support,
                    "is_start": i == 1,
                    "is_end": i == count,
                    "position": { "x": ((i - 1) % 20) as f64 * 280.0, "y": ((i - 1) / 20) as f64 * 120.0 },
                })
            })
            .collect();
        let transitions: Vec<Value> = (1..count)
            .map(|i| json!({ "id": -i, "from": -i, "to": -(i + 1), "action": "Next" }))
            .collect();
        let id = created["id"].as_i64().unwrap();
        let graph = json!({ "steps": steps, "transitions": transitions });
        let (status, saved) = self
            .call(
                token,
                "PUT",
                &format!("/api/v1/workflows/{id}/graph"),
                Some(json!({ "revision": created["revision"], "graph": graph })),
            )
            .await;
        assert_eq!(status, 200, "{saved}");
        (id, saved["graph"]["steps"][0]["id"].as_i64().unwrap())
    }

    /// Waits for a mail to `to` about `subject` in the binary's mailbox folder; its text.
    pub async fn wait_for_mail(&self, to: &str, subject: &str) -> String {
        let mailbox = self.folder.path().join("data").join("mailbox");
        for _ in 0..200 {
            if let Ok(entries) = std::fs::read_dir(&mailbox) {
                for entry in entries.filter_map(Result::ok) {
                    let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                    if text.contains(to) && text.contains(subject) {
                        return text
                            .replace("=\r\n", "")
                            .replace("=\n", "")
                            .replace("=3D", "=");
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} about {subject}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The server's process id (benchmarks read its memory).
    pub fn pid(&self) -> Option<u32> {
        self._process.id()
    }
}

/// Starts `tts serve --demo` from the copy of the binary in `folder`, bound to `bind`; the
/// process and its base URL once it is ready.
async fn launch(folder: &std::path::Path, bind: &str, env: &[(String, String)]) -> (Child, String) {
    let mut process = Command::new(folder.join("tts"))
        .args(["serve", "--demo", "--bind", bind])
        .current_dir(folder)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TTS_LOG_FORMAT", "json")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start tts");

    // The process logs one JSON line with its address once it is ready.
    let mut lines = BufReader::new(process.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + WAIT;
    let base = loop {
        assert!(Instant::now() < deadline, "tts did not become ready");
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .unwrap()
            .unwrap();
        let Some(line) = line else {
            panic!("tts exited before it was ready")
        };
        if let Ok(event) = serde_json::from_str::<Value>(&line)
            && let Some(address) = event["address"].as_str()
        {
            break format!("http://{address}");
        }
    };
    // Keep draining the log so the process never blocks on a full pipe; its warnings and
    // errors go to the test's output (shown when a test fails: a stalled render says so).
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("\"WARN\"") || line.contains("\"ERROR\"") {
                eprintln!("tts: {line}");
            }
        }
    });
    (process, base)
}

/// A headless Chromium session through a chromedriver of its own.
pub struct Browser {
    client: Client,
    _driver: Child,
}

/// chromedriver's log endpoint (not part of W3C WebDriver, but chromedriver keeps it).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    pub async fn open(width: u32, height: u32) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver must be installed (apt-get install chromium-driver)");

        let profile = std::env::temp_dir().join(format!("tts-e2e-profile-{port}"));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},{height}"),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let capabilities = capabilities.as_object().unwrap().clone();
        let deadline = Instant::now() + WAIT;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(err) if Instant::now() < deadline => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("cannot start a Chromium session: {err}"),
            }
        };
        client.set_window_size(width, height).await.unwrap();
        Browser {
            client,
            _driver: driver,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Opens a second tab of this browser (same cookies) and switches to it; returns the tab
    /// it left, for [`Browser::switch_to`].
    pub async fn open_tab(&self) -> fantoccini::wd::WindowHandle {
        let first = self.client.window().await.unwrap();
        let tab = self.client.new_window(true).await.unwrap();
        self.client.switch_to_window(tab.handle).await.unwrap();
        first
    }

    pub async fn switch_to(&self, tab: fantoccini::wd::WindowHandle) {
        self.client.switch_to_window(tab).await.unwrap();
    }

    pub async fn current_path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Waits until the WebAssembly has hydrated the page (the app marks `<body>`); if it never
    /// does, says what the page was doing.
    pub async fn wait_hydrated(&self) {
        let deadline = Instant::now() + WAIT;
        while self
            .client
            .find(Locator::Css("body[data-hydrated=true]"))
            .await
            .is_err()
        {
            if Instant::now() >= deadline {
                self.save_screenshot("failed-hydration").await;
                let url = self.client.current_url().await.map(|u| u.to_string());
                let state = self
                    .eval("return document.readyState + ' / scripts: ' + document.scripts.length + ' / wasm: ' + performance.getEntriesByType('resource').filter(r => r.name.endsWith('.wasm')).map(r => r.name + ' ' + Math.round(r.duration) + ' ms').join(', ')")
                    .await;
                let logs = self.console_errors().await;
                panic!("the page never hydrated (page {url:?}; {state}; console {logs:?})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    pub async fn find_all(&self, locator: Locator<'_>) -> Vec<Element> {
        self.client.find_all(locator).await.unwrap()
    }

    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
    }

    /// Waits until the element's text contains `needle`; returns the whole text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
                && text.contains(needle)
            {
                return text;
            }
            if Instant::now() >= deadline {
                // What the page showed instead, to see why.
                self.save_screenshot("failed-wait").await;
                let url = self.client.current_url().await.map(|u| u.to_string());
                let logs = self.console_errors().await;
                panic!("{css} never contained {needle:?} (page {url:?}; console {logs:?})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the JavaScript expression `condition` is true.
    pub async fn wait_until(&self, condition: &str) {
        let deadline = Instant::now() + WAIT;
        while self
            .eval(&format!("return String(Boolean({condition}))"))
            .await
            != "true"
        {
            if Instant::now() >= deadline {
                self.save_screenshot("failed-wait").await;
                panic!("{condition} never became true");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn attr(&self, css: &str, name: &str) -> String {
        self.find(css)
            .await
            .attr(name)
            .await
            .unwrap()
            .unwrap_or_default()
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let input = self.wait_for(css).await;
        input.clear().await.unwrap();
        if !value.is_empty() {
            input.send_keys(value).await.unwrap();
        }
    }

    /// Types over a field's text as a person does (select all, type), so that the field
    /// reports one change when it is left; WebDriver's clear in [`Browser::fill`] reports an
    /// empty value first, which a form that commits on change takes as an edit.
    pub async fn type_over(&self, css: &str, value: &str) {
        let input = self.wait_for(css).await;
        input.click().await.unwrap();
        input
            .send_keys(&format!("\u{E009}a\u{E000}{value}"))
            .await
            .unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks until `done` says the click took effect. A page hydrates in parts (the content
    /// of a `<Suspense>` after the frame around it), so a button can be on screen a moment
    /// before its handler is attached; a user would click again, and so does this.
    pub async fn click_until(&self, css: &str, done: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            self.click(css).await;
            let settle = Instant::now() + Duration::from_secs(2);
            while Instant::now() < settle {
                if self.eval(&format!("return String(Boolean({done}))")).await == "true" {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(
                Instant::now() < deadline,
                "clicking {css} never achieved {done}"
            );
        }
    }

    /// Drags from one element to another (offset by dx, dy from its centre) with the mouse,
    /// as a person would: press, a small first move, then the way to the target.
    pub async fn drag_to(&self, from_css: &str, to_css: &str, dx: f64, dy: f64) {
        use fantoccini::actions::PointerAction;
        let to = self.wait_for(to_css).await;
        let moves = [
            PointerAction::MoveBy {
                duration: Some(Duration::from_millis(50)),
                x: 8.0,
                y: 4.0,
            },
            PointerAction::MoveToElement {
                element: to,
                duration: Some(Duration::from_millis(250)),
                x: dx,
                y: dy,
            },
        ];
        self.press_and_move(from_css, moves).await;
    }

    /// Drags an element by (dx, dy) pixels with the mouse.
    pub async fn drag_by(&self, css: &str, dx: f64, dy: f64) {
        use fantoccini::actions::PointerAction;
        let moves = [PointerAction::MoveBy {
            duration: Some(Duration::from_millis(300)),
            x: dx,
            y: dy,
        }];
        self.press_and_move(css, moves).await;
    }

    /// Presses the left button on the centre of `css`, makes `moves`, releases.
    async fn press_and_move(
        &self,
        css: &str,
        moves: impl IntoIterator<Item = fantoccini::actions::PointerAction>,
    ) {
        use fantoccini::actions::{
            InputSource as _, MOUSE_BUTTON_LEFT, MouseActions, PointerAction,
        };
        let element = self.wait_for(css).await;
        let mut mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            });
        for action in moves {
            mouse = mouse.then(action);
        }
        let mouse = mouse.then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
        self.client.perform_actions(mouse).await.unwrap();
        self.client.release_actions().await.unwrap();
    }

    /// Types into the focused element; WebDriver key codes work (`"\u{E009}z"` is Ctrl+Z,
    /// modifiers held until the end of the text).
    pub async fn keys(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .unwrap()
            .send_keys(keys)
            .await
            .unwrap();
    }

    /// Reloads `path` until the workflow panel shows `step` as the current one (the runner
    /// routes a new ticket a moment after it is saved).
    pub async fn wait_for_step(&self, tts: &Tts, path: &str, step: &str) {
        for _ in 0..40 {
            self.goto(&tts.url(path)).await;
            self.wait_hydrated().await;
            self.wait_for("[data-test=workflow-panel]").await;
            let found = self
                .eval("const s = document.querySelector('[data-test=current-step]'); return s ? s.textContent : ''")
                .await;
            if found.contains(step) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        panic!("{path} never reached step {step}");
    }

    /// Runs JavaScript and returns its result as text.
    pub async fn eval(&self, script: &str) -> String {
        match self.client.execute(script, vec![]).await.unwrap() {
            Value::String(text) => text,
            other => other.to_string(),
        }
    }

    /// Signs in through the form, as a user would, and waits for the home page.
    pub async fn sign_in(&self, tts: &Tts, email: &str) {
        self.goto(&tts.url("/login")).await;
        self.wait_hydrated().await;
        self.fill("#email", email).await;
        self.fill("#password", DEMO_PASSWORD).await;
        self.click("button[type=submit]").await;
        self.wait_for_text(".page-title", "Welcome back").await;
        self.wait_hydrated().await;
    }

    pub async fn save_screenshot(&self, name: &str) {
        let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots");
        std::fs::create_dir_all(&folder).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(folder.join(format!("{name}.png")), png).unwrap();
    }

    /// The console's error messages since the last look (reading the log empties it).
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self.client.issue_cmd(BrowserLog).await.unwrap_or_default();
        log.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .filter_map(|e| e["message"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Fails if the browser console logged an error (a failed request, a panic, a hydration
    /// mismatch) since the session started.
    /// Runs axe-core (WCAG 2.1 A and AA rules) on the page as it is and fails on any serious
    /// or critical violation, naming the rule and the elements. `what` names the page in the
    /// failure. axe-core comes from npm (`end2end/package.json`, installed by
    /// `scripts/setup.sh --browser`) and is injected into the page by the driver.
    pub async fn assert_accessible(&self, what: &str) {
        let violations = self.accessibility_violations().await;
        assert!(
            violations.is_empty(),
            "accessibility violations on {what}:\n{}",
            violations.join("\n")
        );
    }

    /// The serious and critical WCAG 2.1 A/AA violations axe-core finds on the page, each as
    /// "impact rule: help — elements (why)".
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let source =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(&source).unwrap_or_else(|err| {
            panic!(
                "{}: {err} (run scripts/setup.sh --browser)",
                source.display()
            )
        });
        self.client
            .execute(&format!("{axe}\nreturn typeof axe;"), vec![])
            .await
            .unwrap();
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }) \
                   .then(r => done(r.violations \
                     .filter(v => v.impact === 'serious' || v.impact === 'critical') \
                     .map(v => `${v.impact} ${v.id}: ${v.help} — ` + \
                       v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' (' + \
                         (n.any.concat(n.all, n.none).map(c => c.message).join('; ')) + ')').join(', ')))) \
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap_or_default()
    }

    pub async fn assert_no_console_errors(&self) {
        self.assert_no_console_errors_except(&[]).await;
    }

    /// The same, tolerating the console's note about HTTP statuses the test provoked on
    /// purpose (a server function refusing a wrong password answers 401, and Chromium logs
    /// every 4xx response as an error).
    pub async fn assert_no_console_errors_except(&self, expected_statuses: &[u16]) {
        let log = self.client.issue_cmd(BrowserLog).await.unwrap();
        let errors: Vec<&Value> = log
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .filter(|e| {
                        let message = e["message"].as_str().unwrap_or_default();
                        !expected_statuses.iter().any(|status| {
                            message.contains(&format!(
                                "the server responded with a status of {status}"
                            ))
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(errors.is_empty(), "console errors: {errors:#?}");
    }

    /// Submits a ticket through the portal's form (signed in already), to a department;
    /// waits for its page and returns its path.
    pub async fn submit_ticket(
        &self,
        tts: &Tts,
        subject: &str,
        department: &str,
        description: &str,
    ) -> String {
        self.goto(&tts.url("/tickets/new")).await;
        self.wait_hydrated().await;
        self.fill("#subject", subject).await;
        self.choose("#department_id", department).await;
        self.fill("#description", description).await;
        self.click("[data-test=submit-ticket]").await;
        self.wait_for_text("[data-test=ticket-subject]", subject)
            .await;
        self.current_path().await
    }

    /// Chooses the option of a `<select>` by its text, as a person would (with the `change`
    /// event).
    pub async fn choose(&self, select_css: &str, option_text: &str) {
        let chosen = self
            .client
            .execute(
                "const s = document.querySelector(arguments[0]); \
                 const o = [...s.options].find(o => o.text === arguments[1]); \
                 if (!o) return false; s.value = o.value; \
                 s.dispatchEvent(new Event('change', {bubbles: true})); return true",
                vec![json!(select_css), json!(option_text)],
            )
            .await
            .unwrap();
        assert_eq!(
            chosen,
            json!(true),
            "{select_css} has no option {option_text:?}"
        );
    }

    pub async fn set_theme(&self, theme: &str) {
        self.client
            .execute(
                "localStorage.setItem('tts-theme', arguments[0])",
                vec![json!(theme)],
            )
            .await
            .unwrap();
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Screenshots of `path` in the light and dark themes, on a desktop and a 360 px phone, saved
/// as `screenshots/<name>-<theme>-<size>.png` for people to look at.
pub async fn screenshot_all_sizes(browser: &Browser, tts: &Tts, path: &str, name: &str) {
    for theme in ["light", "dark"] {
        for (width, height, size) in [(1280, 860, "desktop"), (360, 780, "phone")] {
            browser.resize(width, height).await;
            browser.set_theme(theme).await;
            browser.goto(&tts.url(path)).await;
            browser.wait_hydrated().await;
            browser
                .save_screenshot(&format!("{name}-{theme}-{size}"))
                .await;
        }
    }
    browser.set_theme("system").await;
    browser.resize(1280, 860).await;
    browser.goto(&tts.url(path)).await;
    browser.wait_hydrated().await;
}
