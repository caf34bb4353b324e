//! The authorization matrix: every REST route, called by every kind of caller, allowed or
//! denied as the policy says. The list of routes is checked against the OpenAPI document, so a
//! new route cannot be added without deciding (here) who may call it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{client, spawn};
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

#[derive(Debug, Clone)]
enum Caller {
    Anonymous,
    User(SystemRole, String),
    ApiKey(String),
}

impl Caller {
    fn allowed(&self, route: &Route) -> bool {
        match self {
            Caller::Anonymous => route.needs == Needs::Nobody,
            Caller::ApiKey(_) => route.needs == Needs::Nobody || route.scope.is_some(),
            Caller::User(role, _) => match route.needs {
                Needs::Nobody | Needs::User => true,
                Needs::Agent => *role >= SystemRole::Agent,
                Needs::Admin => *role >= SystemRole::Admin,
            },
        }
    }
}

#[tokio::test]
async fn every_route_allows_exactly_the_callers_the_policy_says() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    app.user("agent@example.com", SystemRole::Agent).await;
    app.user("employee@example.com", SystemRole::Employee).await;
    let target = app.user("target@example.com", SystemRole::Employee).await;
    let admin = app.token("admin@example.com").await;

    let role: Value = client()
        .post(app.url("/api/v1/roles/"))
        .bearer_auth(&admin)
        .json(&json!({"name": "IT Support L1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let role_id = role["id"].as_i64().unwrap();
    client()
        .post(app.url(&format!("/api/v1/roles/{role_id}/members/")))
        .bearer_auth(&admin)
        .json(&json!({"user_id": target}))
        .send()
        .await
        .unwrap();
    let key: Value = client()
        .post(app.url("/api/v1/api-keys/"))
        .bearer_auth(&admin)
        .json(&json!({"name": "All scopes", "scopes": ["tickets:submit", "tickets:read", "notifications:send", "users:read", "roles:read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let spare_key: Value = client()
        .post(app.url("/api/v1/api-keys/"))
        .bearer_auth(&admin)
        .json(&json!({"name": "To revoke", "scopes": ["users:read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let employee = app.token("employee@example.com").await;
    let ticket: Value = client()
        .post(app.url("/api/v1/tickets/"))
        .bearer_auth(&employee)
        .json(&json!({"subject": "My screen flickers"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket_id = ticket["id"].as_i64().unwrap();
    let created = |path: &'static str, body: Value| {
        let admin = admin.clone();
        let url = app.url(path);
        async move {
            let answer: Value = client()
                .post(url)
                .bearer_auth(&admin)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["id"].as_i64().unwrap()
        }
    };
    let category_id = created("/api/v1/categories/", json!({"name": "Software"})).await;
    let department_id = created("/api/v1/departments/", json!({"name": "Operations"})).await;

    let callers = [
        Caller::Anonymous,
        Caller::User(
            SystemRole::Employee,
            app.token("employee@example.com").await,
        ),
        Caller::User(SystemRole::Agent, app.token("agent@example.com").await),
        Caller::ApiKey(key["key"].as_str().unwrap().to_owned()),
        // Last: an administrator's calls change things (deletions).
        Caller::User(SystemRole::Admin, admin.clone()),
    ];

    let mut failures = Vec::new();
    for caller in &callers {
        for route in routes() {
            let path = route
                .template
                .replace(
                    "{id}",
                    &match route.template {
                        t if t.starts_with("/api/v1/users/") => target.to_string(),
                        t if t.starts_with("/api/v1/roles/") => role_id.to_string(),
                        t if t.starts_with("/api/v1/api-keys/") => {
                            spare_key["summary"]["id"].to_string()
                        }
                        t if t.starts_with("/api/v1/tickets/") => ticket_id.to_string(),
                        t if t.starts_with("/api/v1/categories/") => category_id.to_string(),
                        t if t.starts_with("/api/v1/departments/") => department_id.to_string(),
                        t if t.starts_with("/api/v1/saved-filters/") => "999999".to_owned(),
                        t if t.starts_with("/api/v1/attachments/") => "999999".to_owned(),
                        t if [
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
                    },
                )
                .replace("{user_id}", &target.to_string())
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
            request = match caller {
                Caller::Anonymous => request,
                Caller::User(_, token) => request.bearer_auth(token),
                Caller::ApiKey(key) => request.header("x-api-key", key),
            };
            let status = request.send().await.unwrap().status().as_u16();
            let expected_allowed = caller.allowed(&route);
            // Public routes take credentials in their body (bad ones here), so their 401 is
            // about those credentials, not about who calls; only a 403 would be a denial.
            let denied = if route.needs == Needs::Nobody {
                status == 403
            } else {
                status == 401 || status == 403
            };
            let ok = if expected_allowed {
                !denied && status < 500
            } else {
                matches!(
                    (caller, status),
                    (Caller::Anonymous, 401) | (Caller::User(..) | Caller::ApiKey(_), 403)
                )
            };
            if !ok {
                let who = match caller {
                    Caller::Anonymous => "anonymous".to_owned(),
                    Caller::User(role, _) => role.to_string(),
                    Caller::ApiKey(_) => "API key".to_owned(),
                };
                failures.push(format!(
                    "{who} {} {} → {status} (expected {})",
                    route.method.to_uppercase(),
                    route.template,
                    if expected_allowed {
                        "allowed"
                    } else {
                        "denied"
                    }
                ));
            }
        }
    }
    let failures: Vec<String> = failures
        .into_iter()
        .map(|f| f.replace(&admin, "<admin token>"))
        .collect();
    assert!(
        failures.is_empty(),
        "authorization matrix failures:\n{}",
        failures.join("\n")
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
