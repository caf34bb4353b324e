//! Tickets over REST, on whichever database the suite runs: submitting, visibility, lists
//! with filters, ordering and paging, full-text search, changes and their history, external
//! intake with idempotency, the outbox event, reference data, saved filters, and what wrong
//! input gets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Credentials, TestApp, spawn};
use domain::SystemRole;
use serde_json::{Value, json};

/// A caller with a bearer token or an API key.
struct As<'a> {
    app: &'a TestApp,
    token: Option<String>,
    api_key: Option<String>,
}

impl As<'_> {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let credentials = match (&self.token, &self.api_key) {
            (Some(token), _) => Credentials::Bearer(token),
            (None, Some(key)) => Credentials::ApiKey(key),
            (None, None) => panic!("a test caller needs credentials"),
        };
        common::call_json(self.app.url(path), method, credentials, body).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }
}

struct Desk<'a> {
    admin: As<'a>,
    agent: As<'a>,
    employee: As<'a>,
    other_employee: As<'a>,
    agent_id: i64,
    employee_id: i64,
    hardware: i64,
    printers: i64,
    laptops: i64,
    software: i64,
    it: i64,
    finance: i64,
}

async fn desk(app: &TestApp) -> Desk<'_> {
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent_id = app.user("agent@example.com", SystemRole::Agent).await;
    let employee_id = app.user("employee@example.com", SystemRole::Employee).await;
    app.user("other@example.com", SystemRole::Employee).await;
    let as_user = async |email: &str| As {
        app,
        token: Some(app.token(email).await),
        api_key: None,
    };
    let admin = as_user("admin@example.com").await;
    let id = async |path: &str, body: Value| {
        let (status, answer) = admin.post(path, body).await;
        assert_eq!(status, 201, "{answer}");
        answer["id"].as_i64().unwrap()
    };
    let hardware = id("/api/v1/categories/", json!({"name": "Hardware"})).await;
    let printers = id(
        "/api/v1/categories/",
        json!({"name": "Printers", "parent_id": hardware}),
    )
    .await;
    let laptops = id(
        "/api/v1/categories/",
        json!({"name": "Laptops", "parent_id": hardware}),
    )
    .await;
    let software = id("/api/v1/categories/", json!({"name": "Software"})).await;
    let it = id("/api/v1/departments/", json!({"name": "IT"})).await;
    let finance = id("/api/v1/departments/", json!({"name": "Finance"})).await;
    Desk {
        agent: as_user("agent@example.com").await,
        employee: as_user("employee@example.com").await,
        other_employee: as_user("other@example.com").await,
        admin,
        agent_id,
        employee_id,
        hardware,
        printers,
        laptops,
        software,
        it,
        finance,
    }
}

async fn outbox_events(app: &TestApp, ticket_id: i64) -> i64 {
    let db = app.db();
    let key = format!("ticket.created:{ticket_id}");
    match db {
        services::Db::Sqlite(pool, _) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE event_key = $1")
                .bind(key)
                .fetch_one(pool)
                .await
                .unwrap()
        }
        services::Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE event_key = $1")
                .bind(key)
                .fetch_one(pool)
                .await
                .unwrap()
        }
    }
}

#[tokio::test]
async fn an_employee_submits_a_ticket_and_sees_it_with_its_number_history_and_event() {
    let app = spawn().await;
    let d = desk(&app).await;
    let (status, ticket) = d
        .employee
        .post(
            "/api/v1/tickets/",
            json!({
                "subject": "  Printer on floor 3 jams  ",
                "description": "It **jams** on every page.\n\n<script>alert(1)</script>",
                "category_id": d.hardware,
                "sub_category_id": d.printers,
                "department_id": d.it,
                "priority": "high",
                "fields": {"asset_tag": "PR-301"}
            }),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    let id = ticket["id"].as_i64().unwrap();
    assert_eq!(ticket["number"], format!("TKT-{id:06}"));
    assert_eq!(ticket["subject"], "Printer on floor 3 jams");
    assert_eq!(ticket["status"], "new");
    assert_eq!(ticket["priority"], "high");
    assert_eq!(ticket["source"], "api");
    assert_eq!(ticket["category"]["name"], "Hardware");
    assert_eq!(ticket["sub_category"]["name"], "Printers");
    assert_eq!(ticket["department"]["name"], "IT");
    assert_eq!(ticket["requester"]["id"], d.employee_id);
    assert_eq!(ticket["fields"]["asset_tag"], "PR-301");
    let html = ticket["description_html"].as_str().unwrap();
    assert!(html.contains("<strong>jams</strong>"), "{html}");
    assert!(!html.contains("<script"), "{html}");

    let (status, again) = d.employee.get(&format!("/api/v1/tickets/{id}/")).await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], id);
    let (_, history) = d
        .employee
        .get(&format!("/api/v1/tickets/{id}/history/"))
        .await;
    assert_eq!(history[0]["kind"], "created");
    assert_eq!(history[0]["actor"]["id"], d.employee_id);
    assert_eq!(outbox_events(&app, id).await, 1, "one ticket.created event");
    app.stop().await;
}

#[tokio::test]
async fn visibility_is_the_same_for_lists_search_and_single_tickets() {
    let app = spawn().await;
    let d = desk(&app).await;
    let submit = async |who: &As<'_>, subject: &str, department: i64| {
        let (status, t) = who
            .post(
                "/api/v1/tickets/",
                json!({"subject": subject, "description": "details", "department_id": department}),
            )
            .await;
        assert_eq!(status, 201, "{t}");
        t["id"].as_i64().unwrap()
    };
    let mine = submit(&d.employee, "Keyboard missing keys", d.it).await;
    let theirs = submit(&d.other_employee, "Keyboard spilled coffee", d.finance).await;

    // Employees: their own only; someone else's ticket is a 404, not a 403.
    let (_, list) = d.employee.get("/api/v1/tickets/?q=keyboard").await;
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["results"][0]["id"], mine);
    let (status, _) = d.employee.get(&format!("/api/v1/tickets/{theirs}/")).await;
    assert_eq!(status, 404);
    let (status, _) = d
        .employee
        .get(&format!("/api/v1/tickets/{theirs}/history/"))
        .await;
    assert_eq!(status, 404);

    // Agents: their departments' tickets (none yet), then IT's once they work for IT.
    let (_, list) = d.agent.get("/api/v1/tickets/").await;
    assert_eq!(list["count"], 0, "{list}");
    let (status, _) = d
        .admin
        .call(
            "PUT",
            &format!("/api/v1/departments/{}/members/", d.it),
            Some(json!({"user_ids": [d.agent_id]})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, list) = d.agent.get("/api/v1/tickets/?q=keyboard").await;
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["results"][0]["id"], mine);
    let (status, _) = d.agent.get(&format!("/api/v1/tickets/{theirs}/")).await;
    assert_eq!(status, 404);

    // The admin setting opens every ticket to agents.
    let (status, _) = d
        .admin
        .call(
            "PUT",
            "/api/v1/helpdesk/settings/",
            Some(json!({"agent_visibility": "all"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, list) = d.agent.get("/api/v1/tickets/?q=keyboard").await;
    assert_eq!(list["count"], 2, "{list}");
    let (status, _) = d.agent.get(&format!("/api/v1/tickets/{theirs}/")).await;
    assert_eq!(status, 200);

    // Admins see everything.
    let (_, list) = d.admin.get("/api/v1/tickets/").await;
    assert_eq!(list["count"], 2);
    app.stop().await;
}

#[tokio::test]
async fn lists_filter_order_and_page() {
    let app = spawn().await;
    let d = desk(&app).await;
    let mut ids = Vec::new();
    for (n, priority) in ["low", "medium", "high", "urgent", "medium", "low", "high"]
        .iter()
        .enumerate()
    {
        let category = if n % 2 == 0 { d.hardware } else { d.software };
        let (status, t) = d
            .employee
            .post(
                "/api/v1/tickets/",
                json!({"subject": format!("Ticket {n}"), "priority": priority, "category_id": category}),
            )
            .await;
        assert_eq!(status, 201, "{t}");
        ids.push(t["id"].as_i64().unwrap());
    }
    let ids_of = |list: &Value| -> Vec<i64> {
        list["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };

    // Newest first by default; pages link to each other.
    let (_, page1) = d.admin.get("/api/v1/tickets/?page_size=3").await;
    assert_eq!(page1["count"], 7);
    assert_eq!(ids_of(&page1), vec![ids[6], ids[5], ids[4]]);
    assert!(page1["previous"].is_null());
    let next = page1["next"].as_str().unwrap().to_owned();
    assert!(next.contains("page=2"), "{next}");
    let (_, page3) = d.admin.get("/api/v1/tickets/?page_size=3&page=3").await;
    assert_eq!(ids_of(&page3), vec![ids[0]]);
    assert!(page3["next"].is_null());
    let (_, beyond) = d.admin.get("/api/v1/tickets/?page_size=3&page=9").await;
    assert_eq!(beyond["count"], 7);
    assert_eq!(beyond["results"], json!([]));

    let (_, oldest) = d
        .admin
        .get("/api/v1/tickets/?ordering=created_at&page_size=2")
        .await;
    assert_eq!(ids_of(&oldest), vec![ids[0], ids[1]]);
    let (_, urgent_first) = d.admin.get("/api/v1/tickets/?ordering=-priority").await;
    assert_eq!(urgent_first["results"][0]["priority"], "urgent");
    assert_eq!(urgent_first["results"][1]["priority"], "high");
    assert_eq!(
        urgent_first["results"][1]["id"], ids[6],
        "newest first within a priority"
    );

    let (_, filtered) = d.admin.get("/api/v1/tickets/?priority=HIGH,urgent").await;
    assert_eq!(filtered["count"], 3);
    let (_, by_category) = d
        .admin
        .get(&format!("/api/v1/tickets/?category={}", d.software))
        .await;
    assert_eq!(by_category["count"], 3);
    let (_, by_requester) = d
        .admin
        .get(&format!("/api/v1/tickets/?requester={}", d.employee_id))
        .await;
    assert_eq!(by_requester["count"], 7);
    let (_, unassigned) = d.admin.get("/api/v1/tickets/?assignee=0&status=new").await;
    assert_eq!(unassigned["count"], 7);
    let (_, none) = d.admin.get("/api/v1/tickets/?status=closed").await;
    assert_eq!(none["count"], 0);
    let (_, by_number) = d
        .admin
        .get(&format!("/api/v1/tickets/?q=TKT-{:06}", ids[3]))
        .await;
    assert_eq!(ids_of(&by_number), vec![ids[3]]);
    app.stop().await;
}

#[tokio::test]
async fn search_finds_words_and_prefixes_best_match_first() {
    let app = spawn().await;
    let d = desk(&app).await;
    // Forty words beginning `widget`, and a host name that is one word to PostgreSQL: a
    // prefix that begins many indexed words, or words that are not plain letters and digits,
    // must still find them (PostgreSQL searches a short prefix as the words it begins, and
    // keeps the prefix for these).
    let many_widgets: Vec<String> = (1..=40).map(|n| format!("widget{n:02}")).collect();
    let many_widgets = many_widgets.join(" ");
    for (subject, description) in [
        ("VPN drops every hour", "The VPN client disconnects."),
        (
            "Printer toner empty",
            "Please replace the toner cartridge; mentions vpn once.",
        ),
        ("Password expired", "Cannot sign in to the payroll system."),
        (
            "Café wifi slow",
            "Résumé upload fails on the guest network.",
        ),
        ("Many widgets", many_widgets.as_str()),
        (
            "Host down",
            "Cannot reach intranet-gw.example.org since noon",
        ),
    ] {
        let (status, _) = d
            .employee
            .post(
                "/api/v1/tickets/",
                json!({"subject": subject, "description": description}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let subjects = |list: &Value| -> Vec<String> {
        list["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["subject"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, vpn) = d.employee.get("/api/v1/tickets/?q=vpn").await;
    assert_eq!(
        subjects(&vpn),
        vec!["VPN drops every hour", "Printer toner empty"],
        "a match in the subject ranks first"
    );
    // An administrator's search (the newest candidates, counted with their page) narrowed by
    // a filter, and in an order of its own.
    let (_, open_vpn) = d.admin.get("/api/v1/tickets/?q=vpn&status=new").await;
    assert_eq!(open_vpn["count"], 2, "{open_vpn}");
    assert_eq!(
        subjects(&open_vpn),
        vec!["VPN drops every hour", "Printer toner empty"]
    );
    let (_, closed_vpn) = d.admin.get("/api/v1/tickets/?q=vpn&status=closed").await;
    assert_eq!(closed_vpn["count"], 0, "{closed_vpn}");
    assert_eq!(closed_vpn["results"], json!([]));
    let (_, oldest_vpn) = d
        .admin
        .get("/api/v1/tickets/?q=vpn&ordering=created_at&page_size=1")
        .await;
    assert_eq!(oldest_vpn["count"], 2, "{oldest_vpn}");
    assert_eq!(subjects(&oldest_vpn), vec!["VPN drops every hour"]);
    let (_, newest_vpn) = d
        .admin
        .get("/api/v1/tickets/?q=vpn&ordering=-created_at")
        .await;
    assert_eq!(
        subjects(&newest_vpn),
        vec!["Printer toner empty", "VPN drops every hour"]
    );
    // As you type: the last word is a prefix.
    let (_, typed) = d.employee.get("/api/v1/tickets/?q=pass").await;
    assert_eq!(subjects(&typed), vec!["Password expired"]);
    let (_, two_words) = d.employee.get("/api/v1/tickets/?q=payroll%20sys").await;
    assert_eq!(subjects(&two_words), vec!["Password expired"]);
    // Accents do not matter.
    let (_, accents) = d.employee.get("/api/v1/tickets/?q=resume").await;
    assert_eq!(subjects(&accents), vec!["Café wifi slow"], "{accents}");
    // A typing mistake still finds the ticket: a swap, a missing or an extra letter, also in
    // an unfinished last word and among other words; words too far from any stay unfound.
    // Then the prefixes of the widget and host tickets.
    for (typed, expected) in [
        ("pritner", "Printer toner empty"),
        ("passwrd", "Password expired"),
        ("cartrigde", "Printer toner empty"),
        ("payrol sytsem", "Password expired"),
        ("disconects", "VPN drops every hour"),
        ("passwo", "Password expired"),
        ("widg", "Many widgets"),
        ("widget3", "Many widgets"),
        ("intranet", "Host down"),
        ("intran", "Host down"),
    ] {
        let path = format!("/api/v1/tickets/?q={}", urlencode(typed));
        let (status, found) = d.employee.get(&path).await;
        assert_eq!(status, 200);
        assert_eq!(subjects(&found), vec![expected], "{typed}: {found}");
    }
    for far in ["qqqqqqq", "prxxxxr", "vpm"] {
        let path = format!("/api/v1/tickets/?q={}", urlencode(far));
        let (_, found) = d.employee.get(&path).await;
        assert_eq!(found["count"], 0, "{far}: {found}");
    }
    // Operators and quotes are just text, never a 5xx.
    for hostile in [
        "\"",
        "'",
        "vpn OR",
        "NEAR(a b)",
        "subject:vpn",
        "vpn*",
        "-vpn",
        "((",
        "&|!:*",
        "%00",
        "a\"b'c",
        "\\",
        "NOT",
        "*",
    ] {
        let path = format!("/api/v1/tickets/?q={}", urlencode(hostile));
        let (status, body) = d.employee.get(&path).await;
        assert_eq!(status, 200, "{hostile}: {body}");
    }
    let (_, punctuation) = d.employee.get("/api/v1/tickets/?q=%22%22%22").await;
    assert_eq!(punctuation["count"], 0);
    app.stop().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn agents_change_status_and_fields_and_every_change_is_in_the_history() {
    let app = spawn().await;
    let d = desk(&app).await;
    let (_, t) = d
        .employee
        .post(
            "/api/v1/tickets/",
            json!({"subject": "Laptop battery", "department_id": d.it}),
        )
        .await;
    let id = t["id"].as_i64().unwrap();
    d.admin
        .call(
            "PUT",
            &format!("/api/v1/departments/{}/members/", d.it),
            Some(json!({"user_ids": [d.agent_id]})),
        )
        .await;

    // The requester cannot change status; the agent can.
    let (status, _) = d
        .employee
        .post(
            &format!("/api/v1/tickets/{id}/status/"),
            json!({"status": "closed"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, t) = d
        .agent
        .post(
            &format!("/api/v1/tickets/{id}/status/"),
            json!({"status": "in_progress", "note": "Ordering a battery"}),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["status"], "in_progress");
    let (status, t) = d
        .agent
        .call(
            "PATCH",
            &format!("/api/v1/tickets/{id}/"),
            Some(json!({"priority": "urgent", "assignee_id": d.agent_id,
                "category_id": d.hardware, "sub_category_id": d.laptops})),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["assignee"]["id"], d.agent_id);
    assert_eq!(t["sub_category"]["name"], "Laptops");
    let (_, t) = d
        .agent
        .post(
            &format!("/api/v1/tickets/{id}/status/"),
            json!({"status": "resolved"}),
        )
        .await;
    assert!(t["resolved_at"].is_string(), "{t}");

    let (_, mine) = d
        .agent
        .get(&format!("/api/v1/tickets/?assignee={}", d.agent_id))
        .await;
    assert_eq!(mine["count"], 1);

    let (_, history) = d
        .employee
        .get(&format!("/api/v1/tickets/{id}/history/"))
        .await;
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "created", "status", "priority", "assigned", "updated", "status"
        ]
    );
    assert_eq!(history[1]["from_value"], "new");
    assert_eq!(history[1]["to_value"], "in_progress");
    assert_eq!(history[1]["note"], "Ordering a battery");
    assert_eq!(history[1]["actor"]["id"], d.agent_id);

    // Assigning to an employee, or a sub-category of another category, is refused.
    let (status, body) = d
        .agent
        .call(
            "PATCH",
            &format!("/api/v1/tickets/{id}/"),
            Some(json!({"assignee_id": d.employee_id})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = d
        .agent
        .call(
            "PATCH",
            &format!("/api/v1/tickets/{id}/"),
            Some(json!({"category_id": d.software, "sub_category_id": d.printers})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["details"]["sub_category_id"].is_string(),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn external_systems_submit_with_an_api_key_idempotently() {
    let app = spawn().await;
    let d = desk(&app).await;
    let key = async |scopes: Value| {
        let (status, answer) = d
            .admin
            .post(
                "/api/v1/api-keys/",
                json!({"name": format!("HDTS {scopes}"), "scopes": scopes}),
            )
            .await;
        assert_eq!(status, 201, "{answer}");
        As {
            app: &app,
            token: None,
            api_key: Some(answer["key"].as_str().unwrap().to_owned()),
        }
    };
    let hdts = key(json!(["tickets:submit"])).await;
    let body = json!({"ticket_data": {
        "ticket_id": 4711,
        "subject": "Monitor flickers",
        "description": "Since Monday",
        "category": "HARDWARE",
        "sub_category": "printers",
        "department": "it",
        "priority": "Urgent",
        "employee": {"email": "New.Person@Example.com", "first_name": "New", "last_name": "Person", "company_id": "C-9"},
        "hdts_status": "Open"
    }});
    let (status, receipt) = hdts.post("/api/v1/tickets/send/", body.clone()).await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(receipt["external_ref"], "4711");
    assert!(receipt["number"].as_str().unwrap().starts_with("TKT-"));
    // The sender gets a receipt; the ticket is read as anyone reads it.
    let (_, first) = d
        .admin
        .get(&format!("/api/v1/tickets/{}/", receipt["id"]))
        .await;
    assert_eq!(first["external_ref"], "4711");
    assert_eq!(first["source"], "hdts");
    assert_eq!(first["priority"], "urgent");
    assert_eq!(first["category"]["id"], d.hardware);
    assert_eq!(first["sub_category"]["id"], d.printers);
    assert_eq!(first["department"]["id"], d.it);
    assert_eq!(first["requester"]["email"], "new.person@example.com");
    assert_eq!(first["requester"]["full_name"], "New Person");
    assert_eq!(first["fields"]["hdts_status"], "Open");
    assert_eq!(first["fields"]["employee"]["company_id"], "C-9");

    let (status, second) = hdts.post("/api/v1/tickets/send/", body.clone()).await;
    assert_eq!(status, 200, "the same submission again: the same ticket");
    assert_eq!(second["id"], first["id"]);
    let id = first["id"].as_i64().unwrap();
    assert_eq!(outbox_events(&app, id).await, 1);
    let (_, list) = d.admin.get("/api/v1/tickets/?external_ref=4711").await;
    assert_eq!(list["count"], 1);

    // Two at once: still one ticket.
    let racing = json!({"ticket_data": {"ticket_id": "R-1", "subject": "Race", "employee": {"email": "race@example.com"}}});
    let (a, b) = tokio::join!(
        hdts.post("/api/v1/tickets/send/", racing.clone()),
        hdts.post("/api/v1/tickets/send/", racing.clone())
    );
    assert_one_created_one_given(&a, &b);

    // A key without the scope; a key reading tickets cannot submit them.
    let reader = key(json!(["tickets:read"])).await;
    let (status, body_403) = reader.post("/api/v1/tickets/send/", body.clone()).await;
    assert_eq!(status, 403, "{body_403}");
    assert!(
        body_403["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tickets:submit")
    );
    let (status, read) = reader.get(&format!("/api/v1/tickets/{id}/")).await;
    assert_eq!(status, 200, "{read}");

    // Wrong shapes are 400 naming the field.
    for (bad, field) in [
        (
            json!({"ticket_data": {"ticket_id": 1, "subject": "", "employee": {"email": "a@example.com"}}}),
            "subject",
        ),
        (
            json!({"ticket_data": {"ticket_id": 5, "subject": "x"}}),
            "employee",
        ),
        (
            json!({"ticket_data": {"ticket_id": 6, "subject": "x", "employee": {"email": "not-an-email"}}}),
            "employee.email",
        ),
        (
            json!({"ticket_data": {"ticket_id": "", "subject": "x", "employee": {"email": "a@example.com"}}}),
            "ticket_id",
        ),
        (
            json!({"ticket_data": {"ticket_id": [1], "subject": "x", "employee": {"email": "a@example.com"}}}),
            "ticket_id",
        ),
    ] {
        let (status, answer) = hdts.post("/api/v1/tickets/send/", bad.clone()).await;
        assert_eq!(status, 400, "{bad} → {answer}");
        assert!(
            answer["error"]["details"][field].is_string(),
            "{field}: {answer}"
        );
    }
    let (status, _) = hdts
        .post("/api/v1/tickets/send/", json!({"subject": "no envelope"}))
        .await;
    assert_eq!(status, 400);
    let (_, all) = d.admin.get("/api/v1/tickets/").await;
    assert_eq!(all["count"], 2, "nothing half-written: {all}");
    app.stop().await;
}

/// The answers to one external submission sent twice at once: one created the ticket (201),
/// the other was given it (200).
fn assert_one_created_one_given(a: &(u16, Value), b: &(u16, Value)) {
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "{a:?} {b:?}");
    assert_eq!(a.1["id"], b.1["id"]);
}

/// Two replicas on one PostgreSQL database given the same external ticket at the same moment.
/// Each replica's writer batches its own submissions, so the race is between their
/// transactions: the later batch's insert waits for the earlier commit and fails (seen in
/// most of the eight rounds), its replica saves the batch again one submission at a time, and
/// answers with the ticket saved (200), not a conflict or a 500.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs PostgreSQL: runs in the PostgreSQL pass of scripts/test.sh (TTS_TEST_DATABASE_URL)"]
async fn two_replicas_given_the_same_external_ticket_at_once_save_it_once() {
    let app = spawn().await;
    let database_url = app.config.database_url.clone();
    let second = common::spawn_with_config(|raw| raw.database_url = Some(database_url)).await;
    let d = desk(&app).await;
    let (status, created) = d
        .admin
        .post(
            "/api/v1/api-keys/",
            json!({"name": "HDTS", "scopes": ["tickets:submit"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let on_first = As {
        app: &app,
        token: None,
        api_key: Some(key.clone()),
    };
    let on_second = As {
        app: &second,
        token: None,
        api_key: Some(key),
    };
    for n in 0..8 {
        let racing = json!({"ticket_data": {
            "ticket_id": format!("X-{n}"),
            "subject": format!("Raced {n}"),
            "employee": {"email": "race@example.com"}
        }});
        let (a, b) = tokio::join!(
            on_first.post("/api/v1/tickets/send/", racing.clone()),
            on_second.post("/api/v1/tickets/send/", racing.clone())
        );
        assert_one_created_one_given(&a, &b);
        let (_, list) = d
            .admin
            .get(&format!("/api/v1/tickets/?external_ref=X-{n}"))
            .await;
        assert_eq!(list["count"], 1, "{list}");
    }
    second.stop().await;
    app.stop().await;
}

/// Many submissions at once (on SQLite they share transactions): every good one is saved
/// and answered with its own ticket, every bad one is refused alone, and each saved ticket
/// has exactly one `ticket.created` event.
#[tokio::test]
async fn concurrent_submissions_are_saved_or_refused_one_by_one() {
    let app = spawn().await;
    let d = desk(&app).await;
    let employee = std::sync::Arc::new(d.employee.token.clone().unwrap());
    let mut submissions = tokio::task::JoinSet::new();
    for n in 0..48 {
        let url = app.url("/api/v1/tickets/");
        let token = employee.clone();
        // Every fourth names a category that does not exist.
        let body = if n % 4 == 3 {
            json!({"subject": format!("Bad {n}"), "category_id": 999_999})
        } else {
            json!({"subject": format!("Good {n}"), "category_id": d.hardware})
        };
        submissions.spawn(async move {
            let (status, answer) =
                common::call_json(url, "POST", Credentials::Bearer(&token), Some(body)).await;
            (n, status, answer)
        });
    }
    let mut saved = Vec::new();
    while let Some(outcome) = submissions.join_next().await {
        let (n, status, answer) = outcome.unwrap();
        if n % 4 == 3 {
            assert_eq!(status, 400, "{answer}");
            assert!(
                answer["error"]["details"]["category_id"].is_string(),
                "{answer}"
            );
        } else {
            assert_eq!(status, 201, "{answer}");
            assert_eq!(answer["subject"], format!("Good {n}"), "its own ticket");
            saved.push(answer["id"].as_i64().unwrap());
        }
    }
    saved.sort_unstable();
    saved.dedup();
    assert_eq!(saved.len(), 36, "one ticket per good submission");
    let (_, all) = d.admin.get("/api/v1/tickets/?page_size=100").await;
    assert_eq!(all["count"], 36, "{all}");
    for id in saved {
        assert_eq!(outbox_events(&app, id).await, 1);
    }
    app.stop().await;
}

#[tokio::test]
async fn wrong_input_gets_a_clear_4xx_and_nothing_is_written() {
    let app = spawn().await;
    let d = desk(&app).await;
    let cases = [
        (json!({"description": "no subject"}), 400),
        (json!({"subject": "   "}), 400),
        (json!({"subject": "x".repeat(201)}), 400),
        (
            json!({"subject": "ok", "description": "x".repeat(70 * 1024)}),
            400,
        ),
        (json!({"subject": "ok", "priority": "critical"}), 400),
        (json!({"subject": "ok", "category_id": 999_999}), 400),
        (json!({"subject": "ok", "category_id": d.printers}), 400),
        (
            json!({"subject": "ok", "category_id": d.software, "sub_category_id": d.printers}),
            400,
        ),
        (json!({"subject": "ok", "department_id": -1}), 400),
        (json!({"subject": "ok", "fields": [1, 2]}), 400),
        (json!({"subject": "ok", "status": "closed"}), 400),
        (
            json!({"subject": "ok", "fields": {"big": "x".repeat(20_000)}}),
            400,
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = d.employee.post("/api/v1/tickets/", body.clone()).await;
        assert_eq!(status, expected, "{body} → {answer}");
        assert!(answer["error"]["message"].is_string(), "{answer}");
    }
    // A 10 MB description is refused before it is read in full.
    let (status, _) = d
        .employee
        .post(
            "/api/v1/tickets/",
            json!({"subject": "big", "description": "x".repeat(10 * 1024 * 1024)}),
        )
        .await;
    assert_eq!(status, 413);

    for path in [
        "/api/v1/tickets/?page_size=10000",
        "/api/v1/tickets/?page_size=-1",
        "/api/v1/tickets/?page=0",
        "/api/v1/tickets/?page=abc",
        "/api/v1/tickets/?status=lost",
        "/api/v1/tickets/?ordering=subject;drop",
        "/api/v1/tickets/?category=abc",
        "/api/v1/tickets/abc/",
    ] {
        let (status, answer) = d.employee.get(path).await;
        assert_eq!(status, 400, "{path} → {answer}");
    }
    let (status, _) = d.employee.get("/api/v1/tickets/999999/").await;
    assert_eq!(status, 404);
    let (status, _) = d
        .agent
        .post("/api/v1/tickets/999999/status/", json!({"status": "done"}))
        .await;
    assert_eq!(status, 400);

    let (_, all) = d.admin.get("/api/v1/tickets/").await;
    assert_eq!(all["count"], 0, "nothing was written: {all}");
    app.stop().await;
}

#[tokio::test]
async fn reference_data_is_managed_by_admins_and_offered_to_forms() {
    let app = spawn().await;
    let d = desk(&app).await;
    let (status, data) = d.employee.get("/api/v1/reference-data/").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = data["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Hardware", "Laptops", "Printers", "Software"]);
    assert_eq!(data["priorities"].as_array().unwrap().len(), 4);
    assert_eq!(data["priorities"][3]["code"], "urgent");

    // Names are unique ignoring case, within their level.
    let (status, _) = d
        .admin
        .post("/api/v1/categories/", json!({"name": "hardware"}))
        .await;
    assert_eq!(status, 409);
    let (status, _) = d
        .admin
        .post(
            "/api/v1/categories/",
            json!({"name": "Printers", "parent_id": d.software}),
        )
        .await;
    assert_eq!(status, 201, "the same name under another category is fine");
    let (status, _) = d
        .admin
        .post(
            "/api/v1/categories/",
            json!({"name": "Deep", "parent_id": d.printers}),
        )
        .await;
    assert_eq!(status, 400, "one level of sub-categories");
    let (status, _) = d
        .admin
        .post("/api/v1/departments/", json!({"name": "it"}))
        .await;
    assert_eq!(status, 409);
    let (status, _) = d
        .employee
        .post("/api/v1/departments/", json!({"name": "Sales"}))
        .await;
    assert_eq!(status, 403);

    // A deactivated category stays on its tickets but cannot be chosen any more.
    let (_, t) = d
        .employee
        .post(
            "/api/v1/tickets/",
            json!({"subject": "Old", "category_id": d.software}),
        )
        .await;
    let (status, _) = d
        .admin
        .call(
            "PUT",
            &format!("/api/v1/categories/{}/", d.software),
            Some(json!({"name": "Software (old)", "is_active": false})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = d
        .employee
        .post(
            "/api/v1/tickets/",
            json!({"subject": "New", "category_id": d.software}),
        )
        .await;
    assert_eq!(status, 400);
    let (_, old) = d
        .employee
        .get(&format!("/api/v1/tickets/{}/", t["id"]))
        .await;
    assert_eq!(old["category"]["name"], "Software (old)");

    let (status, _) = d
        .admin
        .call(
            "PUT",
            "/api/v1/priorities/urgent/",
            Some(json!({"name": "Critical", "description": "Everything stopped"})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, data) = d.employee.get("/api/v1/reference-data/").await;
    assert_eq!(data["priorities"][3]["name"], "Critical");
    let (status, _) = d
        .admin
        .call(
            "PUT",
            "/api/v1/priorities/critical/",
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test]
async fn users_keep_their_own_saved_filters() {
    let app = spawn().await;
    let d = desk(&app).await;
    let (status, saved) = d
        .agent
        .post(
            "/api/v1/saved-filters/",
            json!({"name": "Urgent IT", "query": "?priority=urgent&department=1"}),
        )
        .await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["query"], "priority=urgent&department=1");
    let (status, _) = d
        .agent
        .post(
            "/api/v1/saved-filters/",
            json!({"name": "urgent it", "query": "x=1"}),
        )
        .await;
    assert_eq!(status, 409);
    let (_, theirs) = d.employee.get("/api/v1/saved-filters/").await;
    assert_eq!(theirs, json!([]));
    let id = saved["id"].as_i64().unwrap();
    let (status, _) = d
        .employee
        .call("DELETE", &format!("/api/v1/saved-filters/{id}/"), None)
        .await;
    assert_eq!(status, 404, "someone else's filter");
    let (status, _) = d
        .agent
        .call("DELETE", &format!("/api/v1/saved-filters/{id}/"), None)
        .await;
    assert_eq!(status, 204);
    let (_, mine) = d.agent.get("/api/v1/saved-filters/").await;
    assert_eq!(mine, json!([]));
    app.stop().await;
}

/// Inserts `n` plain tickets for `requester_id` in one statement (as a bulk import would).
async fn seed_tickets(app: &TestApp, n: i64, requester_id: i64) {
    match app.db() {
        services::Db::Sqlite(pool, _) => {
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                 INSERT INTO tickets (subject, description, priority, status, requester_id, source, \
                 fields, created_at, updated_at) SELECT 'Bulk ' || i, '', 'low', 'new', $2, 'api', \
                 '{}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM n",
            )
            .bind(n)
            .bind(requester_id)
            .execute(pool)
            .await
            .unwrap();
        }
        services::Db::Postgres(pool) => {
            sqlx::query(
                "INSERT INTO tickets (subject, description, priority, status, requester_id, source, \
                 fields, created_at, updated_at) SELECT 'Bulk ' || i, '', 'low', 'new', $2, 'api', \
                 '{}'::jsonb, now(), now() FROM generate_series(1, $1::bigint) AS i",
            )
            .bind(n)
            .bind(requester_id)
            .execute(pool)
            .await
            .unwrap();
        }
    }
}

/// A broad list is counted only so far past the page (`count_capped` says so); narrower ones
/// and the last pages are exact, and paging on past the bound still works. On SQLite the
/// unfiltered list is counted exactly (a whole table counts faster than part of it).
#[tokio::test]
async fn broad_lists_count_up_to_a_bound_past_the_page() {
    let app = spawn().await;
    let d = desk(&app).await;
    seed_tickets(&app, 1_100, d.employee_id).await;
    let (status, first) = d.admin.get("/api/v1/tickets/?priority=low").await;
    assert_eq!(status, 200);
    assert_eq!(
        first["count"],
        25 + domain::COUNT_AHEAD,
        "{}",
        first["count"]
    );
    assert_eq!(first["count_capped"], true);
    assert!(first["next"].is_string());
    let (_, deep) = d.admin.get("/api/v1/tickets/?priority=low&page=40").await;
    assert_eq!(deep["count"], 1_100, "exact once the bound passes the end");
    assert!(
        deep.get("count_capped").is_none(),
        "{}",
        deep["count_capped"]
    );
    assert_eq!(deep["results"].as_array().unwrap().len(), 25);
    let (_, everything) = d.admin.get("/api/v1/tickets/").await;
    match app.db().backend() {
        services::db::Backend::Sqlite => {
            assert_eq!(everything["count"], 1_100);
            assert!(everything.get("count_capped").is_none());
        }
        services::db::Backend::Postgres => {
            assert_eq!(everything["count"], 25 + domain::COUNT_AHEAD);
            assert_eq!(everything["count_capped"], true);
        }
    }
    let (_, narrow) = d.admin.get("/api/v1/tickets/?priority=high").await;
    assert_eq!(narrow["count"], 0);
    assert!(narrow.get("count_capped").is_none());

    // A search for a word in every ticket ranks the newest candidates only. A whole word
    // that fills them is taken as meant; an unfinished one matches as a prefix.
    let (status, _) = d
        .employee
        .post(
            "/api/v1/tickets/",
            json!({"subject": "Bulky parcel in the lobby"}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, whole) = d.admin.get("/api/v1/tickets/?q=bulk").await;
    assert_eq!(whole["count"], 300);
    assert_eq!(whole["count_capped"], true);
    assert_eq!(
        whole["results"][0]["subject"], "Bulk 1100",
        "{}",
        whole["results"][0]
    );
    let (_, prefix) = d.admin.get("/api/v1/tickets/?q=bul").await;
    assert_eq!(prefix["count"], 300);
    assert_eq!(prefix["results"][0]["subject"], "Bulky parcel in the lobby");
    // The candidates' last page, and one past them: the count stays that of the search.
    let (_, last) = d.admin.get("/api/v1/tickets/?q=bulk&page=12").await;
    assert_eq!(last["count"], 300);
    assert_eq!(last["results"].as_array().unwrap().len(), 25);
    let (status, past) = d.admin.get("/api/v1/tickets/?q=bulk&page=13").await;
    assert_eq!(status, 200, "{past}");
    assert_eq!(past["count"], 300);
    assert_eq!(past["results"].as_array().unwrap().len(), 0);
    // A word of one ticket among them.
    let (_, rare) = d.admin.get("/api/v1/tickets/?q=lobby").await;
    assert_eq!(rare["count"], 1);
    assert!(rare.get("count_capped").is_none());
    assert_eq!(rare["results"][0]["subject"], "Bulky parcel in the lobby");
    app.stop().await;
}
