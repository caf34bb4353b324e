//! The defects of the security review (issue 25), each tried the way it was found, on
//! whichever database the suite runs: the intake door, sockets that outlive their rights, the
//! redirect after sign-in, the client address behind a proxy, the cross-site check, links in
//! notifications, deleted comments, what a ticket's text may do in a browser, the headers
//! every response carries, and the smaller findings (refresh tokens in bodies, lockout
//! answers, @mentions, metrics).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{As, PASSWORD, TestApp, client, signed_in, spawn, spawn_with_config};
use domain::SystemRole;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An admin, an agent who sees every ticket, two employees, and a ticket of the first one's.
struct Desk<'a> {
    admin: As<'a>,
    agent: As<'a>,
    agent_id: i64,
    employee: As<'a>,
    employee_id: i64,
    other: As<'a>,
    ticket: i64,
}

async fn desk(app: &TestApp) -> Desk<'_> {
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent_id = app.user("sam@example.com", SystemRole::Agent).await;
    let employee_id = app.user("emma@example.com", SystemRole::Employee).await;
    app.user("olga@example.com", SystemRole::Employee).await;
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
        .post(
            "/api/v1/tickets/",
            json!({ "subject": "My payslip is wrong", "description": "Salary of November." }),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    Desk {
        admin,
        agent: signed_in(app, "sam@example.com").await,
        agent_id,
        employee,
        employee_id,
        other: signed_in(app, "olga@example.com").await,
        ticket: ticket["id"].as_i64().unwrap(),
    }
}

async fn api_key(admin: &As<'_>, name: &str, scopes: Value) -> String {
    let (status, key) = admin
        .post(
            "/api/v1/api-keys/",
            json!({ "name": name, "scopes": scopes }),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    key["key"].as_str().unwrap().to_owned()
}

async fn send_as_key(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    common::call_json(
        app.url("/api/v1/tickets/send/"),
        "POST",
        common::Credentials::ApiKey(key),
        Some(body),
    )
    .await
}

fn external(reference: &str, subject: &str, email: &str) -> Value {
    json!({ "ticket_data": {
        "ticket_id": reference,
        "subject": subject,
        "description": "Sent by another system.",
        "employee": { "email": email, "first_name": "Ext", "last_name": "Person" },
    }})
}

async fn user_count(admin: &As<'_>) -> i64 {
    let (status, users) = admin.get("/api/v1/users/?page_size=100").await;
    assert_eq!(status, 200, "{users}");
    users["count"].as_i64().unwrap()
}

// ------------------------------------------------------------------ 1. the intake door

#[tokio::test]
async fn employees_and_agents_cannot_use_the_intake_door() {
    let app = spawn().await;
    let d = desk(&app).await;
    let users_before = user_count(&d.admin).await;
    let hdts = api_key(&d.admin, "HDTS", json!(["tickets:submit"])).await;
    let (status, sent) = send_as_key(
        &app,
        &hdts,
        external("HD-7", "VPN drops", "emma@example.com"),
    )
    .await;
    assert_eq!(status, 201, "{sent}");

    // An employee repeating another system's reference, naming an admin as requester, or
    // naming an unknown address: refused before anything is read or written.
    for body in [
        external("HD-7", "Let me read it", "emma@example.com"),
        external("HD-8", "As the admin", "admin@example.com"),
        external("HD-9", "A new account", "ghost@example.com"),
    ] {
        for caller in [&d.employee, &d.other, &d.agent] {
            let (status, answer) = caller.post("/api/v1/tickets/send/", body.clone()).await;
            assert_eq!(status, 403, "{body} → {answer}");
            assert!(answer.get("description").is_none(), "{answer}");
            assert!(answer.get("requester").is_none(), "{answer}");
        }
    }
    assert_eq!(
        user_count(&d.admin).await,
        users_before,
        "no account was made"
    );
    let (_, listed) = d.admin.get("/api/v1/tickets/?external_ref=HD-8").await;
    assert_eq!(listed["count"], 0, "{listed}");
    // An admin may (and names the requester, as an integration would).
    let (status, receipt) = d
        .admin
        .post(
            "/api/v1/tickets/send/",
            external("ADM-1", "Filed for Emma", "emma@example.com"),
        )
        .await;
    assert_eq!(status, 201, "{receipt}");
    app.stop().await;
}

#[tokio::test]
async fn references_are_kept_per_sender_and_a_repeat_answers_only_a_receipt() {
    let app = spawn().await;
    let d = desk(&app).await;
    let first = api_key(&d.admin, "HDTS east", json!(["tickets:submit"])).await;
    let second = api_key(&d.admin, "HDTS west", json!(["tickets:submit"])).await;

    let (status, receipt) = send_as_key(
        &app,
        &first,
        external("4711", "Laptop fan is loud", "emma@example.com"),
    )
    .await;
    assert_eq!(status, 201, "{receipt}");
    // A receipt: where the ticket is, not what it says or who asked.
    let keys: Vec<&str> = receipt
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["created_at", "external_ref", "id", "number", "status"],
        "{receipt}"
    );
    assert_eq!(receipt["external_ref"], "4711");
    assert_eq!(receipt["status"], "new");

    // Another system's own "4711" is its own ticket, never the first one.
    let (status, other) = send_as_key(
        &app,
        &second,
        external("4711", "Printer out of toner", "olga@example.com"),
    )
    .await;
    assert_eq!(status, 201, "{other}");
    assert_ne!(other["id"], receipt["id"]);

    // The first system again: the same ticket, as a receipt.
    let (status, again) = send_as_key(
        &app,
        &first,
        external("4711", "Laptop fan is loud", "emma@example.com"),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], receipt["id"]);
    assert!(again.get("subject").is_none() && again.get("description").is_none());

    // Both are there under the same reference, each with its own requester.
    let (_, both) = d.admin.get("/api/v1/tickets/?external_ref=4711").await;
    assert_eq!(both["count"], 2, "{both}");
    let (_, theirs) = d
        .admin
        .get(&format!("/api/v1/tickets/{}/", other["id"]))
        .await;
    assert_eq!(theirs["subject"], "Printer out of toner");
    assert_eq!(theirs["requester"]["email"], "olga@example.com");
    app.stop().await;
}

#[tokio::test]
async fn a_ticket_naming_names_tts_does_not_know_is_kept_and_waits_in_triage() {
    let app = spawn().await;
    let d = desk(&app).await;
    let hdts = api_key(&d.admin, "HDTS", json!(["tickets:submit"])).await;
    let mut body = external("HD-55", "Tap leaks in kitchen", "emma@example.com");
    body["ticket_data"]["category"] = json!("Plumbing");
    body["ticket_data"]["sub_category"] = json!("Taps");
    body["ticket_data"]["department"] = json!("Facilities");
    body["ticket_data"]["priority"] = json!("Critical");
    let (status, receipt) = send_as_key(&app, &hdts, body).await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(
        receipt["unknown_names"],
        json!({"category": "Plumbing", "sub_category": "Taps", "department": "Facilities", "priority": "Critical"})
    );
    let id = receipt["id"].as_i64().unwrap();
    let (_, ticket) = d.admin.get(&format!("/api/v1/tickets/{id}/")).await;
    assert_eq!(ticket["priority"], "medium", "{ticket}");
    assert_eq!(ticket["fields"]["unknown_names"]["category"], "Plumbing");
    // It waits in triage with the reason, and the admins are told.
    let mut waiting = Value::Null;
    for _ in 0..200 {
        let (_, triage) = d.admin.get("/api/v1/triage/").await;
        if let Some(entry) = triage
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["ticket_id"] == id)
        {
            waiting = entry.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(waiting["reason"], "unknown_names", "{waiting}");
    let detail = waiting["detail"].as_str().unwrap();
    assert!(
        detail.contains("category 'Plumbing'") && detail.contains("department 'Facilities'"),
        "{detail}"
    );
    let (_, notes) = d.admin.get("/api/v1/notifications/inapp/").await;
    assert!(
        notes["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "triage.waiting"),
        "{notes}"
    );
    app.stop().await;
}

// ------------------------------------------------------------------ 2. sockets keep no rights

fn ws_url(app: &TestApp, path: &str) -> String {
    app.url(path).replacen("http://", "ws://", 1)
}

async fn open_socket(app: &TestApp, path: &str, token: &str) -> Socket {
    let url = format!("{}?token={token}", ws_url(app, path));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = next_text(&mut socket).await.expect("a greeting");
    assert_eq!(hello["type"], "connection_established", "{hello}");
    socket
}

/// The next JSON text message, `None` if the socket closes first (presence and pings skipped).
async fn next_text(socket: &mut Socket) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => panic!("nothing arrived within 10 s"),
            Ok(Some(Ok(Message::Text(text)))) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] != "presence" {
                    return Some(value);
                }
            }
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Waits for the server to close the socket; its close code.
async fn closed_with(socket: &mut Socket) -> u16 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => panic!("the socket was not closed within 10 s"),
            Ok(Some(Ok(Message::Close(frame)))) => {
                return frame.map_or(0, |f| u16::from(f.code));
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the socket ended without a close frame: {other:?}"),
        }
    }
}

/// Whether a comment event arrives within `wait` (the socket staying open meanwhile).
async fn comment_arrives(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(text)))) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "comment_update" {
                    return Some(value);
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the socket ended: {other:?}"),
        }
    }
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

async fn comments_of(caller: &As<'_>, ticket: i64) -> Vec<Value> {
    let (status, page) = caller
        .get(&format!("/api/v1/tickets/{ticket}/comments/?page_size=100"))
        .await;
    assert_eq!(status, 200, "{page}");
    page["results"].as_array().unwrap().clone()
}

#[tokio::test]
async fn signing_out_closes_the_sessions_sockets_and_they_post_nothing_more() {
    let app = spawn().await;
    let d = desk(&app).await;
    let path = format!("/ws/comments/{}/", d.ticket);
    let mut thread = open_socket(&app, &path, &d.agent.token).await;
    let mut bell = open_socket(&app, "/ws/notifications/", &d.agent.token).await;
    // It works while the session lasts.
    send(
        &mut thread,
        json!({"type": "comment_create", "text": "Looking into it."}),
    )
    .await;
    assert!(
        comment_arrives(&mut thread, Duration::from_secs(5))
            .await
            .is_some()
    );

    let (status, _) = d.agent.post("/api/v1/auth/logout/", json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(closed_with(&mut thread).await, 4401);
    assert_eq!(closed_with(&mut bell).await, 4401);
    // A message written after the sign-out reaches nobody (the socket is gone; a late one on
    // a half-closed socket is refused too).
    let _ = thread
        .send(Message::Text(
            json!({"type": "comment_create", "text": "After sign-out"})
                .to_string()
                .into(),
        ))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let texts: Vec<Value> = comments_of(&d.employee, d.ticket)
        .await
        .into_iter()
        .map(|c| c["text"].clone())
        .collect();
    assert_eq!(texts, [json!("Looking into it.")]);
    // And the token cannot open a new one.
    let again = format!("{}?token={}", ws_url(&app, &path), d.agent.token);
    match tokio_tungstenite::connect_async(again).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
        }
        other => panic!("expected 401, got {other:?}"),
    }
    app.stop().await;
}

#[tokio::test]
async fn a_session_ended_from_elsewhere_or_a_deactivated_account_closes_the_socket() {
    let app = spawn().await;
    let d = desk(&app).await;
    let path = format!("/ws/comments/{}/", d.ticket);

    // The employee ends their other sessions from another device.
    let mut socket = open_socket(&app, &path, &d.employee.token).await;
    let other_device = signed_in(&app, "emma@example.com").await;
    let (status, _) = other_device
        .post("/api/v1/auth/sessions/revoke-others/", json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(closed_with(&mut socket).await, 4401);

    // An admin deactivates the agent: their open socket closes.
    let mut socket = open_socket(&app, &path, &d.agent.token).await;
    let (status, _) = d
        .admin
        .call("DELETE", &format!("/api/v1/users/{}/", d.agent_id), None)
        .await;
    assert!(status == 200 || status == 204, "{status}");
    assert_eq!(closed_with(&mut socket).await, 4401);
    app.stop().await;
}

#[tokio::test]
async fn losing_the_agent_role_stops_internal_notes_and_the_tickets_of_others() {
    let app = spawn().await;
    let d = desk(&app).await;
    // The agent's own ticket (they stay its requester) and the employee's.
    let (_, own) = d
        .agent
        .post("/api/v1/tickets/", json!({ "subject": "My own monitor" }))
        .await;
    let own = own["id"].as_i64().unwrap();
    let mut on_own = open_socket(&app, &format!("/ws/comments/{own}/"), &d.agent.token).await;
    let mut on_theirs =
        open_socket(&app, &format!("/ws/comments/{}/", d.ticket), &d.agent.token).await;
    // While an agent: internal notes arrive.
    let (status, _) = d
        .admin
        .post(
            &format!("/api/v1/tickets/{own}/comments/"),
            json!({ "text": "Note before", "is_internal": true }),
        )
        .await;
    assert_eq!(status, 201);
    let note = comment_arrives(&mut on_own, Duration::from_secs(5)).await;
    assert_eq!(note.unwrap()["comment"]["text"], "Note before");

    // Made an employee.
    let (status, changed) = d
        .admin
        .call(
            "PATCH",
            &format!("/api/v1/users/{}/", d.agent_id),
            Some(json!({ "roles": [{ "system": "tts", "role": "Employee" }] })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    // The socket on someone else's ticket closes: it is out of reach now.
    assert_eq!(closed_with(&mut on_theirs).await, 4403);
    // On their own ticket the socket stays, but internal notes no longer come; public ones do.
    for (text, internal) in [("Note after", true), ("Public after", false)] {
        let (status, _) = d
            .admin
            .post(
                &format!("/api/v1/tickets/{own}/comments/"),
                json!({ "text": text, "is_internal": internal }),
            )
            .await;
        assert_eq!(status, 201);
    }
    let next = comment_arrives(&mut on_own, Duration::from_secs(5)).await;
    assert_eq!(next.unwrap()["comment"]["text"], "Public after");
    // And a note written through the socket is refused now.
    send(
        &mut on_own,
        json!({"type": "comment_create", "text": "Sneaky note", "is_internal": true}),
    )
    .await;
    let answer = next_text(&mut on_own).await.unwrap();
    assert_eq!(answer["type"], "error", "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn a_socket_closes_when_its_access_token_expires() {
    let app = spawn().await;
    let d = desk(&app).await;
    // A token of the employee's that lives two seconds.
    let keys = services::auth::tokens::TokenKeys::new(common::JWT_SECRET.as_bytes());
    let (token, _) = keys
        .issue(&services::auth::tokens::TokenSpec {
            user_id: d.employee_id,
            email: "emma@example.com",
            roles: &[],
            token_type: services::auth::tokens::TokenType::Access,
            sid: None,
            jti: None,
            now: chrono::Utc::now(),
            lifetime: chrono::Duration::seconds(2),
        })
        .unwrap();
    let mut socket = open_socket(&app, &format!("/ws/comments/{}/", d.ticket), &token).await;
    let started = std::time::Instant::now();
    // 4001: reconnect (a browser's session renews the token on the way).
    assert_eq!(closed_with(&mut socket).await, 4001);
    assert!(started.elapsed() < Duration::from_secs(5));
    app.stop().await;
}

#[tokio::test]
async fn typing_floods_are_thinned_and_sockets_per_user_are_bounded() {
    let app = spawn().await;
    let d = desk(&app).await;
    let path = format!("/ws/comments/{}/", d.ticket);
    let mut typist = open_socket(&app, &path, &d.employee.token).await;
    let mut watcher = open_socket(&app, &path, &d.agent.token).await;
    for _ in 0..200 {
        send(&mut typist, json!({"type": "typing", "is_typing": true})).await;
    }
    send(&mut typist, json!({"type": "typing", "is_typing": false})).await;
    // The watcher sees one "typing" and one "stopped", not two hundred.
    let mut typing_events = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(800);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, watcher.next()).await {
        if let Message::Text(text) = message
            && serde_json::from_str::<Value>(&text).unwrap()["type"] == "typing"
        {
            typing_events += 1;
        }
    }
    assert_eq!(typing_events, 2);

    // Forty sockets of one user in one process (the typist's and 39 more); the forty-first is
    // refused with 429.
    let mut held = Vec::new();
    for _ in 0..39 {
        held.push(open_socket(&app, "/ws/notifications/", &d.employee.token).await);
    }
    let url = format!("{}?token={}", ws_url(&app, &path), d.employee.token);
    match tokio_tungstenite::connect_async(url.clone()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
        }
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
    // Closing one makes room.
    held.pop().unwrap().close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(tokio_tungstenite::connect_async(url).await.is_ok());
    app.stop().await;
}

// ------------------------------------------------------------------ 3. the redirect after sign-in

#[tokio::test]
async fn sign_in_goes_only_to_a_path_on_this_site() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    for (next, expected) in [
        ("/\t/evil.example/x", "/"),
        ("/\n/evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("/x\u{1}y", "/"),
        ("/tickets/1", "/tickets/1"),
    ] {
        let response = client()
            .post(app.url("/api/session/login"))
            .header("accept", "text/html")
            .form(&[
                ("email", "emp@example.com"),
                ("password", PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_redirection(),
            "{next:?}: {}",
            response.status()
        );
        assert_eq!(response.headers()["location"], expected, "{next:?}");
    }
    app.stop().await;
}

// ------------------------------------------------------------------ 4. the client's address

#[tokio::test]
async fn behind_a_proxy_the_address_is_the_one_the_proxy_appended() {
    let app = spawn_with_config(|raw| {
        raw.trust_forwarded_for = true;
        raw.auth_rate_per_minute = 3;
    })
    .await;
    app.user("emp@example.com", SystemRole::Employee).await;
    // The client makes up a new address each time; the proxy appends the one it saw.
    let mut statuses = Vec::new();
    for attempt in 0..5 {
        let response = client()
            .post(app.url("/api/v1/auth/token/"))
            .header("x-forwarded-for", format!("10.9.8.{attempt}, 203.0.113.50"))
            .json(&json!({"email": "nobody@example.com", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // An IPv6 client changing addresses inside its /64 is one client.
    let mut statuses = Vec::new();
    for attempt in 0..4 {
        let response = client()
            .post(app.url("/api/v1/auth/token/"))
            .header("x-forwarded-for", format!("2001:db8:7:7::{attempt}"))
            .json(&json!({"email": "nobody@example.com", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    // The session list shows the proxy's entry, not what the client wrote.
    let response = client()
        .post(app.url("/api/v1/auth/token/"))
        .header("x-forwarded-for", "6.6.6.6, 198.51.100.7")
        .json(&json!({"email": "emp@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let me = As {
        app: &app,
        token: body["access"].as_str().unwrap().to_owned(),
    };
    let (_, sessions) = me.get("/api/v1/auth/sessions/").await;
    let listed = sessions.to_string();
    assert!(listed.contains("198.51.100.7"), "{listed}");
    assert!(!listed.contains("6.6.6.6"), "{listed}");
    app.stop().await;
}

// ------------------------------------------------------------------ 5. the cross-site check

#[tokio::test]
async fn an_authorization_header_that_authenticates_nothing_does_not_skip_the_cross_site_check() {
    let app = spawn().await;
    let d = desk(&app).await;
    let cookie = format!("access_token={}", d.employee.token);
    // A page on another site makes the browser send the cookie with a harmless-looking
    // header of its choosing: refused like any cross-site request with cookies.
    for authorization in ["Basic Zm9vOmJhcg==", "Bearer", "Negotiate x"] {
        let response = client()
            .post(app.url(&format!("/api/v1/tickets/{}/comments/", d.ticket)))
            .header("cookie", &cookie)
            .header("authorization", authorization)
            .header("origin", "https://evil.example")
            .json(&json!({ "text": "Forged" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{authorization}");
        let response = client()
            .post(app.url("/api/session/logout"))
            .header("cookie", &cookie)
            .header("authorization", authorization)
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "server function, {authorization}");
    }
    assert!(comments_of(&d.employee, d.ticket).await.is_empty());
    // The same for a socket opened with the cookie from another site.
    let mut request = ws_url(&app, &format!("/ws/comments/{}/", d.ticket))
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    request
        .headers_mut()
        .insert("authorization", "Basic Zm9vOmJhcg==".parse().unwrap());
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    // A real bearer token is not a cookie: it passes whatever the origin.
    let response = client()
        .post(app.url(&format!("/api/v1/tickets/{}/comments/", d.ticket)))
        .bearer_auth(&d.employee.token)
        .header("origin", "https://elsewhere.example")
        .json(&json!({ "text": "From my script" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    app.stop().await;
}

// ------------------------------------------------------------------ 6. notification links

#[tokio::test]
async fn notification_links_must_stay_on_the_site() {
    let app = spawn().await;
    let d = desk(&app).await;
    for link in [
        "/\\evil.example/x",
        "//evil.example",
        "/\t/evil.example",
        "https://evil.example",
        "javascript:alert(1)",
    ] {
        let (status, answer) = d
            .admin
            .post(
                "/api/v1/notifications/send/",
                json!({ "email": "emma@example.com", "title": "Look", "link": link }),
            )
            .await;
        assert_eq!(status, 400, "{link:?}: {answer}");
        assert!(
            answer["error"]["details"]["notifications[0].link"].is_string(),
            "{answer}"
        );
    }
    let (_, list) = d.employee.get("/api/v1/notifications/inapp/").await;
    assert_eq!(list["unread"], 0, "nothing was sent: {list}");
    let (status, _) = d
        .admin
        .post(
            "/api/v1/notifications/send/",
            json!({ "email": "emma@example.com", "title": "Look", "link": format!("/tickets/{}", d.ticket) }),
        )
        .await;
    assert_eq!(status, 201);
    app.stop().await;
}

// ------------------------------------------------------------------ 7. deleted comments

#[tokio::test]
async fn a_deleted_comment_keeps_no_readable_text_or_files() {
    let app = spawn().await;
    let d = desk(&app).await;
    let (status, comment) = d
        .employee
        .post(
            &format!("/api/v1/tickets/{}/comments/", d.ticket),
            json!({ "text": "My password is hunter2, oops" }),
        )
        .await;
    assert_eq!(status, 201, "{comment}");
    let id = comment["id"].as_i64().unwrap();
    let (status, _) = d
        .employee
        .call(
            "PATCH",
            &format!("/api/v1/comments/{id}/"),
            Some(json!({ "text": "My password is hunter2, oops!" })),
        )
        .await;
    assert_eq!(status, 200);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"the secret file".to_vec()).file_name("secret.txt"),
    );
    let response = client()
        .post(app.url(&format!("/api/v1/comments/{id}/attachments/")))
        .bearer_auth(&d.employee.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let attached: Value = response.json().await.unwrap();
    let file_id = attached["attachments"][0]["id"].as_i64().unwrap();

    let (status, _) = d
        .employee
        .call("DELETE", &format!("/api/v1/comments/{id}/"), None)
        .await;
    assert_eq!(status, 204);
    for reader in [&d.employee, &d.agent, &d.admin] {
        let (status, history) = reader.get(&format!("/api/v1/comments/{id}/history/")).await;
        assert_eq!(status, 200);
        assert_eq!(history, json!([]), "no earlier text after deletion");
        let (_, files) = reader
            .get(&format!("/api/v1/comments/{id}/attachments/"))
            .await;
        assert!(!files.to_string().contains("secret.txt"), "{files}");
        let response = client()
            .get(app.url(&format!("/api/v1/attachments/{file_id}/")))
            .bearer_auth(&reader.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let thread = comments_of(reader, d.ticket).await;
        let text = serde_json::to_string(&thread).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("secret.txt"),
            "{text}"
        );
    }
    app.stop().await;
}

// ------------------------------------------------------------------ 8. what text may do

#[tokio::test]
async fn ticket_text_cannot_make_a_browser_call_another_host_and_pages_send_a_strict_policy() {
    let app = spawn().await;
    let d = desk(&app).await;
    let (status, ticket) = d
        .employee
        .post(
            "/api/v1/tickets/",
            json!({
                "subject": "Look at this",
                "description": "![track](https://tracker.example/p.gif)\n\n<img src=\"https://tracker.example/raw.gif\">\n\n- [x] tried\n\n<form action=\"https://evil.example\"><input name=\"q\"></form>",
            }),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    let html = ticket["description_html"].as_str().unwrap();
    assert!(
        !html.contains("tracker.example/raw.gif") && !html.contains("<img src"),
        "no image from another host: {html}"
    );
    assert!(
        html.contains("href=\"https://tracker.example/p.gif\""),
        "a link instead: {html}"
    );
    assert!(
        !html.contains("<input") && !html.contains("<form"),
        "{html}"
    );
    let (_, comment) = d
        .employee
        .post(
            &format!("/api/v1/tickets/{}/comments/", d.ticket),
            json!({ "text": "![x](http://tracker.example/c.gif)" }),
        )
        .await;
    assert!(
        !comment["html"].as_str().unwrap().contains("<img"),
        "{comment}"
    );

    // The page carries a policy that names its nonce, and every inline script carries it.
    let response = client().get(app.url("/login")).send().await.unwrap();
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "'wasm-unsafe-eval'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    let scripts_from = policy
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert!(
        !scripts_from.contains("unsafe-inline") && !scripts_from.contains(" 'unsafe-eval'"),
        "no inline script but by nonce: {scripts_from}"
    );
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy")
        .to_owned();
    let page = response.text().await.unwrap();
    let scripts = page.matches("<script").count();
    assert!(scripts >= 2, "{page}");
    assert_eq!(
        page.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "every inline script carries the nonce"
    );
    // A new nonce each time.
    let again = client().get(app.url("/login")).send().await.unwrap();
    assert!(
        !again.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(&nonce)
    );
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn().await;
    let d = desk(&app).await;
    let cases = [
        ("/login", None),
        ("/tickets", Some(&d.employee.token)),
        ("/no-such-page", None),
        ("/api/v1/auth/me/", None),
        ("/api/v1/tickets/", Some(&d.employee.token)),
        ("/api/v1/nothing/", None),
        ("/api/openapi.json", None),
        ("/api/docs/", None),
        ("/favicon.svg", None),
        ("/health/", None),
    ];
    for (path, token) in cases {
        let mut request = client().get(app.url(path));
        if let Some(token) = token {
            request = request.header("cookie", format!("access_token={token}"));
        }
        let response = request.send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert_eq!(
            headers["cross-origin-opener-policy"], "same-origin",
            "{path}"
        );
        assert!(
            headers["permissions-policy"]
                .to_str()
                .unwrap()
                .contains("camera=()"),
            "{path}"
        );
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        if path.starts_with("/api/v1") || path == "/health/" || path == "/api/openapi.json" {
            assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
        }
        assert!(
            !headers.contains_key("strict-transport-security"),
            "no HSTS over plain http: {path}"
        );
    }
    app.stop().await;

    let app =
        spawn_with_config(|raw| raw.public_url = Some("https://tts.example.com".into())).await;
    for path in ["/login", "/api/v1/auth/me/"] {
        let response = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
    app.stop().await;
}

// ------------------------------------------------------------------ smaller findings

#[tokio::test]
async fn a_browser_refreshing_with_its_cookie_gets_no_tokens_in_the_body() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let (_, refresh) = app.tokens("emp@example.com").await;
    let response = client()
        .post(app.url("/api/v1/auth/token/refresh/"))
        .header("cookie", format!("refresh_token={refresh}"))
        .header("origin", app.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("access_token=") && c.contains("HttpOnly"))
            && cookies.iter().any(|c| c.starts_with("refresh_token=")),
        "{cookies:?}"
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        body.get("refresh").is_none() && body.get("access").is_none(),
        "{body}"
    );
    assert!(
        body["expires_in"].is_number() && body["user"].is_object(),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_employees_mentions_reach_only_people_taking_part_in_the_ticket() {
    let app = spawn().await;
    let d = desk(&app).await;
    // The agent (who sees every ticket) has not taken part yet: the employee's @sam is text.
    let (_, first) = d
        .employee
        .post(
            &format!("/api/v1/tickets/{}/comments/", d.ticket),
            json!({ "text": "@sam @admin anyone?" }),
        )
        .await;
    assert_eq!(first["mentions"], json!([]), "{first}");
    // Once the agent answers, the employee can mention them.
    let (status, _) = d
        .agent
        .post(
            &format!("/api/v1/tickets/{}/comments/", d.ticket),
            json!({ "text": "On it. @admin FYI" }),
        )
        .await;
    assert_eq!(status, 201);
    let (_, second) = d
        .employee
        .post(
            &format!("/api/v1/tickets/{}/comments/", d.ticket),
            json!({ "text": "Thanks @sam" }),
        )
        .await;
    assert_eq!(
        second["mentions"][0]["email"], "sam@example.com",
        "{second}"
    );
    // Staff mention any colleague who may see the ticket.
    let (_, thread) = d
        .agent
        .get(&format!("/api/v1/tickets/{}/comments/", d.ticket))
        .await;
    let staff_note = thread["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["text"] == "On it. @admin FYI")
        .unwrap()
        .clone();
    assert_eq!(staff_note["mentions"][0]["email"], "admin@example.com");
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_for_this_host_or_the_holder_of_the_metrics_token() {
    let app = spawn().await;
    let local = client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(local.status(), 200);
    // Through a proxy (even one on this host), it is someone else's request.
    let proxied = client()
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 403);
    app.stop().await;

    let app = spawn_with_config(|raw| raw.metrics_token = Some("scrape-me-please".into())).await;
    let without = client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(without.status(), 403);
    let wrong = client()
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-not")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let right = client()
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("http_requests_total"));
    app.stop().await;
}

#[cfg(unix)]
#[test]
fn what_tts_writes_is_readable_by_its_user_only() {
    use std::os::unix::fs::PermissionsExt as _;
    // The binary sets its umask at start, whatever the shell's: a database and secrets made by
    // `tts create-admin` (which also hashes a password and writes the generated secrets) are
    // its user's alone, as are the folders.
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().join("data");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tts"));
    for (key, _) in std::env::vars() {
        if key.starts_with("TTS_")
            || ["DATABASE_URL", "AMQP_URL", "SMTP_URL"].contains(&key.as_str())
        {
            command.env_remove(key);
        }
    }
    let output = command
        .args(["create-admin", "--email", "root@example.com"])
        .current_dir(folder.path())
        .stdin(std::process::Stdio::null())
        .env("TTS_DATA_DIR", &data)
        .env("TTS_ADMIN_PASSWORD", "a long admin password")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut checked = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{:?} is {mode:o}", entry.file_name());
        checked += 1;
    }
    assert!(checked >= 2, "the database and its secrets were written");
    let mode = std::fs::metadata(&data).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the data folder is {mode:o}");
}
