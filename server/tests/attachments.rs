//! Ticket attachments over REST on whichever database the suite runs: upload, list, download
//! with the right headers, storage by content hash, limits, visibility, and hostile uploads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Credentials, TestApp, call_json, client, spawn, spawn_with_config};
use domain::SystemRole;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00";

struct Setup {
    employee: String,
    other: String,
    ticket: i64,
}

async fn setup(app: &TestApp) -> Setup {
    app.user("employee@example.com", SystemRole::Employee).await;
    app.user("other@example.com", SystemRole::Employee).await;
    let employee = app.token("employee@example.com").await;
    let other = app.token("other@example.com").await;
    let (status, ticket) = call_json(
        app.url("/api/v1/tickets/"),
        "POST",
        Credentials::Bearer(&employee),
        Some(json!({"subject": "Screen broken"})),
    )
    .await;
    assert_eq!(status, 201, "{ticket}");
    Setup {
        employee,
        other,
        ticket: ticket["id"].as_i64().unwrap(),
    }
}

async fn upload(
    app: &TestApp,
    token: &str,
    ticket: i64,
    files: Vec<(&str, &str, Vec<u8>)>,
) -> (u16, Value) {
    let mut form = Form::new();
    for (name, declared_type, bytes) in files {
        form = form.part(
            "file",
            Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str(declared_type)
                .unwrap(),
        );
    }
    let response = client()
        .post(app.url(&format!("/api/v1/tickets/{ticket}/attachments/")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn files_are_uploaded_listed_and_downloaded_with_safe_headers() {
    let app = spawn().await;
    let s = setup(&app).await;
    let (status, stored) = upload(
        &app,
        &s.employee,
        s.ticket,
        vec![
            ("screen.png", "image/png", PNG.to_vec()),
            ("../../etc/passwd", "text/plain", b"root:x:0:0".to_vec()),
            (
                "invoice.png",
                "image/png",
                b"<html><script>alert(1)</script>".to_vec(),
            ),
        ],
    )
    .await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored[0]["file_name"], "screen.png");
    assert_eq!(stored[0]["content_type"], "image/png");
    assert_eq!(stored[0]["size_bytes"], PNG.len());
    assert_eq!(
        stored[1]["file_name"], "passwd",
        "no path from the upload's name"
    );
    assert_eq!(stored[1]["content_type"], "application/octet-stream");
    assert_eq!(
        stored[2]["content_type"], "application/octet-stream",
        "a forged type is not believed"
    );

    let (_, listed) = call_json(
        app.url(&format!("/api/v1/tickets/{}/attachments/", s.ticket)),
        "GET",
        Credentials::Bearer(&s.employee),
        None,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 3);

    // The image is shown inline; the others download; the browser never sniffs.
    let download = |id: &Value| {
        client()
            .get(app.url(&format!("/api/v1/attachments/{id}/")))
            .bearer_auth(&s.employee)
            .send()
    };
    let image = download(&stored[0]["id"]).await.unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(
        image.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    assert_eq!(image.bytes().await.unwrap().as_ref(), PNG);
    let forged = download(&stored[2]["id"]).await.unwrap();
    assert_eq!(forged.headers()["content-type"], "application/octet-stream");
    let disposition = forged.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.contains("invoice.png"), "{disposition}");

    // Stored once by content hash inside the attachments folder, nowhere else.
    let folder = app.config.attachments_dir.clone();
    let files: Vec<_> = walk(&folder);
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|f| f.starts_with(&folder)));
    let (status, again) = upload(
        &app,
        &s.employee,
        s.ticket,
        vec![("copy.png", "image/png", PNG.to_vec())],
    )
    .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(walk(&folder).len(), 3, "the same bytes are stored once");

    // The history says who attached what.
    let (_, history) = call_json(
        app.url(&format!("/api/v1/tickets/{}/history/", s.ticket)),
        "GET",
        Credentials::Bearer(&s.employee),
        None,
    )
    .await;
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "attachment" && e["to_value"] == "screen.png")
    );
    app.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn someone_who_cannot_see_the_ticket_gets_404_everywhere() {
    let app = spawn().await;
    let s = setup(&app).await;
    let (_, stored) = upload(
        &app,
        &s.employee,
        s.ticket,
        vec![("a.txt", "text/plain", b"hello".to_vec())],
    )
    .await;
    let (status, _) = upload(
        &app,
        &s.other,
        s.ticket,
        vec![("b.txt", "text/plain", b"x".to_vec())],
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call_json(
        app.url(&format!("/api/v1/tickets/{}/attachments/", s.ticket)),
        "GET",
        Credentials::Bearer(&s.other),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let response = client()
        .get(app.url(&format!("/api/v1/attachments/{}/", stored[0]["id"])))
        .bearer_auth(&s.other)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let anonymous = client()
        .get(app.url(&format!("/api/v1/attachments/{}/", stored[0]["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn limits_and_wrong_uploads_get_clear_4xx_and_nothing_is_written() {
    let app = spawn_with_config(|raw| {
        raw.attachment_max_bytes = 1024;
        raw.attachment_max_count = 2;
    })
    .await;
    let s = setup(&app).await;
    let (status, body) = upload(
        &app,
        &s.employee,
        s.ticket,
        vec![("big.bin", "application/octet-stream", vec![7; 2048])],
    )
    .await;
    assert_eq!(status, 413, "{body}");
    // Far over the limit: refused before it is read in full.
    let (status, _) = upload(
        &app,
        &s.employee,
        s.ticket,
        vec![(
            "huge.bin",
            "application/octet-stream",
            vec![7; 2 * 1024 * 1024],
        )],
    )
    .await;
    assert_eq!(status, 413);
    let (status, body) = upload(
        &app,
        &s.employee,
        s.ticket,
        vec![("empty.txt", "text/plain", Vec::new())],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    for n in 0..2 {
        let (status, _) = upload(
            &app,
            &s.employee,
            s.ticket,
            vec![(&format!("{n}.txt"), "text/plain", vec![b'a' + n])],
        )
        .await;
        assert_eq!(status, 201);
    }
    let (status, body) = upload(
        &app,
        &s.employee,
        s.ticket,
        vec![("3.txt", "text/plain", b"z".to_vec())],
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("most attachments")
    );

    // Not multipart, or no `file` part.
    let response = client()
        .post(app.url(&format!("/api/v1/tickets/{}/attachments/", s.ticket)))
        .bearer_auth(&s.employee)
        .json(&json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = client()
        .post(app.url(&format!("/api/v1/tickets/{}/attachments/", s.ticket)))
        .bearer_auth(&s.employee)
        .multipart(Form::new().text("note", "no file"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let (status, _) = upload(
        &app,
        &s.employee,
        999_999,
        vec![("a.txt", "text/plain", b"a".to_vec())],
    )
    .await;
    assert_eq!(status, 404);

    let (_, listed) = call_json(
        app.url(&format!("/api/v1/tickets/{}/attachments/", s.ticket)),
        "GET",
        Credentials::Bearer(&s.employee),
        None,
    )
    .await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "only the two accepted files: {listed}"
    );
    app.stop().await;
}
