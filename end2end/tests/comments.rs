//! Browser test of the live conversation: an employee and an agent have the same ticket open
//! in two browsers. Each sees the other there; what one types, posts and rates shows in the
//! other without a reload; the agent's internal note never reaches the employee; the
//! employee's bell counts the agent's comment; after the server restarts, the open page
//! reconnects by itself and shows what was said while it was away. Screenshots of both views
//! and of the bell.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use harness::{Browser, Tts};

const THREAD: &str = "[data-test=comment-thread]";

/// The id of the comment in the thread whose text contains `needle`.
async fn comment_id(browser: &Browser, needle: &str) -> String {
    browser
        .eval(&format!(
            "const c = [...document.querySelectorAll('[data-test=comment]')].find(c => c.querySelector('[data-test=comment-text]').textContent.includes({needle:?})); return c ? c.dataset.commentId : ''"
        ))
        .await
}

/// The bell's unread count (0 when it shows none).
async fn bell_count(browser: &Browser) -> u32 {
    browser
        .eval("const b = document.querySelector('[data-test=notification-count]'); return b ? b.textContent : '0'")
        .await
        .trim()
        .parse()
        .unwrap()
}

/// Opens the ticket and waits until its thread is hydrated and its socket is open (the other
/// person's presence shows, or the composer is at least ready).
async fn open_ticket(browser: &Browser, tts: &Tts, path: &str) {
    browser.goto(&tts.url(path)).await;
    browser.wait_hydrated().await;
    browser.wait_for("[data-test=comment-input]").await;
}

#[tokio::test]
async fn an_employee_and_an_agent_talk_live_on_a_ticket() {
    let mut tts = Tts::start().await;
    let subject = "Docked monitor goes black";

    let employee = Browser::open(1280, 1000).await;
    employee.sign_in(&tts, "employee@example.com").await;
    // An IT ticket: the IT agent sees it.
    let path = employee
        .submit_ticket(
            &tts,
            subject,
            "IT",
            "The left screen goes black every few minutes.",
        )
        .await;
    open_ticket(&employee, &tts, &path).await;
    let before = bell_count(&employee).await;

    let agent = Browser::open(1280, 1000).await;
    agent.sign_in(&tts, "agent@example.com").await;
    open_ticket(&agent, &tts, &path).await;

    // Each sees the other on the ticket.
    employee
        .wait_for_text("[data-test=viewers]", "Alex Agent is viewing")
        .await;
    agent
        .wait_for_text("[data-test=viewers]", "Emma Employee is viewing")
        .await;

    // The agent types: the employee sees it.
    agent.fill("[data-test=comment-input]", "Could you").await;
    employee
        .wait_for_text("[data-test=typing-indicator]", "Alex Agent is typing")
        .await;

    // The agent comments: it appears for the employee without a reload, the typing stops,
    // and the employee's bell counts it.
    agent
        .fill(
            "[data-test=comment-input]",
            "Could you try **another cable**? Ctrl+Enter sends.",
        )
        .await;
    agent.click("[data-test=comment-submit]").await;
    agent
        .wait_for_text(THREAD, "Could you try another cable")
        .await;
    employee
        .wait_for_text(THREAD, "Could you try another cable")
        .await;
    employee
        .wait_until("!document.querySelector('[data-test=typing-indicator]').textContent.includes('typing')")
        .await;
    employee
        .wait_until(&format!(
            "Number((document.querySelector('[data-test=notification-count]') || {{textContent: '0'}}).textContent) > {before}"
        ))
        .await;
    let agent_comment = comment_id(&employee, "another cable").await;
    assert!(!agent_comment.is_empty());
    assert!(
        employee
            .text(&format!(
                "[data-comment-id='{agent_comment}'] [data-test=comment-text] strong"
            ))
            .await
            .contains("another cable"),
        "Markdown is rendered"
    );

    // The employee rates it: the agent sees the count; the employee sees their own choice.
    let up = format!("[data-comment-id='{agent_comment}'] [data-test=rate-up]");
    employee.click(&up).await;
    employee
        .wait_until(&format!(
            "document.querySelector(\"{up}\").getAttribute('aria-pressed') === 'true'"
        ))
        .await;
    agent
        .wait_for_text(
            &format!("[data-comment-id='{agent_comment}'] [data-test=thumbs-up-count]"),
            "1",
        )
        .await;
    assert_eq!(
        agent.attr(&up, "aria-pressed").await,
        "false",
        "the agent did not rate it"
    );

    // The employee replies with Ctrl+Enter: the agent sees the reply under the comment.
    employee
        .click(&format!(
            "[data-comment-id='{agent_comment}'] [data-test=comment-reply]"
        ))
        .await;
    employee
        .fill("[data-test=reply-input]", "Same with another cable.")
        .await;
    employee
        .find("[data-test=reply-input]")
        .await
        .send_keys("\u{E009}\u{E007}")
        .await
        .unwrap();
    agent
        .wait_for_text(".comment-replies", "Same with another cable")
        .await;
    employee
        .wait_for_text(".comment-replies", "Same with another cable")
        .await;

    // The agent's internal note: amber and marked for agents, never shown to the employee.
    agent.click(".note-toggle").await;
    agent
        .fill(
            "[data-test=comment-input]",
            "Internal: the warranty ran out in May.",
        )
        .await;
    agent.click("[data-test=comment-submit]").await;
    agent
        .wait_for_text("[data-test=comment][data-internal=true]", "warranty")
        .await;
    agent
        .fill(
            "[data-test=comment-input]",
            "I have ordered a new monitor for you.",
        )
        .await;
    agent.click("[data-test=comment-submit]").await;
    employee
        .wait_for_text(THREAD, "ordered a new monitor")
        .await;
    assert!(!employee.text(THREAD).await.contains("warranty"));
    open_ticket(&employee, &tts, &path).await;
    employee
        .wait_for_text(THREAD, "ordered a new monitor")
        .await;
    assert!(!employee.text(THREAD).await.contains("warranty"));

    // Pictures of both views and of the bell.
    let show_thread = "document.querySelector('[data-test=comment-thread]').scrollIntoView({block: 'end'}); return 'ok'";
    agent.eval(show_thread).await;
    agent.save_screenshot("comments-agent").await;
    employee.eval(show_thread).await;
    employee.save_screenshot("comments-employee").await;
    employee.eval("window.scrollTo(0, 0); return 'ok'").await;
    employee.click("[data-test=notification-bell]").await;
    employee
        .wait_for_text("[data-test=notification-list]", "Alex Agent commented")
        .await;
    employee.save_screenshot("comments-bell").await;

    // Opening a notification marks it read.
    let unread = bell_count(&employee).await;
    assert!(unread >= 1);
    employee
        .click("[data-test=notification-item][data-unread=true] a")
        .await;
    employee
        .wait_until(&format!(
            "Number((document.querySelector('[data-test=notification-count]') || {{textContent: '0'}}).textContent) < {unread}"
        ))
        .await;

    employee.assert_no_console_errors().await;
    agent.assert_no_console_errors().await;

    // The server restarts (a crash, a deployment): the open page reconnects by itself and
    // shows a comment posted while its socket was away, without reloading the page.
    employee
        .eval("window.stillTheSamePage = true; return 'ok'")
        .await;
    tts.restart().await;
    let ticket_id = path.trim_start_matches("/tickets/");
    let agent_token = tts.token("agent@example.com").await;
    tts.post(
        &agent_token,
        &format!("/api/v1/tickets/{ticket_id}/comments/"),
        serde_json::json!({ "text": "Posted while your page was away." }),
    )
    .await;
    employee
        .wait_for_text(THREAD, "Posted while your page was away")
        .await;
    assert_eq!(
        employee
            .eval("return String(window.stillTheSamePage)")
            .await,
        "true",
        "the page was not reloaded"
    );

    // The agent's view of the conversation in the dark theme and on a phone.
    let ticket_path = agent.current_path().await;
    for (theme, width, height, size) in [
        ("dark", 1280, 1000, "desktop"),
        ("dark", 360, 780, "phone"),
        ("light", 360, 780, "phone"),
    ] {
        agent.resize(width, height).await;
        agent.set_theme(theme).await;
        open_ticket(&agent, &tts, &ticket_path).await;
        agent.eval(show_thread).await;
        agent
            .save_screenshot(&format!("comments-agent-{theme}-{size}"))
            .await;
    }
    agent.close().await;
    employee.close().await;
}

/// An agent signs out in one tab: the ticket open in another tab stops taking posts at once
/// (its live thread is closed by the server, code 4401), says why, keeps the draft, and offers
/// the way back in. Nothing written after the sign-out reaches the ticket.
#[tokio::test]
async fn signing_out_in_one_tab_stops_the_live_thread_in_the_other() {
    let tts = Tts::start().await;
    let agent = Browser::open(1280, 1000).await;
    agent.sign_in(&tts, "agent@example.com").await;
    let subject = "Badge reader at the back door";
    let path = agent
        .submit_ticket(&tts, subject, "IT", "It beeps but does not open.")
        .await;
    open_ticket(&agent, &tts, &path).await;
    agent
        .fill("[data-test=comment-input]", "Half-written reply")
        .await;

    // A second tab of the same browser signs out.
    let first_tab = agent.open_tab().await;
    agent.goto(&tts.url("/")).await;
    agent.wait_hydrated().await;
    agent.click(".user-menu > summary").await;
    agent.click(".user-menu button[type=submit]").await;
    agent.wait_for("#email").await;

    // Back in the first tab: the thread says so and takes no more posts.
    agent.switch_to(first_tab).await;
    let notice = agent
        .wait_for_text("[data-test=thread-ended]", "You are signed out")
        .await;
    assert!(
        notice.contains("Half-written reply"),
        "the draft is kept: {notice}"
    );
    agent
        .wait_until("document.querySelector('[data-test=comment-input]') === null")
        .await;
    assert!(
        agent
            .attr("[data-test=thread-ended-action]", "href")
            .await
            .starts_with("/login?next="),
    );
    agent
        .save_screenshot("ticket-thread-signed-out-light-desktop")
        .await;

    // The ticket has no comment from after the sign-out.
    let admin = tts.token("admin@example.com").await;
    let id = path.rsplit('/').next().unwrap();
    let (status, comments) = tts
        .call(
            &admin,
            "GET",
            &format!("/api/v1/tickets/{id}/comments/"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(comments["count"], 0, "{comments}");
    agent.close().await;
}
