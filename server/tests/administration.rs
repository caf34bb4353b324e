//! User and workflow-role administration over REST: the directory, creating and inviting,
//! editing roles, the last-administrator rule, deactivation, workflow roles and members, and
//! what wrong input gets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Credentials, TestApp, client, spawn};
use domain::SystemRole;
use serde_json::{Value, json};

struct Admin<'a> {
    app: &'a TestApp,
    token: String,
}

impl Admin<'_> {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        common::call_json(
            self.app.url(path),
            method,
            Credentials::Bearer(&self.token),
            body,
        )
        .await
    }
}

async fn admin(app: &TestApp) -> Admin<'_> {
    app.user("admin@example.com", SystemRole::Admin).await;
    Admin {
        app,
        token: app.token("admin@example.com").await,
    }
}

#[tokio::test]
async fn the_directory_searches_sorts_and_pages() {
    let app = spawn().await;
    let admin = admin(&app).await;
    for (email, role) in [
        ("zoe.agent@example.com", SystemRole::Agent),
        ("yann@example.com", SystemRole::Employee),
        ("xavier@example.com", SystemRole::Employee),
    ] {
        app.user(email, role).await;
    }
    let (status, page) = admin
        .call("GET", "/api/v1/users/?page_size=2&ordering=email", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 4);
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    assert_eq!(page["results"][0]["email"], "admin@example.com");
    assert_eq!(page["previous"], Value::Null);
    let next = page["next"].as_str().unwrap();
    assert!(
        next.contains("page=2") && next.contains("ordering=email"),
        "{next}"
    );
    let (_, second) = admin.call("GET", next, None).await;
    assert_eq!(second["results"][0]["email"], "yann@example.com");
    assert_eq!(second["next"], Value::Null);

    let (_, found) = admin.call("GET", "/api/v1/users/?q=AGENT", None).await;
    assert_eq!(found["count"], 1);
    assert_eq!(found["results"][0]["email"], "zoe.agent@example.com");
    assert_eq!(found["results"][0]["roles"][0]["role"], "Agent");
    // Wildcards in the query are plain characters.
    let (_, none) = admin.call("GET", "/api/v1/users/?q=%25", None).await;
    assert_eq!(none["count"], 0);
    let (_, descending) = admin
        .call("GET", "/api/v1/users/?ordering=-email", None)
        .await;
    assert_eq!(descending["results"][0]["email"], "zoe.agent@example.com");

    for (query, field) in [
        ("page=0", "page"),
        ("page_size=101", "page_size"),
        ("page_size=0", "page_size"),
        ("ordering=password_hash", "ordering"),
    ] {
        let (status, body) = admin
            .call("GET", &format!("/api/v1/users/?{query}"), None)
            .await;
        assert_eq!(status, 400, "{query}");
        assert!(
            body["error"]["details"][field].is_string(),
            "{query}: {body}"
        );
    }
    let (status, body) = admin.call("GET", "/api/v1/users/?page=abc", None).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("page"));
    let (status, _) = admin.call("GET", "/api/v1/users/abc/", None).await;
    assert_eq!(status, 400);
    let (status, body) = admin.call("GET", "/api/v1/users/99999/", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    app.stop().await;
}

#[tokio::test]
async fn creating_users_checks_every_field() {
    let app = spawn().await;
    let admin = admin(&app).await;
    let (status, user) = admin
        .call(
            "POST",
            "/api/v1/users/",
            Some(
                json!({"email": "New.Person@Example.com", "full_name": "New Person",
                "password": "a sturdy passphrase", "roles": [{"system": "tts", "role": "Agent"},
                {"system": "hdts", "role": "Employee"}]}),
            ),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(user["email"], "new.person@example.com");
    assert_eq!(user["roles"].as_array().unwrap().len(), 2);
    assert_eq!(user["invited"], false);

    let cases = [
        (
            json!({"email": "new.person@example.com", "full_name": "Again", "password": "a sturdy passphrase"}),
            409,
            None,
        ),
        (
            json!({"email": "not-an-address", "full_name": "X", "password": "a sturdy passphrase"}),
            400,
            Some("email"),
        ),
        (
            json!({"email": "a@example.com", "full_name": "  ", "password": "a sturdy passphrase"}),
            400,
            Some("full_name"),
        ),
        (
            json!({"email": "a@example.com", "full_name": "A", "password": "password123"}),
            400,
            Some("password"),
        ),
        (
            json!({"email": "a@example.com", "full_name": "A", "password": "a sturdy passphrase",
            "roles": [{"system": "tts", "role": "Superuser"}]}),
            400,
            None,
        ),
        (
            json!({"email": "a@example.com", "full_name": "A", "password": "a sturdy passphrase",
            "roles": [{"system": "crm", "role": "Admin"}]}),
            400,
            None,
        ),
        (
            json!({"email": "a@example.com", "full_name": "A", "is_admin": true}),
            400,
            None,
        ),
    ];
    for (body, expected, field) in cases {
        let (status, answer) = admin
            .call("POST", "/api/v1/users/", Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{body} → {answer}");
        if let Some(field) = field {
            assert!(answer["error"]["details"][field].is_string(), "{answer}");
        }
    }
    let (_, page) = admin.call("GET", "/api/v1/users/", None).await;
    assert_eq!(page["count"], 2, "nothing half-created");
    app.stop().await;
}

#[tokio::test]
async fn an_invited_user_chooses_a_password_through_the_mailed_link() {
    let app = spawn().await;
    let admin = admin(&app).await;
    let (status, user) = admin
        .call(
            "POST",
            "/api/v1/users/",
            Some(
                json!({"email": "invitee@example.com", "full_name": "Invited One",
                "roles": [{"system": "tts", "role": "Employee"}]}),
            ),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(user["invited"], true);
    let mail = app.wait_for_mail("invitee@example.com", "invited").await;
    let start = mail.text.find("token=").unwrap() + 6;
    let token: String = mail.text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    // No password yet: nothing signs in.
    let response = client()
        .post(app.url("/api/v1/auth/token/"))
        .json(&json!({"email": "invitee@example.com", "password": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = client()
        .post(app.url("/api/v1/auth/password/reset/confirm/"))
        .json(&json!({"token": token, "new_password": "my own good password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = client()
        .post(app.url("/api/v1/auth/token/"))
        .json(&json!({"email": "invitee@example.com", "password": "my own good password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn editing_users_keeps_an_administrator_and_ends_a_deactivated_users_sessions() {
    let app = spawn().await;
    let admin = admin(&app).await;
    let me = app.db();
    let admin_id = services::users::search(me, "admin@", None, 1, 1)
        .await
        .unwrap()
        .results[0]
        .id;
    let emp = app.user("emp@example.com", SystemRole::Employee).await;

    let (status, body) = admin
        .call(
            "PATCH",
            &format!("/api/v1/users/{admin_id}/"),
            Some(json!({"roles": [{"system": "tts", "role": "Agent"}]})),
        )
        .await;
    assert_eq!(status, 409, "the last administrator stays one: {body}");
    let (status, _) = admin
        .call(
            "PATCH",
            &format!("/api/v1/users/{admin_id}/"),
            Some(json!({"is_active": false})),
        )
        .await;
    assert_eq!(status, 409);

    let (status, user) = admin
        .call(
            "PATCH",
            &format!("/api/v1/users/{emp}/"),
            Some(json!({"full_name": "Emma Promoted", "roles": [{"system": "tts", "role": "Agent"}]})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(user["full_name"], "Emma Promoted");
    assert_eq!(user["roles"][0]["role"], "Agent");
    let (status, _) = admin
        .call(
            "PATCH",
            &format!("/api/v1/users/{emp}/"),
            Some(json!({"email": "admin@example.com"})),
        )
        .await;
    assert_eq!(status, 409, "the address is taken");
    let (status, _) = admin
        .call(
            "PATCH",
            &format!("/api/v1/users/{emp}/"),
            Some(json!({"roles": [{"system": "tts", "role": "Agent"}, {"system": "tts", "role": "Admin"}]})),
        )
        .await;
    assert_eq!(status, 400, "one role per system");

    let token = app.token("emp@example.com").await;
    let (status, _) = admin
        .call("DELETE", &format!("/api/v1/users/{emp}/"), None)
        .await;
    assert_eq!(status, 204);
    let response = client()
        .get(app.url("/api/v1/auth/me/"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (_, user) = admin
        .call("GET", &format!("/api/v1/users/{emp}/"), None)
        .await;
    assert_eq!(user["is_active"], false, "kept, deactivated");
    let (status, _) = admin
        .call(
            "PATCH",
            &format!("/api/v1/users/{emp}/"),
            Some(json!({"is_active": true})),
        )
        .await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn workflow_roles_and_their_members() {
    let app = spawn().await;
    let admin = admin(&app).await;
    let agent = app.user("agent@example.com", SystemRole::Agent).await;

    let (status, role) = admin
        .call(
            "POST",
            "/api/v1/roles/",
            Some(json!({"name": "IT Support L1", "description": "First line"})),
        )
        .await;
    assert_eq!(status, 201);
    let id = role["id"].as_i64().unwrap();
    let (status, _) = admin
        .call(
            "POST",
            "/api/v1/roles/",
            Some(json!({"name": "it support l1"})),
        )
        .await;
    assert_eq!(status, 409, "names are unique whatever the case");
    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({"description": "no name"}),
    ] {
        let (status, _) = admin
            .call("POST", "/api/v1/roles/", Some(bad.clone()))
            .await;
        assert_eq!(status, 400, "{bad}");
    }

    let (status, members) = admin
        .call(
            "POST",
            &format!("/api/v1/roles/{id}/members/"),
            Some(json!({"user_id": agent})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(members[0]["email"], "agent@example.com");
    assert_eq!(members[0]["is_active"], true);
    let (status, body) = admin
        .call(
            "POST",
            &format!("/api/v1/roles/{id}/members/"),
            Some(json!({"user_id": 99999})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["error"]["details"]["user_id"].is_string());
    let (_, members) = admin
        .call(
            "POST",
            &format!("/api/v1/roles/{id}/members/"),
            Some(json!({"user_id": agent, "is_active": false})),
        )
        .await;
    assert_eq!(members[0]["is_active"], false);
    let (_, listed) = admin.call("GET", "/api/v1/roles/", None).await;
    assert_eq!(listed[0]["member_count"], 0, "only active members count");
    let (_, user) = admin
        .call("GET", &format!("/api/v1/users/{agent}/"), None)
        .await;
    assert_eq!(
        user["workflow_roles"],
        json!([]),
        "inactive membership is not listed"
    );

    let (status, renamed) = admin
        .call(
            "PATCH",
            &format!("/api/v1/roles/{id}/"),
            Some(json!({"name": "IT Support L2"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(renamed["name"], "IT Support L2");

    let (status, _) = admin
        .call(
            "DELETE",
            &format!("/api/v1/roles/{id}/members/{agent}/"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = admin
        .call(
            "DELETE",
            &format!("/api/v1/roles/{id}/members/{agent}/"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = admin
        .call("DELETE", &format!("/api/v1/roles/{id}/"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = admin
        .call("GET", &format!("/api/v1/roles/{id}/members/"), None)
        .await;
    assert_eq!(status, 404);

    let (status, body) = admin
        .call(
            "PUT",
            "/api/v1/security/policies/Superuser/",
            Some(json!({"require_second_factor": true})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Admin, Agent, Employee")
    );
    let (status, policies) = admin
        .call(
            "PUT",
            "/api/v1/security/policies/agent/",
            Some(json!({"require_second_factor": true})),
        )
        .await;
    assert_eq!(status, 200);
    let agent_policy = policies
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "Agent")
        .unwrap();
    assert_eq!(agent_policy["require_second_factor"], true);
    app.stop().await;
}
