//! The server functions of the authorization matrix (server/tests/authorization.rs): each
//! with the least caller who may call it, whether it concerns the test's ticket, and a body.
use super::Needs;

/// A server function: `POST /api/{endpoint}` with `body`.
pub struct ServerFn {
    pub endpoint: &'static str,
    pub needs: Needs,
    /// Its ticket argument is the test's ticket (`{ticket}` in the body): callers who may not
    /// see that ticket get 404.
    pub ticket: bool,
    /// Form-urlencoded arguments (JSON when `json`), with `{ticket}` for the ticket's id.
    pub body: &'static str,
    pub json: bool,
}

pub fn server_fns() -> Vec<ServerFn> {
    use Needs::*;
    let f = |endpoint, needs, ticket, body| ServerFn {
        endpoint,
        needs,
        ticket,
        body,
        json: false,
    };
    vec![
        // account.rs
        f("account/profile", User, false, ""),
        f("account/rename", User, false, "full_name=Matrix+Caller"),
        f(
            "account/password",
            User,
            false,
            "current_password=wrong-password-123&new_password=another-long-password-456&confirm_password=another-long-password-456",
        ),
        f("account/second-factor", User, false, ""),
        f("account/totp/begin", User, false, ""),
        f(
            "account/totp/confirm",
            User,
            false,
            "code=000000&current_password=wrong-password-123",
        ),
        f("account/email-codes/begin", User, false, ""),
        f(
            "account/email-codes/confirm",
            User,
            false,
            "code=000000&current_password=wrong-password-123",
        ),
        f(
            "account/second-factor/disable",
            User,
            false,
            "current_password=wrong-password-123",
        ),
        f(
            "account/recovery-codes",
            User,
            false,
            "current_password=wrong-password-123",
        ),
        f("account/sessions", User, false, ""),
        f("account/sessions/revoke", User, false, "id=no-such-session"),
        f("account/sessions/revoke-others", User, false, ""),
        // admin.rs
        f("admin/status", Admin, false, ""),
        f("admin/users/search", Admin, false, "query=target&page=1"),
        f("admin/users/get", Admin, false, "id=999999"),
        f(
            "admin/users/create",
            Admin,
            false,
            "email=matrix-new%40example.com&full_name=Matrix+New&password=wrong-password-123&role_tts=Employee&role_hdts=",
        ),
        f(
            "admin/users/update",
            Admin,
            false,
            "id=999999&email=nobody%40example.com&full_name=Nobody&role_tts=Employee&role_hdts=&role_ams=&role_bms=",
        ),
        f(
            "admin/users/set-active",
            Admin,
            false,
            "id=999999&active=true",
        ),
        f("admin/users/unlock", Admin, false, "id=999999"),
        f("admin/users/reset-second-factor", Admin, false, "id=999999"),
        f("admin/roles", Agent, false, ""),
        f("admin/roles/get", Agent, false, "id=999999"),
        f(
            "admin/roles/create",
            Admin,
            false,
            "name=Matrix+Role&description=Made+by+the+matrix",
        ),
        f(
            "admin/roles/update",
            Admin,
            false,
            "id=999999&name=Matrix+Role&description=",
        ),
        f("admin/roles/delete", Admin, false, "id=999999"),
        f(
            "admin/roles/set-member",
            Admin,
            false,
            "role_id=999999&user_id=999999&active=true",
        ),
        f(
            "admin/roles/remove-member",
            Admin,
            false,
            "role_id=999999&user_id=999999",
        ),
        f("admin/api-keys", Admin, false, ""),
        f(
            "admin/api-keys/create",
            Admin,
            false,
            "name=Matrix+Key&users_read=on",
        ),
        f("admin/api-keys/revoke", Admin, false, "id=999999"),
        f("admin/policies", Admin, false, ""),
        f(
            "admin/policies/set",
            Admin,
            false,
            "role=Employee&required=false",
        ),
        f("admin/users", Admin, false, ""),
        // comments.rs
        f("comments/list", User, true, "ticket_id={ticket}"),
        f(
            "comments/post",
            User,
            true,
            "ticket_id={ticket}&text=A+comment+from+the+matrix",
        ),
        f(
            "comments/edit",
            User,
            false,
            "id=999999&text=Edited+by+the+matrix",
        ),
        f("comments/delete", User, false, "id=999999"),
        f("comments/rate", User, false, "id=999999&rating=up"),
        // helpdesk.rs
        f("admin/helpdesk", Admin, false, ""),
        f(
            "admin/helpdesk/categories/create",
            Admin,
            false,
            "name=Matrix+Category",
        ),
        f(
            "admin/helpdesk/categories/update",
            Admin,
            false,
            "id=999999&name=Matrix+Category&is_active=true",
        ),
        f(
            "admin/helpdesk/departments/create",
            Admin,
            false,
            "name=Matrix+Department",
        ),
        f(
            "admin/helpdesk/departments/update",
            Admin,
            false,
            "id=999999&name=Matrix+Department&is_active=true",
        ),
        f(
            "admin/helpdesk/departments/set-member",
            Admin,
            false,
            "department_id=999999&user_id=999999&member=true",
        ),
        f(
            "admin/helpdesk/priorities/update",
            Admin,
            false,
            "code=low&name=Low&description=Whenever+there+is+time",
        ),
        f(
            "admin/helpdesk/agent-visibility",
            Admin,
            false,
            "visibility=own_departments",
        ),
        // notifications.rs
        f("notifications/list", User, false, ""),
        f("notifications/read", User, false, ""),
        // session.rs
        f("session/current", Nobody, false, ""),
        f(
            "session/login",
            Nobody,
            false,
            "email=nobody%40example.com&password=wrong-password-123",
        ),
        f("session/pending", Nobody, false, ""),
        f("session/verify", Nobody, false, "code=000000"),
        f("session/cancel", Nobody, false, ""),
        f(
            "session/forgot-password",
            Nobody,
            false,
            "email=nobody%40example.com",
        ),
        f(
            "session/reset-password",
            Nobody,
            false,
            "token=no-such-token&new_password=another-long-password-456&confirm_password=another-long-password-456",
        ),
        f("session/demo-accounts", Nobody, false, ""),
        // tasks.rs
        f("tasks/inbox", Agent, false, "scope=mine"),
        f("tasks/for-ticket", User, true, "ticket_id={ticket}"),
        f(
            "tasks/transition",
            Agent,
            false,
            "task_id=999999&transition_id=999999&revision=1",
        ),
        f("tasks/start", Agent, false, "task_id=999999"),
        f("tasks/retry-end-logic", Agent, false, "task_id=999999"),
        f("tasks/escalate", Agent, false, "task_id=999999&revision=1"),
        f(
            "tasks/reassign",
            Agent,
            false,
            "task_id=999999&revision=1&user_id=999999",
        ),
        f("admin/triage", Admin, false, ""),
        f("admin/triage/retry", Admin, false, "id=999999"),
        f("admin/audit", Admin, false, "page=1"),
        // tickets.rs
        f("tickets/reference", User, false, ""),
        f("tickets/list", User, false, "query=status%3Dopen"),
        f("tickets/get", User, true, "id={ticket}"),
        f(
            "tickets/submit",
            User,
            false,
            "subject=Matrix+ticket&description=Submitted+by+the+matrix&priority=low",
        ),
        f(
            "tickets/status",
            Agent,
            true,
            "id={ticket}&status=open&note=Looked+at+by+the+matrix",
        ),
        f(
            "tickets/reopen",
            User,
            true,
            "id={ticket}&note=Still+broken+says+the+matrix",
        ),
        f("markdown/preview", User, false, "text=**Matrix**+preview"),
        f("tickets/saved-filters", User, false, ""),
        f(
            "tickets/save-filter",
            User,
            false,
            "name=Matrix+filter&query=status%3Dopen",
        ),
        f("tickets/delete-filter", User, false, "id=999999"),
        // workflows.rs
        f("admin/workflows", Agent, false, ""),
        f("admin/workflows/get", Agent, false, "id=999999"),
        f(
            "admin/workflows/create",
            Admin,
            false,
            "name=Matrix+Workflow",
        ),
        f(
            "admin/workflows/update",
            Admin,
            false,
            "id=999999&name=Matrix+Workflow",
        ),
        f(
            "admin/workflows/steps/add",
            Admin,
            false,
            "workflow_id=999999&name=Review",
        ),
        f(
            "admin/workflows/steps/update",
            Admin,
            false,
            "workflow_id=999999&step_id=999999&name=Review",
        ),
        f(
            "admin/workflows/steps/delete",
            Admin,
            false,
            "step_id=999999",
        ),
        f(
            "admin/workflows/transitions/add",
            Admin,
            false,
            "from_step_id=999999&to_step_id=999999&action=Approve",
        ),
        f(
            "admin/workflows/transitions/update",
            Admin,
            false,
            "transition_id=999999&from_step_id=999999&to_step_id=999999&action=Approve",
        ),
        f(
            "admin/workflows/transitions/delete",
            Admin,
            false,
            "transition_id=999999",
        ),
        f("admin/workflows/deploy", Admin, false, "id=999999"),
        f(
            "admin/workflows/pause",
            Admin,
            false,
            "id=999999&paused=true",
        ),
        f("admin/workflows/delete", Admin, false, "id=999999"),
        ServerFn {
            endpoint: "admin/workflows/save-draft",
            needs: Admin,
            ticket: false,
            body: r#"{"id":999999,"save":{"revision":1,"settings":{},"graph":{"steps":[],"transitions":[]}}}"#,
            json: true,
        },
        ServerFn {
            endpoint: "admin/workflows/overlaps",
            needs: Admin,
            ticket: false,
            body: r#"{"id":999999,"matches":{"category_id":null,"sub_category_id":null,"department_id":null}}"#,
            json: true,
        },
        f(
            "admin/workflows/draft-from-version",
            Admin,
            false,
            "id=999999&number=1&revision=1",
        ),
        // Last: ends the caller's session.
        f("session/logout", Nobody, false, ""),
    ]
}
