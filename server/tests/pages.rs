//! Server-rendered pages and the server functions behind them, as a browser without scripts
//! would use them (the browser tests in end2end/ cover hydration).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{PASSWORD, client, spawn, spawn_with};

/// What a browser sends when it navigates or posts a plain form.
const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";
use domain::SystemRole;

/// Signs in through the sign-in form's server function; returns the session cookie.
async fn sign_in_through_the_form(app: &common::TestApp, email: &str, next: &str) -> String {
    let response = client()
        .post(app.url("/api/session/login"))
        .header("accept", HTML)
        .form(&[("email", email), ("password", PASSWORD), ("next", next)])
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_redirection(),
        "got {}",
        response.status()
    );
    assert_eq!(response.headers()["location"], next);
    // The session cookies, as a browser would send them back.
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|c| c.split(';').next().unwrap().to_owned())
        .filter(|c| c.starts_with("access_token=") || c.starts_with("refresh_token="))
        .collect();
    assert_eq!(cookies.len(), 2, "access and refresh cookies");
    cookies.join("; ")
}

#[tokio::test]
async fn the_sign_in_page_is_rendered_on_the_server_and_links_the_app() {
    let app = spawn().await;
    let response = client().get(app.url("/login")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("Sign in to your helpdesk"));
    assert!(html.contains(r#"name="email""#) && html.contains(r#"name="password""#));
    assert!(
        html.contains("/pkg/tts.js") && html.contains("/pkg/tts.wasm"),
        "hydration scripts"
    );
    assert!(html.contains("/pkg/tts.css"));
    assert!(html.contains("<title>Sign in · TTS</title>"), "page title");
    assert!(
        !html.contains("Demo accounts"),
        "no demo hint without demo data"
    );
    app.stop().await;
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_with_the_page_they_wanted() {
    let app = spawn().await;
    for (path, next) in [
        ("/", "/"),
        ("/admin/users", "/admin/users"),
        ("/inbox", "/inbox"),
    ] {
        let response = client()
            .get(app.url(path))
            .header("accept", HTML)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_redirection(),
            "{path}: {}",
            response.status()
        );
        assert_eq!(
            response.headers()["location"],
            format!("/login?next={next}"),
            "{path}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn signing_in_through_the_form_opens_the_home_page_of_the_role() {
    let app = spawn().await;
    app.user("agent@example.com", SystemRole::Agent).await;
    let cookie = sign_in_through_the_form(&app, "agent@example.com", "/inbox").await;
    assert!(cookie.contains("access_token="));

    let html = client()
        .get(app.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Welcome back, Test"), "greets the user");
    assert!(html.contains(r#"href="/inbox""#), "agents see their inbox");
    assert!(
        !html.contains(r#"href="/admin""#),
        "agents do not see the admin area"
    );

    let response = client()
        .get(app.url("/inbox"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Inbox zero"));
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_password_in_the_form_sets_no_cookie_and_says_why() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let response = client()
        .post(app.url("/api/session/login"))
        .header("accept", "application/json")
        .form(&[("email", "emp@example.com"), ("password", "wrong-password")])
        .send()
        .await
        .unwrap();
    let session_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("access_token="));
    assert!(!session_cookie, "no session cookie");
    assert!(response.status().is_client_error(), "{}", response.status());
    let body = response.text().await.unwrap();
    assert!(body.contains("incorrect"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn sign_in_never_redirects_off_the_site() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    for evil in ["https://evil.example/", "//evil.example/x"] {
        let response = client()
            .post(app.url("/api/session/login"))
            .header("accept", HTML)
            .form(&[
                ("email", "emp@example.com"),
                ("password", PASSWORD),
                ("next", evil),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["location"], "/", "{evil}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_admin_area_is_for_admins_only() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let admin = sign_in_through_the_form(&app, "admin@example.com", "/admin").await;
    let employee = sign_in_through_the_form(&app, "emp@example.com", "/").await;

    let html = client()
        .get(app.url("/admin"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("System status"));
    let backend = if common::backend_is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    assert!(html.contains(backend), "shows the database backend");

    let html = client()
        .get(app.url("/admin/users"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("admin@example.com") && html.contains("emp@example.com"),
        "lists users"
    );

    let html = client()
        .get(app.url("/admin"))
        .header("cookie", &employee)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("This page is not for your role"));
    assert!(!html.contains("System status"));

    // The server functions check for themselves, whatever the page shows.
    for cookie in [Some(&employee), None] {
        let mut request = client()
            .post(app.url("/api/admin/status"))
            .header("accept", "application/json");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        let expected = if cookie.is_some() { 403 } else { 401 };
        assert_eq!(response.status(), expected);
    }
    let response = client()
        .post(app.url("/api/admin/status"))
        .header("origin", app.origin())
        .header("cookie", &admin)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let status: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status["database"], backend);
    assert_eq!(status["database_ok"], true);
    assert_eq!(status["users"], 2);
    app.stop().await;
}

#[tokio::test]
async fn signing_out_clears_the_session() {
    let app = spawn().await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let browser = app.browser();
    let response = browser
        .post(app.url("/api/session/login"))
        .header("accept", HTML)
        .form(&[
            ("email", "emp@example.com"),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    assert_eq!(
        browser.get(app.url("/")).send().await.unwrap().status(),
        200
    );

    let response = browser
        .post(app.url("/api/session/logout"))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/login");
    let cleared = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("access_token=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let after = browser
        .get(app.url("/"))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert!(
        after.status().is_redirection(),
        "signed out: {}",
        after.status()
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_pages_get_a_real_404_with_the_app_around_it() {
    let app = spawn().await;
    let response = client().get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(
        html.contains("/pkg/tts.js"),
        "the not-found page hydrates like the others"
    );
    app.stop().await;
}

#[tokio::test]
async fn demo_mode_seeds_one_user_per_role_and_lists_them_on_the_sign_in_page() {
    let app = spawn_with(true).await;
    let html = client()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Demo accounts"));
    for (email, _, _) in services::demo::DEMO_USERS {
        assert!(html.contains(email), "{email}");
        let response = client()
            .post(app.url("/api/v1/auth/token/"))
            .json(&serde_json::json!({"email": email, "password": services::demo::DEMO_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{email} can sign in");
    }
    // Seeding again changes nothing.
    assert_eq!(services::demo::seed(app.services().db()).await.unwrap(), 0);
    app.stop().await;
}

/// Every page arrives whole, also when many are asked for at once: the user's identity is
/// read in several places of a page (header, banner, page guard), which once left a small
/// share of responses unfinished (leptos-rs/leptos#4851).
#[tokio::test]
async fn pages_arrive_complete_under_concurrent_requests() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let admin = sign_in_through_the_form(&app, "admin@example.com", "/admin").await;
    let pages = [
        "/",
        "/admin",
        "/admin/users",
        "/tickets",
        "/tickets/new",
        "/account",
    ];
    let mut requests = tokio::task::JoinSet::new();
    for round in 0..20 {
        for page in pages {
            let url = app.url(page);
            let cookie = admin.clone();
            requests.spawn(async move {
                let response = client()
                    .get(&url)
                    .header("cookie", cookie)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{url} (round {round}): {e}"));
                assert_eq!(response.status(), 200, "{url}");
                let html = response
                    .text()
                    .await
                    .unwrap_or_else(|e| panic!("{url} (round {round}) never finished: {e}"));
                // A streamed page ends with the data the browser hydrates from.
                let tail = html.trim_end();
                assert!(
                    tail.ends_with("</html>") || tail.ends_with("__INCOMPLETE_CHUNKS=[];</script>"),
                    "{url} arrived cut short: …{}",
                    &html[html.len().saturating_sub(300)..]
                );
                assert!(
                    html.contains("Account menu for"),
                    "{url} knows who is signed in"
                );
            });
        }
    }
    while let Some(outcome) = requests.join_next().await {
        outcome.unwrap();
    }
}

/// The helpdesk settings page (`/admin/helpdesk`): admins see the categories, sub-categories
/// and departments (here created over REST) and manage them with its server functions, which
/// refuse everyone else and explain a bad name beside its field.
#[tokio::test]
async fn admins_manage_the_helpdesk_reference_data_on_its_page() {
    let app = spawn().await;
    app.user("admin@example.com", SystemRole::Admin).await;
    let agent_id = app.user("agent@example.com", SystemRole::Agent).await;
    app.user("emp@example.com", SystemRole::Employee).await;
    let token = app.token("admin@example.com").await;
    let rest = async |method: &str, path: &str, body: Option<serde_json::Value>| {
        common::call_json(
            app.url(path),
            method,
            common::Credentials::Bearer(&token),
            body,
        )
        .await
    };
    let created = async |path: &str, body: serde_json::Value| {
        let (status, answer) = rest("POST", path, Some(body)).await;
        assert_eq!(status, 201, "{path}: {answer}");
        answer["id"].as_i64().unwrap()
    };
    let hardware = created(
        "/api/v1/categories/",
        serde_json::json!({"name": "Hardware"}),
    )
    .await;
    created(
        "/api/v1/categories/",
        serde_json::json!({"name": "Printers", "parent_id": hardware}),
    )
    .await;
    let it = created(
        "/api/v1/departments/",
        serde_json::json!({"name": "IT Services"}),
    )
    .await;

    let admin = sign_in_through_the_form(&app, "admin@example.com", "/admin").await;
    let employee = sign_in_through_the_form(&app, "emp@example.com", "/").await;
    let page = async |cookie: &str| {
        let response = client()
            .get(app.url("/admin/helpdesk"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 200, "{}", &text[text.len().saturating_sub(3000)..]);
        text
    };

    let html = page(&admin).await;
    assert!(html.contains("<title>Helpdesk settings · TTS</title>"));
    assert!(html.contains(r#"href="/admin/helpdesk""#), "the admin tab");
    for name in ["Hardware", "Printers", "IT Services"] {
        assert!(html.contains(name), "shows {name}");
    }
    assert!(
        html.contains(r#"data-test="sub-category""#),
        "Printers is shown as a sub-category"
    );
    assert!(html.contains("0 members"), "IT Services has no members yet");
    assert!(html.contains("Agent visibility") && html.contains(r#"value="own_departments""#));
    assert!(
        html.contains(r#"action="/api/admin/helpdesk/categories/create""#),
        "the forms post to the server functions without scripts too"
    );

    let html = page(&employee).await;
    assert!(html.contains("This page is not for your role"));
    assert!(!html.contains("Hardware"));

    // The server function behind "Add category", as the running app calls it.
    let call = async |cookie: &str, endpoint: &str, form: &[(&str, String)]| {
        let response = client()
            .post(app.url(&format!("/api/admin/helpdesk/{endpoint}")))
            .header("origin", app.origin())
            .header("cookie", cookie)
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        (status, body)
    };
    let (status, id) = call(
        &admin,
        "categories/create",
        &[
            ("name", "Software".to_owned()),
            ("description", "Applications".to_owned()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{id}");
    let software = id.as_i64().unwrap();
    let (status, id) = call(
        &admin,
        "categories/create",
        &[
            ("name", "Scanners".to_owned()),
            ("parent_id", hardware.to_string()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{id}");
    let scanners = id.as_i64().unwrap();

    let (status, reference) = rest("GET", "/api/v1/reference-data/", None).await;
    assert_eq!(status, 200);
    let category = |id: i64| {
        reference["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("category {id} in {reference}"))
    };
    assert_eq!(category(software)["name"], "Software");
    assert_eq!(category(software)["description"], "Applications");
    assert!(category(software)["parent_id"].is_null());
    assert_eq!(category(scanners)["parent_id"], hardware);

    // Others may not, whatever the page shows; a blank name is explained beside its field.
    let (status, body) = call(
        &employee,
        "categories/create",
        &[("name", "Sneaky".to_owned())],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["kind"], "forbidden");
    let (status, body) = call(&admin, "categories/create", &[("name", "   ".to_owned())]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["details"]["name"].is_string(), "{body}");
    let (_, reference) = rest("GET", "/api/v1/reference-data/", None).await;
    let names: Vec<&str> = reference["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(!names.contains(&"Sneaky"));

    // A plain HTML form post (no WebAssembly yet) goes back to the page.
    let response = client()
        .post(app.url("/api/admin/helpdesk/departments/create"))
        .header("origin", app.origin())
        .header("referer", app.url("/admin/helpdesk"))
        .header("cookie", &admin)
        .header("accept", HTML)
        .form(&[("name", "Finance")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let location = response.headers()["location"].to_str().unwrap();
    // (Leptos leaves an empty query behind: `/admin/helpdesk?`.)
    assert!(
        location.trim_end_matches('?').ends_with("/admin/helpdesk"),
        "{location}"
    );

    // Members, a priority's name and the agents' visibility, then the page shows them.
    let (status, body) = call(
        &admin,
        "departments/set-member",
        &[
            ("department_id", it.to_string()),
            ("user_id", agent_id.to_string()),
            ("member", "true".to_owned()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &admin,
        "priorities/update",
        &[
            ("code", "urgent".to_owned()),
            ("name", "Critical".to_owned()),
            ("description", "Work stops".to_owned()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &admin,
        "agent-visibility",
        &[("visibility", "all".to_owned())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "all");
    let (status, _) = rest("GET", "/api/v1/helpdesk/settings/", None).await;
    assert_eq!(status, 200);

    let html = page(&admin).await;
    assert!(html.contains("Finance") && html.contains("Software"));
    assert!(html.contains("1 member"), "IT Services has its agent");
    assert!(html.contains("agent@example.com"));
    assert!(html.contains(r#"value="Critical""#));
    assert!(
        html.contains(r#"value="all" checked"#),
        "the saved visibility is chosen"
    );
    app.stop().await;
}
