//! Notifications by e-mail through a real SMTP server (Python's aiosmtpd, started by each
//! test; `scripts/setup.sh` installs it): HTML and text, the user's choices, the daily
//! digest, template overrides, the delivery log with retries while the server is down, and
//! notifications sent by other systems.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::{As, Credentials, TestApp, signed_in, spawn_with_config};
use domain::SystemRole;
use serde_json::{Value, json};

/// An aiosmtpd process writing what it receives to a Maildir.
struct Smtp {
    port: u16,
    maildir: tempfile::TempDir,
    process: Option<tokio::process::Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Smtp {
    /// A port for a server not started yet (the "SMTP is down" case).
    fn reserve() -> Smtp {
        Smtp {
            port: free_port(),
            maildir: tempfile::tempdir().unwrap(),
            process: None,
        }
    }

    async fn start(self) -> Smtp {
        self.start_with(&[]).await
    }

    /// Starts it with more options (`--tlscert …`, `--smtpscert …`).
    async fn start_with(mut self, options: &[&std::ffi::OsStr]) -> Smtp {
        let child = tokio::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(options)
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            // A folder that does not exist yet: aiosmtpd makes it a Maildir.
            .arg(self.maildir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 with aiosmtpd (scripts/setup.sh installs it)");
        self.process = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return self;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let mut child = self.process.take().unwrap();
        let _ = child.kill().await;
        let output = child.wait_with_output().await.unwrap();
        panic!(
            "aiosmtpd did not start: {} (install it: python3 -m pip install aiosmtpd)",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, as raw text with soft line breaks undone.
    fn messages(&self) -> Vec<String> {
        let new: PathBuf = self.maildir.path().join("maildir").join("new");
        let mut found: Vec<String> = std::fs::read_dir(new)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .map(|text| {
                        text.replace("=\r\n", "")
                            .replace("=\n", "")
                            .replace("=3D", "=")
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }

    async fn wait_for(&self, to: &str, needle: &str) -> String {
        for _ in 0..400 {
            if let Some(found) = self
                .messages()
                .into_iter()
                .find(|m| m.contains(&format!("To: {to}")) && m.contains(needle))
            {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no mail to {to} with {needle:?}; got {:?}", self.messages());
    }
}

/// An employee with a ticket and an agent who sees it.
async fn world(app: &TestApp) -> (As<'_>, As<'_>, As<'_>, i64) {
    app.user("admin@example.com", SystemRole::Admin).await;
    app.user("emma@example.com", SystemRole::Employee).await;
    app.user("sam@example.com", SystemRole::Agent).await;
    let admin = signed_in(app, "admin@example.com").await;
    let (status, _) = admin
        .call(
            "PUT",
            "/api/v1/helpdesk/settings/",
            Some(json!({ "agent_visibility": "all" })),
        )
        .await;
    assert_eq!(status, 200);
    let employee = signed_in(app, "emma@example.com").await;
    let (status, ticket) = employee
        .call(
            "POST",
            "/api/v1/tickets/",
            Some(json!({ "subject": "Laptop fan is loud", "description": "Since Monday." })),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    let agent = signed_in(app, "sam@example.com").await;
    (admin, employee, agent, ticket["id"].as_i64().unwrap())
}

async fn comment(caller: &As<'_>, ticket: i64, text: &str) {
    let (status, body) = caller
        .call(
            "POST",
            &format!("/api/v1/tickets/{ticket}/comments/"),
            Some(json!({ "text": text })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// The delivery log's rows of one kind and status, waiting until there are `count`. (New
/// tickets here match no workflow, so admins are also mailed about triage.)
async fn deliveries(admin: &As<'_>, kind: &str, status: &str, count: usize) -> Vec<Value> {
    let mut rows = Vec::new();
    for _ in 0..400 {
        let path = format!("/api/v1/notifications/deliveries/?status={status}");
        let (_, log) = admin.call("GET", &path, None).await;
        rows = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["kind"] == kind)
            .cloned()
            .collect();
        if rows.len() >= count {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("expected {count} {kind} {status} deliveries, found {rows:?}");
}

#[tokio::test]
async fn a_notification_is_mailed_in_html_and_text_through_smtp() {
    let smtp = Smtp::reserve().start().await;
    let url = smtp.url();
    let app = spawn_with_config(|raw| raw.smtp_url = Some(url)).await;
    let (admin, employee, agent, ticket) = world(&app).await;
    comment(&agent, ticket, "The fan was replaced: `<b>new</b>`.").await;
    let mail = smtp.wait_for("emma@example.com", "commented on").await;
    assert!(mail.contains("multipart/alternative"), "{mail}");
    assert!(
        mail.contains("text/plain") && mail.contains("text/html"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("/tickets/{ticket}#comment-")),
        "{mail}"
    );
    // What people wrote is escaped in the HTML part (the excerpt is plain text: Markdown's
    // marks are gone, code keeps its characters).
    assert!(mail.contains("&lt;b&gt;new&lt;"), "{mail}");
    assert!(!mail.contains('`'), "{mail}");
    let sent = deliveries(&admin, "comment.posted", "sent", 1).await;
    assert_eq!(sent[0]["to"], "emma@example.com");
    assert_eq!(sent[0]["kind"], "comment.posted");
    assert_eq!(sent[0]["attempts"], 1);
    // The author is not mailed about their own comment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !smtp
            .messages()
            .iter()
            .any(|m| m.contains("To: sam@example.com"))
    );
    let (status, _) = employee
        .call("GET", "/api/v1/notifications/deliveries/", None)
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn the_users_choices_stop_a_kind_and_the_digest_gathers_the_rest() {
    let smtp = Smtp::reserve().start().await;
    let url = smtp.url();
    let app = spawn_with_config(|raw| raw.smtp_url = Some(url)).await;
    let (admin, employee, agent, ticket) = world(&app).await;
    let (status, prefs) = employee
        .call("GET", "/api/v1/notifications/preferences/", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(prefs["daily_digest"], false);
    assert!(
        prefs["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["email"] == true)
    );
    let (status, prefs) = employee
        .call(
            "PUT",
            "/api/v1/notifications/preferences/",
            Some(json!({ "daily_digest": false,
                         "kinds": [{ "kind": "comment.posted", "email": false }] })),
        )
        .await;
    assert_eq!(status, 200, "{prefs}");
    let posted = prefs["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "comment.posted")
        .unwrap()
        .clone();
    assert_eq!(posted["email"], false);
    // A comment: in the app, not by e-mail. A mention (still by e-mail) is mailed.
    comment(&agent, ticket, "Ordered a new fan.").await;
    comment(&agent, ticket, "@emma can you bring it by?").await;
    smtp.wait_for("emma@example.com", "mentioned you").await;
    assert!(!smtp.messages().iter().any(|m| m.contains("commented on")));
    let (_, list) = employee
        .call("GET", "/api/v1/notifications/inapp/", None)
        .await;
    assert!(
        list["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "comment.posted")
    );

    // The digest: nothing mailed one by one; once a day, one e-mail listing everything.
    let (status, _) = employee
        .call(
            "PUT",
            "/api/v1/notifications/preferences/",
            Some(json!({ "daily_digest": true, "kinds": [] })),
        )
        .await;
    assert_eq!(status, 200);
    comment(&agent, ticket, "@emma it is here.").await;
    comment(&agent, ticket, "@emma still waiting for you.").await;
    // Both mentions are notified in the app (the runner writes them).
    let mut unread = Value::Null;
    for _ in 0..400 {
        let (_, list) = employee
            .call("GET", "/api/v1/notifications/inapp/", None)
            .await;
        unread = list["unread"].clone();
        if unread == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(unread, 4);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mentions = smtp
        .messages()
        .iter()
        .filter(|m| m.contains("mentioned you"))
        .count();
    assert_eq!(mentions, 1, "no e-mail per notification with the digest on");
    let services = app.services();
    let queued = services::email::queue_digests(services, services.clock().now())
        .await
        .unwrap();
    assert_eq!(queued, 1);
    services.outbox_wake().wrote();
    let digest = smtp.wait_for("emma@example.com", "Your TTS digest").await;
    assert_eq!(
        digest.matches("mentioned you").count(),
        4,
        "2 in text, 2 in HTML: {digest}"
    );
    // Not again before a day has passed, whatever runs it.
    assert_eq!(
        services::email::queue_digests(services, services.clock().now())
            .await
            .unwrap(),
        0
    );
    deliveries(&admin, "digest", "sent", 1).await;
    deliveries(&admin, "comment.mention", "sent", 1).await;
    // Wrong choices: an unknown kind.
    let (status, body) = employee
        .call(
            "PUT",
            "/api/v1/notifications/preferences/",
            Some(json!({ "daily_digest": true, "kinds": [{ "kind": "lunch", "email": true }] })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["details"]["kinds[0].kind"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn an_smtp_server_that_is_down_is_retried_visibly_until_it_answers() {
    let smtp = Smtp::reserve();
    let url = smtp.url();
    let app = spawn_with_config(|raw| raw.smtp_url = Some(url)).await;
    let (admin, _, agent, ticket) = world(&app).await;
    comment(&agent, ticket, "Parts are on their way.").await;
    let failed = deliveries(&admin, "comment.posted", "failed", 1).await;
    assert_eq!(failed[0]["attempts"], 1);
    assert!(
        failed[0]["last_error"].as_str().unwrap().len() > 5,
        "{failed:?}"
    );
    // The server comes back; after the backoff the mail goes out, once.
    let smtp = smtp.start().await;
    app.services().clock().advance(Duration::from_secs(10));
    app.services().outbox_wake().wrote();
    smtp.wait_for("emma@example.com", "commented on").await;
    let sent = deliveries(&admin, "comment.posted", "sent", 1).await;
    assert_eq!(sent[0]["attempts"], 2, "{sent:?}");
    assert!(sent[0]["last_error"].is_null());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let to_emma = smtp
        .messages()
        .iter()
        .filter(|m| m.contains("To: emma@example.com"))
        .count();
    assert_eq!(to_emma, 1, "sent once");
}

#[tokio::test]
async fn templates_in_the_data_folder_replace_the_built_in_ones() {
    let smtp = Smtp::reserve().start().await;
    let url = smtp.url();
    let app = spawn_with_config(|raw| raw.smtp_url = Some(url)).await;
    let (_, _, agent, ticket) = world(&app).await;
    let folder = app.config.data_dir.join("templates").join("email");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("comment.posted.txt"),
        "Dear {{ user.full_name }}: {{ notification.title }} [custom]",
    )
    .unwrap();
    comment(&agent, ticket, "Done.").await;
    let mail = smtp.wait_for("emma@example.com", "[custom]").await;
    assert!(mail.contains("Dear Test Employee"), "{mail}");
    // The HTML part is still the built-in one.
    assert!(mail.contains("Open in TTS"), "{mail}");
}

#[tokio::test]
async fn other_systems_send_notifications_with_an_api_key() {
    let smtp = Smtp::reserve().start().await;
    let url = smtp.url();
    let app = spawn_with_config(|raw| raw.smtp_url = Some(url)).await;
    let (admin, employee, _, _) = world(&app).await;
    let (_, key) = admin
        .call(
            "POST",
            "/api/v1/api-keys/",
            Some(json!({ "name": "HDTS", "scopes": ["notifications:send"] })),
        )
        .await;
    let key = key["key"].as_str().unwrap().to_owned();
    let (_, weak) = admin
        .call(
            "POST",
            "/api/v1/api-keys/",
            Some(json!({ "name": "Intake", "scopes": ["tickets:submit"] })),
        )
        .await;
    let send = |key: String, body: Value| {
        let url = app.url("/api/v1/notifications/send/");
        async move { common::call_json(url, "POST", Credentials::ApiKey(&key), Some(body)).await }
    };
    let (status, answer) = send(
        key.clone(),
        json!({ "email": "EMMA@example.com", "title": "Maintenance tonight", "body": "From 22:00." }),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["created"], 1);
    let (status, answer) = send(
        key.clone(),
        json!({ "notifications": [
            { "email": "emma@example.com", "title": "One", "kind": "system.notice" },
            { "email": "sam@example.com", "title": "Two", "link": "/tickets/1" },
        ] }),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["created"], 2);
    smtp.wait_for("emma@example.com", "Maintenance tonight")
        .await;
    // Wrong ones: all or nothing, the bad element named.
    let cases = [
        json!({ "notifications": [
            { "email": "emma@example.com", "title": "Fine" },
            { "email": "nobody@example.com", "title": "Unknown user" },
        ] }),
        json!({ "email": "emma@example.com", "title": "" }),
        json!({ "email": "emma@example.com", "title": "x", "kind": "party" }),
        json!({ "email": "emma@example.com", "title": "x", "link": "https://evil.example/" }),
        json!({ "user_id": 1, "email": "emma@example.com", "title": "both" }),
        json!({ "notifications": [] }),
        json!({ "title": "nobody" }),
    ];
    for body in cases {
        let (status, answer) = send(key.clone(), body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
    }
    let (_, list) = employee
        .call("GET", "/api/v1/notifications/inapp/", None)
        .await;
    let titles: Vec<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["One", "Maintenance tonight"],
        "nothing of the refused batches"
    );
    let (status, _) = send(
        weak["key"].as_str().unwrap().to_owned(),
        json!({ "email": "emma@example.com", "title": "x" }),
    )
    .await;
    assert_eq!(status, 403);
}

/// A certificate authority of the test's own and a certificate it signed for 127.0.0.1 (made
/// with the `openssl` command): files `ca.pem`, `server.pem`, `server.key`.
fn private_ca() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .current_dir(folder.path())
            .output()
            .expect("the openssl command");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"],
        &key[..],
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=TTS test CA",
        ],
    ]
    .concat());
    run(&[
        &["req"],
        &key[..],
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    std::fs::write(
        folder.path().join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    folder
}

#[tokio::test]
async fn mail_goes_over_starttls_and_smtps_and_an_unknown_certificate_is_refused() {
    let ca = private_ca();
    let file = |name: &str| ca.path().join(name).into_os_string();
    let (cert, key) = (file("server.pem"), file("server.key"));
    let starttls = [
        std::ffi::OsStr::new("--tlscert"),
        &cert,
        std::ffi::OsStr::new("--tlskey"),
        &key,
    ];
    let smtps = [
        std::ffi::OsStr::new("--smtpscert"),
        &cert,
        std::ffi::OsStr::new("--smtpskey"),
        &key,
    ];
    for (options, scheme, query) in [(starttls, "smtp", "?tls=required"), (smtps, "smtps", "")] {
        let smtp = Smtp::reserve().start_with(&options).await;
        let url = format!("{scheme}://127.0.0.1:{}{query}", smtp.port);
        let ca_file = ca.path().join("ca.pem");
        let app = spawn_with_config(|raw| {
            raw.smtp_url = Some(url);
            raw.smtp_ca_file = Some(ca_file);
        })
        .await;
        let (_admin, _employee, agent, ticket) = world(&app).await;
        comment(&agent, ticket, &format!("Sent over {scheme}{query}.")).await;
        let mail = smtp.wait_for("emma@example.com", "commented on").await;
        assert!(mail.contains(&format!("Sent over {scheme}")), "{mail}");
        app.stop().await;
    }

    // Without the private CA the server's certificate is not trusted: nothing is sent, and
    // the delivery log says why.
    let smtp = Smtp::reserve().start_with(&starttls).await;
    let url = format!("smtp://127.0.0.1:{}?tls=required", smtp.port);
    let app = spawn_with_config(|raw| raw.smtp_url = Some(url)).await;
    let (admin, _employee, agent, ticket) = world(&app).await;
    comment(&agent, ticket, "Never leaves.").await;
    let failed = deliveries(&admin, "comment.posted", "failed", 1).await;
    let reason = failed[0]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(reason.contains("certificate"), "{failed:?}");
    assert!(smtp.messages().is_empty());
    app.stop().await;
}
