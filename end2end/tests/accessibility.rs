//! The WCAG 2.1 AA audit: axe-core (from npm, injected into each page) on every page as each
//! role sees it, in the light and the dark theme (contrast differs), at desktop and phone
//! width. Any serious or critical violation fails, naming the rule and the elements.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use harness::{Browser, Tts};
use serde_json::json;

/// Opens each path, waits for the page to be hydrated and its `ready` element to show, and
/// audits it in both themes and both widths; what is wrong goes into `found`.
async fn audit(browser: &Browser, tts: &Tts, pages: &[(&str, &str)], found: &mut Vec<String>) {
    for (path, ready) in pages {
        for theme in ["light", "dark"] {
            for (width, height) in [(1280, 900), (390, 844)] {
                browser.resize(width, height).await;
                browser.set_theme(theme).await;
                browser.goto(&tts.url(path)).await;
                browser.wait_hydrated().await;
                browser.wait_for(ready).await;
                for violation in browser.accessibility_violations().await {
                    found.push(format!("{path} ({theme}, {width} px): {violation}"));
                }
            }
        }
    }
}

#[tokio::test]
async fn no_page_has_a_serious_or_critical_accessibility_violation() {
    let tts = Tts::start().await;
    let employee_token = tts.token("employee@example.com").await;
    let ticket = tts
        .post(
            &employee_token,
            "/api/v1/tickets/",
            json!({
                "subject": "The meeting room screen stays black",
                "description": "Since **Monday**, in room 4.02.",
                "priority": "high",
            }),
        )
        .await;
    let id = ticket["id"].as_i64().unwrap();
    let agent_token = tts.token("agent@example.com").await;
    tts.post(
        &agent_token,
        &format!("/api/v1/tickets/{id}/comments/"),
        json!({ "text": "Is the cable plugged in at the wall?" }),
    )
    .await;
    let ticket_page = format!("/tickets/{id}");

    let mut found = Vec::new();
    let browser = Browser::open(1280, 900).await;
    audit(
        &browser,
        &tts,
        &[("/login", "#email"), ("/forgot-password", "form")],
        &mut found,
    )
    .await;

    browser.sign_in(&tts, "employee@example.com").await;
    audit(
        &browser,
        &tts,
        &[
            ("/", "main h1"),
            ("/tickets", "[data-test=ticket-table]"),
            ("/tickets/new", "[data-test=submit-ticket]"),
            (
                &ticket_page,
                "[data-test=comment-thread] [data-test=rate-up]",
            ),
            ("/account", "main h1"),
            ("/account/security", "main h1"),
        ],
        &mut found,
    )
    .await;
    browser.close().await;

    let browser = Browser::open(1280, 900).await;
    browser.sign_in(&tts, "agent@example.com").await;
    audit(
        &browser,
        &tts,
        &[
            ("/inbox", "main h1"),
            ("/tickets", "[data-test=ticket-table]"),
            (&ticket_page, "[data-test=status-panel]"),
        ],
        &mut found,
    )
    .await;
    browser.close().await;

    let browser = Browser::open(1280, 900).await;
    browser.sign_in(&tts, "admin@example.com").await;
    audit(
        &browser,
        &tts,
        &[
            ("/admin", "main h1"),
            ("/admin/users", "main h1"),
            ("/admin/roles", "main h1"),
            ("/admin/api-keys", "main h1"),
            ("/admin/security", "main h1"),
            ("/admin/helpdesk", "main h1"),
            ("/admin/workflows", "main h1"),
            ("/admin/workflows/1", "main h1"),
            ("/admin/workflows/1/editor", ".editor-svg .node"),
            ("/admin/triage", "main h1"),
            ("/admin/audit", "main h1"),
        ],
        &mut found,
    )
    .await;
    browser.close().await;
    assert!(
        found.is_empty(),
        "{} serious or critical violations:\n{}",
        found.len(),
        found.join("\n")
    );
}
