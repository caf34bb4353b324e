//! RabbitMQ, against the local broker (each test in a virtual host of its own, made with
//! `rabbitmqctl`) and on whichever database the suite runs: a stock Celery client (the
//! `celery` package from PyPI) submitting tickets and sending the seed's notification tasks,
//! the outbox relayed through the broker, messages that cannot be processed dead-lettered with
//! their reason, a comment reaching a socket on another replica, the broker restarted while
//! tickets are submitted, and a `tts serve` process killed while it works, a `tts worker`
//! finishing after it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{As, TestApp, demo_signed_in, seed_demo, spawn_with_demo_and_config};
use futures::{SinkExt as _, StreamExt as _};
use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use serde_json::{Value, json};
use tokio::sync::RwLock;
use tts_server::broker::{DEAD_LETTER_QUEUE, INAPP_QUEUE, TICKET_QUEUE};

/// The restart test stops the broker: it runs alone; the others share it.
static BROKER: RwLock<()> = RwLock::const_new(());

const WAIT: Duration = Duration::from_secs(30);

fn rabbitmqctl(args: &[&str]) {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl must be installed (the tests make a virtual host each)");
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A virtual host of the local RabbitMQ for one test, deleted afterwards.
struct Vhost {
    name: String,
    url: String,
}

impl Vhost {
    fn new() -> Vhost {
        let name = format!("tts-test-{}", uuid::Uuid::new_v4().simple());
        rabbitmqctl(&["add_vhost", &name]);
        rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]);
        let base = std::env::var("TTS_TEST_AMQP_URL")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672".into());
        Vhost {
            url: format!("{}/{name}", base.trim_end_matches('/')),
            name,
        }
    }

    async fn channel(&self) -> Channel {
        let connection = Connection::connect(&self.url, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        // The connection lives as long as the channel's test does.
        std::mem::forget(connection);
        channel
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.name])
            .output();
    }
}

/// Sends a task the way a stock Celery 5 client does; the task id.
fn celery_send(url: &str, task: &str, kwargs: Value, queue: &str) -> String {
    const CLIENT: &str = "import json, sys\n\
        from celery import Celery\n\
        app = Celery(broker=sys.argv[1])\n\
        result = app.send_task(sys.argv[2], kwargs=json.loads(sys.argv[3]), queue=sys.argv[4])\n\
        print(result.id)\n";
    let output = Command::new("python3")
        .args(["-c", CLIENT, url, task, &kwargs.to_string(), queue])
        .output()
        .expect("python3 with celery (scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "celery send_task: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A database with the schema and the demo data (accounts, reference data, workflows), made
/// before any server runs: (its folder if SQLite, its URL, a pool on it).
async fn prepared_database() -> (tempfile::TempDir, String, services::Db) {
    let folder = tempfile::tempdir().unwrap();
    let url = common::fresh_database_url(folder.path()).await;
    let db = services::Db::connect(&services::db::DbOptions {
        url: url.clone(),
        max_connections: Some(4),
        connect_timeout: Duration::from_secs(10),
    })
    .await
    .unwrap();
    db.migrate().await.unwrap();
    services::demo::seed(&db).await.unwrap();
    services::demo::seed_helpdesk(&db).await.unwrap();
    services::demo::seed_workflows(&db).await.unwrap();
    (folder, url, db)
}

/// A TTS server talking to the virtual host.
async fn tts(vhost: &Vhost, database_url: Option<String>) -> TestApp {
    let url = vhost.url.clone();
    spawn_with_demo_and_config(false, move |raw| {
        raw.amqp_url = Some(url);
        if let Some(database_url) = database_url {
            raw.database_url = Some(database_url);
        }
    })
    .await
}

/// Waits until `check` gives something, or fails saying what was awaited.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The ticket with this external reference, once it exists.
async fn ticket_with_ref(admin: &As<'_>, external_ref: &str) -> Value {
    eventually(&format!("ticket {external_ref} exists"), || async {
        let (status, list) = admin
            .get(&format!("/api/v1/tickets/?external_ref={external_ref}"))
            .await;
        assert_eq!(status, 200, "{list}");
        list["results"].as_array().unwrap().first().cloned()
    })
    .await
}

/// The ticket's workflow task, once it has one.
async fn task_of(admin: &As<'_>, ticket_id: i64) -> Value {
    eventually(&format!("ticket {ticket_id} has a task"), || async {
        let (status, task) = admin
            .get(&format!("/api/v1/tickets/{ticket_id}/task/"))
            .await;
        (status == 200).then_some(task)
    })
    .await
}

/// The user's notifications, once there are at least `count`.
/// The caller's notifications, once every one of `titles` is among them (the demo data gives
/// the caller notifications of its own, which arrive in their own time).
async fn notifications_titled(caller: &As<'_>, titles: &[&str]) -> Vec<Value> {
    eventually(&format!("notifications {titles:?}"), || async {
        let (status, list) = caller.get("/api/v1/notifications/inapp/").await;
        assert_eq!(status, 200, "{list}");
        let list = list["results"].as_array().cloned().unwrap_or_default();
        let has = |title: &&str| list.iter().any(|n| n["title"] == *title);
        titles.iter().all(has).then_some(list)
    })
    .await
}

/// Publishes a message the way a Celery client would (headers `task` and `id`, when given),
/// persistent, and waits until RabbitMQ has it.
async fn publish(channel: &Channel, queue: &str, task_and_id: Option<(&str, &str)>, body: &str) {
    let mut headers = FieldTable::default();
    if let Some((task, id)) = task_and_id {
        headers.insert("task".into(), text(task));
        headers.insert("id".into(), text(id));
    }
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            body.as_bytes(),
            BasicProperties::default()
                .with_content_type("application/json".into())
                .with_delivery_mode(2)
                .with_headers(headers),
        )
        .await
        .unwrap()
        .await
        .unwrap();
}

/// The dead letters, once there are `count`: (reason, body).
async fn dead_letters(channel: &Channel, count: usize) -> Vec<(String, String)> {
    let mut letters = Vec::new();
    let deadline = Instant::now() + WAIT;
    while letters.len() < count {
        assert!(
            Instant::now() < deadline,
            "{count} dead letters never came: {letters:?}"
        );
        let Some(message) = channel
            .basic_get(DEAD_LETTER_QUEUE.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let headers = message.delivery.properties.headers().clone().unwrap();
        let reason = tts_server::broker::celery::header_text(&headers, "x-tts-reason")
            .expect("a dead letter says why");
        letters.push((
            reason,
            String::from_utf8_lossy(&message.delivery.data).into_owned(),
        ));
    }
    letters
}

/// The demo ticket the help desk sends, with its id.
fn hdts_ticket(ticket_id: &str, subject: &str) -> Value {
    json!({
        "ticket_id": ticket_id,
        "subject": subject,
        "description": "Sent by the help desk over RabbitMQ.",
        "category": "Hardware",
        "priority": "HIGH",
        "employee": { "email": "hana.diaz@example.com", "first_name": "Hana", "last_name": "Diaz" },
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_celery_client_submits_tickets_once_and_their_workflows_start_through_rabbitmq() {
    let _shared = BROKER.read().await;
    let vhost = Vhost::new();
    // The help desk sends before TTS ever ran: Celery declares the queue, TTS finds it.
    celery_send(
        &vhost.url,
        "tickets.tasks.receive_ticket",
        json!({ "ticket_data": hdts_ticket("HDTS-1001", "Laptop screen flickers") }),
        TICKET_QUEUE,
    );
    let (_folder, database_url, _db) = prepared_database().await;
    let app = tts(&vhost, Some(database_url)).await;
    let admin = demo_signed_in(&app, "admin@example.com").await;
    let listed = ticket_with_ref(&admin, "HDTS-1001").await;
    let (_, ticket) = admin
        .get(&format!("/api/v1/tickets/{}/", listed["id"]))
        .await;
    assert_eq!(ticket["subject"], "Laptop screen flickers");
    assert_eq!(ticket["source"], "hdts");
    assert_eq!(ticket["priority"], "high");
    // `ticket.created` went out through RabbitMQ and came back to start the workflow.
    let task = task_of(&admin, ticket["id"].as_i64().unwrap()).await;
    assert_eq!(task["workflow"]["name"], "IT hardware request", "{task}");
    assert_eq!(task["items"][0]["role"]["name"], "IT Support", "{task}");
    assert!(
        task["assignee"]["email"].is_string(),
        "assigned to someone: {task}"
    );

    // The same submission again, now that TTS is running: still one ticket.
    celery_send(
        &vhost.url,
        "tickets.tasks.receive_ticket",
        json!({ "ticket_data": hdts_ticket("HDTS-1001", "Laptop screen flickers") }),
        TICKET_QUEUE,
    );
    celery_send(
        &vhost.url,
        "tickets.tasks.receive_ticket",
        json!({ "ticket_data": hdts_ticket("HDTS-1002", "Printer out of toner") }),
        TICKET_QUEUE,
    );
    ticket_with_ref(&admin, "HDTS-1002").await;
    let (_, all) = admin.get("/api/v1/tickets/?external_ref=HDTS-1001").await;
    assert_eq!(all["count"], 1, "{all}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_notification_tasks_sent_by_celery_are_honoured_once() {
    let _shared = BROKER.read().await;
    let vhost = Vhost::new();
    let app = tts(&vhost, None).await;
    seed_demo(&app).await;
    let agent = demo_signed_in(&app, "agent@example.com").await;
    let (_, me) = agent.get("/api/v1/auth/me/").await;
    let agent_id = me["id"].as_i64().unwrap();

    celery_send(
        &vhost.url,
        "notifications.create_inapp_notification",
        json!({ "user_id": agent_id, "subject": "Maintenance tonight", "message": "Systems restart at 22:00." }),
        INAPP_QUEUE,
    );
    celery_send(
        &vhost.url,
        "task.send_assignment_notification",
        json!({ "user_id": agent_id, "task_id": "T-123" }),
        "notification-queue-default",
    );
    celery_send(
        &vhost.url,
        "notifications.bulk_create_notifications",
        json!({ "notifications": [
            { "email": "agent@example.com", "title": "First of two" },
            { "user_id": agent_id, "title": "Second of two", "kind": "system.notice" },
        ] }),
        INAPP_QUEUE,
    );
    let list = notifications_titled(
        &agent,
        &[
            "Maintenance tonight",
            "Task T-123 is assigned to you",
            "First of two",
            "Second of two",
        ],
    )
    .await;
    let assigned = list
        .iter()
        .find(|n| n["title"] == "Task T-123 is assigned to you")
        .unwrap();
    assert_eq!(assigned["kind"], "task.assigned");

    // A redelivered message (the same task id twice) creates nothing new.
    let channel = vhost.channel().await;
    let body = json!([[], { "user_id": agent_id, "title": "Only once" }, {}]).to_string();
    let task = Some(("notifications.create_inapp_notification", "fixed-id-1"));
    for _ in 0..2 {
        publish(&channel, INAPP_QUEUE, task, &body).await;
    }
    let list = notifications_titled(&agent, &["Only once"]).await;
    // Give the second copy its chance to (wrongly) land, then count.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, all) = agent.get("/api/v1/notifications/inapp/").await;
    let once = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["title"] == "Only once")
        .count();
    assert_eq!(once, 1, "{list:?}");

    // Marking read over the queue.
    let id = assigned["id"].as_i64().unwrap();
    celery_send(
        &vhost.url,
        "notifications.mark_notification_read",
        json!({ "user_id": agent_id, "notification_id": id }),
        INAPP_QUEUE,
    );
    eventually("the notification is read", || async {
        let (_, all) = agent.get("/api/v1/notifications/inapp/").await;
        all["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == id && !n["read_at"].is_null())
            .then_some(())
    })
    .await;
    app.stop().await;
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_that_cannot_be_processed_are_dead_lettered_with_their_reason() {
    let _shared = BROKER.read().await;
    let vhost = Vhost::new();
    let app = tts(&vhost, None).await;
    seed_demo(&app).await;
    let admin = demo_signed_in(&app, "admin@example.com").await;
    let channel = vhost.channel().await;
    let receive_ticket = |body: &str| {
        let id = uuid::Uuid::new_v4().to_string();
        let channel = channel.clone();
        let body = body.to_owned();
        async move {
            publish(
                &channel,
                TICKET_QUEUE,
                Some(("tickets.tasks.receive_ticket", &id)),
                &body,
            )
            .await
        }
    };
    receive_ticket("{not json").await;
    publish(
        &channel,
        TICKET_QUEUE,
        Some(("tickets.tasks.no_such_task", "unknown-1")),
        "[[], {}, {}]",
    )
    .await;
    receive_ticket("[[], {}, {}]").await;
    let no_requester = json!([[], { "ticket_data": { "ticket_id": "HDTS-9", "subject": "S", "category": "Plumbing" } }, {}]);
    receive_ticket(&no_requester.to_string()).await;
    publish(&channel, TICKET_QUEUE, None, "[[], {}, {}]").await;
    // The queue keeps flowing: a good message after the bad ones is taken.
    let good = json!([[], { "ticket_data": hdts_ticket("HDTS-2001", "After the poison") }, {}]);
    receive_ticket(&good.to_string()).await;
    ticket_with_ref(&admin, "HDTS-2001").await;

    let letters = dead_letters(&channel, 5).await;
    let reasons: Vec<&str> = letters.iter().map(|(reason, _)| reason.as_str()).collect();
    let has = |needle: &str| {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "no dead letter says '{needle}': {reasons:?}"
        )
    };
    has("not JSON");
    has("unknown task name 'tickets.tasks.no_such_task'");
    has("'ticket_data' is missing");
    has("employee: is required");
    has("no 'task' header");
    // The message itself is kept, for people to fix and send again.
    assert!(letters.iter().any(|(_, body)| body.contains("Plumbing")));
    let (_, list) = admin.get("/api/v1/tickets/?external_ref=HDTS-9").await;
    assert_eq!(list["count"], 0, "nothing half-written: {list}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_hdts_ticket_naming_names_tts_does_not_know_waits_in_triage_instead_of_being_lost() {
    let _shared = BROKER.read().await;
    let vhost = Vhost::new();
    let app = tts(&vhost, None).await;
    seed_demo(&app).await;
    let admin = demo_signed_in(&app, "admin@example.com").await;
    // What the help desk knows as "Plumbing" / "Taps" / "Facilities", TTS does not.
    let mut ticket = hdts_ticket("HDTS-3001", "The kitchen tap leaks");
    ticket["category"] = json!("Plumbing");
    ticket["sub_category"] = json!("Taps");
    ticket["department"] = json!("Estates");
    celery_send(
        &vhost.url,
        "tickets.tasks.receive_ticket",
        json!({ "ticket_data": ticket }),
        TICKET_QUEUE,
    );
    let listed = ticket_with_ref(&admin, "HDTS-3001").await;
    let id = listed["id"].as_i64().unwrap();
    let (_, received) = admin.get(&format!("/api/v1/tickets/{id}/")).await;
    assert_eq!(received["subject"], "The kitchen tap leaks");
    assert_eq!(
        received["fields"]["unknown_names"],
        json!({"category": "Plumbing", "sub_category": "Taps", "department": "Estates"}),
        "{received}"
    );
    assert!(received["category"].is_null());
    // It waits in triage for an admin, who is told; no workflow took it (the demo's catch-all
    // would have).
    let entry = eventually("the ticket waits in triage", || async {
        let (_, triage) = admin.get("/api/v1/triage/").await;
        triage
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["ticket_id"] == id)
            .cloned()
    })
    .await;
    assert_eq!(entry["reason"], "unknown_names", "{entry}");
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("category 'Plumbing'"),
        "{entry}"
    );
    let (_, task) = admin.get(&format!("/api/v1/tickets/{id}/task/")).await;
    assert!(task.is_null() || task.get("id").is_none(), "{task}");
    eventually("the admins are told", || async {
        let (_, notes) = admin.get("/api/v1/notifications/inapp/").await;
        notes["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| {
                n["kind"] == "triage.waiting"
                    && n["title"].as_str().unwrap().contains("Unknown names")
            })
            .cloned()
    })
    .await;
    // Nothing was dead-lettered.
    let channel = vhost.channel().await;
    let letter = channel
        .basic_get(DEAD_LETTER_QUEUE.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap();
    assert!(letter.is_none(), "nothing dead-lettered");
    // The admin places it (sets a category TTS has) and tries again: the workflow starts.
    let (status, _) = admin
        .call(
            "PATCH",
            &format!("/api/v1/tickets/{id}/"),
            Some(json!({ "category_id": received_category(&admin, "Hardware").await })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = admin
        .post(&format!("/api/v1/triage/{}/retry/", entry["id"]), json!({}))
        .await;
    assert_eq!(status, 200);
    let task = task_of(&admin, id).await;
    assert!(task["workflow"]["name"].is_string(), "{task}");
    app.stop().await;
}

/// The id of the category named `name` (reference data).
async fn received_category(admin: &As<'_>, name: &str) -> i64 {
    let (_, data) = admin.get("/api/v1/reference-data/").await;
    data["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no category {name}: {data}"))["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_comment_posted_on_one_replica_reaches_a_socket_on_another() {
    let _shared = BROKER.read().await;
    let vhost = Vhost::new();
    let folder = tempfile::tempdir().unwrap();
    let database_url = common::fresh_database_url(folder.path()).await;
    let first = tts(&vhost, Some(database_url.clone())).await;
    seed_demo(&first).await;
    let second = tts(&vhost, Some(database_url)).await;
    let on_first = demo_signed_in(&first, "employee@example.com").await;
    let (status, ticket) = on_first
        .post(
            "/api/v1/tickets/",
            json!({ "subject": "Two replicas", "description": "One database.", "priority": "low" }),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    let ticket_id = ticket["id"].as_i64().unwrap();
    let on_second = demo_signed_in(&second, "employee@example.com").await;
    let url = format!(
        "{}?token={}",
        second
            .url(&format!("/ws/comments/{ticket_id}/"))
            .replacen("http://", "ws://", 1),
        on_second.token
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let first_message = socket.next().await.unwrap().unwrap();
    assert!(
        first_message
            .to_text()
            .unwrap()
            .contains("connection_established")
    );
    // The second replica's link to the broker is up once its private live queue exists;
    // comments posted before that would only be found by a reload.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let (status, comment) = on_first
        .post(
            &format!("/api/v1/tickets/{ticket_id}/comments/"),
            json!({ "text": "Posted on the first replica" }),
        )
        .await;
    assert_eq!(status, 201, "{comment}");
    let update = tokio::time::timeout(WAIT, async {
        loop {
            let message = socket.next().await.unwrap().unwrap();
            let value: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
            if value["type"] == "comment_update" {
                return value;
            }
        }
    })
    .await
    .expect("the comment reached the other replica's socket");
    assert_eq!(update["action"], "create", "{update}");
    assert_eq!(
        update["comment"]["text"], "Posted on the first replica",
        "{update}"
    );
    let _ = socket.close(None).await;
    let _ = socket
        .send(tokio_tungstenite::tungstenite::Message::Close(None))
        .await;
    second.stop().await;
    first.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tickets_submitted_while_rabbitmq_is_stopped_are_all_handled_once_it_is_back() {
    let _alone = BROKER.write().await;
    let vhost = Vhost::new();
    let app = tts(&vhost, None).await;
    seed_demo(&app).await;
    let employee = demo_signed_in(&app, "employee@example.com").await;
    let admin = demo_signed_in(&app, "admin@example.com").await;

    rabbitmqctl(&["stop_app"]);
    let restarted = scopeguard(|| {
        let _ = Command::new("rabbitmqctl").arg("start_app").output();
    });
    let mut tickets = Vec::new();
    for n in 0..10 {
        let (status, ticket) = employee
            .post(
                "/api/v1/tickets/",
                json!({ "subject": format!("Submitted while the broker is down #{n}"), "description": "Queue me.", "priority": "medium" }),
            )
            .await;
        assert_eq!(
            status, 201,
            "the web keeps working without the broker: {ticket}"
        );
        tickets.push(ticket["id"].as_i64().unwrap());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(restarted);
    rabbitmqctl(&["await_startup"]);

    for ticket in &tickets {
        let task = task_of(&admin, *ticket).await;
        assert!(task["id"].as_i64().is_some(), "{task}");
    }
    // Each started once: one task per ticket, and no event left behind.
    for ticket in &tickets {
        let tasks = count(
            app.db(),
            &format!("SELECT COUNT(*) FROM tasks WHERE ticket_id = {ticket}"),
        )
        .await;
        assert_eq!(tasks, 1, "ticket {ticket}");
    }
    eventually("the outbox is empty", || async {
        (count(
            app.db(),
            "SELECT COUNT(*) FROM outbox WHERE processed_at IS NULL",
        )
        .await
            == 0)
            .then_some(())
    })
    .await;
    app.stop().await;
}

/// Runs `action` when dropped (the broker is started again even if the test fails).
fn scopeguard(action: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(action) = self.0.take() {
                action();
            }
        }
    }
    Guard(Some(action))
}

/// A `SELECT COUNT(*) …` on either backend.
async fn count(db: &services::Db, sql: &str) -> i64 {
    let mut pooled = db.acquire().await.unwrap();
    match pooled.conn() {
        services::db::Conn::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
        services::db::Conn::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
    }
}

/// The TTS binary, as a cluster runs it; its log is shown if the test fails.
struct Process {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Process {
    /// `tts <command>` (`serve` or `worker`) with the database and the broker.
    fn start(
        command: &[&str],
        database_url: &str,
        amqp_url: &str,
        data_dir: &std::path::Path,
    ) -> Process {
        let log = data_dir.join(format!("tts-{}.log", uuid::Uuid::new_v4().simple()));
        let child = Command::new(env!("CARGO_BIN_EXE_tts"))
            .args(command)
            .env("DATABASE_URL", database_url)
            .env("AMQP_URL", amqp_url)
            .env("TTS_DATA_DIR", data_dir)
            .env("TTS_LOG_LEVEL", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Process { child, log }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- the tts process's log ---\n{log}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_killed_while_it_works_leaves_nothing_undone_or_done_twice_and_a_worker_finishes()
{
    let _shared = BROKER.read().await;
    let vhost = Vhost::new();
    // The test prepares the database and watches it; the process is the only one taking work.
    let (_folder, database_url, db) = prepared_database().await;
    const HDTS_TICKETS: &str = "SELECT COUNT(*) FROM tickets WHERE source = 'hdts'";

    // A hundred tickets from the help desk wait in the queue.
    let channel = vhost.channel().await;
    channel
        .queue_declare(
            TICKET_QUEUE.into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    const COUNT: usize = 100;
    for n in 0..COUNT {
        let body = json!([[], { "ticket_data": hdts_ticket(&format!("KILL-{n}"), &format!("Killed mid-way #{n}")) }, {}]);
        let id = format!("kill-{n}");
        let task = Some(("tickets.tasks.receive_ticket", id.as_str()));
        publish(&channel, TICKET_QUEUE, task, &body.to_string()).await;
    }

    // The process starts on them and is killed (SIGKILL: no goodbye) once some are in.
    let data = tempfile::tempdir().unwrap();
    let process = Process::start(
        &["serve", "--bind", "127.0.0.1:0"],
        &database_url,
        &vhost.url,
        data.path(),
    );
    eventually("the process has taken some tickets", || async {
        (count(&db, HDTS_TICKETS).await >= 5).then_some(())
    })
    .await;
    process.kill();
    let taken = count(&db, HDTS_TICKETS).await;

    // A `tts worker` (no web server, only the background work) finishes the rest: every
    // ticket once, every one with one task.
    let process = Process::start(&["worker"], &database_url, &vhost.url, data.path());
    eventually("every ticket is in with its task", || async {
        let tickets = count(&db, HDTS_TICKETS).await;
        let tasks = count(
            &db,
            "SELECT COUNT(*) FROM tasks t JOIN tickets k ON k.id = t.ticket_id WHERE k.source = 'hdts'",
        )
        .await;
        let without = count(
            &db,
            "SELECT COUNT(*) FROM tickets k WHERE k.source = 'hdts' \
             AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.ticket_id = k.id)",
        )
        .await;
        (tickets == COUNT as i64 && tasks == COUNT as i64 && without == 0).then_some(())
    })
    .await;
    let doubled = count(
        &db,
        "SELECT COUNT(*) FROM (SELECT external_ref FROM tickets WHERE source = 'hdts' \
         GROUP BY external_ref HAVING COUNT(*) > 1) AS twice",
    )
    .await;
    assert_eq!(doubled, 0);
    println!("{taken} of {COUNT} tickets were in when the process was killed");
    process.kill();
    db.close().await;
}
