//! Comments over REST and the WebSockets, on whichever database the suite runs: threads,
//! edits and deletes with their history, ratings, internal notes kept from requesters,
//! mentions and the notifications a comment causes, the seed's socket protocol, presence and
//! typing, live notifications, and what wrong input gets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{As, Credentials, TestApp, signed_in, spawn};
use domain::SystemRole;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a socket with the token as a query parameter (as a client without headers).
async fn socket(caller: &As<'_>, path: &str) -> Socket {
    let url = format!(
        "{}?token={}",
        caller.app.url(path).replacen("http://", "ws://", 1),
        caller.token
    );
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket
}

/// An employee, an agent who sees every ticket, another employee and an admin, and a
/// ticket of the first employee's.
struct World<'a> {
    employee: As<'a>,
    agent: As<'a>,
    stranger: As<'a>,
    admin: As<'a>,
    ticket: i64,
}

async fn world(app: &TestApp) -> World<'_> {
    app.user("admin@example.com", SystemRole::Admin).await;
    app.user("emma@example.com", SystemRole::Employee).await;
    app.user("sam@example.com", SystemRole::Agent).await;
    app.user("other@example.com", SystemRole::Employee).await;
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
            json!({ "subject": "Printer jams", "description": "On floor 2.", "priority": "medium" }),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    World {
        employee,
        agent: signed_in(app, "sam@example.com").await,
        stranger: signed_in(app, "other@example.com").await,
        admin,
        ticket: ticket["id"].as_i64().unwrap(),
    }
}

async fn comment(caller: &As<'_>, ticket: i64, body: Value) -> Value {
    let (status, comment) = caller
        .post(&format!("/api/v1/tickets/{ticket}/comments/"), body)
        .await;
    assert_eq!(status, 201, "{comment}");
    comment
}

async fn thread(caller: &As<'_>, ticket: i64) -> Vec<Value> {
    let (status, page) = caller
        .get(&format!("/api/v1/tickets/{ticket}/comments/?page_size=100"))
        .await;
    assert_eq!(status, 200, "{page}");
    page["results"].as_array().unwrap().clone()
}

/// The next JSON text message, skipping presence and typing unless they are asked for.
async fn next_message(socket: &mut Socket, wanted: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {wanted} message within 10 s"))
            .expect("the socket closed")
            .unwrap();
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] == wanted {
                return value;
            }
        }
    }
}

/// Whether a message of this type arrives within `wait`.
async fn arrives(socket: &mut Socket, wanted: &str, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(text)))) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == wanted {
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

/// The user's notifications of a kind, waiting for the outbox runner to write them.
async fn notifications_of(caller: &As<'_>, kind: &str, expected: usize) -> Vec<Value> {
    let mut found = Vec::new();
    for _ in 0..200 {
        let (_, list) = caller.get("/api/v1/notifications/inapp/").await;
        found = list["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == kind)
            .cloned()
            .collect();
        if found.len() >= expected {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("expected {expected} {kind} notifications, found {found:?}");
}

#[tokio::test]
async fn a_thread_with_replies_edits_deletes_and_their_history() {
    let app = spawn().await;
    let w = world(&app).await;
    let first = comment(
        &w.employee,
        w.ticket,
        json!({ "text": "It jams on **A3**." }),
    )
    .await;
    assert_eq!(first["html"], "<p>It jams on <strong>A3</strong>.</p>\n");
    assert_eq!(first["author"]["email"], "emma@example.com");
    let first_id = first["id"].as_i64().unwrap();
    let reply = comment(
        &w.agent,
        w.ticket,
        json!({ "text": "Which tray?", "parent_id": first_id }),
    )
    .await;
    assert_eq!(reply["parent_id"], first_id);
    // A reply to a reply joins the same thread.
    let deeper = comment(
        &w.employee,
        w.ticket,
        json!({ "text": "Tray 2.", "parent_id": reply["id"] }),
    )
    .await;
    assert_eq!(deeper["parent_id"], first_id);

    // The author edits; the earlier text is kept.
    let path = format!("/api/v1/comments/{first_id}/");
    let (status, edited) = w
        .employee
        .call(
            "PATCH",
            &path,
            Some(json!({ "text": "It jams on A3 paper." })),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["text"], "It jams on A3 paper.");
    assert!(edited["edited_at"].is_string());
    // Nobody else edits it, not even an admin.
    let (status, _) = w
        .agent
        .call("PATCH", &path, Some(json!({ "text": "Hijacked" })))
        .await;
    assert_eq!(status, 403);
    let (status, _) = w
        .admin
        .call("PATCH", &path, Some(json!({ "text": "Hijacked" })))
        .await;
    assert_eq!(status, 403);

    // The author deletes the reply; the thread keeps its place, the history its text.
    let deeper_path = format!("/api/v1/comments/{}/", deeper["id"]);
    let (status, _) = w.agent.call("DELETE", &deeper_path, None).await;
    assert_eq!(status, 403);
    let (status, _) = w.employee.call("DELETE", &deeper_path, None).await;
    assert_eq!(status, 204);
    let (status, _) = w.employee.call("DELETE", &deeper_path, None).await;
    assert_eq!(status, 409);
    let comments = thread(&w.employee, w.ticket).await;
    assert_eq!(comments.len(), 3);
    assert!(comments[2]["deleted_at"].is_string());
    assert_eq!(comments[2]["text"], "");
    // Its earlier texts went with it: nobody reads them any more (docs/security.md).
    for reader in [&w.employee, &w.agent, &w.admin] {
        let (_, history) = reader
            .get(&format!("/api/v1/comments/{}/history/", deeper["id"]))
            .await;
        assert_eq!(history, json!([]));
    }
    let (_, history) = w
        .agent
        .get(&format!("/api/v1/comments/{first_id}/history/"))
        .await;
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["text"], "It jams on **A3**.");
    // A deleted comment takes no reply.
    let (status, _) = w
        .agent
        .post(
            &format!("/api/v1/tickets/{}/comments/", w.ticket),
            json!({ "text": "Hm?", "parent_id": deeper["id"] }),
        )
        .await;
    assert_eq!(status, 422);
    // An admin may delete anyone's comment (moderation); it is audited.
    let (status, _) = w
        .admin
        .call(
            "DELETE",
            &format!("/api/v1/comments/{}/", reply["id"]),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, audit) = w.admin.get("/api/v1/audit/?action=comment.deleted").await;
    assert_eq!(audit["count"], 2, "{audit}");
}

/// The tickets a search finds for this caller, by id.
async fn found(caller: &As<'_>, words: &str) -> Vec<i64> {
    let (status, page) = caller
        .get(&format!("/api/v1/tickets/?q={}", words.replace(' ', "%20")))
        .await;
    assert_eq!(status, 200, "{page}");
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn search_finds_tickets_by_their_comments_and_internal_notes_only_for_agents() {
    let app = spawn().await;
    let w = world(&app).await;
    let mine = vec![w.ticket];
    let none: Vec<i64> = Vec::new();
    let toner = comment(
        &w.employee,
        w.ticket,
        json!({ "text": "The toner smells burnt." }),
    )
    .await;
    for caller in [&w.employee, &w.agent, &w.admin] {
        assert_eq!(found(caller, "toner").await, mine);
        assert_eq!(found(caller, "smel").await, mine, "as you type");
    }
    assert_eq!(found(&w.stranger, "toner").await, none, "not their ticket");

    // An internal note finds its ticket for agents and admins, never for the requester, not
    // even by a prefix.
    comment(
        &w.agent,
        w.ticket,
        json!({ "text": "Escalated to Kyocera under contract 5521.", "is_internal": true }),
    )
    .await;
    assert_eq!(found(&w.agent, "kyocera").await, mine);
    assert_eq!(found(&w.admin, "kyocera contract").await, mine);
    for words in ["kyocera", "kyoc", "5521", "escalated contract"] {
        assert_eq!(found(&w.employee, words).await, none, "{words}");
    }

    // A ticket found by its subject and a comment is listed once.
    comment(
        &w.agent,
        w.ticket,
        json!({ "text": "Does the printer still jam?" }),
    )
    .await;
    assert_eq!(found(&w.agent, "printer").await, mine);
    let (_, page) = w.agent.get("/api/v1/tickets/?q=printer").await;
    assert_eq!(page["count"], 1, "{page}");

    // An edited comment is found by its new words only; a deleted one by none.
    let path = format!("/api/v1/comments/{}/", toner["id"]);
    let (status, _) = w
        .employee
        .call(
            "PATCH",
            &path,
            Some(json!({ "text": "The fuser smells burnt." })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(found(&w.employee, "toner").await, none);
    assert_eq!(found(&w.employee, "fuser").await, mine);
    let (status, _) = w.employee.call("DELETE", &path, None).await;
    assert_eq!(status, 204);
    assert_eq!(found(&w.employee, "fuser").await, none);
    assert_eq!(found(&w.agent, "fuser").await, none);
}

#[tokio::test]
async fn ratings_are_one_per_user_and_changeable() {
    let app = spawn().await;
    let w = world(&app).await;
    let c = comment(&w.agent, w.ticket, json!({ "text": "Try restarting it." })).await;
    let rate = format!("/api/v1/comments/{}/rate/", c["id"]);
    let (status, rated) = w.employee.post(&rate, json!({ "rating": "up" })).await;
    assert_eq!(status, 200, "{rated}");
    assert_eq!(
        (rated["thumbs_up"].as_i64(), rated["my_rating"].as_i64()),
        (Some(1), Some(1))
    );
    // Twice is still one.
    let (_, rated) = w.employee.post(&rate, json!({ "rating": "up" })).await;
    assert_eq!(rated["thumbs_up"], 1);
    let (_, rated) = w.agent.post(&rate, json!({ "rating": "up" })).await;
    assert_eq!(rated["thumbs_up"], 2);
    let (_, rated) = w.employee.post(&rate, json!({ "rating": "down" })).await;
    assert_eq!(
        (rated["thumbs_up"].as_i64(), rated["thumbs_down"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(rated["my_rating"], -1);
    let (_, rated) = w.employee.post(&rate, json!({ "rating": "none" })).await;
    assert_eq!(
        (rated["thumbs_down"].as_i64(), rated["my_rating"].clone()),
        (Some(0), Value::Null)
    );
    // Each reader sees their own rating in the list.
    let mine = thread(&w.agent, w.ticket).await;
    assert_eq!(mine[0]["my_rating"], 1);
    let (status, _) = w
        .employee
        .post(&rate, json!({ "rating": "sideways" }))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn internal_notes_never_reach_the_requester() {
    let app = spawn().await;
    let w = world(&app).await;
    let public = comment(&w.agent, w.ticket, json!({ "text": "Looking into it." })).await;
    let note = comment(
        &w.agent,
        w.ticket,
        json!({ "text": "Vendor ticket 4411, do not promise a date.", "is_internal": true }),
    )
    .await;
    assert_eq!(note["is_internal"], true);
    // A reply to an internal note is internal too, whatever the agent asked.
    let reply = comment(
        &w.admin,
        w.ticket,
        json!({ "text": "Agreed.", "parent_id": note["id"] }),
    )
    .await;
    assert_eq!(reply["is_internal"], true);
    let (status, upload) = {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"vendor quote".to_vec()).file_name("quote.txt"),
        );
        let response = common::client()
            .post(app.url(&format!("/api/v1/comments/{}/attachments/", note["id"])))
            .bearer_auth(&w.agent.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 201, "{upload}");
    let file_id = upload["attachments"][0]["id"].as_i64().unwrap();

    // The employee sees the public comment only: not in the list, not by id, not the file,
    // not by replying to it.
    let seen = thread(&w.employee, w.ticket).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["id"], public["id"]);
    let (status, _) = w
        .employee
        .get(&format!("/api/v1/comments/{}/", note["id"]))
        .await;
    assert_eq!(status, 404);
    let (status, _) = w
        .employee
        .get(&format!("/api/v1/attachments/{file_id}/"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = w
        .employee
        .post(
            &format!("/api/v1/tickets/{}/comments/", w.ticket),
            json!({ "text": "What note?", "parent_id": note["id"] }),
        )
        .await;
    assert_eq!(status, 400);
    // Nor may an employee write one.
    let (status, _) = w
        .employee
        .post(
            &format!("/api/v1/tickets/{}/comments/", w.ticket),
            json!({ "text": "Secret", "is_internal": true }),
        )
        .await;
    assert_eq!(status, 403);
    // The agent's and admin's view has all three, and the file downloads for them.
    assert_eq!(thread(&w.agent, w.ticket).await.len(), 3);
    let (status, _) = w
        .agent
        .get(&format!("/api/v1/attachments/{file_id}/"))
        .await;
    assert_eq!(status, 200);

    // Over the socket too: the employee's socket gets the public comment, not the note.
    let mut employee_socket = socket(&w.employee, &format!("/ws/comments/{}/", w.ticket)).await;
    next_message(&mut employee_socket, "connection_established").await;
    comment(
        &w.agent,
        w.ticket,
        json!({ "text": "Internal again", "is_internal": true }),
    )
    .await;
    comment(&w.agent, w.ticket, json!({ "text": "Public again" })).await;
    let update = next_message(&mut employee_socket, "comment_update").await;
    assert_eq!(update["comment"]["text"], "Public again");

    // The requester is notified of public comments only.
    let told = notifications_of(&w.employee, "comment.posted", 2).await;
    assert!(
        told.iter()
            .all(|n| !n["body"].as_str().unwrap().contains("Vendor")),
        "{told:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        notifications_of(&w.employee, "comment.posted", 2)
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn mentions_notify_those_who_may_see_the_ticket_once() {
    let app = spawn().await;
    let w = world(&app).await;
    // The agent and the admin take part in the ticket (an employee's mentions reach only
    // those; see the security tests).
    comment(&w.agent, w.ticket, json!({ "text": "Which floor?" })).await;
    comment(&w.admin, w.ticket, json!({ "text": "Watching this one." })).await;
    // @sam (an agent who sees all tickets) is told; @other (an employee who may not see the
    // ticket) is not; an unknown handle and an address are ignored.
    let c = comment(
        &w.employee,
        w.ticket,
        json!({ "text": "@sam can you look? cc @other @nobody mail me@example.com" }),
    )
    .await;
    let mentioned: Vec<&str> = c["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(mentioned, ["sam@example.com"]);
    let told = notifications_of(&w.agent, "comment.mention", 1).await;
    assert!(told[0]["title"].as_str().unwrap().contains("mentioned you"));
    assert!(
        told[0]["link"]
            .as_str()
            .unwrap()
            .contains(&format!("/tickets/{}", w.ticket))
    );
    // Editing the comment mentions the admin now: the admin is told, the agent not again.
    let (status, _) = w
        .employee
        .call(
            "PATCH",
            &format!("/api/v1/comments/{}/", c["id"]),
            Some(json!({ "text": "@sam can you look? cc @admin" })),
        )
        .await;
    assert_eq!(status, 200);
    notifications_of(&w.admin, "comment.mention", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        notifications_of(&w.agent, "comment.mention", 1).await.len(),
        1
    );
    let (_, list) = w.stranger.get("/api/v1/notifications/inapp/").await;
    assert_eq!(list["unread"], 0, "{list}");
}

#[tokio::test]
async fn the_comment_socket_speaks_the_seed_protocol_live() {
    let app = spawn().await;
    let w = world(&app).await;
    let path = format!("/ws/comments/{}/", w.ticket);
    let mut employee = socket(&w.employee, &path).await;
    let hello = next_message(&mut employee, "connection_established").await;
    assert_eq!(
        hello,
        json!({ "type": "connection_established", "ticket_id": w.ticket })
    );
    send(
        &mut employee,
        json!({ "type": "ping", "timestamp": 1234567890 }),
    )
    .await;
    assert_eq!(
        next_message(&mut employee, "pong").await,
        json!({ "type": "pong", "timestamp": 1234567890 })
    );

    // The agent opens the ticket too: both see who is viewing.
    let mut agent = socket(&w.agent, &path).await;
    next_message(&mut agent, "connection_established").await;
    let presence = next_message(&mut employee, "presence").await;
    let names: Vec<&str> = presence["viewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{presence}");

    // A comment posted over REST reaches both sockets.
    let posted = comment(&w.agent, w.ticket, json!({ "text": "On my way." })).await;
    for socket in [&mut employee, &mut agent] {
        let update = next_message(socket, "comment_update").await;
        assert_eq!(update["action"], "create");
        assert_eq!(update["comment"]["id"], posted["id"]);
        assert_eq!(update["comment"]["text"], "On my way.");
    }
    // Messages on the socket act like REST: reply, rate, update, delete.
    send(
        &mut employee,
        json!({ "type": "comment_reply", "parent_id": posted["id"], "text": "Thanks!" }),
    )
    .await;
    let reply = next_message(&mut agent, "comment_update").await;
    assert_eq!(reply["action"], "reply");
    assert_eq!(reply["comment"]["parent_id"], posted["id"]);
    let reply_id = reply["comment"]["id"].as_i64().unwrap();
    send(
        &mut employee,
        json!({ "type": "comment_rate", "comment_id": posted["id"], "rating": "up" }),
    )
    .await;
    let rated = next_message(&mut agent, "comment_update").await;
    assert_eq!(
        (
            rated["action"].as_str(),
            rated["comment"]["thumbs_up"].as_i64()
        ),
        (Some("rate"), Some(1))
    );
    send(
        &mut employee,
        json!({ "type": "comment_update", "comment_id": reply_id, "text": "Thanks a lot!" }),
    )
    .await;
    let updated = next_message(&mut agent, "comment_update").await;
    assert_eq!(updated["comment"]["text"], "Thanks a lot!");
    send(
        &mut employee,
        json!({ "type": "comment_delete", "comment_id": reply_id }),
    )
    .await;
    let deleted = next_message(&mut agent, "comment_update").await;
    assert_eq!(deleted["action"], "delete");
    assert!(deleted["comment"]["deleted_at"].is_string());
    // comment_create over the socket.
    send(
        &mut agent,
        json!({ "type": "comment_create", "text": "Fixed." }),
    )
    .await;
    // The employee's socket got its own changes too, in order, then the agent's comment.
    let mut actions = Vec::new();
    let created = loop {
        let update = next_message(&mut employee, "comment_update").await;
        actions.push(update["action"].as_str().unwrap().to_owned());
        if update["action"] == "create" {
            break update;
        }
    };
    assert_eq!(actions, ["reply", "rate", "update", "delete", "create"]);
    assert_eq!(created["comment"]["text"], "Fixed.");
    assert_eq!(thread(&w.employee, w.ticket).await.len(), 3);

    // Typing reaches the others, not the typist.
    send(&mut agent, json!({ "type": "typing" })).await;
    let typing = next_message(&mut employee, "typing").await;
    assert_eq!(typing["user"]["full_name"], "Test Agent");
    assert_eq!(typing["is_typing"], true);
    assert!(
        arrives(&mut agent, "typing", Duration::from_millis(300))
            .await
            .is_none()
    );

    // Someone leaving updates presence.
    agent.close(None).await.unwrap();
    let presence = next_message(&mut employee, "presence").await;
    assert_eq!(
        presence["viewers"].as_array().unwrap().len(),
        1,
        "{presence}"
    );
}

/// A page that goes away without closing its socket (a laptop shut, a network lost) stops
/// being listed as viewing within seconds: the test's second socket is never read, so it
/// answers no ping, like a page that is gone.
#[tokio::test]
async fn a_viewer_whose_page_went_silent_leaves_the_presence_list_within_seconds() {
    let app = spawn().await;
    let w = world(&app).await;
    let path = format!("/ws/comments/{}/", w.ticket);
    let mut employee = socket(&w.employee, &path).await;
    next_message(&mut employee, "connection_established").await;
    let silent = socket(&w.agent, &path).await;
    let names = |presence: &Value| -> Vec<String> {
        presence["viewers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["full_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut seen = names(&next_message(&mut employee, "presence").await);
    let start = tokio::time::Instant::now();
    while !seen.contains(&"Test Agent".to_owned()) {
        seen = names(&next_message(&mut employee, "presence").await);
    }
    while seen.contains(&"Test Agent".to_owned()) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the silent page is still listed after 30 s: {seen:?}"
        );
        if let Some(presence) = arrives(&mut employee, "presence", Duration::from_secs(30)).await {
            seen = names(&presence);
        }
    }
    assert_eq!(seen, vec!["Test Employee".to_owned()]);
    drop(silent);
}

#[tokio::test]
async fn bad_socket_messages_get_an_error_and_the_socket_stays_healthy() {
    let app = spawn().await;
    let w = world(&app).await;
    let mut socket = socket(&w.employee, &format!("/ws/comments/{}/", w.ticket)).await;
    next_message(&mut socket, "connection_established").await;
    let bad = [
        json!("not json at all").as_str().unwrap().to_owned(),
        json!({ "type": "comment_explode" }).to_string(),
        json!({ "type": "comment_create" }).to_string(),
        json!({ "type": "comment_create", "text": "   " }).to_string(),
        json!({ "type": "comment_create", "text": "x", "is_internal": true }).to_string(),
        json!({ "type": "comment_update", "comment_id": 999_999, "text": "x" }).to_string(),
        json!({ "type": "comment_delete", "comment_id": "one" }).to_string(),
        json!({ "type": "comment_rate", "comment_id": 1, "rating": "meh" }).to_string(),
        "x".repeat(70 * 1024),
    ];
    let expected_codes = [
        "bad_request",
        "bad_request",
        "bad_request",
        "bad_request",
        "forbidden",
        "not_found",
        "bad_request",
        "bad_request",
        "payload_too_large",
    ];
    for (message, code) in bad.iter().zip(expected_codes) {
        socket
            .send(Message::Text(message.clone().into()))
            .await
            .unwrap();
        let error = next_message(&mut socket, "error").await;
        assert_eq!(error["code"], code, "{message:.80}: {error}");
    }
    socket
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut socket, "error").await["code"],
        "bad_request"
    );
    // Still healthy: a ping is answered, a comment goes through.
    send(&mut socket, json!({ "type": "ping", "timestamp": "t" })).await;
    assert_eq!(next_message(&mut socket, "pong").await["timestamp"], "t");
    send(
        &mut socket,
        json!({ "type": "comment_create", "text": "Still here" }),
    )
    .await;
    let update = next_message(&mut socket, "comment_update").await;
    assert_eq!(update["comment"]["text"], "Still here");

    // A comment of another ticket cannot be changed through this ticket's socket.
    let (_, other) = w
        .stranger
        .post(
            "/api/v1/tickets/",
            json!({ "subject": "Mine", "description": "x", "priority": "low" }),
        )
        .await;
    let foreign = comment(
        &w.stranger,
        other["id"].as_i64().unwrap(),
        json!({ "text": "mine" }),
    )
    .await;
    send(
        &mut socket,
        json!({ "type": "comment_delete", "comment_id": foreign["id"] }),
    )
    .await;
    assert_eq!(
        next_message(&mut socket, "error").await["code"],
        "not_found"
    );
}

#[tokio::test]
async fn sockets_are_refused_without_credentials_or_for_unseen_tickets() {
    let app = spawn().await;
    let w = world(&app).await;
    let url = |path: &str| app.url(path).replacen("http://", "ws://", 1);
    let status_of = |result: Result<_, tokio_tungstenite::tungstenite::Error>| match result {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => 101,
    };
    let path = format!("/ws/comments/{}/", w.ticket);
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(url(&path)).await),
        401
    );
    let with_bad_token = format!("{}?token=nonsense", url(&path));
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(with_bad_token).await),
        401
    );
    // Another employee may not see the ticket: 404, as over REST.
    let stranger = format!("{}?token={}", url(&path), w.stranger.token);
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(stranger).await),
        404
    );
    let missing = format!("{}?token={}", url("/ws/comments/999999/"), w.employee.token);
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(missing).await),
        404
    );
    let not_a_number = format!("{}?token={}", url("/ws/comments/abc/"), w.employee.token);
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(not_a_number).await),
        400
    );
    // A bearer header works as well as the parameter.
    let mut request = url(&path).into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", w.employee.token).parse().unwrap(),
    );
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(request).await),
        101
    );
    // A session cookie from another site's page is refused (cross-site socket hijacking).
    let mut request = url(&path).into_client_request().unwrap();
    request.headers_mut().insert(
        "cookie",
        format!("access_token={}", w.employee.token)
            .parse()
            .unwrap(),
    );
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(request).await),
        403
    );
    let mut request = url(&path).into_client_request().unwrap();
    request.headers_mut().insert(
        "cookie",
        format!("access_token={}", w.employee.token)
            .parse()
            .unwrap(),
    );
    request
        .headers_mut()
        .insert("origin", app.origin().parse().unwrap());
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(request).await),
        101
    );
    // A plain GET (no upgrade) is told what the address is for.
    let (status, body) = w.employee.get(&path).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn notifications_arrive_live_on_the_users_socket() {
    let app = spawn().await;
    let w = world(&app).await;
    let mut bell = socket(&w.employee, "/ws/notifications/").await;
    let hello = next_message(&mut bell, "connection_established").await;
    assert_eq!(hello["unread"], 0);
    // The agent's comment notifies the requester through the outbox; the socket shows it.
    comment(
        &w.agent,
        w.ticket,
        json!({ "text": "Replaced the roller." }),
    )
    .await;
    let pushed = next_message(&mut bell, "notification").await;
    assert_eq!(pushed["notification"]["kind"], "comment.posted");
    assert_eq!(pushed["unread"], 1);
    let id = pushed["notification"]["id"].as_i64().unwrap();
    // Read elsewhere (REST): the socket gets the new count.
    let (status, _) = w
        .employee
        .post(
            &format!("/api/v1/notifications/inapp/{id}/read/"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(next_message(&mut bell, "unread").await["unread"], 0);
    // Another user's notifications never reach this socket.
    comment(&w.employee, w.ticket, json!({ "text": "@sam thanks" })).await;
    notifications_of(&w.agent, "comment.mention", 1).await;
    assert!(
        arrives(&mut bell, "notification", Duration::from_millis(500))
            .await
            .is_none()
    );
    // Pings are answered; anything else is an error, and the socket stays.
    send(&mut bell, json!({ "type": "ping", "timestamp": 5 })).await;
    assert_eq!(next_message(&mut bell, "pong").await["timestamp"], 5);
    send(&mut bell, json!({ "type": "comment_create", "text": "x" })).await;
    assert_eq!(
        next_message(&mut bell, "error").await["code"],
        "bad_request"
    );
}

#[tokio::test]
async fn wrong_comment_input_gets_a_clear_4xx() {
    let app = spawn().await;
    let w = world(&app).await;
    let comments = format!("/api/v1/tickets/{}/comments/", w.ticket);
    let c = comment(&w.employee, w.ticket, json!({ "text": "ok" })).await;
    let cases = [
        (json!({}), 400),
        (json!({ "text": "" }), 400),
        (json!({ "text": "  \n " }), 400),
        (json!({ "text": "x".repeat(20_001) }), 400),
        (json!({ "text": 5 }), 400),
        (json!({ "text": "x", "parent_id": 999_999 }), 400),
        (json!({ "text": "x", "unknown": true }), 400),
    ];
    for (body, expected) in cases {
        let (status, answer) = w.employee.post(&comments, body.clone()).await;
        assert_eq!(status, expected, "{body:.80}: {answer}");
        assert!(answer["error"]["message"].is_string());
    }
    // Someone who may not see the ticket: 404 for reading and writing, as if it did not exist.
    let (status, _) = w.stranger.get(&comments).await;
    assert_eq!(status, 404);
    let (status, _) = w.stranger.post(&comments, json!({ "text": "hi" })).await;
    assert_eq!(status, 404);
    let (status, _) = w
        .stranger
        .post(
            &format!("/api/v1/comments/{}/rate/", c["id"]),
            json!({ "rating": "up" }),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = w.employee.get("/api/v1/tickets/999999/comments/").await;
    assert_eq!(status, 404);
    let (status, _) = w.employee.get(&format!("{comments}?page_size=1000")).await;
    assert_eq!(status, 400);
    // A comment attachment by someone else than its author: 403; over the limit: 413.
    let upload = |token: String, bytes: Vec<u8>| {
        let url = app.url(&format!("/api/v1/comments/{}/attachments/", c["id"]));
        async move {
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("../../etc/passwd"),
            );
            let response = common::client()
                .post(url)
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    assert_eq!(upload(w.agent.token.clone(), b"x".to_vec()).await.0, 403);
    let (status, attached) = upload(w.employee.token.clone(), b"hello".to_vec()).await;
    assert_eq!(status, 201, "{attached}");
    assert_eq!(attached["attachments"][0]["file_name"], "passwd");
    let too_big = vec![b'x'; 11 * 1024 * 1024];
    assert_eq!(upload(w.employee.token.clone(), too_big).await.0, 413);
    // Nothing half-written: the one comment and its one file.
    let all = thread(&w.employee, w.ticket).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["attachments"].as_array().unwrap().len(), 1);
    // API keys cannot comment (a comment needs an author).
    let (status, key) = w
        .admin
        .post(
            "/api/v1/api-keys/",
            json!({ "name": "intake", "scopes": ["tickets:submit", "tickets:read"] }),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let (status, _) = common::call_json(
        app.url(&comments),
        "POST",
        Credentials::ApiKey(key["key"].as_str().unwrap()),
        Some(json!({ "text": "robot" })),
    )
    .await;
    assert_eq!(status, 403);
}
