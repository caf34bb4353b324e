//! Browser tests: the release binary, copied alone into an empty folder, driven through
//! Debian's headless Chromium by chromedriver (WebDriver). Nothing here downloads a browser.
//!
//! `TTS_E2E_BINARY` names the binary (scripts/test.sh builds it with `cargo leptos build
//! --release -P --split` first). Every test also saves screenshots under `end2end/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use harness::{Browser, Tts, screenshot_all_sizes};

#[tokio::test]
async fn the_sign_in_page_renders_on_the_server_then_hydrates() {
    let tts = Tts::start().await;

    // Server-side rendering: the form is in the HTML before any script runs.
    let html = reqwest::get(tts.url("/login"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign in to your helpdesk"));
    assert!(
        !html.contains("data-hydrated"),
        "the server does not claim hydration"
    );

    // The assets are served from inside the binary, compressed when the browser accepts it.
    let wasm = reqwest::Client::new()
        .get(tts.url("/pkg/tts.wasm"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(wasm.headers()["content-encoding"], "br");

    let browser = Browser::open(1280, 860).await;
    browser.goto(&tts.url("/login")).await;
    browser.wait_hydrated().await;
    screenshot_all_sizes(&browser, &tts, "/login", "sign-in").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn choosing_a_demo_account_fills_the_form_and_signs_in() {
    let tts = Tts::start().await;
    let browser = Browser::open(1280, 860).await;
    browser.goto(&tts.url("/login")).await;
    browser.wait_hydrated().await;
    browser
        .click_until(
            ".demo-account",
            "document.getElementById('email').value !== ''",
        )
        .await;
    let email = browser
        .eval("return document.getElementById('email').value")
        .await;
    assert_eq!(email, "admin@example.com");
    browser.click("button[type=submit]").await;
    browser
        .wait_for_text(".page-title", "Welcome back, Avery")
        .await;
    assert_eq!(browser.current_path().await, "/");
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn a_wrong_password_shows_a_clear_error_and_keeps_the_user_signed_out() {
    let tts = Tts::start().await;
    let browser = Browser::open(1280, 860).await;
    browser.goto(&tts.url("/login")).await;
    browser.wait_hydrated().await;

    browser.fill("#email", "admin@example.com").await;
    browser.fill("#password", "not-the-password").await;
    browser.click("button[type=submit]").await;
    let alert = browser.wait_for("[role=alert]").await;
    let text = alert.text().await.unwrap();
    assert!(text.contains("e-mail or password is incorrect"), "{text}");
    assert!(browser.current_path().await.starts_with("/login"));
    browser.save_screenshot("sign-in-error-light-desktop").await;

    // An empty e-mail is reported beside the field.
    browser.fill("#email", "").await;
    browser.click("button[type=submit]").await;
    let error = browser.wait_for_text("#email-error", "required").await;
    assert!(error.contains("Email is required"), "{error}");
    browser.assert_no_console_errors_except(&[400, 401]).await;
    browser.close().await;
}

#[tokio::test]
async fn an_admin_signs_in_sees_the_admin_navigation_and_refreshes_the_status() {
    let tts = Tts::start().await;
    let browser = Browser::open(1280, 860).await;
    browser.sign_in(&tts, "admin@example.com").await;

    let greeting = browser.wait_for_text(".page-title", "Welcome back").await;
    assert_eq!(greeting, "Welcome back, Avery");
    let nav = browser.text("nav.mainnav").await;
    for item in ["Home", "Tickets", "Inbox", "Admin"] {
        assert!(nav.contains(item), "admins see {item}: {nav}");
    }
    screenshot_all_sizes(&browser, &tts, "/", "home-admin").await;

    // A click calls a server function and updates the page in place.
    browser.goto(&tts.url("/admin")).await;
    browser.wait_hydrated().await;
    let before = browser
        .wait_for_text("[data-test=checked-at] time", "UTC")
        .await;
    let before_attr = browser
        .attr("[data-test=checked-at] time", "datetime")
        .await;
    browser
        .click_until(
            "[data-test=refresh-status]",
            "document.querySelector('.toast') && document.querySelector('.toast').textContent.includes('Status refreshed')",
        )
        .await;
    let after_attr = browser
        .attr("[data-test=checked-at] time", "datetime")
        .await;
    assert_ne!(
        before_attr, after_attr,
        "the check time moved on (was {before})"
    );
    assert!(browser.text(".stats").await.contains("SQLite"));
    screenshot_all_sizes(&browser, &tts, "/admin", "admin-overview").await;
    screenshot_all_sizes(&browser, &tts, "/admin/users", "admin-users").await;
    assert!(browser.text("table").await.contains("employee@example.com"));
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn each_role_sees_only_its_own_navigation() {
    let tts = Tts::start().await;
    let cases = [
        (
            "employee@example.com",
            &["Home", "My tickets"][..],
            &["Inbox", "Admin"][..],
        ),
        (
            "agent@example.com",
            &["Home", "Tickets", "Inbox"][..],
            &["Admin"][..],
        ),
    ];
    for (email, visible, hidden) in cases {
        let browser = Browser::open(1280, 860).await;
        browser.sign_in(&tts, email).await;
        let nav = browser.text("nav.mainnav").await;
        for item in visible {
            assert!(nav.contains(item), "{email} sees {item}");
        }
        for item in hidden {
            assert!(!nav.contains(item), "{email} does not see {item}");
        }
        let role = email.split('@').next().unwrap();
        // The new-ticket form lights its own entry, not the ticket list's; its description
        // previews as the ticket page will show it.
        browser.goto(&tts.url("/tickets/new")).await;
        browser.wait_hydrated().await;
        let current = browser
            .eval("return [...document.querySelectorAll('nav.mainnav [aria-current=page]')].map(a => a.textContent.trim()).join('|')")
            .await;
        assert_eq!(current, "New ticket", "{email}");
        browser
            .fill("#description", "It **flickers** since Monday")
            .await;
        browser.click("[data-test=markdown-preview]").await;
        browser
            .wait_for_text("[data-test=markdown-preview-body] strong", "flickers")
            .await;
        browser.click("[data-test=markdown-preview]").await;
        browser
            .wait_until("!document.querySelector('#description').classList.contains('hidden')")
            .await;
        screenshot_all_sizes(&browser, &tts, "/", &format!("home-{role}")).await;
        screenshot_all_sizes(&browser, &tts, "/tickets", &format!("tickets-{role}")).await;
        if role == "agent" {
            screenshot_all_sizes(&browser, &tts, "/inbox", "inbox-agent").await;
        }
        // A page of another role says so instead of showing it.
        browser.goto(&tts.url("/admin")).await;
        browser
            .wait_for_text(".empty-state-title", "not for your role")
            .await;
        browser.assert_no_console_errors().await;
        browser.close().await;
    }
}

#[tokio::test]
async fn the_user_menu_switches_theme_and_signs_out() {
    let tts = Tts::start().await;
    let browser = Browser::open(1280, 860).await;
    browser.sign_in(&tts, "agent@example.com").await;

    browser.click(".user-menu > summary").await;
    browser.wait_for(".user-menu[open] .user-card").await;
    browser.save_screenshot("user-menu-light-desktop").await;
    browser.click("button[title='Dark theme']").await;
    let theme = browser
        .eval("return document.documentElement.dataset.theme || ''")
        .await;
    assert_eq!(theme, "dark");
    // The choice survives a reload (applied before the first paint by the document's script).
    browser.goto(&tts.url("/")).await;
    browser.wait_hydrated().await;
    assert_eq!(
        browser
            .eval("return document.documentElement.dataset.theme || ''")
            .await,
        "dark"
    );

    browser.click(".user-menu > summary").await;
    browser.click(".user-menu button[type=submit]").await;
    browser.wait_for("#email").await;
    assert!(browser.current_path().await.starts_with("/login"));
    // Signed out for real: the home page sends us back to sign in.
    browser.goto(&tts.url("/")).await;
    browser.wait_for("#email").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn unknown_pages_show_the_not_found_page() {
    let tts = Tts::start().await;
    let browser = Browser::open(1280, 860).await;
    browser.sign_in(&tts, "employee@example.com").await;
    browser.goto(&tts.url("/this/does/not/exist")).await;
    browser
        .wait_for_text(".empty-state-title", "Page not found")
        .await;
    screenshot_all_sizes(&browser, &tts, "/this/does/not/exist", "not-found").await;
    let link = browser.find("a.button-primary").await;
    link.click().await.unwrap();
    browser.wait_for_text(".page-title", "Welcome back").await;
    browser.close().await;
}

#[tokio::test]
async fn keyboard_users_can_reach_the_content_and_see_focus() {
    let tts = Tts::start().await;
    let browser = Browser::open(1280, 860).await;
    browser.sign_in(&tts, "employee@example.com").await;
    // The first Tab lands on the skip link, which becomes visible.
    let body = browser.find("body").await;
    body.send_keys("\u{E004}").await.unwrap();
    let focused = browser
        .eval("return document.activeElement.className")
        .await;
    assert_eq!(focused, "skip-link");
    let top = browser
        .eval("return String(document.activeElement.getBoundingClientRect().top >= 0)")
        .await;
    assert_eq!(top, "true", "the focused skip link is on screen");
    // Focus is drawn with a visible outline.
    let outline = browser
        .eval("return getComputedStyle(document.activeElement).outlineStyle")
        .await;
    assert_ne!(outline, "none");
    browser.close().await;
}
