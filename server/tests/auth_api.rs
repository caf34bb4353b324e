//! Sign-in over REST and authentication of API calls: what is accepted and what is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{PASSWORD, client, spawn};
use domain::SystemRole;
use serde_json::{Value, json};

#[tokio::test]
async fn sign_in_returns_a_token_that_identifies_the_caller() {
    let app = spawn().await;
    app.user("agent@example.com", SystemRole::Agent).await;

    let response = client()
        .post(app.url("/api/v1/auth/token/"))
        .json(&json!({"email": "  Agent@Example.com ", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("access_token="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let token = body["access"].as_str().unwrap();

    let me: Value = client()
        .get(app.url("/api/v1/auth/me/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "agent@example.com");
    assert_eq!(me["roles"][0]["system"], "tts");
    assert_eq!(me["roles"][0]["role"], "Agent");

    // The same token works from the cookie, as browsers send it.
    let response = client()
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", format!("theme=dark; access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn the_seed_field_name_username_is_accepted() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let response = client()
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"username": "emp@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;

    let mut answers = Vec::new();
    for (email, password) in [
        ("emp@example.com", "not-the-password"),
        ("nobody@example.com", PASSWORD),
    ] {
        let response = client()
            .post(app.url("/api/v1/auth/token/"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{email}");
        assert!(response.headers().get("set-cookie").is_none());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1], "no hint about which accounts exist");
    app.stop().await;
}

#[tokio::test]
async fn malformed_sign_in_requests_get_a_400_naming_the_problem() {
    let app = spawn().await;
    let url = app.url("/api/v1/auth/token/");

    let cases: Vec<(reqwest::RequestBuilder, &str)> = vec![
        (client().post(&url).json(&json!({"password": "x"})), "email"),
        (
            client().post(&url).json(&json!({"email": "a@example.com"})),
            "password",
        ),
        (
            client()
                .post(&url)
                .json(&json!({"email": "", "password": "x"})),
            "email",
        ),
        (
            client()
                .post(&url)
                .json(&json!({"email": 42, "password": "x"})),
            "email",
        ),
        (
            client()
                .post(&url)
                .json(&json!({"email": "a@b.c", "password": "x", "admin": true})),
            "admin",
        ),
        (
            client()
                .post(&url)
                .header("content-type", "application/json")
                .body("{\"email\": "),
            "JSON",
        ),
        (
            client().post(&url).body("email=a&password=b"),
            "Content-Type",
        ),
        (
            client().post(&url).json(&json!(["not", "an", "object"])),
            "JSON",
        ),
    ];
    for (request, mention) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 400, "should mention {mention}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_request");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(mention),
            "{message:?} should mention {mention}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = spawn().await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let response = client()
        .post(app.url("/api/v1/auth/token/"))
        .json(&json!({"email": "a@example.com", "password": huge}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    app.stop().await;
}

#[tokio::test]
async fn missing_expired_tampered_and_foreign_tokens_are_refused() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let token = app.token("emp@example.com").await;
    let me = app.url("/api/v1/auth/me/");

    let response = client().get(&me).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    let mut tampered = token.clone();
    let middle = tampered.len() / 2;
    tampered.replace_range(
        middle..middle + 1,
        if &token[middle..middle + 1] == "A" {
            "B"
        } else {
            "A"
        },
    );
    let foreign = services::auth::tokens::TokenKeys::new(b"some-other-installation-secret-123456")
        .issue(
            1,
            "emp@example.com",
            &[],
            "access",
            chrono::Utc::now(),
            chrono::Duration::minutes(5),
        )
        .unwrap();
    let expired = services::auth::tokens::TokenKeys::new(b"test-secret-test-secret-test-secret-42")
        .issue(
            1,
            "emp@example.com",
            &[],
            "access",
            chrono::Utc::now() - chrono::Duration::hours(2),
            chrono::Duration::minutes(15),
        )
        .unwrap();
    for (label, bad) in [
        ("tampered", tampered),
        ("foreign", foreign),
        ("garbage", "abc.def".into()),
    ] {
        let response = client().get(&me).bearer_auth(&bad).send().await.unwrap();
        assert_eq!(response.status(), 401, "{label}");
    }
    let response = client()
        .get(&me)
        .bearer_auth(&expired)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    // The genuine token still works.
    assert_eq!(
        client()
            .get(&me)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}
