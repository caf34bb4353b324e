//! The workflow engine over REST, on whichever database the suite runs: designing and
//! deploying workflows, tickets walking through the demo workflows to their end logic (a real
//! HTTP server started by the test plays AMS and BMS), round robin under concurrency, acting
//! twice at once, the SLA monitor with a moved clock, triage, the audit log, and what wrong
//! input gets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{As, TestApp, demo_signed_in as demo, seed_demo, signed_in, spawn, spawn_with_config};
use domain::SystemRole;
use futures::StreamExt as _;
use serde_json::{Value, json};

/// Waits until the ticket's task exists (the runner takes `ticket.created` from the outbox).
async fn task_of(caller: &As<'_>, ticket_id: i64) -> Value {
    for _ in 0..200 {
        let (status, task) = caller
            .get(&format!("/api/v1/tickets/{ticket_id}/task/"))
            .await;
        if status == 200 {
            return task;
        }
        assert_eq!(status, 404, "{task}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("ticket {ticket_id} got no task");
}

async fn submit(caller: &As<'_>, subject: &str, extra: Value) -> i64 {
    let mut body =
        json!({ "subject": subject, "description": "Please help.", "priority": "medium" });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, ticket) = caller.post("/api/v1/tickets/", body).await;
    assert_eq!(status, 201, "{ticket}");
    ticket["id"].as_i64().unwrap()
}

fn action_id(task: &Value, label: &str) -> i64 {
    task["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == label)
        .unwrap_or_else(|| panic!("no action {label} in {}", task["actions"]))["transition_id"]
        .as_i64()
        .unwrap()
}

/// Acts on a task as `caller`: the action with this label, at the task's revision.
async fn act(caller: &As<'_>, task: &Value, label: &str, notes: &str) -> Value {
    let (status, after) = caller
        .post(
            &format!("/api/v1/tasks/{}/transition/", task["id"]),
            json!({ "transition_id": action_id(task, label), "notes": notes, "revision": task["revision"] }),
        )
        .await;
    assert_eq!(status, 200, "{label}: {after}");
    after
}

fn holder(task: &Value) -> String {
    task["assignee"]["email"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// An HTTP server playing AMS or BMS: records each call (headers and body) and answers 503 to
/// the first `failures` calls, 200 after.
#[derive(Clone, Default)]
struct FakeSystem {
    calls: Arc<Mutex<Vec<(String, String, String)>>>,
}

async fn fake_system(failures: usize) -> (String, FakeSystem) {
    use axum::http::{HeaderMap, StatusCode};
    let system = FakeSystem::default();
    let calls = system.calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let calls = calls.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let mut calls = calls.lock().unwrap();
                calls.push((header("x-tts-signature"), header("x-tts-event-id"), body));
                if calls.len() <= failures {
                    (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance")
                } else {
                    (StatusCode::OK, "recorded")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/hook"), system)
}

/// Waits for the task's end logic to reach `status`, moving the clock past each retry.
async fn end_logic_reaches(app: &TestApp, caller: &As<'_>, task_id: i64, status: &str) -> Value {
    for _ in 0..200 {
        let (_, task) = caller.get(&format!("/api/v1/tasks/{task_id}/")).await;
        if task["end_logic_status"] == status {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (_, task) = caller.get(&format!("/api/v1/tasks/{task_id}/")).await;
    let _ = app;
    panic!("end logic never reached {status}: {task}");
}

const SECRET: &str = "end-logic-test-secret";

#[tokio::test]
async fn a_hardware_request_walks_every_step_to_the_asset_system() {
    let (ams_url, ams) = fake_system(1).await;
    let app = spawn_with_config(|raw| {
        raw.ams_url = Some(ams_url.clone());
        raw.end_logic_secret = Some(SECRET.into());
    })
    .await;
    seed_demo(&app).await;
    let employee = demo(&app, "employee@example.com").await;
    let morgan = demo(&app, "morgan@example.com").await;
    let support = [
        ("agent@example.com", demo(&app, "agent@example.com").await),
        ("sam@example.com", demo(&app, "sam@example.com").await),
    ];
    let as_holder = |task: &Value| {
        let email = holder(task);
        support
            .iter()
            .find(|(e, _)| *e == email)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| panic!("{email} is not in IT Support"))
    };
    let (_, reference) = employee.get("/api/v1/reference-data/").await;
    let hardware = reference["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Hardware")
        .unwrap()["id"]
        .clone();
    let ticket = submit(
        &employee,
        "A laptop for our new designer",
        json!({ "category_id": hardware }),
    )
    .await;

    // Matched to the hardware workflow (more specific than the catch-all), at its start step.
    let task = task_of(&employee, ticket).await;
    assert_eq!(task["workflow"]["name"], "IT hardware request", "{task}");
    assert_eq!(task["current_step_name"], "Review request");
    assert_eq!(task["actions"], json!([]), "the requester cannot act");
    let reviewer = as_holder(&task);
    let (_, ticket_now) = employee.get(&format!("/api/v1/tickets/{ticket}/")).await;
    assert_eq!(ticket_now["status"], "open");
    assert_eq!(ticket_now["assignee"]["email"], holder(&task));

    // The holder sees it in the inbox; the other support member sees it only in the roles'
    // queue, and may not act on it.
    let (_, inbox) = reviewer.get("/api/v1/tasks/").await;
    assert!(
        inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ticket_id"] == ticket && e["mine"] == true),
        "{inbox}"
    );
    let other = support
        .iter()
        .find(|(e, _)| *e != holder(&task))
        .map(|(_, c)| c.clone())
        .unwrap();
    let (_, theirs) = other.get("/api/v1/tasks/").await;
    assert!(
        !theirs
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ticket_id"] == ticket)
    );
    let (_, queue) = other.get("/api/v1/tasks/?scope=roles").await;
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ticket_id"] == ticket && e["mine"] == false),
        "{queue}"
    );
    let task = {
        let (_, task) = reviewer
            .get(&format!("/api/v1/tasks/{}/", task["id"]))
            .await;
        task
    };
    let (status, refused) = other
        .post(
            &format!("/api/v1/tasks/{}/transition/", task["id"]),
            json!({ "transition_id": action_id(&task, "Send for approval"), "revision": task["revision"] }),
        )
        .await;
    assert_eq!(status, 403, "{refused}");

    // Review → approval (Morgan) → sent back → review again → approval → approved.
    let (status, started) = reviewer
        .post(&format!("/api/v1/tasks/{}/start/", task["id"]), json!({}))
        .await;
    assert_eq!(status, 200, "{started}");
    let (_, ticket_now) = employee.get(&format!("/api/v1/tickets/{ticket}/")).await;
    assert_eq!(ticket_now["status"], "in_progress");
    let task = act(
        &reviewer,
        &started,
        "Send for approval",
        "Standard designer laptop",
    )
    .await;
    assert_eq!(task["current_step_name"], "Manager approval");
    assert_eq!(holder(&task), "morgan@example.com");
    let (_, task) = morgan.get(&format!("/api/v1/tasks/{}/", task["id"])).await;
    let task = act(&morgan, &task, "Send back", "Which screen size?").await;
    assert_eq!(task["current_step_name"], "Review request");
    let back_with = as_holder(&task);
    let (_, task) = back_with
        .get(&format!("/api/v1/tasks/{}/", task["id"]))
        .await;
    let task = act(&back_with, &task, "Send for approval", "15 inch").await;
    let (_, task) = morgan.get(&format!("/api/v1/tasks/{}/", task["id"])).await;
    let task = act(&morgan, &task, "Approve", "").await;
    assert_eq!(task["current_step_name"], "Prepare hardware");

    // Reassigned to the other support member, who delivers.
    let preparer = as_holder(&task);
    let (_, task) = preparer
        .get(&format!("/api/v1/tasks/{}/", task["id"]))
        .await;
    let to = support.iter().find(|(e, _)| *e != holder(&task)).unwrap();
    let to_id = {
        let (_, me) = to.1.get("/api/v1/auth/me/").await;
        me["id"].clone()
    };
    let (status, task) = preparer
        .post(
            &format!("/api/v1/tasks/{}/reassign/", task["id"]),
            json!({ "user_id": to_id, "notes": "I am out tomorrow", "revision": task["revision"] }),
        )
        .await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(holder(&task), to.0);
    let (_, task) = to.1.get(&format!("/api/v1/tasks/{}/", task["id"])).await;
    let task = act(&to.1, &task, "Delivered", "Handed over at the desk").await;
    assert_eq!(task["status"], "completed");
    assert_eq!(task["actions"], json!([]));

    // The ticket is resolved, with the whole way in the task's items.
    let (_, ticket_now) = employee.get(&format!("/api/v1/tickets/{ticket}/")).await;
    assert_eq!(ticket_now["status"], "resolved");
    let statuses: Vec<&str> = task["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "resolved",
            "resolved",
            "resolved",
            "resolved",
            "reassigned",
            "resolved"
        ],
        "{task}"
    );
    assert!(
        task["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "done")
    );

    // The asset system was down at the first call: the task shows the failure, and the call
    // succeeds on a retry once its backoff has passed.
    let task_id = task["id"].as_i64().unwrap();
    let failed = end_logic_reaches(&app, &morgan, task_id, "failed").await;
    assert!(
        failed["end_logic_detail"].as_str().unwrap().contains("503"),
        "{failed}"
    );
    // The requester sees neither how the call to the asset system went (its address, its
    // answer, that it failed) nor what the agents wrote for each other.
    let (_, seen_by_requester) = employee.get(&format!("/api/v1/tasks/{task_id}/")).await;
    assert!(
        seen_by_requester["end_logic_status"].is_null(),
        "{seen_by_requester}"
    );
    assert!(
        seen_by_requester["end_logic_detail"].is_null(),
        "{seen_by_requester}"
    );
    assert!(
        !seen_by_requester
            .to_string()
            .contains("Handed over at the desk"),
        "{seen_by_requester}"
    );
    assert!(
        failed.to_string().contains("Handed over at the desk"),
        "staff still read the notes: {failed}"
    );
    app.services().clock().advance(Duration::from_secs(60));
    app.services().outbox_wake().wrote();
    let done = end_logic_reaches(&app, &morgan, task_id, "done").await;
    assert!(
        done["end_logic_detail"].as_str().unwrap().contains("200"),
        "{done}"
    );
    let (status, refused) = morgan
        .post(
            &format!("/api/v1/tasks/{task_id}/end-logic/retry/"),
            json!(null),
        )
        .await;
    assert_eq!(
        status, 409,
        "a call that succeeded is not sent again: {refused}"
    );
    let calls = ams.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "one failure, one success");
    let (signature, event_id, body) = &calls[1];
    assert_eq!(
        signature,
        &format!("sha256={}", services::outbox::sign(SECRET, body)),
        "the body is signed with the shared secret"
    );
    assert_eq!(event_id, &calls[0].1, "a retry carries the same event id");
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(sent["end_logic"], "asset");
    assert_eq!(sent["ticket"]["id"], ticket);
    assert_eq!(sent["ticket"]["subject"], "A laptop for our new designer");
    assert_eq!(sent["task"]["id"], task_id);
}

#[tokio::test]
async fn a_reimbursement_reaches_the_budget_system_and_the_catch_all_notifies() {
    let (bms_url, bms) = fake_system(0).await;
    let app = spawn_with_config(|raw| raw.bms_url = Some(bms_url.clone())).await;
    seed_demo(&app).await;
    let employee = demo(&app, "noah@example.com").await;
    let fiona = demo(&app, "fiona@example.com").await;
    let morgan = demo(&app, "morgan@example.com").await;
    let (_, reference) = employee.get("/api/v1/reference-data/").await;
    let finance = reference["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Finance")
        .unwrap()["id"]
        .clone();
    let ticket = submit(
        &employee,
        "Train tickets to the Lyon office",
        json!({ "department_id": finance }),
    )
    .await;
    let task = task_of(&fiona, ticket).await;
    assert_eq!(task["workflow"]["name"], "Finance reimbursement");
    assert_eq!(holder(&task), "fiona@example.com");
    let task = act(
        &fiona,
        &task,
        "Receipts complete",
        "All three receipts attached",
    )
    .await;
    let (_, task) = morgan.get(&format!("/api/v1/tasks/{}/", task["id"])).await;
    let task = act(&morgan, &task, "Approve", "").await;
    assert_eq!(task["status"], "completed");
    let done = end_logic_reaches(&app, &morgan, task["id"].as_i64().unwrap(), "done").await;
    assert_eq!(done["ticket_status"], "resolved");
    assert_eq!(bms.calls.lock().unwrap().len(), 1);
    let body: Value = serde_json::from_str(&bms.calls.lock().unwrap()[0].2).unwrap();
    assert_eq!(body["end_logic"], "budget");

    // A ticket no specific workflow takes goes to general support; resolving it notifies the
    // requester.
    let ticket = submit(&employee, "My mouse squeaks", json!({})).await;
    let task = task_of(&employee, ticket).await;
    assert_eq!(task["workflow"]["name"], "General support");
    let agent = demo(&app, &holder(&task)).await;
    let (_, task) = agent.get(&format!("/api/v1/tasks/{}/", task["id"])).await;
    act(&agent, &task, "Resolved", "Cleaned it").await;
    let (_, notes) = employee.get("/api/v1/notifications/inapp/").await;
    assert!(
        notes["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "ticket.resolved" && n["link"] == format!("/tickets/{ticket}")),
        "{notes}"
    );
    assert!(notes["unread"].as_i64().unwrap() >= 1);
    let (status, _) = employee
        .post("/api/v1/notifications/inapp/read-all/", json!({}))
        .await;
    assert_eq!(status, 200);
    let (_, notes) = employee.get("/api/v1/notifications/inapp/").await;
    assert_eq!(notes["unread"], 0);
}

/// A workflow built over REST: one step for `role`, ending at "Done".
async fn simple_workflow(
    admin: &As<'_>,
    name: &str,
    role: i64,
    escalation: Option<i64>,
    sla_hours: i64,
) -> i64 {
    let sla = sla_hours * 3600;
    let (status, workflow) = admin
        .post(
            "/api/v1/workflows/",
            json!({ "name": name, "sla": { "low": sla, "medium": sla, "high": sla, "urgent": sla } }),
        )
        .await;
    assert_eq!(status, 201, "{workflow}");
    let id = workflow["id"].as_i64().unwrap();
    let (status, saved) = admin
        .call(
            "PUT",
            &format!("/api/v1/workflows/{id}/graph/"),
            Some(json!({
                "revision": workflow["revision"],
                "graph": {
                    "steps": [
                        { "id": -1, "name": "Handle", "role": role, "escalation_role": escalation, "is_start": true },
                        { "id": -2, "name": "Done", "role": role, "is_end": true },
                    ],
                    "transitions": [{ "id": -1, "from": -1, "to": -2, "action": "Finish" }],
                },
            })),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let (status, version) = admin
        .post(&format!("/api/v1/workflows/{id}/deploy/"), json!({}))
        .await;
    assert_eq!(status, 201, "{version}");
    id
}

async fn role_with(admin: &As<'_>, name: &str, members: &[i64]) -> i64 {
    let (status, role) = admin.post("/api/v1/roles/", json!({ "name": name })).await;
    assert_eq!(status, 201, "{role}");
    let id = role["id"].as_i64().unwrap();
    for member in members {
        let (status, _) = admin
            .post(
                &format!("/api/v1/roles/{id}/members/"),
                json!({ "user_id": member }),
            )
            .await;
        assert_eq!(status, 200);
    }
    id
}

#[tokio::test]
async fn round_robin_hands_out_tickets_in_turn_even_when_they_arrive_together() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let mut agents = Vec::new();
    for n in 0..3 {
        agents.push(
            app.user(&format!("agent{n}@example.com"), SystemRole::Agent)
                .await,
        );
    }
    app.user("employee@example.com", SystemRole::Employee).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let employee = signed_in(&app, "employee@example.com").await;
    let role = role_with(&admin, "Desk", &agents).await;
    simple_workflow(&admin, "Everything", role, None, 48).await;

    // 30 tickets at once (the runner assigns up to 8 at a time): each member gets exactly 10,
    // and in the order of assignment the members take strict turns (no one twice in a row).
    let submissions = (0..30).map(|n| {
        let employee = employee.clone();
        async move { submit(&employee, &format!("Concurrent {n}"), json!({})).await }
    });
    let mut tickets = futures::future::join_all(submissions).await;
    tickets.sort_unstable();
    let mut holders = Vec::new();
    for ticket in &tickets {
        holders.push(holder(&task_of(&admin, *ticket).await));
    }
    for n in 0..3 {
        let email = format!("agent{n}@example.com");
        assert_eq!(
            holders.iter().filter(|h| **h == email).count(),
            10,
            "{holders:?}"
        );
    }
    // Items are numbered in the order the assignments were made (under the role's lock).
    let mut by_assignment: Vec<(i64, String)> = Vec::new();
    for ticket in &tickets {
        let task = task_of(&admin, *ticket).await;
        by_assignment.push((task["items"][0]["id"].as_i64().unwrap(), holder(&task)));
    }
    by_assignment.sort();
    for pair in by_assignment.windows(2) {
        assert_ne!(
            pair[0].1, pair[1].1,
            "the same member twice in a row: {by_assignment:?}"
        );
    }

    // An inactive member is skipped; the others keep taking turns.
    let (status, _) = admin
        .post(
            &format!("/api/v1/roles/{role}/members/"),
            json!({ "user_id": agents[1], "is_active": false }),
        )
        .await;
    assert_eq!(status, 200);
    let mut later = Vec::new();
    for n in 0..4 {
        let ticket = submit(&employee, &format!("Later {n}"), json!({})).await;
        later.push(holder(&task_of(&admin, ticket).await));
    }
    assert!(
        !later.contains(&"agent1@example.com".to_owned()),
        "{later:?}"
    );
    assert_eq!(
        later.iter().filter(|h| *h == "agent0@example.com").count(),
        2,
        "{later:?}"
    );
}

/// Whether the outbox event is still to be done, and its last error.
async fn outbox_state(app: &TestApp, event_key: &str) -> (bool, Option<String>) {
    const SQL: &str = "SELECT processed_at IS NULL, last_error FROM outbox WHERE event_key = $1";
    match app.db() {
        services::Db::Sqlite(pool, _) => sqlx::query_as(SQL)
            .bind(event_key)
            .fetch_one(pool)
            .await
            .unwrap(),
        services::Db::Postgres(pool) => sqlx::query_as(SQL)
            .bind(event_key)
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

/// An admin, an employee, and one agent who takes every ticket (a catch-all workflow whose
/// one role has only them); the admin's and the employee's sessions.
async fn one_agent_desk(app: &TestApp) -> (As<'_>, As<'_>) {
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent = app.user("agent@example.com", SystemRole::Agent).await;
    app.user("employee@example.com", SystemRole::Employee).await;
    let admin = signed_in(app, "admin@example.com").await;
    let employee = signed_in(app, "employee@example.com").await;
    let role = role_with(&admin, "Desk", &[agent]).await;
    simple_workflow(&admin, "Everything", role, None, 48).await;
    (admin, employee)
}

#[tokio::test]
async fn an_event_that_fails_is_retried_alone_and_the_tickets_routed_beside_it_keep_their_tasks() {
    let app = spawn().await;
    let (admin, employee) = one_agent_desk(&app).await;

    // An event that cannot be handled (no ticket in it), due with the tickets' own: on SQLite
    // the events of a round share one transaction, and this one must not undo the others.
    {
        let mut pooled = app.db().acquire().await.unwrap();
        services::db::outbox::enqueue(
            &mut pooled.conn(),
            "ticket.created:broken",
            "ticket.created",
            "{}",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    }
    let submissions = (0..6).map(|n| {
        let employee = employee.clone();
        async move { submit(&employee, &format!("Beside a broken event {n}"), json!({})).await }
    });
    let tickets = futures::future::join_all(submissions).await;
    for ticket in &tickets {
        assert_eq!(holder(&task_of(&admin, *ticket).await), "agent@example.com");
    }
    let mut state = outbox_state(&app, "ticket.created:broken").await;
    for _ in 0..100 {
        if state.1.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        state = outbox_state(&app, "ticket.created:broken").await;
    }
    let (pending, error) = state;
    assert!(pending, "a failed event stays to be tried again");
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("no ticket_id"),
        "{error:?}"
    );
    for ticket in &tickets {
        let (pending, error) = outbox_state(&app, &format!("ticket.created:{ticket}")).await;
        assert!(!pending && error.is_none(), "ticket {ticket}: {error:?}");
    }
}

/// One number read from the database.
async fn scalar(app: &TestApp, sql: &str) -> i64 {
    match app.db() {
        services::Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        services::Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

/// A burst of submissions makes the runner give way (short rounds, spaced out) while the
/// burst lasts; once it eases, every ticket is routed, each exactly once.
#[tokio::test]
async fn a_burst_of_submissions_is_routed_in_full_once_it_eases() {
    let app = spawn().await;
    let (admin, employee) = one_agent_desk(&app).await;

    const BURST: i64 = 400;
    let submissions = futures::stream::iter(0..BURST).map(|n| {
        let employee = employee.clone();
        async move { submit(&employee, &format!("Burst {n}"), json!({})).await }
    });
    let tickets: Vec<i64> = submissions.buffer_unordered(32).collect().await;
    assert_eq!(tickets.len(), usize::try_from(BURST).unwrap());

    let mut routed = 0;
    for _ in 0..400 {
        routed = scalar(&app, "SELECT COUNT(*) FROM tasks").await;
        if routed >= BURST {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(routed, BURST, "every ticket of the burst gets its task");
    assert_eq!(
        scalar(&app, "SELECT COUNT(DISTINCT ticket_id) FROM tasks").await,
        BURST,
        "one task per ticket"
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE processed_at IS NULL AND topic = 'ticket.created'"
        )
        .await,
        0
    );
    let last = tickets.iter().max().unwrap();
    assert_eq!(holder(&task_of(&admin, *last).await), "agent@example.com");
}

#[tokio::test]
async fn two_actions_at_once_on_one_task_apply_once() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent_id = app.user("agent@example.com", SystemRole::Agent).await;
    app.user("employee@example.com", SystemRole::Employee).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let agent = signed_in(&app, "agent@example.com").await;
    let employee = signed_in(&app, "employee@example.com").await;
    let role = role_with(&admin, "Desk", &[agent_id]).await;
    simple_workflow(&admin, "Everything", role, None, 48).await;
    let ticket = submit(&employee, "Twice", json!({})).await;
    let task = task_of(&agent, ticket).await;
    let path = format!("/api/v1/tasks/{}/transition/", task["id"]);
    let body = json!({ "transition_id": action_id(&task, "Finish") });
    let (a, b) = tokio::join!(
        agent.post(&path, body.clone()),
        agent.post(&path, body.clone())
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let (_, task) = agent.get(&format!("/api/v1/tasks/{}/", task["id"])).await;
    assert_eq!(task["status"], "completed");
    assert_eq!(
        task["items"][0]["history"].as_array().unwrap().len(),
        2,
        "new, resolved: {task}"
    );

    // Acting again on the completed task is refused too.
    let (status, answer) = agent.post(&path, body).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("completed"),
        "{answer}"
    );
}

#[tokio::test]
async fn the_sla_monitor_warns_breaches_and_escalates_once() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent_id = app.user("agent@example.com", SystemRole::Agent).await;
    let lead_id = app.user("lead@example.com", SystemRole::Agent).await;
    app.user("employee@example.com", SystemRole::Employee).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let agent = signed_in(&app, "agent@example.com").await;
    let lead = signed_in(&app, "lead@example.com").await;
    let employee = signed_in(&app, "employee@example.com").await;
    let desk = role_with(&admin, "Desk", &[agent_id]).await;
    let leads = role_with(&admin, "Leads", &[lead_id]).await;
    simple_workflow(&admin, "Everything", desk, Some(leads), 100).await;
    let ticket = submit(&employee, "Slow one", json!({})).await;
    let task = task_of(&agent, ticket).await;
    assert_eq!(holder(&task), "agent@example.com");
    let kinds = async |caller: &As<'_>| -> Vec<String> {
        let (_, notes) = caller.get("/api/v1/notifications/inapp/").await;
        notes["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let count = |kinds: &[String], kind: &str| kinds.iter().filter(|k| *k == kind).count();

    // Before 75 %: nothing. At 76 h of 100: one warning for the step and one for the task,
    // however many monitors run at once and however often.
    let clock = app.services().clock();
    clock.advance(Duration::from_secs(70 * 3600));
    let pass = services::tasks::monitor_sla(app.db(), clock.now())
        .await
        .unwrap();
    assert_eq!(pass, Default::default());
    clock.advance(Duration::from_secs(6 * 3600));
    let now = clock.now();
    let db = app.db();
    let (a, b, c) = tokio::join!(
        services::tasks::monitor_sla(db, now),
        services::tasks::monitor_sla(db, now),
        services::tasks::monitor_sla(db, now),
    );
    assert_eq!(a.unwrap().warned + b.unwrap().warned + c.unwrap().warned, 2);
    services::tasks::monitor_sla(db, now).await.unwrap();
    let seen = kinds(&agent).await;
    assert_eq!(count(&seen, "sla.warning"), 2, "{seen:?}");
    let (_, task) = agent.get(&format!("/api/v1/tasks/{}/", task["id"])).await;
    assert_eq!(task["sla_state"], "warning");

    // Past 100 h: the item is breached and escalated to the Leads role; once.
    clock.advance(Duration::from_secs(25 * 3600));
    let now = clock.now();
    let (a, b) = tokio::join!(
        services::tasks::monitor_sla(db, now),
        services::tasks::monitor_sla(db, now)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.escalated + b.escalated, 1, "{a:?} {b:?}");
    assert_eq!(
        a.breached + b.breached,
        2,
        "the item and the task: {a:?} {b:?}"
    );
    services::tasks::monitor_sla(db, now).await.unwrap();
    // The holder hears of the step's breach; the lead, who holds the task by the time the
    // whole task's breach is found, of that one.
    let seen = kinds(&agent).await;
    assert_eq!(count(&seen, "sla.breached"), 1, "{seen:?}");
    let seen = kinds(&lead).await;
    assert_eq!(count(&seen, "task.assigned"), 1, "{seen:?}");
    assert_eq!(count(&seen, "sla.breached"), 1, "{seen:?}");
    let (_, task) = lead.get(&format!("/api/v1/tasks/{}/", task["id"])).await;
    assert_eq!(holder(&task), "lead@example.com");
    assert_eq!(task["sla_state"], "breached");
    let items = task["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["status"], "escalated");
    assert_eq!(items[1]["origin"], "escalation");
    let history: Vec<&str> = items[0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["new", "breached", "escalated"]);

    // The lead can act; the breach is in the audit log.
    let task = act(&lead, &task, "Finish", "Done late").await;
    assert_eq!(task["status"], "completed");
    let (status, audit) = admin.get("/api/v1/audit/?action=task.sla_breached").await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(audit["count"], 2);
    let (status, _) = employee.get("/api/v1/audit/").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn tickets_nobody_can_take_wait_in_triage_until_an_admin_retries() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent_id = app.user("agent@example.com", SystemRole::Agent).await;
    app.user("employee@example.com", SystemRole::Employee).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let employee = signed_in(&app, "employee@example.com").await;

    // No workflow at all: triage, and the admin is told.
    let ticket = submit(&employee, "Nobody's", json!({})).await;
    let mut queue = Value::Null;
    for _ in 0..200 {
        queue = admin.get("/api/v1/triage/").await.1;
        if !queue.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(queue[0]["ticket_id"], ticket, "{queue}");
    assert_eq!(queue[0]["reason"], "no_workflow");
    let (_, notes) = admin.get("/api/v1/notifications/inapp/").await;
    assert_eq!(notes["results"][0]["kind"], "triage.waiting", "{notes}");

    // A workflow whose role has nobody: the task starts, unassigned, in triage again.
    let role = role_with(&admin, "Empty", &[]).await;
    simple_workflow(&admin, "Everything", role, None, 48).await;
    let (status, queue) = admin
        .post(
            &format!("/api/v1/triage/{}/retry/", queue[0]["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue[0]["reason"], "no_assignee", "{queue}");
    let task = task_of(&admin, ticket).await;
    assert!(task["assignee"].is_null());

    // Once the role has a member, retrying assigns it.
    let (status, _) = admin
        .post(
            &format!("/api/v1/roles/{role}/members/"),
            json!({ "user_id": agent_id }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, queue) = admin
        .post(
            &format!("/api/v1/triage/{}/retry/", queue[0]["id"]),
            json!({}),
        )
        .await;
    assert_eq!(queue, json!([]));
    let task = task_of(&admin, ticket).await;
    assert_eq!(holder(&task), "agent@example.com");
    let (status, _) = employee.get("/api/v1/triage/").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn workflows_are_designed_validated_deployed_and_versioned() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent_id = app.user("agent@example.com", SystemRole::Agent).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let agent = signed_in(&app, "agent@example.com").await;
    let role = role_with(&admin, "Desk", &[agent_id]).await;

    let (status, workflow) = admin
        .post("/api/v1/workflows/", json!({ "name": "Onboarding" }))
        .await;
    assert_eq!(status, 201, "{workflow}");
    let id = workflow["id"].as_i64().unwrap();
    assert_eq!(workflow["status"], "draft");
    let codes = |w: &Value| -> Vec<String> {
        w["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        codes(&workflow).contains(&"no_start_step".to_owned()),
        "{workflow}"
    );

    // Deploying an invalid draft: 422 listing the problems.
    let (status, refused) = admin
        .post(&format!("/api/v1/workflows/{id}/deploy/"), json!({}))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("start step"),
        "{refused}"
    );

    // Steps and transitions one at a time.
    let (status, w) = admin
        .post(
            "/api/v1/steps/",
            json!({ "workflow_id": id, "name": "Prepare", "role": role, "is_start": true }),
        )
        .await;
    assert_eq!(status, 201, "{w}");
    let (_, w) = admin
        .post(
            "/api/v1/steps/",
            json!({ "workflow_id": id, "name": "Welcome", "role": role, "is_end": true }),
        )
        .await;
    let step = |w: &Value, name: &str| {
        w["graph"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (prepare, welcome) = (step(&w, "Prepare"), step(&w, "Welcome"));
    let (status, w) = admin
        .post(
            "/api/v1/transitions/",
            json!({ "from": prepare, "to": welcome, "action": "Ready" }),
        )
        .await;
    assert_eq!(status, 201, "{w}");
    assert!(codes(&w).iter().all(|c| c == "missing_sla"), "{w}");
    assert_eq!(codes(&w).len(), 4, "one per priority: {w}");
    let (status, w) = admin
        .call(
            "PATCH",
            &format!("/api/v1/workflows/{id}/"),
            Some(json!({ "sla": { "low": 3600, "medium": 3600, "high": 3600, "urgent": 1800 } })),
        )
        .await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["problems"], json!([]));

    // A save from a stale revision is refused; the graph is not changed.
    let (status, stale) = admin
        .call(
            "PUT",
            &format!("/api/v1/workflows/{id}/graph/"),
            Some(json!({ "revision": 1, "graph": { "steps": [], "transitions": [] } })),
        )
        .await;
    assert_eq!(status, 409, "{stale}");
    let (_, steps) = admin.get(&format!("/api/v1/steps/?workflow={id}")).await;
    assert_eq!(steps.as_array().unwrap().len(), 2);

    // Deployed as version 1; editing afterwards makes a draft that differs, version 1 stays.
    let (status, v1) = admin
        .post(&format!("/api/v1/workflows/{id}/deploy/"), json!({}))
        .await;
    assert_eq!(status, 201, "{v1}");
    assert_eq!(v1["number"], 1);
    assert_eq!(v1["is_current"], true);
    let (status, w) = admin
        .call(
            "PUT",
            &format!("/api/v1/steps/{welcome}/"),
            Some(json!({ "name": "Welcomed", "role": role, "is_end": true })),
        )
        .await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["has_undeployed_changes"], true);
    assert_eq!(w["status"], "deployed");
    let (_, v) = admin
        .get(&format!("/api/v1/workflows/{id}/versions/1/"))
        .await;
    assert!(
        v["graph"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "Welcome")
    );
    let (_, v2) = admin
        .post(&format!("/api/v1/workflows/{id}/deploy/"), json!({}))
        .await;
    assert_eq!(v2["number"], 2);
    assert_eq!(
        v2["graph"]["steps"][1]["id"], welcome,
        "step ids stay across versions"
    );
    let (_, versions) = agent
        .get(&format!("/api/v1/workflows/{id}/versions/"))
        .await;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert_eq!(versions[0]["is_current"], true);
    assert_eq!(versions[1]["is_current"], false);

    // Pause and resume; a deployed workflow cannot be deleted.
    let (status, w) = admin
        .post(&format!("/api/v1/workflows/{id}/pause/"), json!({}))
        .await;
    assert_eq!((status, w["status"].as_str()), (200, Some("paused")));
    let (status, _) = admin
        .post(&format!("/api/v1/workflows/{id}/pause/"), json!({}))
        .await;
    assert_eq!(status, 409);
    let (status, w) = admin
        .post(&format!("/api/v1/workflows/{id}/resume/"), json!({}))
        .await;
    assert_eq!((status, w["status"].as_str()), (200, Some("deployed")));
    let (status, _) = admin
        .call("DELETE", &format!("/api/v1/workflows/{id}/"), None)
        .await;
    assert_eq!(status, 409);

    // Another workflow with the same (empty) match set cannot be deployed: no ties.
    let (_, other) = admin.post("/api/v1/workflows/", json!({ "name": "Second catch-all", "sla": { "low": 60, "medium": 60, "high": 60, "urgent": 60 } })).await;
    let other_id = other["id"].as_i64().unwrap();
    admin
        .call(
            "PUT",
            &format!("/api/v1/workflows/{other_id}/graph/"),
            Some(json!({
            "revision": other["revision"],
            "graph": { "steps": [
                { "id": -1, "name": "A", "role": role, "is_start": true },
                { "id": -2, "name": "B", "role": role, "is_end": true } ],
              "transitions": [{ "id": -1, "from": -1, "to": -2, "action": "Go" }] } })),
        )
        .await;
    let (status, refused) = admin
        .post(&format!("/api/v1/workflows/{other_id}/deploy/"), json!({}))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Onboarding"),
        "{refused}"
    );
    // A never-deployed draft can be deleted.
    let (status, _) = admin
        .call("DELETE", &format!("/api/v1/workflows/{other_id}/"), None)
        .await;
    assert_eq!(status, 204);

    // Every change is in the audit log.
    let (_, audit) = admin
        .get(&format!(
            "/api/v1/audit/?target_kind=workflow&target_id={id}&page_size=100"
        ))
        .await;
    let actions: Vec<&str> = audit["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "workflow.created",
        "workflow.step_added",
        "workflow.transition_added",
        "workflow.updated",
        "workflow.deployed",
        "workflow.paused",
        "workflow.resumed",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn wrong_workflow_input_gets_a_clear_4xx() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    app.user("agent@example.com", SystemRole::Agent).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let agent = signed_in(&app, "agent@example.com").await;
    let (_, w) = admin
        .post("/api/v1/workflows/", json!({ "name": "Exists" }))
        .await;
    let id = w["id"].as_i64().unwrap();
    let graph_path = format!("/api/v1/workflows/{id}/graph/");
    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        (
            "POST",
            "/api/v1/workflows/",
            json!({ "name": "exists" }),
            409,
            "already exists",
        ),
        (
            "POST",
            "/api/v1/workflows/",
            json!({ "name": "" }),
            400,
            "name",
        ),
        ("POST", "/api/v1/workflows/", json!({}), 400, "name"),
        (
            "POST",
            "/api/v1/workflows/",
            json!({ "name": "x".repeat(101) }),
            400,
            "name",
        ),
        (
            "POST",
            "/api/v1/workflows/",
            json!({ "name": "A", "category_id": 999 }),
            400,
            "category_id",
        ),
        (
            "POST",
            "/api/v1/workflows/",
            json!({ "name": "A", "sla": { "low": -5 } }),
            400,
            "sla.low",
        ),
        (
            "POST",
            "/api/v1/workflows/",
            json!({ "name": "A", "end_logic": "teleport" }),
            400,
            "end_logic",
        ),
        (
            "POST",
            "/api/v1/workflows/",
            json!({ "name": "A", "colour": "red" }),
            400,
            "colour",
        ),
        (
            "PUT",
            &graph_path,
            json!({ "revision": 1, "graph": { "steps": [{ "id": 1, "name": "A" }, { "id": 1, "name": "B" }] } }),
            400,
            "repeats",
        ),
        (
            "PUT",
            &graph_path,
            json!({ "revision": 1, "graph": { "steps": [{ "id": 1, "name": "A" }], "transitions": [{ "id": 1, "from": 1, "to": 7, "action": "Go" }] } }),
            400,
            "not a step",
        ),
        (
            "PUT",
            &graph_path,
            json!({ "revision": 1, "graph": { "steps": [{ "id": 1, "name": "A", "role": 12345 }] } }),
            400,
            "workflow role",
        ),
        (
            "PUT",
            &graph_path,
            json!({ "revision": 1, "graph": { "steps": [{ "id": 1, "name": "A".repeat(101) }] } }),
            400,
            "at most",
        ),
        (
            "POST",
            "/api/v1/steps/",
            json!({ "name": "No workflow" }),
            400,
            "workflow_id",
        ),
        (
            "POST",
            "/api/v1/steps/",
            json!({ "workflow_id": 424242, "name": "A" }),
            404,
            "Workflow",
        ),
        (
            "PUT",
            "/api/v1/steps/424242/",
            json!({ "name": "A" }),
            404,
            "Step",
        ),
        (
            "POST",
            "/api/v1/transitions/",
            json!({ "from": 424242, "to": 1, "action": "Go" }),
            404,
            "Step",
        ),
        ("GET", "/api/v1/steps/", json!(null), 400, "workflow"),
        (
            "POST",
            "/api/v1/tasks/424242/transition/",
            json!({ "transition_id": 1 }),
            404,
            "Task",
        ),
        (
            "GET",
            "/api/v1/tasks/?scope=everyone",
            json!(null),
            400,
            "scope",
        ),
        (
            "GET",
            "/api/v1/audit/?page_size=1000",
            json!(null),
            400,
            "page_size",
        ),
        (
            "POST",
            "/api/v1/notifications/inapp/424242/read/",
            json!({}),
            404,
            "Notification",
        ),
    ];
    for (method, path, body, expected, mentions) in cases {
        let body = (!body.is_null()).then_some(body);
        let (status, answer) = admin.call(method, path, body.clone()).await;
        assert_eq!(status, expected, "{method} {path} {body:?}: {answer}");
        let text = answer.to_string();
        assert!(
            text.contains(mentions),
            "{method} {path}: {mentions} not in {text}"
        );
    }
    // The failed saves left the draft as it was.
    let (_, w) = admin.get(&format!("/api/v1/workflows/{id}/")).await;
    assert_eq!(w["graph"]["steps"], json!([]));
    assert_eq!(w["revision"], 1);
    // Agents read workflows but do not change them.
    let (status, _) = agent.get(&format!("/api/v1/workflows/{id}/")).await;
    assert_eq!(status, 200);
    let (status, _) = agent
        .post("/api/v1/workflows/", json!({ "name": "Mine" }))
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_least_loaded_role_gives_work_to_the_member_with_the_fewest_open_items() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let a = app.user("a@example.com", SystemRole::Agent).await;
    let b = app.user("b@example.com", SystemRole::Agent).await;
    app.user("employee@example.com", SystemRole::Employee).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let employee = signed_in(&app, "employee@example.com").await;
    let role = role_with(&admin, "Desk", &[a, b]).await;
    let (status, changed) = admin
        .call(
            "PATCH",
            &format!("/api/v1/roles/{role}/"),
            Some(json!({ "name": "Desk", "assignment": "least_loaded" })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["assignment"], "least_loaded");
    simple_workflow(&admin, "Everything", role, None, 48).await;

    let first = task_of(&admin, submit(&employee, "One", json!({})).await).await;
    let second = task_of(&admin, submit(&employee, "Two", json!({})).await).await;
    assert_eq!(
        (holder(&first), holder(&second)),
        ("a@example.com".into(), "b@example.com".into())
    );
    // b finishes; a still has one open item, so the third goes to b again (round robin would
    // have given it to a).
    let b_caller = signed_in(&app, "b@example.com").await;
    act(&b_caller, &second, "Finish", "").await;
    let third = task_of(&admin, submit(&employee, "Three", json!({})).await).await;
    assert_eq!(holder(&third), "b@example.com");

    let (status, refused) = admin
        .call(
            "PATCH",
            &format!("/api/v1/roles/{role}/"),
            Some(json!({ "name": "Desk", "assignment": "random" })),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
}

#[tokio::test]
async fn an_asset_system_that_keeps_failing_is_retried_then_given_up_visibly() {
    let (ams_url, ams) = fake_system(usize::MAX).await;
    let app = spawn_with_config(|raw| raw.ams_url = Some(ams_url.clone())).await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent_id = app.user("agent@example.com", SystemRole::Agent).await;
    app.user("employee@example.com", SystemRole::Employee).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let agent = signed_in(&app, "agent@example.com").await;
    let employee = signed_in(&app, "employee@example.com").await;
    let role = role_with(&admin, "Desk", &[agent_id]).await;
    let workflow = simple_workflow(&admin, "Everything", role, None, 48).await;
    let (status, _) = admin
        .call(
            "PATCH",
            &format!("/api/v1/workflows/{workflow}/"),
            Some(json!({ "end_logic": "asset" })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, version) = admin
        .post(&format!("/api/v1/workflows/{workflow}/deploy/"), json!({}))
        .await;
    assert_eq!((status, version["number"].as_i64()), (201, Some(2)));

    let ticket = submit(&employee, "Register my new phone", json!({})).await;
    let task = task_of(&agent, ticket).await;
    assert_eq!(task["version"], 2);
    let task = act(&agent, &task, "Finish", "").await;
    let task_id = task["id"].as_i64().unwrap();

    // Each retry comes after its backoff (the clock is moved past the longest, ten minutes,
    // while the test waits); after the eighth attempt the call is given up, and says so.
    for _ in 0..400 {
        let (_, task) = agent.get(&format!("/api/v1/tasks/{task_id}/")).await;
        if task["end_logic_status"] == "gave_up" {
            assert!(
                task["end_logic_detail"]
                    .as_str()
                    .unwrap()
                    .contains("after 8 attempts"),
                "{task}"
            );
            assert_eq!(
                task["ticket_status"], "resolved",
                "the ticket stays resolved"
            );
            break;
        }
        if task["end_logic_status"] == "failed" {
            assert!(
                task["end_logic_detail"].as_str().unwrap().contains("503"),
                "{task}"
            );
        }
        app.services().clock().advance(Duration::from_secs(601));
        app.services().outbox_wake().wrote();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(ams.calls.lock().unwrap().len(), 8);
    let (_, task) = agent.get(&format!("/api/v1/tasks/{task_id}/")).await;
    assert_eq!(task["end_logic_status"], "gave_up", "{task}");
    let (_, seen_by_requester) = employee.get(&format!("/api/v1/tasks/{task_id}/")).await;
    assert!(
        seen_by_requester["end_logic_status"].is_null()
            && seen_by_requester["end_logic_detail"].is_null(),
        "the requester reads nothing of the failed call: {seen_by_requester}"
    );
    // Nothing more is tried by itself.
    app.services().clock().advance(Duration::from_secs(3600));
    app.services().outbox_wake().wrote();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ams.calls.lock().unwrap().len(), 8);

    // Until someone on the desk asks for it: Retry sends it again at once, from scratch, and
    // the outcome shows as it did. The requester may not; a call that has not failed cannot be
    // retried.
    let retry = format!("/api/v1/tasks/{task_id}/end-logic/retry/");
    let (status, refused) = employee.post(&retry, json!(null)).await;
    assert_eq!(status, 403, "{refused}");
    let (status, task) = agent.post(&retry, json!(null)).await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["end_logic_status"], "pending", "{task}");
    assert!(
        task["end_logic_detail"]
            .as_str()
            .unwrap()
            .contains("Test Agent"),
        "{task}"
    );
    let failed = end_logic_reaches(&app, &agent, task_id, "failed").await;
    assert!(
        failed["end_logic_detail"]
            .as_str()
            .unwrap()
            .contains("attempt 1"),
        "a retry starts the count again: {failed}"
    );
    assert_eq!(ams.calls.lock().unwrap().len(), 9);
    let (status, refused) = agent.post(&retry, json!(null)).await;
    assert_eq!(
        status, 200,
        "a call waiting for its next attempt may be sent now: {refused}"
    );
    let (status, refused) = agent
        .post("/api/v1/tasks/999999/end-logic/retry/", json!(null))
        .await;
    assert_eq!(status, 404, "{refused}");
    let (_, audit) = admin
        .get("/api/v1/audit/?action=task.end_logic_retried")
        .await;
    assert!(
        audit.to_string().contains("task.end_logic_retried"),
        "{audit}"
    );
}

#[tokio::test]
async fn changes_to_tickets_and_users_are_in_the_audit_log_with_before_and_after() {
    let app = spawn().await;
    let admin_id = app.user("admin@example.com", SystemRole::Admin).await;
    let employee_id = app.user("employee@example.com", SystemRole::Employee).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let employee = signed_in(&app, "employee@example.com").await;
    let ticket = submit(&employee, "Audit me", json!({})).await;
    let (status, _) = admin
        .post(
            &format!("/api/v1/tickets/{ticket}/status/"),
            json!({ "status": "on_hold", "note": "Waiting for parts" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = admin
        .call(
            "PATCH",
            &format!("/api/v1/users/{employee_id}/"),
            Some(json!({ "full_name": "Emma Renamed" })),
        )
        .await;
    assert_eq!(status, 200);

    let (_, audit) = admin
        .get(&format!(
            "/api/v1/audit/?target_kind=ticket&target_id={ticket}&action=ticket.status_changed"
        ))
        .await;
    assert_eq!(audit["count"], 1, "{audit}");
    let event = &audit["results"][0];
    assert_eq!(event["actor"], format!("user:{admin_id}"));
    assert_eq!(event["before"]["status"], "new");
    assert_eq!(event["after"]["status"], "on_hold");
    assert_eq!(event["after"]["note"], "Waiting for parts");
    let (_, audit) = admin
        .get(&format!(
            "/api/v1/audit/?action=user.&target_kind=user&target_id={employee_id}"
        ))
        .await;
    // Newest first: the rename, then the creation.
    assert_eq!(audit["count"], 2, "{audit}");
    assert_eq!(audit["results"][0]["action"], "user.updated");
    assert_eq!(audit["results"][0]["before"]["full_name"], "Test Employee");
    assert_eq!(audit["results"][0]["after"]["full_name"], "Emma Renamed");
    assert_eq!(audit["results"][0]["actor_name"], "Test Admin");
    assert_eq!(audit["results"][1]["action"], "user.created");
    assert_eq!(
        audit["results"][1]["after"]["email"],
        "employee@example.com"
    );
}

#[tokio::test]
async fn invitations_role_membership_policies_and_api_keys_are_audited() {
    let app = spawn().await;
    let admin_id = app.user("admin@example.com", SystemRole::Admin).await;
    let agent_id = app.user("agent@example.com", SystemRole::Agent).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let actor = format!("user:{admin_id}");

    let (status, invited) = admin
        .post(
            "/api/v1/users/",
            json!({ "email": "new.hire@example.com", "full_name": "New Hire",
                    "roles": [{ "system": "tts", "role": "Agent" }] }),
        )
        .await;
    assert_eq!(status, 201, "{invited}");
    let (status, role) = admin
        .post(
            "/api/v1/roles/",
            json!({ "name": "Audited", "assignment": "least_loaded" }),
        )
        .await;
    assert_eq!(status, 201, "{role}");
    let role_id = role["id"].as_i64().unwrap();
    let members = format!("/api/v1/roles/{role_id}/members/");
    assert_eq!(
        admin.post(&members, json!({ "user_id": agent_id })).await.0,
        200
    );
    // Setting what is already set records nothing.
    assert_eq!(
        admin.post(&members, json!({ "user_id": agent_id })).await.0,
        200
    );
    assert_eq!(
        admin
            .post(&members, json!({ "user_id": agent_id, "is_active": false }))
            .await
            .0,
        200
    );
    let (status, _) = admin
        .call("DELETE", &format!("{members}{agent_id}/"), None)
        .await;
    assert_eq!(status, 204);
    let (status, key) = admin
        .post(
            "/api/v1/api-keys/",
            json!({ "name": "Audited key", "scopes": ["tickets:submit"] }),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let key_id = key["summary"]["id"].as_i64().unwrap();
    let (status, _) = admin
        .call("DELETE", &format!("/api/v1/api-keys/{key_id}/"), None)
        .await;
    assert_eq!(status, 204);

    let (_, audit) = admin.get("/api/v1/audit/?page_size=100").await;
    let ours: Vec<(String, Value)> = audit["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == actor.as_str())
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e.clone()))
        .collect();
    let actions: Vec<&str> = ours.iter().rev().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.created",
            "role.created",
            "role.assignment_changed",
            "role.member_added",
            "role.member_changed",
            "role.member_removed",
            "api_key.created",
            "api_key.revoked",
        ],
        "{audit}"
    );
    let find = |action: &str| &ours.iter().find(|(a, _)| a == action).unwrap().1;
    assert_eq!(find("user.created")["after"]["invited"], true);
    assert_eq!(find("user.created")["after"]["roles"], json!(["tts:Agent"]));
    assert_eq!(find("role.member_changed")["before"]["is_active"], true);
    assert_eq!(find("role.member_changed")["after"]["is_active"], false);
    // The secret never reaches the log.
    let secret = key["key"].as_str().unwrap();
    assert!(!audit.to_string().contains(secret));
    assert_eq!(
        find("api_key.created")["after"]["scopes"],
        json!(["tickets:submit"])
    );
}

#[tokio::test]
async fn a_holder_escalates_to_the_escalation_role_and_then_to_an_admin() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent_id = app.user("agent@example.com", SystemRole::Agent).await;
    let lead_id = app.user("lead@example.com", SystemRole::Agent).await;
    app.user("employee@example.com", SystemRole::Employee).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let agent = signed_in(&app, "agent@example.com").await;
    let lead = signed_in(&app, "lead@example.com").await;
    let employee = signed_in(&app, "employee@example.com").await;
    let desk = role_with(&admin, "Desk", &[agent_id]).await;
    let leads = role_with(&admin, "Leads", &[lead_id]).await;
    simple_workflow(&admin, "Everything", desk, Some(leads), 48).await;
    let ticket = submit(&employee, "Beyond me", json!({})).await;
    let task = task_of(&agent, ticket).await;

    let escalate = async |caller: &As<'_>, task: &Value| {
        caller
            .post(
                &format!("/api/v1/tasks/{}/escalate/", task["id"]),
                json!({ "notes": "Needs a decision", "revision": task["revision"] }),
            )
            .await
    };
    // A stale revision is refused; the holder escalates to the Leads role.
    let (status, _) = agent
        .post(
            &format!("/api/v1/tasks/{}/escalate/", task["id"]),
            json!({ "revision": 999 }),
        )
        .await;
    assert_eq!(status, 409);
    let (status, task) = escalate(&agent, &task).await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(holder(&task), "lead@example.com");
    assert_eq!(task["items"][1]["origin"], "escalation");
    // The former holder can no longer act.
    let (status, _) = escalate(&agent, &task).await;
    assert_eq!(status, 403);
    // The lead escalates again: nobody else in Leads, so the least busy admin takes it.
    let (status, task) = escalate(&lead, &task).await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(holder(&task), "admin@example.com");
    // The only admin escalating finds nobody left: a clear 409, the task unchanged.
    let (status, answer) = escalate(&admin, &task).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no one to escalate to"),
        "{answer}"
    );
    let (_, after) = admin.get(&format!("/api/v1/tasks/{}/", task["id"])).await;
    assert_eq!(holder(&after), "admin@example.com");
    assert_eq!(after["revision"], task["revision"]);
}

/// Calls one of the visual editor's server functions as the running app does, with the
/// caller's bearer token: `save-draft` takes JSON, `draft-from-version` a form.
async fn editor_call(caller: &As<'_>, endpoint: &str, body: EditorBody<'_>) -> (u16, Value) {
    let request = common::client()
        .post(caller.app.url(&format!("/api/admin/workflows/{endpoint}")))
        .bearer_auth(&caller.token)
        .header("accept", "application/json");
    let request = match body {
        EditorBody::Json(json) => request.json(&json),
        EditorBody::Form(form) => request.form(form),
        EditorBody::Raw(text) => request
            .header("content-type", "application/json")
            .body(text.to_owned()),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

enum EditorBody<'a> {
    Json(Value),
    Form(&'a [(&'a str, String)]),
    Raw(&'a str),
}

fn step_names(workflow: &Value) -> Vec<String> {
    let mut names: Vec<String> = workflow["graph"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_editor_saves_settings_and_graph_together_and_never_overwrites_another_save() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent_id = app.user("agent@example.com", SystemRole::Agent).await;
    let admin = signed_in(&app, "admin@example.com").await;
    let agent = signed_in(&app, "agent@example.com").await;
    let role = role_with(&admin, "Desk", &[agent_id]).await;
    let (status, workflow) = admin
        .post("/api/v1/workflows/", json!({ "name": "Laptops" }))
        .await;
    assert_eq!(status, 201, "{workflow}");
    let id = workflow["id"].as_i64().unwrap();
    let loaded_revision = workflow["revision"].as_i64().unwrap();

    // One save carries the settings and the graph; new steps (negative ids) get lasting ids.
    let hour = 3600;
    let graph = json!({
        "steps": [
            { "id": -1, "name": "Check stock", "role": role, "is_start": true, "position": { "x": 40.0, "y": 60.0 } },
            { "id": -2, "name": "Handed over", "role": role, "is_end": true, "position": { "x": 40.0, "y": 220.0 } },
        ],
        "transitions": [{ "id": -1, "from": -1, "to": -2, "action": "Hand over" }],
    });
    let save = |revision: i64, graph: Value, sla_hours: i64| {
        let sla = sla_hours * hour;
        json!({
            "id": id,
            "save": {
                "revision": revision,
                "settings": { "sla": { "low": sla, "medium": sla, "high": sla, "urgent": sla } },
                "graph": graph,
            },
        })
    };
    let (status, saved) = editor_call(
        &admin,
        "save-draft",
        EditorBody::Json(save(loaded_revision, graph.clone(), 8)),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(step_names(&saved), ["Check stock", "Handed over"]);
    assert!(
        saved["graph"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"].as_i64().unwrap() > 0),
        "saved steps have lasting ids: {saved}"
    );
    assert_eq!(saved["sla"]["urgent"], 8 * hour, "{saved}");
    assert!(saved["problems"].as_array().unwrap().is_empty(), "{saved}");
    let revision = saved["revision"].as_i64().unwrap();
    assert!(revision > loaded_revision);

    // Another admin's editor, still at the first revision, is refused and changes nothing.
    let stale_graph = json!({
        "steps": [{ "id": -1, "name": "Overwritten", "role": role, "is_start": true, "is_end": true }],
        "transitions": [],
    });
    let (status, refused) = editor_call(
        &admin,
        "save-draft",
        EditorBody::Json(save(loaded_revision, stale_graph, 1)),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    let (_, now) = admin.get(&format!("/api/v1/workflows/{id}/")).await;
    assert_eq!(step_names(&now), ["Check stock", "Handed over"]);
    assert_eq!(now["sla"]["urgent"], 8 * hour);
    assert_eq!(now["revision"], revision);

    // Wrong input: a clear 4xx each, and the draft stays as it was.
    let missing_step = json!({
        "steps": [{ "id": -1, "name": "Alone", "role": role, "is_start": true }],
        "transitions": [{ "id": -1, "from": -1, "to": -99, "action": "Nowhere" }],
    });
    let duplicate_ids = json!({
        "steps": [
            { "id": -1, "name": "A", "role": role, "is_start": true },
            { "id": -1, "name": "B", "role": role, "is_end": true },
        ],
        "transitions": [],
    });
    let unknown_role = json!({
        "steps": [{ "id": -1, "name": "A", "role": 424242, "is_start": true, "is_end": true }],
        "transitions": [],
    });
    let thousands: Vec<Value> = (1..=3000)
        .map(|i| json!({ "id": -i, "name": format!("Step {i}"), "role": role }))
        .collect();
    let thousands = json!({ "steps": thousands, "transitions": [] });
    let wrong: Vec<(EditorBody, u16)> = vec![
        (EditorBody::Json(save(revision, missing_step, 8)), 400),
        (EditorBody::Json(save(revision, duplicate_ids, 8)), 400),
        (EditorBody::Json(save(revision, unknown_role, 8)), 400),
        (EditorBody::Json(save(revision, thousands, 8)), 400),
        (EditorBody::Raw("{\"id\": "), 400),
        (
            EditorBody::Json(json!({ "id": id, "save": { "revision": revision } })),
            400,
        ),
        (
            EditorBody::Json(
                json!({ "id": id + 1000, "save": { "revision": 1, "settings": {}, "graph": { "steps": [], "transitions": [] } } }),
            ),
            404,
        ),
    ];
    for (body, expected) in wrong {
        let (status, answer) = editor_call(&admin, "save-draft", body).await;
        assert_eq!(status, expected, "{answer}");
    }
    let (status, answer) = editor_call(
        &agent,
        "save-draft",
        EditorBody::Json(save(revision, graph.clone(), 8)),
    )
    .await;
    assert_eq!(status, 403, "agents do not design workflows: {answer}");
    let (status, _) = common::client()
        .post(app.url("/api/admin/workflows/save-draft"))
        .json(&save(revision, graph.clone(), 8))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 401);
    let (_, now) = admin.get(&format!("/api/v1/workflows/{id}/")).await;
    assert_eq!(step_names(&now), ["Check stock", "Handed over"]);
    assert_eq!(now["revision"], revision);

    // Deploy version 1, change the draft, then take version 1 back as the draft.
    let (status, version) = admin
        .post(&format!("/api/v1/workflows/{id}/deploy/"), json!({}))
        .await;
    assert_eq!(status, 201, "{version}");
    let (_, deployed) = admin.get(&format!("/api/v1/workflows/{id}/")).await;
    let mut changed = deployed["graph"].clone();
    changed["steps"][0]["name"] = json!("Renamed after deploy");
    let (status, saved) = editor_call(
        &admin,
        "save-draft",
        EditorBody::Json(save(deployed["revision"].as_i64().unwrap(), changed, 24)),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert!(step_names(&saved).contains(&"Renamed after deploy".to_owned()));
    let revision = saved["revision"].as_i64().unwrap();

    let form = |number: i64, revision: i64| {
        vec![
            ("id", id.to_string()),
            ("number", number.to_string()),
            ("revision", revision.to_string()),
        ]
    };
    let (status, answer) = editor_call(
        &admin,
        "draft-from-version",
        EditorBody::Form(&form(1, revision - 1)),
    )
    .await;
    assert_eq!(status, 409, "a stale revision: {answer}");
    let (status, answer) = editor_call(
        &admin,
        "draft-from-version",
        EditorBody::Form(&form(7, revision)),
    )
    .await;
    assert_eq!(status, 404, "no version 7: {answer}");
    let (status, answer) = editor_call(
        &admin,
        "draft-from-version",
        EditorBody::Form(&[("id", id.to_string()), ("number", "one".to_owned())]),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let (status, restored) = editor_call(
        &admin,
        "draft-from-version",
        EditorBody::Form(&form(1, revision)),
    )
    .await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(step_names(&restored), ["Check stock", "Handed over"]);
    assert_eq!(restored["sla"]["urgent"], 8 * hour, "the version's SLA too");
}

/// The ticket's status and its workflow tell one story: resolving mid-workflow asks for
/// confirmation and ends the task (its clocks, its place in the inbox), and the requester's
/// "still broken" brings the workflow back where it stopped, to the same person.
#[tokio::test]
async fn resolving_mid_workflow_ends_the_task_once_confirmed_and_reopening_resumes_it() {
    let app = spawn().await;
    seed_demo(&app).await;
    let employee = demo(&app, "employee@example.com").await;
    let admin = demo(&app, "admin@example.com").await;
    let ticket = submit(&employee, "The VPN drops every hour", json!({})).await;
    let task = task_of(&employee, ticket).await;
    let step = task["current_step_name"].as_str().unwrap().to_owned();
    let holder_email = holder(&task);
    let agent = demo(&app, &holder_email).await;
    let status_url = format!("/api/v1/tickets/{ticket}/status/");

    // While the workflow runs, it sets the open statuses.
    let (status, refused) = agent
        .post(&status_url, json!({ "status": "on_hold" }))
        .await;
    assert_eq!(status, 409, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains(&step), "names where it is: {message}");
    // Resolving asks for confirmation first, saying what it ends.
    let (status, refused) = agent
        .post(
            &status_url,
            json!({ "status": "resolved", "note": "Fixed on the phone" }),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]["details"]["end_workflow"].is_string(),
        "{refused}"
    );
    let (_, unchanged) = agent.get(&format!("/api/v1/tickets/{ticket}/")).await;
    assert_eq!(
        unchanged["status"],
        task_of(&agent, ticket).await["ticket_status"]
    );
    assert_ne!(unchanged["status"], "resolved");

    let (status, resolved) = agent
        .post(
            &status_url,
            json!({ "status": "resolved", "note": "Fixed on the phone", "end_workflow": true }),
        )
        .await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["assignee"]["email"], holder_email.as_str());
    let ended = task_of(&agent, ticket).await;
    assert_eq!(ended["status"], "cancelled", "{ended}");
    assert_eq!(ended["actions"], json!([]), "{ended}");
    assert_eq!(
        ended["assignee"]["email"],
        holder_email.as_str(),
        "the panel names who had it, as the details do: {ended}"
    );
    let last_item = ended["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last_item["status"], "cancelled", "{ended}");
    let (_, inbox) = agent.get("/api/v1/tasks/").await;
    assert!(
        !inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ticket_id"] == ticket),
        "an ended task leaves the inbox: {inbox}"
    );
    let (_, history) = agent
        .get(&format!("/api/v1/tickets/{ticket}/history/"))
        .await;
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "workflow_ended"
                && e["from_value"] == step.as_str()
                && e["note"] == "Fixed on the phone"),
        "{history}"
    );
    let (_, audit) = admin.get("/api/v1/audit/?action=task.cancelled").await;
    assert!(
        audit["results"]
            .as_array()
            .is_some_and(|events| events.iter().any(|e| e["target_id"] == ended["id"])),
        "{audit}"
    );
    // Acting on the ended task is refused.
    let (status, _) = agent
        .post(
            &format!("/api/v1/tasks/{}/transition/", ended["id"]),
            json!({ "transition_id": task["actions"].as_array().and_then(|a| a.first()).map_or(json!(1), |a| a["transition_id"].clone()) }),
        )
        .await;
    assert!(matches!(status, 400 | 409), "{status}");

    // The requester says it is still broken: a reason is required.
    let reopen_url = format!("/api/v1/tickets/{ticket}/reopen/");
    let (status, wrong) = employee.post(&reopen_url, json!({ "note": "  " })).await;
    assert_eq!(status, 400, "{wrong}");
    let (status, wrong) = employee.post(&reopen_url, json!({})).await;
    assert_eq!(status, 400, "{wrong}");
    let (status, wrong) = employee
        .post(&reopen_url, json!({ "note": "x".repeat(2001) }))
        .await;
    assert_eq!(status, 400, "{wrong}");
    let (status, reopened) = employee
        .post(&reopen_url, json!({ "note": "It dropped again at noon." }))
        .await;
    assert_eq!(status, 200, "{reopened}");
    assert_eq!(reopened["status"], "open");
    assert!(reopened["resolved_at"].is_null(), "{reopened}");
    let resumed = task_of(&agent, ticket).await;
    assert_eq!(resumed["status"], "open", "{resumed}");
    assert_eq!(resumed["current_step_name"], step.as_str(), "{resumed}");
    assert_eq!(
        holder(&resumed),
        holder_email,
        "back to who had it: {resumed}"
    );
    let last_item = resumed["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last_item["origin"], "reopened", "{resumed}");
    assert_eq!(resumed["sla_state"], "on_track", "fresh clocks: {resumed}");
    let (_, inbox) = agent.get("/api/v1/tasks/").await;
    assert!(
        inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ticket_id"] == ticket),
        "{inbox}"
    );
    let (_, history) = agent
        .get(&format!("/api/v1/tickets/{ticket}/history/"))
        .await;
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "status"
                && e["to_value"] == "open"
                && e["note"] == "It dropped again at noon."),
        "{history}"
    );
    // Reopening an open ticket is refused.
    let (status, refused) = employee.post(&reopen_url, json!({ "note": "Again" })).await;
    assert_eq!(status, 409, "{refused}");

    // Closed: the requester submits a new ticket instead.
    let (status, closed) = agent
        .post(
            &status_url,
            json!({ "status": "closed", "end_workflow": true }),
        )
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(task_of(&agent, ticket).await["status"], "cancelled");
    let (status, refused) = employee.post(&reopen_url, json!({ "note": "Still" })).await;
    assert_eq!(status, 409, "{refused}");
    // Another employee's ticket is out of reach.
    let (status, _) = demo(&app, "noah@example.com")
        .await
        .post(&reopen_url, json!({ "note": "Not mine" }))
        .await;
    assert_eq!(status, 404);
    app.stop().await;
}

/// A workflow that reached its end resumes at the last step worked when its ticket is
/// reopened; finishing again calls no end logic a second time.
#[tokio::test]
async fn a_finished_workflow_resumes_at_its_last_step_when_the_ticket_is_reopened() {
    let app = spawn().await;
    let (_admin, employee) = one_agent_desk(&app).await;
    let agent = signed_in(&app, "agent@example.com").await;
    let ticket = submit(&employee, "Monitor flickers", json!({})).await;
    let task = task_of(&agent, ticket).await;
    let done = act(&agent, &task, "Finish", "Swapped the cable").await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["ticket_status"], "resolved");
    assert_eq!(holder(&done), "agent@example.com", "{done}");

    let (status, reopened) = employee
        .post(
            &format!("/api/v1/tickets/{ticket}/reopen/"),
            json!({ "note": "It flickers again" }),
        )
        .await;
    assert_eq!(status, 200, "{reopened}");
    let resumed = task_of(&agent, ticket).await;
    assert_eq!(resumed["status"], "open", "{resumed}");
    assert_eq!(resumed["current_step_name"], "Handle", "{resumed}");
    assert_eq!(holder(&resumed), "agent@example.com");
    assert!(resumed["completed_at"].is_null(), "{resumed}");

    let again = act(&agent, &resumed, "Finish", "New monitor").await;
    assert_eq!(again["status"], "completed", "{again}");
    let (_, ticket_now) = employee.get(&format!("/api/v1/tickets/{ticket}/")).await;
    assert_eq!(ticket_now["status"], "resolved");
    // Staff may reopen a resolved ticket through the status too: the same resumption.
    let (status, reopened) = agent
        .post(
            &format!("/api/v1/tickets/{ticket}/status/"),
            json!({ "status": "in_progress", "note": "Checking once more" }),
        )
        .await;
    assert_eq!(status, 200, "{reopened}");
    assert_eq!(
        reopened["status"], "open",
        "a resumed workflow sets the status"
    );
    assert_eq!(task_of(&agent, ticket).await["status"], "open");
    app.stop().await;
}

/// Every note says who reads it: notes typed at a workflow step are for staff unless the
/// writer says otherwise; the requester's view of the ticket holds where it is, who has it
/// and what comes next, not the step's instructions.
#[tokio::test]
async fn step_notes_are_for_staff_unless_said_otherwise_and_the_requester_reads_what_was_meant_for_them()
 {
    let app = spawn().await;
    seed_demo(&app).await;
    let employee = demo(&app, "employee@example.com").await;
    let morgan = demo(&app, "morgan@example.com").await;
    let (_, reference) = employee.get("/api/v1/reference-data/").await;
    let hardware = reference["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Hardware")
        .unwrap()["id"]
        .clone();
    let ticket = submit(
        &employee,
        "A second screen",
        json!({ "category_id": hardware }),
    )
    .await;
    let task = task_of(&employee, ticket).await;
    assert_eq!(
        task["instructions_html"], "",
        "staff's instructions: {task}"
    );
    let reviewer = demo(&app, &holder(&task)).await;
    let (_, task) = reviewer
        .get(&format!("/api/v1/tasks/{}/", task["id"]))
        .await;
    assert_ne!(task["instructions_html"], "", "staff read them: {task}");

    // The list says where each ticket is and who has it.
    let (_, mine) = employee.get("/api/v1/tickets/").await;
    let row = mine["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == ticket)
        .unwrap()
        .clone();
    assert_eq!(row["step"], "Review request", "{row}");
    assert_eq!(row["assignee"]["email"], holder(&task).as_str(), "{row}");

    // A step's notes: staff only by default; for the requester when said so.
    let task = act(&reviewer, &task, "Send for approval", "Budget line 4711").await;
    let (_, task) = morgan.get(&format!("/api/v1/tasks/{}/", task["id"])).await;
    let (status, task) = morgan
        .post(
            &format!("/api/v1/tasks/{}/transition/", task["id"]),
            json!({
                "transition_id": action_id(&task, "Send back"),
                "notes": "Which screen size do you need?",
                "notes_internal": false,
                "revision": task["revision"],
            }),
        )
        .await;
    assert_eq!(status, 200, "{task}");
    let (status, wrong) = morgan
        .post(
            &format!("/api/v1/tasks/{}/transition/", task["id"]),
            json!({ "transition_id": 1, "notes_internal": "no", "revision": task["revision"] }),
        )
        .await;
    assert_eq!(status, 400, "notes_internal is true or false: {wrong}");

    // Staff close it with a remark for each other.
    let (status, closed) = reviewer
        .post(
            &format!("/api/v1/tickets/{ticket}/status/"),
            json!({
                "status": "resolved",
                "note": "Duplicate of the finance order",
                "note_internal": true,
                "end_workflow": true,
            }),
        )
        .await;
    assert_eq!(status, 200, "{closed}");

    let history_of = async |caller: &As<'_>| {
        let (status, history) = caller
            .get(&format!("/api/v1/tickets/{ticket}/history/"))
            .await;
        assert_eq!(status, 200, "{history}");
        history.as_array().unwrap().clone()
    };
    let requester_reads = history_of(&employee).await;
    let text = serde_json::to_string(&requester_reads).unwrap();
    assert!(!text.contains("Budget line 4711"), "{text}");
    assert!(!text.contains("Duplicate of the finance order"), "{text}");
    assert!(text.contains("Which screen size do you need?"), "{text}");
    let actions: Vec<&Value> = requester_reads
        .iter()
        .filter(|e| e["kind"] == "action")
        .collect();
    assert_eq!(
        actions.len(),
        2,
        "the requester sees the ticket move: {text}"
    );
    assert_eq!(actions[0]["is_internal"], true);
    assert_eq!(actions[0]["note"], "");
    assert_eq!(actions[1]["is_internal"], false);
    let staff_reads = serde_json::to_string(&history_of(&reviewer).await).unwrap();
    for note in [
        "Budget line 4711",
        "Duplicate of the finance order",
        "Which screen size do you need?",
    ] {
        assert!(
            staff_reads.contains(note),
            "staff read {note}: {staff_reads}"
        );
    }

    // The ended workflow's line says where it stopped: no step is current any more.
    let ended = task_of(&employee, ticket).await;
    let states: Vec<&str> = ended["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states.last(), Some(&"stopped"), "{ended}");
    assert!(!states.contains(&"current"), "{ended}");
    assert!(!states.contains(&"upcoming"), "{ended}");
    let (_, mine) = employee.get("/api/v1/tickets/").await;
    assert!(
        mine["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == ticket && t["step"] == "Review request"),
        "{mine}"
    );
}

/// Before a deploy, the editor lists the deployed workflows whose tickets the new one would
/// meet, and which of the two gets them.
#[tokio::test]
async fn the_deploy_confirmation_lists_which_tickets_a_workflow_would_take_from_another() {
    let app = spawn().await;
    seed_demo(&app).await;
    let admin = demo(&app, "admin@example.com").await;
    let (_, reference) = admin.get("/api/v1/reference-data/").await;
    let id_of = |list: &str, name: &str| {
        reference[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (hardware, finance) = (
        id_of("categories", "Hardware"),
        id_of("departments", "Finance"),
    );
    let (status, created) = admin
        .post("/api/v1/workflows/", json!({ "name": "Finance hardware" }))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let overlaps = async |category: Option<i64>, department: Option<i64>| {
        let (status, list) = editor_call(
            &admin,
            "overlaps",
            EditorBody::Json(json!({
                "id": id,
                "matches": { "category_id": category, "sub_category_id": null, "department_id": department },
            })),
        )
        .await;
        assert_eq!(status, 200, "{list}");
        list.as_array().unwrap().clone()
    };
    let find = |list: &[Value], workflow: &str| {
        list.iter()
            .find(|o| o["workflow"] == workflow)
            .unwrap_or_else(|| panic!("{workflow} in {list:?}"))
            .clone()
    };

    // Finance's hardware names both: it takes those tickets from each of the three.
    let list = overlaps(Some(hardware), Some(finance)).await;
    assert_eq!(list.len(), 3, "{list:?}");
    for workflow in [
        "IT hardware request",
        "Finance reimbursement",
        "General support",
    ] {
        let overlap = find(&list, workflow);
        assert_eq!(overlap["taken"], true, "{overlap}");
        assert_eq!(
            overlap["tickets"], "Hardware tickets from Finance",
            "{overlap}"
        );
    }
    // Naming the department only: the same set as Finance reimbursement (deploy refused);
    // the hardware workflow, as specific and older, keeps Finance's hardware tickets; the
    // catch-all gives up Finance's tickets.
    let list = overlaps(None, Some(finance)).await;
    assert_eq!(find(&list, "Finance reimbursement")["same"], true);
    let hardware_overlap = find(&list, "IT hardware request");
    assert_eq!(hardware_overlap["taken"], false, "{hardware_overlap}");
    let general = find(&list, "General support");
    assert_eq!(
        (general["taken"].clone(), general["tickets"].clone()),
        (json!(true), json!("tickets from Finance"))
    );
    // A category nobody else names: it takes its tickets from the catch-all, and leaves
    // Finance's to Finance reimbursement (as specific, and older).
    let software = id_of("categories", "Software");
    let list = overlaps(Some(software), None).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(find(&list, "General support")["taken"], true);
    let finance_overlap = find(&list, "Finance reimbursement");
    assert_eq!(
        (
            finance_overlap["taken"].clone(),
            finance_overlap["tickets"].clone()
        ),
        (json!(false), json!("Software tickets from Finance"))
    );

    // Wrong input: an unknown workflow, a body that is not the match set.
    let (status, _) = editor_call(
        &admin,
        "overlaps",
        EditorBody::Json(json!({ "id": 999999, "matches": {} })),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = editor_call(&admin, "overlaps", EditorBody::Raw(r#"{"id": "x"}"#)).await;
    assert_eq!(status, 400);
}
