//! Browser test of the workflow engine: an employee submits a reimbursement through the
//! portal; the finance clerk and then the approver find it in their inboxes and act on it
//! from the ticket's workflow panel; the employee sees the ticket resolved and every step
//! done. Screenshots of the inbox and the panel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use harness::{Browser, Tts, screenshot_all_sizes};

/// Opens the ticket from the inbox and takes `action` with `notes`; returns the ticket's path.
async fn act_from_inbox(
    agent: &Browser,
    tts: &Tts,
    subject: &str,
    action: &str,
    notes: &str,
    next: &str,
) -> String {
    agent.goto(&tts.url("/inbox")).await;
    agent.wait_hydrated().await;
    agent
        .wait_for_text("[data-test=inbox-table]", subject)
        .await;
    agent
        .eval(&format!(
            "[...document.querySelectorAll('[data-test=inbox-row] a')].find(a => a.textContent.includes('{subject}')).click(); return 'ok'"
        ))
        .await;
    agent
        .wait_for_text("[data-test=ticket-subject]", subject)
        .await;
    agent.wait_hydrated().await;
    agent.wait_for("[data-test=task-action]").await;
    agent.fill("#task-notes", notes).await;
    agent
        .eval(&format!(
            "[...document.querySelectorAll('[data-test=task-action]')].find(b => b.textContent.includes('{action}')).click(); return 'ok'"
        ))
        .await;
    agent.wait_for_text("[data-test=current-step]", next).await;
    agent.current_path().await
}

#[tokio::test]
async fn an_employee_submits_agents_act_through_every_step_and_the_employee_sees_it_resolved() {
    let tts = Tts::start().await;
    let subject = "Taxi receipts from the Lyon trip";

    let employee = Browser::open(1280, 900).await;
    employee.sign_in(&tts, "employee@example.com").await;
    let path = employee
        .submit_ticket(
            &tts,
            subject,
            "Finance",
            "Two taxi rides, **receipts** attached.",
        )
        .await;
    employee.wait_for_step(&tts, &path, "Check receipts").await;
    let panel = employee.text("[data-test=workflow-panel]").await;
    assert!(panel.contains("Finance reimbursement"), "{panel}");
    // The requester's panel says where it is, who has it, what comes next and when; the
    // clerk's instructions and the clocks are the staff's.
    for said in [
        "Who has it",
        "What happens next",
        "When to expect it",
        "Approve payment",
    ] {
        // Headings are drawn in capitals: compare without case.
        assert!(
            panel.to_lowercase().contains(&said.to_lowercase()),
            "{said}: {panel}"
        );
    }
    for staff_only in ["Every line needs a receipt", "Step clock", "Workflow SLA"] {
        assert!(
            !panel.to_lowercase().contains(&staff_only.to_lowercase()),
            "{staff_only}: {panel}"
        );
    }
    // "My tickets" says where each ticket is and who has it.
    employee.goto(&tts.url("/tickets")).await;
    employee.wait_hydrated().await;
    let row = employee
        .wait_for_text("[data-test=ticket-table] tbody tr", subject)
        .await;
    assert!(row.contains("Check receipts"), "{row}");
    assert!(row.contains("Fiona"), "{row}");
    assert_eq!(
        employee
            .eval("return String(document.querySelectorAll('[data-test=task-action]').length)")
            .await,
        "0",
        "the requester follows the ticket but does not act"
    );

    // The clerk checks the receipts; the approver approves.
    let fiona = Browser::open(1280, 900).await;
    fiona.sign_in(&tts, "fiona@example.com").await;
    fiona.goto(&tts.url("/inbox")).await;
    fiona.wait_hydrated().await;
    fiona
        .wait_for_text("[data-test=inbox-table]", subject)
        .await;
    screenshot_all_sizes(&fiona, &tts, "/inbox", "workflow-inbox").await;
    act_from_inbox(
        &fiona,
        &tts,
        subject,
        "Receipts complete",
        "Both receipts are there",
        "Approve payment",
    )
    .await;
    fiona.assert_no_console_errors().await;
    fiona.close().await;

    let morgan = Browser::open(1280, 900).await;
    morgan.sign_in(&tts, "morgan@example.com").await;
    morgan.goto(&tts.url(&path)).await;
    morgan.wait_hydrated().await;
    morgan.wait_for("[data-test=task-action]").await;
    screenshot_all_sizes(&morgan, &tts, &path, "workflow-panel-agent").await;
    act_from_inbox(&morgan, &tts, subject, "Approve", "Approved", "Finished").await;
    let history = morgan.text("[data-test=task-history]").await;
    assert!(history.contains("Both receipts are there"), "{history}");
    // No budget system is configured here: the call at the end fails, the staff see why
    // and may send it again.
    let mut notice = String::new();
    for _ in 0..40 {
        morgan.goto(&tts.url(&path)).await;
        morgan.wait_hydrated().await;
        notice = morgan
            .eval("const n = document.querySelector('[data-test=end-logic]'); return n ? n.textContent : ''")
            .await;
        if notice.contains("could not be sent") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(notice.contains("no URL is configured"), "{notice}");
    morgan.click("[data-test=retry-end-logic]").await;
    morgan.wait_for_text(".toast", "Sent again").await;
    morgan.assert_no_console_errors().await;
    morgan.close().await;

    // The employee sees it resolved, every step of the way done.
    employee.goto(&tts.url(&path)).await;
    employee.wait_hydrated().await;
    employee
        .wait_for_text("[data-test=requester-headline]", "it is done")
        .await;
    let page = employee.text("main").await;
    assert!(page.contains("Resolved"), "{page}");
    for staff_only in [
        "could not be sent",
        "URL",
        "Retry",
        "Both receipts are there",
    ] {
        assert!(!page.contains(staff_only), "{staff_only}: {page}");
    }
    let pending = employee
        .eval("return String(document.querySelectorAll('[data-test=progress-line] .step-upcoming, [data-test=progress-line] .step-current').length)")
        .await;
    assert_eq!(pending, "0", "every step is done");
    screenshot_all_sizes(&employee, &tts, &path, "workflow-panel-employee").await;
    employee.assert_no_console_errors().await;
    employee.close().await;
}
