//! Operations endpoints, the error envelope and the HTTP behaviour every route shares.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{client, spawn};

#[tokio::test]
async fn health_answers_with_and_without_trailing_slash() {
    let app = spawn().await;
    for path in ["/health/", "/health"] {
        let response = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }
    app.stop().await;
}

#[tokio::test]
async fn ready_reports_the_database_then_503_when_it_is_gone() {
    let app = spawn().await;
    let response = client().get(app.url("/ready/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["ready"], true);
    assert_eq!(body["checks"]["database"], "ok");

    // The database goes away while the process runs: readiness says so, with JSON.
    app.services().db().close().await;
    let response = client().get(app.url("/ready/")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"]["database"], "unreachable");

    // And API calls that need it get a 503 envelope, not a 500.
    let response = client()
        .post(app.url("/api/v1/auth/token/"))
        .json(&serde_json::json!({"email": "a@example.com", "password": "whatever-it-is"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn().await;
    client().get(app.url("/health/")).send().await.unwrap();
    client()
        .get(app.url("/api/v1/no-such-thing/"))
        .send()
        .await
        .unwrap();
    let response = client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "Prometheus text format"
    );
    let text = response.text().await.unwrap();
    let health_line = text
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total{")
                && l.contains("route=\"/health\"")
                && l.contains("status=\"200\"")
        })
        .expect("a request counter for /health");
    assert!(health_line.contains("method=\"GET\""), "{health_line}");
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "latency histogram"
    );
    // Unknown paths are counted under one label, not one series per URL.
    assert!(
        !text.contains("no-such-thing"),
        "raw URIs must not become labels"
    );
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_an_incoming_one_is_kept() {
    let app = spawn().await;
    let response = client().get(app.url("/health/")).send().await.unwrap();
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    let response = client()
        .get(app.url("/health/"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    app.stop().await;
}

#[tokio::test]
async fn unknown_api_paths_get_the_json_error_envelope() {
    let app = spawn().await;
    for path in [
        "/api/v1/nothing-here/",
        "/api/v1/nothing-here",
        "/api/unknown",
    ] {
        let response = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not found")
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn security_headers_are_set_on_pages_and_api() {
    let app = spawn().await;
    for path in ["/login", "/api/v1/auth/me/"] {
        let response = client().get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.contains_key("referrer-policy"), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_lets_a_request_in_flight_finish() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let app = spawn().await;
    let email = "slow@example.com";
    app.user(email, domain::SystemRole::Employee).await;
    let body = serde_json::json!({"email": email, "password": common::PASSWORD}).to_string();
    let (head, tail) = body.split_at(10);

    // A client sends the headers and half of the body, then stalls: the request is in flight.
    let mut stream = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let request_head = format!(
        "POST /api/v1/auth/token/ HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    );
    stream.write_all(request_head.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // The server is told to stop while the request waits for the rest of its body.
    let address = app.address;
    let stopping = tokio::spawn(app.stop());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "the request in flight completes: {response}"
    );
    assert!(response.contains("\"access\""));
    stopping.await.unwrap();

    // Once stopped, nothing listens any more.
    assert!(
        client()
            .get(format!("http://{address}/health/"))
            .send()
            .await
            .is_err()
    );
}
