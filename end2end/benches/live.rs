//! Live benchmarks against the release binary (`TTS_E2E_BINARY`), SPEC.md section 5:
//!
//! 1. a comment reaching every one of 1,000 sockets watching one ticket: time from sending the
//!    REST request to the last socket receiving it (p50, p99 over 50 comments);
//! 2. 5,000 open sockets in one process: the server's resident memory before and after;
//! 3. ticket submitted → the assignee's live in-app notification on `/ws/notifications/`
//!    (p50, p95 over 50 tickets, one every 200 ms), in-process and again through RabbitMQ
//!    (the local broker, in a virtual host the bench makes with `rabbitmqctl`).
//!
//! `cargo bench -p end2end --bench live` (the server runs SQLite with the demo data, from a
//! temporary folder, on this machine, so client and server share its cores).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const WATCHERS: usize = 1_000;
const COMMENTS: usize = 50;
const OPEN_SOCKETS: usize = 5_000;
const TICKETS: usize = 50;

fn socket_url(tts: &harness::Tts, path: &str, token: &str) -> String {
    format!(
        "{}?token={token}",
        tts.url(path).replacen("http://", "ws://", 1)
    )
}

/// Opens a socket and waits for its greeting; returns the socket.
async fn open(
    url: String,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    loop {
        if let Some(Ok(Message::Text(text))) = socket.next().await
            && text.contains("connection_established")
        {
            return socket;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The server's resident memory in MiB (Linux).
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    // Thousands of sockets of one user: past the per-user limit a real client never reaches.
    let tts = harness::Tts::start_with(&[("TTS_SOCKETS_PER_USER", "100000")]).await;
    let pid = tts.pid().unwrap();
    let employee = tts.token("employee@example.com").await;
    let admin = tts.token("admin@example.com").await;
    let ticket = tts.post(&employee,
        "/api/v1/tickets/",
        json!({ "subject": "Benchmark ticket", "description": "Many watchers.", "priority": "low" }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let rss_idle = rss_mib(pid);

    // 1. Fan-out to 1,000 sockets.
    let url = socket_url(&tts, &format!("/ws/comments/{ticket}/"), &employee);
    let (arrived, mut arrivals) = mpsc::unbounded_channel::<(usize, Instant)>();
    let mut opened = 0;
    while opened < WATCHERS {
        let batch: Vec<_> = (0..100).map(|_| open(url.clone())).collect();
        for mut socket in futures::future::join_all(batch).await {
            let arrived = arrived.clone();
            tokio::spawn(async move {
                while let Some(Ok(message)) = socket.next().await {
                    if let Message::Text(text) = message
                        && let Ok(value) = serde_json::from_str::<Value>(&text)
                        && value["type"] == "comment_update"
                        && let Some(round) = value["comment"]["text"]
                            .as_str()
                            .and_then(|t| t.strip_prefix("bench "))
                            .and_then(|n| n.parse::<usize>().ok())
                    {
                        let _ = arrived.send((round, Instant::now()));
                    }
                }
            });
        }
        opened += 100;
    }
    let rss_watchers = rss_mib(pid);
    let mut to_last = Vec::new();
    for round in 0..COMMENTS {
        let sent = Instant::now();
        tts.post(
            &admin,
            &format!("/api/v1/tickets/{ticket}/comments/"),
            json!({ "text": format!("bench {round}") }),
        )
        .await;
        let mut count = 0;
        let mut last = sent;
        while count < WATCHERS {
            let (r, at) = tokio::time::timeout(Duration::from_secs(30), arrivals.recv())
                .await
                .expect("every socket gets the comment")
                .unwrap();
            assert_eq!(r, round);
            count += 1;
            last = last.max(at);
        }
        to_last.push(last - sent);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    to_last.sort();
    println!(
        "comment → all {WATCHERS} sockets of one ticket, {COMMENTS} comments: p50 {}, p99 {}, max {}",
        millis(percentile(&to_last, 0.5)),
        millis(percentile(&to_last, 0.99)),
        millis(*to_last.last().unwrap())
    );

    // 3 (before the 5,000 sockets, so they do not weigh on it). Ticket → assignee's notification.
    ticket_to_bell(&tts, "in-process").await;

    // 2. 5,000 open sockets (the 1,000 above and 4,000 more over 40 tickets' rooms).
    let mut held = Vec::new();
    let started = Instant::now();
    while WATCHERS + held.len() < OPEN_SOCKETS {
        let room = 1 + held.len() % 40;
        let batch: Vec<_> = (0..100)
            .map(|_| open(socket_url(&tts, &format!("/ws/comments/{room}/"), &admin)))
            .collect();
        held.extend(futures::future::join_all(batch).await);
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_open = rss_mib(pid);
    println!(
        "resident memory: {rss_idle:.1} MiB idle, {rss_watchers:.1} MiB with {WATCHERS} sockets, \
         {rss_open:.1} MiB with {OPEN_SOCKETS} ({:.1} KiB per socket); 4,000 opened in {}",
        (rss_open - rss_idle) * 1024.0 / OPEN_SOCKETS as f64,
        millis(took)
    );
    drop(held);
    drop(tts);

    // 3 again, through RabbitMQ (the local broker, a virtual host of its own): the outbox
    // relayed, the workflow started by a consumer, the notification found by the socket's
    // process.
    let vhost = format!("tts-bench-{}", std::process::id());
    let rabbitmqctl = |args: &[&str]| {
        let status = std::process::Command::new("rabbitmqctl")
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("rabbitmqctl (the local RabbitMQ)");
        assert!(status.success(), "rabbitmqctl {args:?}");
    };
    rabbitmqctl(&["add_vhost", &vhost]);
    rabbitmqctl(&["set_permissions", "-p", &vhost, "guest", ".*", ".*", ".*"]);
    let amqp_url = format!("amqp://guest:guest@127.0.0.1:5672/{vhost}");
    let tts = harness::Tts::start_with(&[("AMQP_URL", amqp_url.as_str())]).await;
    ticket_to_bell(&tts, "through RabbitMQ").await;
    drop(tts);
    rabbitmqctl(&["delete_vhost", &vhost]);
}

/// Ticket submitted (a Finance one: the reimbursement workflow assigns Fiona) → Fiona's bell
/// socket receives the `task.assigned` notification; p50 and p95 over [`TICKETS`].
async fn ticket_to_bell(tts: &harness::Tts, how: &str) {
    let employee = tts.token("employee@example.com").await;
    let fiona = tts.token("fiona@example.com").await;
    let reference: Value = reqwest::Client::new()
        .get(tts.url("/api/v1/reference-data/"))
        .bearer_auth(&employee)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let finance = reference["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Finance")
        .unwrap()["id"]
        .clone();
    let mut bell = open(socket_url(tts, "/ws/notifications/", &fiona)).await;
    let mut to_bell = Vec::new();
    for n in 0..TICKETS {
        let sent = Instant::now();
        let created = tts.post(&employee,
            "/api/v1/tickets/",
            json!({ "subject": format!("Expense claim {n}"), "description": "Receipts attached.",
                    "priority": "medium", "department_id": finance }),
        )
        .await;
        let link = format!("/tickets/{}", created["id"]);
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), bell.next())
                .await
                .expect("the assignee is notified")
                .unwrap()
                .unwrap();
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "notification"
                    && value["notification"]["kind"] == "task.assigned"
                    && value["notification"]["link"] == link.as_str()
                {
                    to_bell.push(sent.elapsed());
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    to_bell.sort();
    println!(
        "ticket submitted → assignee's live notification ({how}), {TICKETS} tickets: p50 {}, p95 {}, max {}",
        millis(percentile(&to_bell, 0.5)),
        millis(percentile(&to_bell, 0.95)),
        millis(*to_bell.last().unwrap())
    );
}
