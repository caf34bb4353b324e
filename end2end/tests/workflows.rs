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
    morgan.assert_no_console_errors().await;
    morgan.close().await;

    // The employee sees it resolved, every step of the way done.
    employee.goto(&tts.url(&path)).await;
    employee.wait_hydrated().await;
    employee
        .wait_for_text("[data-test=current-step]", "Finished")
        .await;
    let page = employee.text("main").await;
    assert!(page.contains("Resolved"), "{page}");
    let pending = employee
        .eval("return String(document.querySelectorAll('[data-test=progress-line] .step-upcoming, [data-test=progress-line] .step-current').length)")
        .await;
    assert_eq!(pending, "0", "every step is done");
    screenshot_all_sizes(&employee, &tts, &path, "workflow-panel-employee").await;
    employee.assert_no_console_errors().await;
    employee.close().await;
}
