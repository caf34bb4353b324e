//! The authorization matrix: every REST route, called by every kind of caller, allowed or
//! denied as the policy says. The list of routes is checked against the OpenAPI document, so a
//! new route cannot be added without deciding (here) who may call it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "matrix/server_fns.rs"]
mod server_fns;

use std::collections::BTreeSet;

use common::{TestApp, client, spawn};
use domain::SystemRole;
use serde_json::{Value, json};

/// The least caller that may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    /// No credentials needed (sign-in, reset).
    Nobody,
    /// Any signed-in user (their own account); API keys may not.
    User,
    Agent,
    Admin,
}

struct Route {
    method: &'static str,
    /// The OpenAPI path template.
    template: &'static str,
    needs: Needs,
    /// The API-key scope that also allows it.
    scope: Option<&'static str>,
    body: Value,
}

fn routes() -> Vec<Route> {
    use Needs::*;
    let r = |method, template, needs, scope, body| Route {
        method,
        template,
        needs,
        scope,
        body,
    };
    vec![
        r(
            "post",
            "/api/v1/auth/token/",
            Nobody,
            None,
            json!({"email": "x@example.com", "password": "nope-nope-nope"}),
        ),
        r(
            "post",
            "/api/v1/auth/token/verify/",
            Nobody,
            None,
            json!({"challenge": "x", "code": "1"}),
        ),
        r(
            "post",
            "/api/v1/auth/token/refresh/",
            Nobody,
            None,
            json!({"refresh": "x"}),
        ),
        r(
            "post",
            "/api/v1/auth/password/reset/",
            Nobody,
            None,
            json!({"email": "x@example.com"}),
        ),
        r(
            "post",
            "/api/v1/auth/password/reset/confirm/",
            Nobody,
            None,
            json!({"token": "x", "new_password": "long enough password"}),
        ),
        r("get", "/api/v1/auth/me/", User, None, json!(null)),
        r(
            "post",
            "/api/v1/auth/password/",
            User,
            None,
            json!({"current_password": "wrong-password", "new_password": "another long one"}),
        ),
        r("get", "/api/v1/auth/sessions/", User, None, json!(null)),
        r(
            "delete",
            "/api/v1/auth/sessions/{id}/",
            User,
            None,
            json!(null),
        ),
        r(
            "post",
            "/api/v1/auth/sessions/revoke-others/",
            User,
            None,
            json!(null),
        ),
        r(
            "get",
            "/api/v1/auth/second-factor/",
            User,
            None,
            json!(null),
        ),
        r(
            "post",
            "/api/v1/auth/second-factor/totp/",
            User,
            None,
            json!(null),
        ),
        r(
            "post",
            "/api/v1/auth/second-factor/totp/confirm/",
            User,
            None,
            json!({"secret": "x", "code": "1", "current_password": "wrong-password"}),
        ),
        r(
            "post",
            "/api/v1/auth/second-factor/email/",
            User,
            None,
            json!(null),
        ),
        r(
            "post",
            "/api/v1/auth/second-factor/email/confirm/",
            User,
            None,
            json!({"code": "1", "current_password": "wrong-password"}),
        ),
        r(
            "post",
            "/api/v1/auth/second-factor/disable/",
            User,
            None,
            json!({"current_password": "wrong-password"}),
        ),
        r(
            "post",
            "/api/v1/auth/second-factor/recovery-codes/",
            User,
            None,
            json!({"current_password": "wrong-password"}),
        ),
        r(
            "get",
            "/api/v1/users/",
            Admin,
            Some("users:read"),
            json!(null),
        ),
        r(
            "post",
            "/api/v1/users/",
            Admin,
            None,
            json!({"email": "new@example.com", "full_name": "New", "password": "a long new password"}),
        ),
        r(
            "get",
            "/api/v1/users/{id}/",
            Admin,
            Some("users:read"),
            json!(null),
        ),
        r(
            "patch",
            "/api/v1/users/{id}/",
            Admin,
            None,
            json!({"full_name": "Renamed"}),
        ),
        r(
            "post",
            "/api/v1/users/{id}/unlock/",
            Admin,
            None,
            json!(null),
        ),
        r(
            "post",
            "/api/v1/users/{id}/reset-second-factor/",
            Admin,
            None,
            json!(null),
        ),
        r("delete", "/api/v1/users/{id}/", Admin, None, json!(null)),
        r(
            "get",
            "/api/v1/roles/",
            Agent,
            Some("roles:read"),
            json!(null),
        ),
        r(
            "post",
            "/api/v1/roles/",
            Admin,
            None,
            json!({"name": "Another role"}),
        ),
        r(
            "get",
            "/api/v1/roles/{id}/",
            Agent,
            Some("roles:read"),
            json!(null),
        ),
        r(
            "patch",
            "/api/v1/roles/{id}/",
            Admin,
            None,
            json!({"name": "IT Support L2"}),
        ),
        r(
            "get",
            "/api/v1/roles/{id}/members/",
            Agent,
            Some("roles:read"),
            json!(null),
        ),
        r(
            "post",
            "/api/v1/roles/{id}/members/",
            Admin,
            None,
            json!({"user_id": 1}),
        ),
        r(
            "delete",
            "/api/v1/roles/{id}/members/{user_id}/",
            Admin,
            None,
            json!(null),
        ),
        r("delete", "/api/v1/roles/{id}/", Admin, None, json!(null)),
        r(
            "get",
            "/api/v1/security/policies/",
            Admin,
            None,
            json!(null),
        ),
        r(
            "put",
            "/api/v1/security/policies/{role}/",
            Admin,
            None,
            json!({"require_second_factor": false}),
        ),
        r("get", "/api/v1/api-keys/", Admin, None, json!(null)),
        r(
            "post",
            "/api/v1/api-keys/",
            Admin,
            None,
            json!({"name": "Another", "scopes": ["users:read"]}),
        ),
        r("delete", "/api/v1/api-keys/{id}/", Admin, None, json!(null)),
        r(
            "get",
            "/api/v1/tickets/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        r(
            "post",
            "/api/v1/tickets/",
            User,
            None,
            json!({"subject": "Printer jam"}),
        ),
        r(
            "post",
            "/api/v1/tickets/send/",
            Admin,
            Some("tickets:submit"),
            json!({"ticket_data": {"ticket_id": "HD-1", "subject": "From HDTS",
                "employee": {"email": "hdts.user@example.com"}}}),
        ),
        r(
            "get",
            "/api/v1/tickets/{id}/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        r(
            "patch",
            "/api/v1/tickets/{id}/",
            Agent,
            None,
            json!({"priority": "high"}),
        ),
        r(
            "post",
            "/api/v1/tickets/{id}/status/",
            Agent,
            None,
            json!({"status": "open"}),
        ),
        r(
            "post",
            "/api/v1/tickets/{id}/reopen/",
            User,
            None,
            json!({"note": "Still broken"}),
        ),
        r(
            "get",
            "/api/v1/tickets/{id}/history/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        r(
            "get",
            "/api/v1/reference-data/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        r(
            "get",
            "/api/v1/tickets/{id}/attachments/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        // A JSON body is not an upload: allowed callers get 400, the others 401/403.
        r(
            "post",
            "/api/v1/tickets/{id}/attachments/",
            User,
            Some("tickets:submit"),
            json!({"file": "not multipart"}),
        ),
        r(
            "get",
            "/api/v1/attachments/{id}/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        r(
            "post",
            "/api/v1/categories/",
            Admin,
            None,
            json!({"name": "Hardware"}),
        ),
        r(
            "put",
            "/api/v1/categories/{id}/",
            Admin,
            None,
            json!({"name": "Network", "is_active": true}),
        ),
        r(
            "post",
            "/api/v1/departments/",
            Admin,
            None,
            json!({"name": "Finance"}),
        ),
        r(
            "put",
            "/api/v1/departments/{id}/",
            Admin,
            None,
            json!({"name": "IT", "is_active": true}),
        ),
        r(
            "put",
            "/api/v1/departments/{id}/members/",
            Admin,
            None,
            json!({"user_ids": []}),
        ),
        r(
            "put",
            "/api/v1/priorities/{code}/",
            Admin,
            None,
            json!({"name": "Low"}),
        ),
        r(
            "get",
            "/api/v1/helpdesk/settings/",
            Admin,
            None,
            json!(null),
        ),
        r(
            "put",
            "/api/v1/helpdesk/settings/",
            Admin,
            None,
            json!({"agent_visibility": "own_departments"}),
        ),
        r("get", "/api/v1/saved-filters/", User, None, json!(null)),
        r(
            "post",
            "/api/v1/saved-filters/",
            User,
            None,
            json!({"name": "Urgent", "query": "priority=urgent"}),
        ),
        r(
            "delete",
            "/api/v1/saved-filters/{id}/",
            User,
            None,
            json!(null),
        ),
        // The workflow engine.
        r("get", "/api/v1/workflows/", Agent, None, json!(null)),
        r(
            "post",
            "/api/v1/workflows/",
            Admin,
            None,
            json!({"name": "Matrix"}),
        ),
        r("get", "/api/v1/workflows/{id}/", Agent, None, json!(null)),
        r("patch", "/api/v1/workflows/{id}/", Admin, None, json!({})),
        r(
            "delete",
            "/api/v1/workflows/{id}/",
            Admin,
            None,
            json!(null),
        ),
        r(
            "put",
            "/api/v1/workflows/{id}/graph/",
            Admin,
            None,
            json!({"revision": 1, "graph": {}}),
        ),
        r(
            "post",
            "/api/v1/workflows/{id}/deploy/",
            Admin,
            None,
            json!(null),
        ),
        r(
            "post",
            "/api/v1/workflows/{id}/pause/",
            Admin,
            None,
            json!(null),
        ),
        r(
            "post",
            "/api/v1/workflows/{id}/resume/",
            Admin,
            None,
            json!(null),
        ),
        r(
            "get",
            "/api/v1/workflows/{id}/versions/",
            Agent,
            None,
            json!(null),
        ),
        r(
            "get",
            "/api/v1/workflows/{id}/versions/{number}/",
            Agent,
            None,
            json!(null),
        ),
        r("get", "/api/v1/steps/", Agent, None, json!(null)),
        r(
            "post",
            "/api/v1/steps/",
            Admin,
            None,
            json!({"workflow_id": 999999, "name": "A"}),
        ),
        r(
            "put",
            "/api/v1/steps/{id}/",
            Admin,
            None,
            json!({"name": "A"}),
        ),
        r("delete", "/api/v1/steps/{id}/", Admin, None, json!(null)),
        r("get", "/api/v1/transitions/", Agent, None, json!(null)),
        r(
            "post",
            "/api/v1/transitions/",
            Admin,
            None,
            json!({"from": 999999, "to": 999999, "action": "Go"}),
        ),
        r(
            "put",
            "/api/v1/transitions/{id}/",
            Admin,
            None,
            json!({"from": 999999, "to": 999999, "action": "Go"}),
        ),
        r(
            "delete",
            "/api/v1/transitions/{id}/",
            Admin,
            None,
            json!(null),
        ),
        r("get", "/api/v1/tasks/", Agent, None, json!(null)),
        r(
            "get",
            "/api/v1/tasks/{id}/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        r(
            "get",
            "/api/v1/tickets/{id}/task/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        r(
            "post",
            "/api/v1/tasks/{id}/transition/",
            Agent,
            None,
            json!({"transition_id": 1}),
        ),
        r(
            "post",
            "/api/v1/tasks/{id}/reassign/",
            Agent,
            None,
            json!({"user_id": 1}),
        ),
        r(
            "post",
            "/api/v1/tasks/{id}/escalate/",
            Agent,
            None,
            json!({}),
        ),
        r(
            "post",
            "/api/v1/tasks/{id}/start/",
            Agent,
            None,
            json!(null),
        ),
        r(
            "post",
            "/api/v1/tasks/{id}/end-logic/retry/",
            Agent,
            None,
            json!(null),
        ),
        r("get", "/api/v1/triage/", Admin, None, json!(null)),
        r(
            "post",
            "/api/v1/triage/{id}/retry/",
            Admin,
            None,
            json!(null),
        ),
        r("get", "/api/v1/audit/", Admin, None, json!(null)),
        r(
            "get",
            "/api/v1/notifications/inapp/",
            User,
            None,
            json!(null),
        ),
        r(
            "post",
            "/api/v1/notifications/inapp/{id}/read/",
            User,
            None,
            json!(null),
        ),
        r(
            "post",
            "/api/v1/notifications/inapp/read-all/",
            User,
            None,
            json!(null),
        ),
        r(
            "get",
            "/api/v1/notifications/preferences/",
            User,
            None,
            json!(null),
        ),
        r(
            "put",
            "/api/v1/notifications/preferences/",
            User,
            None,
            json!({"daily_digest": false, "kinds": []}),
        ),
        r(
            "post",
            "/api/v1/notifications/send/",
            Admin,
            Some("notifications:send"),
            json!({"user_id": 999_999, "title": "Maintenance tonight"}),
        ),
        r(
            "get",
            "/api/v1/notifications/deliveries/",
            Admin,
            None,
            json!(null),
        ),
        r(
            "get",
            "/api/v1/tickets/{id}/comments/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        // API keys read comments; writing one needs a user (its author).
        r(
            "post",
            "/api/v1/tickets/{id}/comments/",
            User,
            None,
            json!({"text": "Any news?"}),
        ),
        r(
            "get",
            "/api/v1/comments/{id}/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        r(
            "patch",
            "/api/v1/comments/{id}/",
            User,
            None,
            json!({"text": "Edited"}),
        ),
        r("delete", "/api/v1/comments/{id}/", User, None, json!(null)),
        r(
            "post",
            "/api/v1/comments/{id}/rate/",
            User,
            None,
            json!({"rating": "up"}),
        ),
        r(
            "get",
            "/api/v1/comments/{id}/attachments/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        r(
            "post",
            "/api/v1/comments/{id}/attachments/",
            User,
            None,
            json!({"file": "not multipart"}),
        ),
        r(
            "get",
            "/api/v1/comments/{id}/history/",
            User,
            Some("tickets:read"),
            json!(null),
        ),
        // Last: it ends the caller's session.
        r("post", "/api/v1/auth/logout/", User, None, json!(null)),
    ]
}

impl Route {
    /// The API-key scopes that together allow it (none: keys may not). Uploading to a ticket
    /// takes `tickets:submit` and, to find the ticket, `tickets:read`.
    fn scopes(&self) -> Vec<&'static str> {
        if self.method == "post" && self.template == "/api/v1/tickets/{id}/attachments/" {
            return vec!["tickets:submit", "tickets:read"];
        }
        self.scope.into_iter().collect()
    }

    /// Whether `{id}` is the test's ticket: callers who may not see it get 404.
    fn concerns_the_ticket(&self) -> bool {
        self.template.starts_with("/api/v1/tickets/{id}/")
    }
}

/// Who calls, as the matrix sees them.
#[derive(Debug, Clone)]
enum Caller {
    Anonymous,
    /// A signed-in user; `reaches` whether they may see the test's ticket.
    User {
        who: &'static str,
        role: SystemRole,
        token: String,
        reaches: bool,
    },
    ApiKey {
        who: &'static str,
        key: String,
        scopes: Vec<&'static str>,
    },
    /// A token that no longer stands for anyone: a deactivated user's, a signed-out session's.
    Gone {
        who: &'static str,
        token: String,
    },
}

/// What a caller should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    /// 401: no (valid) credentials.
    Unauthenticated,
    /// 403: not allowed.
    Forbidden,
    /// 404: a ticket the caller may not see, as if it did not exist.
    Hidden,
}

impl Caller {
    fn name(&self) -> &'static str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::User { who, .. } | Caller::ApiKey { who, .. } | Caller::Gone { who, .. } => who,
        }
    }

    /// The one rule, as the policy states it (services::auth::policy).
    fn expect(&self, needs: Needs, scopes: &[&str], concerns_the_ticket: bool) -> Expect {
        if needs == Needs::Nobody {
            return Expect::Allowed;
        }
        match self {
            Caller::Anonymous | Caller::Gone { .. } => Expect::Unauthenticated,
            Caller::ApiKey { scopes: held, .. } => {
                if !scopes.is_empty() && scopes.iter().all(|s| held.contains(s)) {
                    Expect::Allowed
                } else {
                    Expect::Forbidden
                }
            }
            Caller::User { role, reaches, .. } => {
                let role_ok = match needs {
                    Needs::Nobody | Needs::User => true,
                    Needs::Agent => *role >= SystemRole::Agent,
                    Needs::Admin => *role >= SystemRole::Admin,
                };
                if !role_ok {
                    Expect::Forbidden
                } else if concerns_the_ticket && !reaches {
                    Expect::Hidden
                } else {
                    Expect::Allowed
                }
            }
        }
    }

    fn authenticate(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Caller::Anonymous => request,
            Caller::User { token, .. } | Caller::Gone { token, .. } => request.bearer_auth(token),
            Caller::ApiKey { key, .. } => request.header("x-api-key", key),
        }
    }
}

/// Whether `status` and `body` are what `expected` says, for a door whose callers without
/// rights are refused with 401/403 (and 404 for a ticket out of reach). A door open to
/// everybody takes credentials in its body: its 401 is about those, only a 403 is a refusal.
fn as_expected(expected: Expect, needs: Needs, status: u16, body: &Value) -> bool {
    // REST errors are `{"error": {...}}`; a server function's is the error itself.
    let message = body["error"]["message"]
        .as_str()
        .or_else(|| body["message"].as_str());
    let hidden = status == 404 && message.is_some_and(|m| m.starts_with("Ticket not found"));
    match expected {
        Expect::Allowed if needs == Needs::Nobody => status != 403 && status < 500,
        Expect::Allowed => !matches!(status, 401 | 403) && !hidden && status < 500,
        Expect::Unauthenticated => status == 401,
        Expect::Forbidden => status == 403,
        Expect::Hidden => status == 404,
    }
}

/// The test's world: every kind of caller, a ticket some of them may see, the things routes
/// name.
struct World {
    callers: Vec<Caller>,
    admin: String,
    ticket_id: i64,
    target: i64,
    role_id: i64,
    spare_key_id: String,
    category_id: i64,
    department_id: i64,
}

async fn post_as(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let response = client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

async fn world(app: &TestApp) -> World {
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent_in = app.user("agent.in@example.com", SystemRole::Agent).await;
    app.user("agent.out@example.com", SystemRole::Agent).await;
    app.user("employee@example.com", SystemRole::Employee).await;
    app.user("other@example.com", SystemRole::Employee).await;
    let gone_id = app.user("gone@example.com", SystemRole::Agent).await;
    app.user("left@example.com", SystemRole::Agent).await;
    let target = app.user("target@example.com", SystemRole::Employee).await;
    let admin = app.token("admin@example.com").await;

    let role = post_as(
        app,
        &admin,
        "/api/v1/roles/",
        json!({"name": "IT Support L1"}),
    )
    .await;
    let role_id = role["id"].as_i64().unwrap();
    post_as(
        app,
        &admin,
        &format!("/api/v1/roles/{role_id}/members/"),
        json!({"user_id": target}),
    )
    .await;
    // Agents see their departments' tickets (the default): one agent is in the ticket's.
    let desk = post_as(
        app,
        &admin,
        "/api/v1/departments/",
        json!({"name": "Payroll"}),
    )
    .await;
    let desk_id = desk["id"].as_i64().unwrap();
    let response = client()
        .put(app.url(&format!("/api/v1/departments/{desk_id}/members/")))
        .bearer_auth(&admin)
        .json(&json!({"user_ids": [agent_in]}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let key = |name: &'static str, scopes: Vec<&'static str>| {
        let admin = admin.clone();
        async move {
            let created = post_as(
                app,
                &admin,
                "/api/v1/api-keys/",
                json!({"name": name, "scopes": scopes}),
            )
            .await;
            Caller::ApiKey {
                who: name,
                key: created["key"].as_str().unwrap().to_owned(),
                scopes,
            }
        }
    };
    let spare_key = post_as(
        app,
        &admin,
        "/api/v1/api-keys/",
        json!({"name": "To revoke", "scopes": ["users:read"]}),
    )
    .await;

    let employee = app.token("employee@example.com").await;
    let ticket = post_as(
        app,
        &employee,
        "/api/v1/tickets/",
        json!({"subject": "My screen flickers", "department_id": desk_id}),
    )
    .await;
    let ticket_id = ticket["id"].as_i64().unwrap();
    let category = post_as(
        app,
        &admin,
        "/api/v1/categories/",
        json!({"name": "Software"}),
    )
    .await;
    let department = post_as(
        app,
        &admin,
        "/api/v1/departments/",
        json!({"name": "Operations"}),
    )
    .await;

    // A deactivated agent's token and a signed-out session's.
    let gone = app.token("gone@example.com").await;
    let response = client()
        .delete(app.url(&format!("/api/v1/users/{gone_id}/")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let left = app.token("left@example.com").await;
    post_as(app, &left, "/api/v1/auth/logout/", json!(null)).await;

    let user = |who, role, token: String, reaches| Caller::User {
        who,
        role,
        token,
        reaches,
    };
    let mut callers = vec![
        Caller::Anonymous,
        Caller::Gone {
            who: "deactivated user",
            token: gone,
        },
        Caller::Gone {
            who: "revoked session",
            token: left,
        },
        user(
            "employee (own ticket)",
            SystemRole::Employee,
            employee,
            true,
        ),
        user(
            "employee (another's ticket)",
            SystemRole::Employee,
            app.token("other@example.com").await,
            false,
        ),
        user(
            "agent (ticket in reach)",
            SystemRole::Agent,
            app.token("agent.in@example.com").await,
            true,
        ),
        user(
            "agent (ticket out of reach)",
            SystemRole::Agent,
            app.token("agent.out@example.com").await,
            false,
        ),
    ];
    for (name, scope) in SCOPE_KEYS {
        callers.push(key(name, vec![scope]).await);
    }
    callers.push(
        key(
            "API key with every scope",
            SCOPE_KEYS.iter().map(|(_, scope)| *scope).collect(),
        )
        .await,
    );
    // Last: an administrator's calls change things (deletions).
    callers.push(user("admin", SystemRole::Admin, admin.clone(), true));
    World {
        callers,
        admin,
        ticket_id,
        target,
        role_id,
        spare_key_id: spare_key["summary"]["id"].to_string(),
        category_id: category["id"].as_i64().unwrap(),
        department_id: department["id"].as_i64().unwrap(),
    }
}

/// A key for each scope, holding that scope alone.
const SCOPE_KEYS: [(&str, &str); 5] = [
    ("API key tickets:submit", "tickets:submit"),
    ("API key tickets:read", "tickets:read"),
    ("API key notifications:send", "notifications:send"),
    ("API key users:read", "users:read"),
    ("API key roles:read", "roles:read"),
];

#[test]
fn the_keys_cover_every_scope() {
    let scopes: BTreeSet<&str> = SCOPE_KEYS.iter().map(|(_, scope)| *scope).collect();
    let known: BTreeSet<&str> = services::auth::policy::SCOPES
        .iter()
        .map(|(scope, _)| *scope)
        .collect();
    assert_eq!(scopes, known);
}

#[tokio::test]
async fn every_route_allows_exactly_the_callers_the_policy_says() {
    let app = spawn().await;
    let w = world(&app).await;
    let mut failures = Vec::new();
    for caller in &w.callers {
        for route in routes() {
            let id = match route.template {
                t if t.starts_with("/api/v1/users/") => w.target.to_string(),
                t if t.starts_with("/api/v1/roles/") => w.role_id.to_string(),
                t if t.starts_with("/api/v1/api-keys/") => w.spare_key_id.clone(),
                t if t.starts_with("/api/v1/tickets/") => w.ticket_id.to_string(),
                t if t.starts_with("/api/v1/categories/") => w.category_id.to_string(),
                t if t.starts_with("/api/v1/departments/") => w.department_id.to_string(),
                t if [
                    "/api/v1/saved-filters/",
                    "/api/v1/attachments/",
                    "/api/v1/workflows/",
                    "/api/v1/steps/",
                    "/api/v1/transitions/",
                    "/api/v1/tasks/",
                    "/api/v1/triage/",
                    "/api/v1/notifications/",
                    "/api/v1/comments/",
                ]
                .iter()
                .any(|prefix| t.starts_with(prefix)) =>
                {
                    "999999".to_owned()
                }
                _ => "no-such-session".to_owned(),
            };
            let path = route
                .template
                .replace("{id}", &id)
                .replace("{user_id}", &w.target.to_string())
                .replace("{role}", "Employee")
                .replace("{code}", "low")
                .replace("{number}", "1");
            let mut request = match route.method {
                "get" => client().get(app.url(&path)),
                "post" => client().post(app.url(&path)),
                "patch" => client().patch(app.url(&path)),
                "put" => client().put(app.url(&path)),
                "delete" => client().delete(app.url(&path)),
                other => panic!("{other}"),
            };
            if !route.body.is_null() {
                request = request.json(&route.body);
            }
            let response = caller.authenticate(request).send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let expected = caller.expect(route.needs, &route.scopes(), route.concerns_the_ticket());
            if !as_expected(expected, route.needs, status, &body) {
                failures.push(format!(
                    "{} {} {} → {status} (expected {expected:?}) {}",
                    caller.name(),
                    route.method.to_uppercase(),
                    route.template,
                    body["error"]["message"].as_str().unwrap_or_default(),
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix failures:\n{}",
        failures.join("\n").replace(&w.admin, "<admin token>")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_matrix_covers_every_route_of_the_openapi_document() {
    let app = spawn().await;
    let document: Value = client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert(format!("{method} {path}"));
        }
    }
    let tested: BTreeSet<String> = routes()
        .iter()
        .map(|r| format!("{} {}", r.method, r.template))
        .collect();
    let untested: Vec<_> = documented.difference(&tested).collect();
    let undocumented: Vec<_> = tested.difference(&documented).collect();
    assert!(
        untested.is_empty(),
        "routes missing from the authorization matrix: {untested:#?}"
    );
    assert!(
        undocumented.is_empty(),
        "matrix routes missing from the OpenAPI document: {undocumented:#?}"
    );

    // The browsable page is there too.
    let page = client().get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger"));
    app.stop().await;
}

/// The server functions (the pages' door) for every kind of caller. They are for people: an
/// API key is refused (403) by any function that looks at its caller.
#[tokio::test]
async fn every_server_function_allows_exactly_the_callers_the_policy_says() {
    let app = spawn().await;
    let w = world(&app).await;
    let mut failures = Vec::new();
    for caller in &w.callers {
        for function in server_fns::server_fns() {
            let body = function.body.replace("{ticket}", &w.ticket_id.to_string());
            let request = client()
                .post(app.url(&format!("/api/{}", function.endpoint)))
                .header("accept", "application/json")
                .header(
                    "content-type",
                    if function.json {
                        "application/json"
                    } else {
                        "application/x-www-form-urlencoded"
                    },
                )
                .body(body);
            let response = caller.authenticate(request).send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let ok = match caller {
                // A sign-in form does not look at who calls; any other function refuses a key.
                Caller::ApiKey { .. } if function.needs == Needs::Nobody => status < 500,
                Caller::ApiKey { .. } => status == 403,
                _ => as_expected(
                    caller.expect(function.needs, &[], function.ticket),
                    function.needs,
                    status,
                    &answer,
                ),
            };
            if !ok {
                failures.push(format!(
                    "{} /api/{} → {status} (expected {:?}) {}",
                    caller.name(),
                    function.endpoint,
                    caller.expect(function.needs, &[], function.ticket),
                    text.chars().take(160).collect::<String>(),
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "server function matrix failures:\n{}",
        failures.join("\n").replace(&w.admin, "<admin token>")
    );
    app.stop().await;
}

/// Every server function the application registers has its row, and no row names one that
/// does not exist: a new server function cannot be added without deciding who may call it.
#[tokio::test]
async fn the_matrix_covers_every_server_function() {
    let app = spawn().await;
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_owned())
        .collect();
    let listed: BTreeSet<String> = server_fns::server_fns()
        .iter()
        .map(|f| f.endpoint.to_owned())
        .collect();
    assert!(registered.len() > 50, "{registered:?}");
    let missing: Vec<_> = registered.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "server functions missing from the matrix: {missing:#?}"
    );
    assert!(
        stale.is_empty(),
        "matrix rows naming no server function: {stale:#?}"
    );
    app.stop().await;
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What a socket's answer to one message was.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SocketAnswer {
    /// It did what was asked (a pong, a change broadcast, or, for typing, no complaint).
    Done,
    /// An error message with this code.
    Refused(String),
}

async fn answer_to(socket: &mut Socket, message: Value, quiet_is_done: bool) -> SocketAnswer {
    use futures::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
    let wait = if quiet_is_done { 300 } else { 5_000 };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(wait);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) if quiet_is_done => return SocketAnswer::Done,
            Err(_) => panic!("no answer to {message}"),
            Ok(Some(Ok(Message::Text(text)))) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                match value["type"].as_str().unwrap_or_default() {
                    "error" => {
                        return SocketAnswer::Refused(value["code"].as_str().unwrap().to_owned());
                    }
                    "pong" | "comment_update" => return SocketAnswer::Done,
                    _ => {}
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the socket ended after {message}: {other:?}"),
        }
    }
}

/// The upgrade's status: 101 when the socket opened.
async fn open(url: String) -> Result<Socket, u16> {
    match tokio_tungstenite::connect_async(url).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("{other}"),
    }
}

fn socket_url(app: &TestApp, path: &str, caller: &Caller) -> String {
    let base = app.url(path).replacen("http://", "ws://", 1);
    match caller {
        Caller::Anonymous => base,
        Caller::User { token, .. } | Caller::Gone { token, .. } => format!("{base}?token={token}"),
        // A key goes in its header; the URL form cannot carry it: see `open_as`.
        Caller::ApiKey { .. } => base,
    }
}

async fn open_as(app: &TestApp, path: &str, caller: &Caller) -> Result<Socket, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let url = socket_url(app, path, caller);
    match caller {
        Caller::ApiKey { key, .. } => {
            let mut request = url.into_client_request().unwrap();
            request
                .headers_mut()
                .insert("x-api-key", key.parse().unwrap());
            match tokio_tungstenite::connect_async(request).await {
                Ok((socket, _)) => Ok(socket),
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    Err(response.status().as_u16())
                }
                Err(other) => panic!("{other}"),
            }
        }
        _ => open(url).await,
    }
}

/// Every message a client may send on a ticket's socket, from every kind of caller: who may
/// open the socket at all, and what each message does for those who may.
#[tokio::test]
async fn every_socket_message_allows_exactly_the_callers_the_policy_says() {
    use futures::StreamExt as _;
    let app = spawn().await;
    let w = world(&app).await;
    let ticket = w.ticket_id;
    // The admin's comment, which the others may rate and reply to but not edit or delete.
    let theirs = post_as(
        &app,
        &w.admin,
        &format!("/api/v1/tickets/{ticket}/comments/"),
        json!({"text": "Please restart it."}),
    )
    .await;
    let theirs = theirs["id"].as_i64().unwrap();
    // Each kind, in an order that leaves the comment to the last messages (the admin deletes it).
    let kinds = [
        ("ping", json!({"type": "ping", "timestamp": 1})),
        ("typing", json!({"type": "typing", "is_typing": true})),
        (
            "comment_create",
            json!({"type": "comment_create", "text": "Any news?"}),
        ),
        (
            "comment_reply",
            json!({"type": "comment_reply", "parent_id": theirs, "text": "Done."}),
        ),
        (
            "comment_rate",
            json!({"type": "comment_rate", "comment_id": theirs, "rating": "up"}),
        ),
        (
            "comment_update",
            json!({"type": "comment_update", "comment_id": theirs, "text": "Changed"}),
        ),
        (
            "comment_delete",
            json!({"type": "comment_delete", "comment_id": theirs}),
        ),
    ];
    let covered: BTreeSet<&str> = kinds.iter().map(|(kind, _)| *kind).collect();
    let known: BTreeSet<&str> = domain::comments::ClientMessage::KINDS.into_iter().collect();
    assert_eq!(covered, known, "every client message kind has its row");

    let mut failures = Vec::new();
    for caller in &w.callers {
        let path = format!("/ws/comments/{ticket}/");
        // Who may open it: the REST answer for reading the ticket.
        let may_open = caller.expect(Needs::User, &[], true);
        let opened = open_as(&app, &path, caller).await;
        let mut socket = match (may_open, opened) {
            (Expect::Allowed, Ok(socket)) => socket,
            (expected, Err(status))
                if matches!(
                    (expected, status),
                    (Expect::Unauthenticated, 401)
                        | (Expect::Forbidden, 403)
                        | (Expect::Hidden, 404)
                ) || matches!((caller, status), (Caller::ApiKey { .. }, 403)) =>
            {
                continue;
            }
            (expected, outcome) => {
                failures.push(format!(
                    "{} opening {path}: {:?} (expected {expected:?})",
                    caller.name(),
                    outcome.map(|_| 101)
                ));
                continue;
            }
        };
        // Skip the greeting and the first presence list.
        let _ = socket.next().await;
        let is_admin = matches!(
            caller,
            Caller::User {
                role: SystemRole::Admin,
                ..
            }
        );
        for (kind, message) in &kinds {
            let expected = match *kind {
                // Only its author edits a comment; its author or an admin deletes it.
                "comment_update" | "comment_delete" if !is_admin => {
                    SocketAnswer::Refused("forbidden".into())
                }
                _ => SocketAnswer::Done,
            };
            let answer = answer_to(&mut socket, message.clone(), *kind == "typing").await;
            if answer != expected {
                failures.push(format!(
                    "{} {kind} → {answer:?} (expected {expected:?})",
                    caller.name()
                ));
            }
        }
        // An internal note: staff only.
        let note = json!({"type": "comment_create", "text": "Between us", "is_internal": true});
        let staff = matches!(caller, Caller::User { role, .. } if *role >= SystemRole::Agent);
        let expected = if staff {
            SocketAnswer::Done
        } else {
            SocketAnswer::Refused("forbidden".into())
        };
        let answer = answer_to(&mut socket, note, false).await;
        if answer != expected {
            failures.push(format!(
                "{} internal note → {answer:?} (expected {expected:?})",
                caller.name()
            ));
        }
    }

    // The notification socket: any signed-in person, nobody else.
    for caller in &w.callers {
        let expected = match caller {
            Caller::Anonymous | Caller::Gone { .. } => Err(401),
            Caller::ApiKey { .. } => Err(403),
            Caller::User { .. } => Ok(101),
        };
        let opened = open_as(&app, "/ws/notifications/", caller)
            .await
            .map(|_| 101);
        if opened != expected {
            failures.push(format!(
                "{} opening /ws/notifications/: {opened:?} (expected {expected:?})",
                caller.name()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "socket matrix failures:\n{}",
        failures.join("\n")
    );
    app.stop().await;
}
