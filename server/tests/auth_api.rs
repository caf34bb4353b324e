//! Identity over REST against a real server: sign-in, refresh rotation and reuse detection,
//! sign-out revocation, lockout, rate limits, password change and reset, second factor (TOTP
//! codes computed here, e-mailed codes read from the mailbox), API keys, key rotation, and every
//! kind of bad credential.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{JWT_SECRET, PASSWORD, TestApp, client, spawn, spawn_with_config};
use domain::SystemRole;
use serde_json::{Value, json};

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = client().post(app.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    client()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn sign_in_returns_tokens_that_identify_the_caller() {
    let app = spawn().await;
    app.user("agent@example.com", SystemRole::Agent).await;

    let response = post(
        &app,
        "/api/v1/auth/token/",
        None,
        json!({"email": "  Agent@Example.com ", "password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    for name in ["access_token=", "refresh_token="] {
        let cookie = cookies.iter().find(|c| c.starts_with(name)).expect(name);
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!((895..=900).contains(&body["expires_in"].as_i64().unwrap()));
    let access = body["access"].as_str().unwrap();
    assert!(body["refresh"].as_str().is_some());

    // The seeds' claims are in the token.
    let claims = services::auth::tokens::TokenKeys::new(JWT_SECRET.as_bytes())
        .verify(access, services::auth::tokens::TokenType::Access)
        .unwrap();
    assert_eq!(claims.email, "agent@example.com");
    assert_eq!(claims.systems, vec![domain::System::Tts]);
    assert_eq!(claims.roles[0].role, SystemRole::Agent);

    let me: Value = get(&app, "/api/v1/auth/me/", access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "agent@example.com");
    assert_eq!(me["roles"][0]["role"], "Agent");

    // The same token works from the cookie, as browsers send it.
    let response = client()
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", format!("theme=dark; access_token={access}"))
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
    let response = post(
        &app,
        "/api/v1/auth/token",
        None,
        json!({"username": "emp@example.com", "password": PASSWORD}),
    )
    .await;
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
        let response = post(
            &app,
            "/api/v1/auth/token/",
            None,
            json!({"email": email, "password": password}),
        )
        .await;
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
    let response = post(
        &app,
        "/api/v1/auth/token/",
        None,
        json!({"email": "a@example.com", "password": huge}),
    )
    .await;
    assert_eq!(response.status(), 413);
    assert_eq!(error_code(response).await, "payload_too_large");
    app.stop().await;
}

fn forge(secret: &[u8], user_id: i64, issued: chrono::DateTime<chrono::Utc>) -> String {
    services::auth::tokens::TokenKeys::new(secret)
        .issue(&services::auth::tokens::TokenSpec {
            user_id,
            email: "emp@example.com",
            roles: &[],
            token_type: services::auth::tokens::TokenType::Access,
            sid: None,
            jti: None,
            now: issued,
            lifetime: chrono::Duration::minutes(15),
        })
        .unwrap()
        .0
}

#[tokio::test]
async fn missing_expired_tampered_foreign_and_alg_none_tokens_are_refused() {
    use base64::Engine as _;
    let app = spawn().await;
    let id = app.user("emp@example.com", SystemRole::Employee).await;
    let token = app.token("emp@example.com").await;
    let me = app.url("/api/v1/auth/me/");

    let response = client().get(&me).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "unauthorized");

    let mut tampered = token.clone();
    let middle = tampered.len() / 2;
    let swap = if &token[middle..middle + 1] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(middle..middle + 1, swap);
    let foreign = forge(
        b"some-other-installation-secret-123456",
        id,
        chrono::Utc::now(),
    );
    let expired = forge(
        JWT_SECRET.as_bytes(),
        id,
        chrono::Utc::now() - chrono::Duration::hours(2),
    );
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = chrono::Utc::now().timestamp();
    let alg_none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(format!(
            r#"{{"sub":"{id}","user_id":{id},"email":"emp@example.com","systems":[],"roles":[],"token_type":"access","iat":{now},"exp":{},"jti":"x"}}"#,
            now + 600
        ))
    );
    for (label, bad) in [
        ("tampered", tampered),
        ("foreign key", foreign),
        ("alg none", alg_none),
        ("garbage", "abc.def".to_owned()),
        ("expired", expired),
    ] {
        let response = client().get(&me).bearer_auth(&bad).send().await.unwrap();
        assert_eq!(response.status(), 401, "{label}");
    }
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

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_ends_the_session() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let (access, first_refresh) = app.tokens("emp@example.com").await;

    let response = post(
        &app,
        "/api/v1/auth/token/refresh/",
        None,
        json!({"refresh": first_refresh}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let second_refresh = body["refresh"].as_str().unwrap().to_owned();
    let second_access = body["access"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh, "the refresh token rotates");
    assert_eq!(
        get(&app, "/api/v1/auth/me/", &second_access).await.status(),
        200
    );

    // The old refresh token again, long after the rotation: theft. (The grace period for two
    // racing requests is 30 s; move the rotation back in time to be past it.)
    let db = app.db();
    let mut pooled = db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    services::execute!(
        &mut conn,
        sqlx::query("UPDATE auth_sessions SET rotated_at = $1")
            .bind(chrono::Utc::now() - chrono::Duration::minutes(5))
    )
    .unwrap();
    drop(pooled);
    let response = post(
        &app,
        "/api/v1/auth/token/refresh/",
        None,
        json!({"refresh": first_refresh}),
    )
    .await;
    assert_eq!(response.status(), 401);

    // The whole family is gone: the newest refresh token and the access tokens too.
    let response = post(
        &app,
        "/api/v1/auth/token/refresh/",
        None,
        json!({"refresh": second_refresh}),
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        get(&app, "/api/v1/auth/me/", &second_access).await.status(),
        401
    );
    assert_eq!(get(&app, "/api/v1/auth/me/", &access).await.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn two_racing_refreshes_with_the_same_token_do_not_sign_the_user_out() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let (_, refresh) = app.tokens("emp@example.com").await;
    let first = post(
        &app,
        "/api/v1/auth/token/refresh/",
        None,
        json!({"refresh": refresh}),
    )
    .await;
    assert_eq!(first.status(), 200);
    let second = post(
        &app,
        "/api/v1/auth/token/refresh/",
        None,
        json!({"refresh": refresh}),
    )
    .await;
    assert_eq!(
        second.status(),
        200,
        "the same token within seconds is a race, not theft"
    );
    let body: Value = second.json().await.unwrap();
    assert!(
        body.get("refresh").is_none(),
        "the loser keeps the refresh token it has"
    );
    let access = body["access"].as_str().unwrap();
    assert_eq!(get(&app, "/api/v1/auth/me/", access).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn logout_revokes_the_access_token_and_the_refresh_token() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let (access, refresh) = app.tokens("emp@example.com").await;
    let response = post(&app, "/api/v1/auth/logout/", Some(&access), json!({})).await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        get(&app, "/api/v1/auth/me/", &access).await.status(),
        401,
        "deny-listed"
    );
    let response = post(
        &app,
        "/api/v1/auth/token/refresh/",
        None,
        json!({"refresh": refresh}),
    )
    .await;
    assert_eq!(response.status(), 401);
    // Other sessions of the same user are untouched.
    let other = app.token("emp@example.com").await;
    assert_eq!(get(&app, "/api/v1/auth/me/", &other).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_deactivated_users_valid_token_is_refused() {
    let app = spawn().await;
    let admin_id = app.user("admin@example.com", SystemRole::Admin).await;
    let id = app.user("emp@example.com", SystemRole::Employee).await;
    let token = app.token("emp@example.com").await;
    let changes = services::users::UserChanges {
        is_active: Some(false),
        ..Default::default()
    };
    services::users::update(app.db(), admin_id, id, changes)
        .await
        .unwrap();
    let response = get(&app, "/api/v1/auth/me/", &token).await;
    assert_eq!(response.status(), 401);
    let response = post(
        &app,
        "/api/v1/auth/token/",
        None,
        json!({"email": "emp@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deactivated")
    );
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_until_an_admin_unlocks_it() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let id = app.user("emp@example.com", SystemRole::Employee).await;
    let admin = app.token("admin@example.com").await;
    for attempt in 1..=5 {
        let response = post(
            &app,
            "/api/v1/auth/token/",
            None,
            json!({"email": "emp@example.com", "password": format!("wrong-{attempt}")}),
        )
        .await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    // Now even the right password is refused, and with the very answer an unknown address or a
    // wrong password gets: the answer tells nobody that the account exists, nor that the
    // password was right. The owner learns of the lock by e-mail.
    let answer = async |email: &str, password: &str| {
        let response = post(
            &app,
            "/api/v1/auth/token/",
            None,
            json!({"email": email, "password": password}),
        )
        .await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        (status, body)
    };
    let locked_right = answer("emp@example.com", PASSWORD).await;
    let locked_wrong = answer("emp@example.com", "wrong-again").await;
    let unknown = answer("nobody@example.com", "whatever-password").await;
    assert_eq!(locked_right.0, 401, "{}", locked_right.1);
    assert_eq!(locked_right, locked_wrong);
    assert_eq!(locked_right, unknown);
    let message = locked_right.1["error"]["message"].as_str().unwrap();
    assert!(message.contains("locked"), "{message}");
    let mail = app.wait_for_mail("emp@example.com", "locked").await;
    assert!(mail.text.contains("5 failed attempts"), "{}", mail.text);

    let listed: Value = get(&app, &format!("/api/v1/users/{id}/"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed["locked_until"].is_string());
    let response = post(
        &app,
        &format!("/api/v1/users/{id}/unlock/"),
        Some(&admin),
        json!({}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = post(
        &app,
        "/api/v1/auth/token/",
        None,
        json!({"email": "emp@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn sign_in_endpoints_are_rate_limited_per_ip_with_retry_after() {
    let app = spawn_with_config(|config| config.auth_rate_per_minute = 3).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = post(
            &app,
            "/api/v1/auth/token/",
            None,
            json!({"email": "someone@example.com", "password": "whatever-it-is"}),
        )
        .await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry), "Retry-After {retry}");
            assert_eq!(error_code(response).await, "rate_limited");
        }
    }
    assert_eq!(statuses, vec![401, 401, 401, 429, 429]);
    // Other endpoints are not limited.
    assert_eq!(
        client()
            .get(app.url("/health/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn a_password_change_checks_the_current_one_and_ends_other_sessions() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let (mine, _) = app.tokens("emp@example.com").await;
    let (other, other_refresh) = app.tokens("emp@example.com").await;

    let response = post(
        &app,
        "/api/v1/auth/password/",
        Some(&mine),
        json!({"current_password": "wrong-one-entirely", "new_password": "a brand new passphrase"}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["details"]["current_password"].is_string());

    for weak in ["short", "password123", "1234567890"] {
        let response = post(
            &app,
            "/api/v1/auth/password/",
            Some(&mine),
            json!({"current_password": PASSWORD, "new_password": weak}),
        )
        .await;
        assert_eq!(response.status(), 400, "{weak}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"]["details"]["new_password"].is_string(),
            "{weak}"
        );
    }

    let response = post(
        &app,
        "/api/v1/auth/password/",
        Some(&mine),
        json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        get(&app, "/api/v1/auth/me/", &mine).await.status(),
        200,
        "this session stays"
    );
    assert_eq!(
        get(&app, "/api/v1/auth/me/", &other).await.status(),
        401,
        "others end"
    );
    let response = post(
        &app,
        "/api/v1/auth/token/refresh/",
        None,
        json!({"refresh": other_refresh}),
    )
    .await;
    assert_eq!(response.status(), 401);
    app.wait_for_mail("emp@example.com", "password was changed")
        .await;
    let response = post(
        &app,
        "/api/v1/auth/token/",
        None,
        json!({"email": "emp@example.com", "password": "a brand new passphrase"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    app.stop().await;
}

/// A code that is not `code` (first digit changed).
fn another_code(code: &str) -> String {
    let first = code
        .chars()
        .next()
        .and_then(|c| c.to_digit(10))
        .unwrap_or(0);
    format!("{}{}", (first + 1) % 10, &code[1..])
}

fn link_token(text: &str) -> String {
    let start = text.find("token=").expect("a reset link") + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// A password reset keeps the second factor (the link alone must not undo it) and tells the
/// owner it is there, so a factor someone else added does not go unnoticed.
#[tokio::test]
async fn a_password_reset_tells_the_owner_their_second_factor_is_still_there() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let access = app.token("emp@example.com").await;
    post(
        &app,
        "/api/v1/auth/second-factor/email/",
        Some(&access),
        json!({}),
    )
    .await;
    let mail = app.wait_for_mail("emp@example.com", "sign-in code").await;
    let code: String = mail.subject.chars().filter(char::is_ascii_digit).collect();
    let response = post(
        &app,
        "/api/v1/auth/second-factor/email/confirm/",
        Some(&access),
        json!({"code": code, "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 200);
    post(
        &app,
        "/api/v1/auth/password/reset/",
        None,
        json!({"email": "emp@example.com"}),
    )
    .await;
    let mail = app
        .wait_for_mail("emp@example.com", "Reset your TTS password")
        .await;
    let response = post(
        &app,
        "/api/v1/auth/password/reset/confirm/",
        None,
        json!({"token": link_token(&mail.text), "new_password": "reset to something long"}),
    )
    .await;
    assert_eq!(response.status(), 204);
    let notice = app
        .wait_for_mail("emp@example.com", "password was reset")
        .await;
    assert!(
        notice.text.contains("second factor") && notice.text.contains("still in place"),
        "{}",
        notice.text
    );
    app.stop().await;
}

#[tokio::test]
async fn a_reset_link_works_once_within_its_time_and_says_nothing_about_unknown_addresses() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let (access, _) = app.tokens("emp@example.com").await;

    for email in ["emp@example.com", "nobody@example.com"] {
        let response = post(
            &app,
            "/api/v1/auth/password/reset/",
            None,
            json!({"email": email}),
        )
        .await;
        assert_eq!(response.status(), 202, "{email}");
    }
    let mail = app
        .wait_for_mail("emp@example.com", "Reset your TTS password")
        .await;
    assert!(mail.text.contains("30 minutes"));
    assert!(
        app.mails().iter().all(|m| !m.to.contains("nobody")),
        "no mail to unknown addresses"
    );
    let token = link_token(&mail.text);

    let response = post(
        &app,
        "/api/v1/auth/password/reset/confirm/",
        None,
        json!({"token": token, "new_password": "short"}),
    )
    .await;
    assert_eq!(
        response.status(),
        400,
        "a weak password is refused, the link stays usable"
    );
    let response = post(
        &app,
        "/api/v1/auth/password/reset/confirm/",
        None,
        json!({"token": token, "new_password": "reset to something long"}),
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        get(&app, "/api/v1/auth/me/", &access).await.status(),
        401,
        "sessions end"
    );
    let response = post(
        &app,
        "/api/v1/auth/password/reset/confirm/",
        None,
        json!({"token": token, "new_password": "and once more please"}),
    )
    .await;
    assert_eq!(response.status(), 400, "single use");
    let response = post(
        &app,
        "/api/v1/auth/token/",
        None,
        json!({"email": "emp@example.com", "password": "reset to something long"}),
    )
    .await;
    assert_eq!(response.status(), 200);

    // An expired link is refused.
    post(
        &app,
        "/api/v1/auth/password/reset/",
        None,
        json!({"email": "emp@example.com"}),
    )
    .await;
    let mail = app
        .wait_for_mail("emp@example.com", "Reset your TTS password")
        .await;
    let old = link_token(&mail.text);
    let mut pooled = app.db().acquire().await.unwrap();
    let mut conn = pooled.conn();
    services::execute!(
        &mut conn,
        sqlx::query("UPDATE one_time_codes SET expires_at = $1")
            .bind(chrono::Utc::now() - chrono::Duration::minutes(1))
    )
    .unwrap();
    drop(pooled);
    let response = post(
        &app,
        "/api/v1/auth/password/reset/confirm/",
        None,
        json!({"token": old, "new_password": "too late for this one"}),
    )
    .await;
    assert_eq!(response.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn totp_enrolment_then_sign_in_with_a_code_or_a_recovery_code() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let access = app.token("emp@example.com").await;

    let enrolment: Value = post(
        &app,
        "/api/v1/auth/second-factor/totp/",
        Some(&access),
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    assert!(
        enrolment["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/TTS:")
    );
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));

    let code = services::auth::second_factor::current_totp_code(&secret).unwrap();
    let response = post(
        &app,
        "/api/v1/auth/second-factor/totp/confirm/",
        Some(&access),
        json!({"secret": secret, "code": another_code(&code), "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(
        response.status(),
        400,
        "a wrong first code does not turn TOTP on"
    );
    // A signed-in session alone cannot add a factor: the password is asked for (a stolen
    // access token must not let its thief put their own authenticator on the account).
    let response = post(
        &app,
        "/api/v1/auth/second-factor/totp/confirm/",
        Some(&access),
        json!({"secret": secret, "code": code}),
    )
    .await;
    assert_eq!(response.status(), 400, "no password, no factor");
    let response = post(
        &app,
        "/api/v1/auth/second-factor/totp/confirm/",
        Some(&access),
        json!({"secret": secret, "code": code, "current_password": "not-the-password"}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["details"]["current_password"].is_string(),
        "{body}"
    );
    let status: Value = get(&app, "/api/v1/auth/second-factor/", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["method"], "none", "still no factor: {status}");
    let response = post(
        &app,
        "/api/v1/auth/second-factor/totp/confirm/",
        Some(&access),
        json!({"secret": secret, "code": code, "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 200);
    // The owner hears of it, so a factor they did not add is noticed.
    let notice = app
        .wait_for_mail("emp@example.com", "second factor was added")
        .await;
    assert!(notice.text.contains("authenticator app"), "{}", notice.text);
    let body: Value = response.json().await.unwrap();
    let recovery: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);

    // The stored secret is encrypted.
    let mut pooled = app.db().acquire().await.unwrap();
    let mut conn = pooled.conn();
    let stored: Option<String> = services::on_conn!(&mut conn, c => sqlx::query_scalar(
        "SELECT totp_secret FROM users WHERE email = 'emp@example.com'"
    ).fetch_one(c).await)
    .unwrap();
    drop(pooled);
    assert!(!stored.unwrap().contains(&secret));

    // The password alone is not enough any more.
    let response = post(
        &app,
        "/api/v1/auth/token/",
        None,
        json!({"email": "emp@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["second_factor_required"], true);
    assert_eq!(body["method"], "totp");
    assert!(body.get("access").is_none());
    let challenge = body["challenge"].as_str().unwrap().to_owned();
    // A challenge is not an access token.
    assert_eq!(
        get(&app, "/api/v1/auth/me/", &challenge).await.status(),
        401
    );

    let response = post(
        &app,
        "/api/v1/auth/token/verify/",
        None,
        json!({"challenge": challenge, "code": another_code(&code)}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let code = services::auth::second_factor::current_totp_code(&secret).unwrap();
    let response = post(
        &app,
        "/api/v1/auth/token/verify/",
        None,
        json!({"challenge": challenge, "code": code}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        get(&app, "/api/v1/auth/me/", body["access"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // The challenge served once.
    let code = services::auth::second_factor::current_totp_code(&secret).unwrap();
    let response = post(
        &app,
        "/api/v1/auth/token/verify/",
        None,
        json!({"challenge": challenge, "code": code}),
    )
    .await;
    assert_eq!(response.status(), 401);

    // A recovery code signs in once.
    for expected in [200, 400] {
        let body: Value = post(
            &app,
            "/api/v1/auth/token/",
            None,
            json!({"email": "emp@example.com", "password": PASSWORD}),
        )
        .await
        .json()
        .await
        .unwrap();
        let response = post(
            &app,
            "/api/v1/auth/token/verify/",
            None,
            json!({"challenge": body["challenge"], "code": recovery[0].to_uppercase()}),
        )
        .await;
        assert_eq!(response.status(), expected);
    }
    let status: Value = get(&app, "/api/v1/auth/second-factor/", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["method"], "totp");
    assert_eq!(status["recovery_codes_left"], 9);
    app.stop().await;
}

#[tokio::test]
async fn e_mailed_codes_as_the_second_factor() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let access = app.token("emp@example.com").await;
    let response = post(
        &app,
        "/api/v1/auth/second-factor/email/",
        Some(&access),
        json!({}),
    )
    .await;
    assert_eq!(response.status(), 202);
    let mail = app.wait_for_mail("emp@example.com", "sign-in code").await;
    let code: String = mail.subject.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 6);
    let response = post(
        &app,
        "/api/v1/auth/second-factor/email/confirm/",
        Some(&access),
        json!({"code": code, "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 200);

    let body: Value = post(
        &app,
        "/api/v1/auth/token/",
        None,
        json!({"email": "emp@example.com", "password": PASSWORD}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["method"], "email");
    // Read the newest code mail (the sign-in sends a fresh one).
    let mut newest = String::new();
    for _ in 0..100 {
        let codes: Vec<String> = app
            .mails()
            .iter()
            .filter(|m| m.subject.contains("sign-in code"))
            .map(|m| m.subject.chars().filter(char::is_ascii_digit).collect())
            .collect();
        if codes.len() >= 2 {
            newest = codes.last().unwrap().clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(newest.len(), 6);
    let response = post(
        &app,
        "/api/v1/auth/token/verify/",
        None,
        json!({"challenge": body["challenge"], "code": newest}),
    )
    .await;
    assert_eq!(response.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_role_that_requires_a_second_factor_confines_its_holders_until_they_set_one_up() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    app.user("boss@example.com", SystemRole::Admin).await;
    let admin = app.token("admin@example.com").await;
    let response = client()
        .put(app.url("/api/v1/security/policies/Admin/"))
        .bearer_auth(&admin)
        .json(&json!({"require_second_factor": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let boss = app.token("boss@example.com").await;
    let me: Value = get(&app, "/api/v1/auth/me/", &boss)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["must_set_up_second_factor"], true);
    let response = get(&app, "/api/v1/users/", &boss).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("second factor")
    );
    // Setting it up is allowed, and afterwards everything is.
    let enrolment: Value = post(
        &app,
        "/api/v1/auth/second-factor/totp/",
        Some(&boss),
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    let secret = enrolment["secret"].as_str().unwrap();
    let code = services::auth::second_factor::current_totp_code(secret).unwrap();
    let response = post(
        &app,
        "/api/v1/auth/second-factor/totp/confirm/",
        Some(&boss),
        json!({"secret": secret, "code": code, "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(get(&app, "/api/v1/users/", &boss).await.status(), 200);
    // And it cannot be turned off while the role requires it.
    let response = post(
        &app,
        "/api/v1/auth/second-factor/disable/",
        Some(&boss),
        json!({"current_password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 422);
    app.stop().await;
}

#[tokio::test]
async fn api_keys_are_shown_once_scoped_and_revocable() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let admin = app.token("admin@example.com").await;

    for (body, field) in [
        (json!({"name": "", "scopes": ["users:read"]}), "name"),
        (json!({"name": "HDTS", "scopes": []}), "scopes"),
        (json!({"name": "HDTS", "scopes": ["everything"]}), "scopes"),
    ] {
        let response = post(&app, "/api/v1/api-keys/", Some(&admin), body).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["details"][field].is_string(), "{body}");
    }

    let response = post(
        &app,
        "/api/v1/api-keys/",
        Some(&admin),
        json!({"name": "HDTS", "scopes": ["users:read", "tickets:submit"]}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["summary"]["id"].as_i64().unwrap();
    assert!(key.starts_with(&format!(
        "tts_{}_",
        created["summary"]["prefix"].as_str().unwrap()
    )));

    // The list never shows the secret, and says when the key was last used.
    let listed: Value = get(&app, "/api/v1/api-keys/", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(!listed.to_string().contains(&key[10..]));
    assert!(listed[0]["last_used_at"].is_null());

    let with_key = |path: &str, key: &str| {
        client()
            .get(app.url(path))
            .header("x-api-key", key.to_owned())
            .send()
    };
    assert_eq!(
        with_key("/api/v1/users/", &key).await.unwrap().status(),
        200,
        "users:read"
    );
    assert_eq!(
        with_key("/api/v1/roles/", &key).await.unwrap().status(),
        403,
        "no roles:read"
    );
    assert_eq!(
        with_key("/api/v1/api-keys/", &key).await.unwrap().status(),
        403,
        "never admin"
    );
    assert_eq!(
        with_key("/api/v1/auth/me/", &key).await.unwrap().status(),
        403,
        "not a user"
    );
    let listed: Value = get(&app, "/api/v1/api-keys/", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed[0]["last_used_at"].is_string());

    let wrong_secret = format!("{}x", &key[..key.len() - 1]);
    for bad in [wrong_secret.as_str(), "tts_nope_nope", "garbage"] {
        assert_eq!(
            with_key("/api/v1/users/", bad).await.unwrap().status(),
            401,
            "{bad}"
        );
    }

    let response = client()
        .delete(app.url(&format!("/api/v1/api-keys/{id}/")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        with_key("/api/v1/users/", &key).await.unwrap().status(),
        401,
        "revoked"
    );
    app.stop().await;
}

#[tokio::test]
async fn tokens_of_the_previous_key_work_after_a_rotation() {
    let old_secret = "the-secret-before-the-rotation-0001";
    let app = spawn_with_config(|config| {
        config.jwt_secret = Some(JWT_SECRET.into());
        config.jwt_previous_secret = Some(old_secret.into());
    })
    .await;
    let id = app.user("emp@example.com", SystemRole::Employee).await;
    let old = forge(old_secret.as_bytes(), id, chrono::Utc::now());
    assert_eq!(get(&app, "/api/v1/auth/me/", &old).await.status(), 200);
    let unknown = forge(
        b"a-secret-nobody-configured-anywhere",
        id,
        chrono::Utc::now(),
    );
    assert_eq!(get(&app, "/api/v1/auth/me/", &unknown).await.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_sends_an_alert_but_the_first_does_not() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let sign_in = |agent: &'static str| {
        client()
            .post(app.url("/api/v1/auth/token/"))
            .header("user-agent", agent)
            .json(&json!({"email": "emp@example.com", "password": PASSWORD}))
            .send()
    };
    assert_eq!(sign_in("Laptop Browser").await.unwrap().status(), 200);
    assert_eq!(sign_in("Laptop Browser").await.unwrap().status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        app.mails()
            .iter()
            .all(|m| !m.subject.contains("New sign-in")),
        "known device"
    );
    assert_eq!(sign_in("Phone Browser").await.unwrap().status(), 200);
    let mail = app.wait_for_mail("emp@example.com", "New sign-in").await;
    assert!(mail.text.contains("Phone Browser"));
    app.stop().await;
}

#[tokio::test]
async fn sessions_can_be_listed_and_signed_out_remotely() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let (mine, _) = app.tokens("emp@example.com").await;
    let (other, _) = app.tokens("emp@example.com").await;
    let list: Value = get(&app, "/api/v1/auth/sessions/", &mine)
        .await
        .json()
        .await
        .unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let other_id = list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap();

    let response = client()
        .delete(app.url(&format!("/api/v1/auth/sessions/{other_id}/")))
        .bearer_auth(&mine)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(get(&app, "/api/v1/auth/me/", &other).await.status(), 401);
    assert_eq!(get(&app, "/api/v1/auth/me/", &mine).await.status(), 200);

    let (third, _) = app.tokens("emp@example.com").await;
    let response = post(
        &app,
        "/api/v1/auth/sessions/revoke-others/",
        Some(&mine),
        json!({}),
    )
    .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["revoked"], 1);
    assert_eq!(get(&app, "/api/v1/auth/me/", &third).await.status(), 401);

    // Someone else's session id is not found, not revoked.
    app.user("other@example.com", SystemRole::Employee).await;
    let stranger = app.token("other@example.com").await;
    let mine_id = {
        let list: Value = get(&app, "/api/v1/auth/sessions/", &mine)
            .await
            .json()
            .await
            .unwrap();
        list[0]["id"].as_str().unwrap().to_owned()
    };
    let response = client()
        .delete(app.url(&format!("/api/v1/auth/sessions/{mine_id}/")))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(get(&app, "/api/v1/auth/me/", &mine).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn cookie_authenticated_changes_from_another_site_are_refused() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let (access, _) = app.tokens("emp@example.com").await;
    let cookie = format!("access_token={access}");
    let attempt = |origin: Option<&str>| {
        let mut request = client()
            .post(app.url("/api/v1/auth/sessions/revoke-others/"))
            .header("cookie", cookie.clone());
        if let Some(origin) = origin {
            request = request.header("origin", origin.to_owned());
        }
        request.send()
    };
    let response = attempt(Some("https://evil.example")).await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("Cross-site"));
    assert_eq!(
        attempt(None).await.unwrap().status(),
        403,
        "no evidence of the origin"
    );
    assert_eq!(attempt(Some(&app.origin())).await.unwrap().status(), 200);
    // The same request with a bearer token cannot be forged by a page, so it passes.
    let response = client()
        .post(app.url("/api/v1/auth/sessions/revoke-others/"))
        .bearer_auth(&access)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.stop().await;
}
