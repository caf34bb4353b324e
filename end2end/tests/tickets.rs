//! Browser tests of the helpdesk: an employee submits a ticket through the portal form and
//! sees it; an agent finds it through search, opens it with the keyboard and resolves it,
//! ending its workflow once asked to confirm; the requester reopens it ("still broken");
//! screenshots of the list, the form and the ticket page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use harness::{Browser, Tts, screenshot_all_sizes};

/// Drops a 1×1 PNG named `screen.png` on the page's drop zone, as a user dragging a file would.
const DROP_PNG: &str = "const bytes = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='), c => c.charCodeAt(0)); \
    const data = new DataTransfer(); \
    data.items.add(new File([bytes], 'screen.png', {type: 'image/png'})); \
    document.querySelector('[data-test=drop-zone]').dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true})); \
    return 'ok'";

#[tokio::test]
async fn an_employee_submits_a_ticket_and_an_agent_finds_and_works_it() {
    let tts = Tts::start().await;
    let employee = Browser::open(1280, 900).await;
    employee.sign_in(&tts, "employee@example.com").await;
    screenshot_all_sizes(&employee, &tts, "/tickets", "tickets-employee-list").await;

    employee.goto(&tts.url("/tickets/new")).await;
    employee.wait_hydrated().await;
    employee.wait_for("#subject").await;
    screenshot_all_sizes(&employee, &tts, "/tickets/new", "ticket-new").await;
    employee.goto(&tts.url("/tickets/new")).await;
    employee.wait_hydrated().await;

    // A missing subject is shown beside the field.
    employee
        .click_until(
            "[data-test=submit-ticket]",
            "document.querySelector('#subject-error') && document.querySelector('#subject-error').textContent.length > 0",
        )
        .await;
    let error = employee.text("#subject-error").await;
    assert!(error.contains("required"), "{error}");

    // Category → its sub-categories.
    employee
        .fill("#subject", "Docking station does not charge the laptop")
        .await;
    employee.choose("#category_id", "Hardware").await;
    employee.wait_for_text("#sub_category_id", "Laptop").await;
    employee.choose("#sub_category_id", "Laptop").await;
    employee.choose("#department_id", "IT").await;
    employee
        .fill(
            "#description",
            "The **dock** stopped charging after the update.\n\n- USB-C\n- 90 W",
        )
        .await;
    // A screenshot dropped on the form is uploaded once the ticket exists.
    employee.eval(DROP_PNG).await;
    employee
        .wait_for_text("[data-test=chosen-files]", "screen.png")
        .await;
    employee.click("[data-test=submit-ticket]").await;
    let subject = employee
        .wait_for_text("[data-test=ticket-subject]", "Docking station")
        .await;
    assert_eq!(subject, "Docking station does not charge the laptop");
    let path = employee.current_path().await;
    assert!(path.starts_with("/tickets/"), "{path}");
    let description = employee.text("[data-test=ticket-description]").await;
    assert!(
        description.contains("dock stopped charging"),
        "{description}"
    );
    assert!(employee.text(".facts").await.contains("Hardware › Laptop"));
    assert!(
        employee
            .text("[data-test=ticket-history]")
            .await
            .contains("submitted the ticket")
    );
    employee
        .wait_for_text("[data-test=attachments]", "screen.png")
        .await;
    let loaded = employee
        .eval("return String(document.querySelector('[data-test=attachments] img').naturalWidth)")
        .await;
    assert_eq!(loaded, "1", "the thumbnail loads from the server");
    screenshot_all_sizes(&employee, &tts, &path, "ticket-page-employee").await;
    employee.assert_no_console_errors_except(&[400]).await;
    employee.close().await;

    // The agent (IT) finds it by a word of its description, typed as a prefix.
    let agent = Browser::open(1280, 900).await;
    agent.sign_in(&tts, "agent@example.com").await;
    agent.goto(&tts.url("/tickets?q=charg")).await;
    agent.wait_hydrated().await;
    let table = agent
        .wait_for_text("[data-test=ticket-table]", "Docking station")
        .await;
    assert!(!table.contains("Book the large meeting room"), "{table}");
    screenshot_all_sizes(&agent, &tts, "/tickets", "tickets-agent-list").await;

    // Keyboard: `/` focuses the search; Enter on the selected row opens it.
    agent.goto(&tts.url("/tickets?q=docking")).await;
    agent.wait_hydrated().await;
    agent
        .wait_for_text("[data-test=ticket-table]", "Docking station")
        .await;
    agent
        .eval("document.activeElement.blur(); return 'ok'")
        .await;
    agent
        .eval("document.dispatchEvent(new KeyboardEvent('keydown', {key: '/', bubbles: true})); return 'ok'")
        .await;
    let focused = agent
        .eval("return document.activeElement.getAttribute('data-test')")
        .await;
    assert_eq!(focused, "ticket-search");
    agent
        .eval("document.activeElement.blur(); return 'ok'")
        .await;
    agent
        .eval("window.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); return 'ok'")
        .await;
    agent
        .wait_for_text("[data-test=ticket-subject]", "Docking station")
        .await;

    // While the workflow runs it sets the status: the agent may resolve the ticket only by
    // ending the workflow, and is asked to confirm that first.
    agent.wait_hydrated().await;
    agent.wait_for("[data-test=workflow-sets-status]").await;
    let offered = agent
        .eval("return Array.from(document.querySelectorAll('#status option')).map(o => o.value).join(',')")
        .await;
    assert!(
        !offered.contains("on_hold") && offered.contains("resolved"),
        "{offered}"
    );
    agent
        .eval("document.querySelector('#status').value = 'resolved'; return 'ok'")
        .await;
    agent.fill("#note", "Ordering a new dock").await;
    agent.click("[data-test=change-status]").await;
    let asked = agent
        .wait_for_text("#end_workflow-error", "ends the running workflow")
        .await;
    assert!(asked.contains("must be ticked"), "{asked}");
    let history = agent.text("[data-test=ticket-history]").await;
    assert!(
        !history.contains("Ordering a new dock"),
        "nothing changed yet"
    );
    agent.wait_for("[data-test=end-workflow]").await;
    agent
        .eval("document.querySelector('#status').value = 'resolved'; return 'ok'")
        .await;
    agent.fill("#note", "Ordering a new dock").await;
    agent.click("[data-test=end-workflow]").await;
    agent.click("[data-test=change-status]").await;
    let history = agent
        .wait_for_text("[data-test=ticket-history]", "Ordering a new dock")
        .await;
    assert!(history.contains("to Resolved"), "{history}");
    assert!(history.contains("ended the workflow"), "{history}");
    agent
        .wait_for_text("[data-test=workflow-panel]", "Ended early")
        .await;
    let path = agent.current_path().await;
    screenshot_all_sizes(&agent, &tts, &path, "ticket-page-agent").await;
    agent.assert_no_console_errors_except(&[409]).await;
    agent.close().await;

    // The requester finds it still broken and reopens it: it goes back to the agent.
    let requester = Browser::open(1280, 900).await;
    requester.sign_in(&tts, "employee@example.com").await;
    requester.goto(&tts.url(&path)).await;
    requester.wait_hydrated().await;
    requester.wait_for("[data-test=reopen-panel]").await;
    screenshot_all_sizes(&requester, &tts, &path, "ticket-page-requester-resolved").await;
    requester.goto(&tts.url(&path)).await;
    requester.wait_hydrated().await;
    requester
        .fill("#reopen-note", "It stopped charging again this morning")
        .await;
    requester.click("[data-test=reopen-ticket]").await;
    let history = requester
        .wait_for_text("[data-test=ticket-history]", "the workflow resumed")
        .await;
    assert!(
        history.contains("It stopped charging again this morning"),
        "{history}"
    );
    let badges = requester.text(".ticket-heading .badge-row").await;
    assert!(badges.contains("Open"), "{badges}");
    requester.assert_no_console_errors().await;
    requester.close().await;
}

#[tokio::test]
async fn an_agent_filters_saves_a_view_and_finds_tickets_despite_a_typo() {
    let tts = Tts::start().await;
    let agent = Browser::open(1280, 900).await;
    agent.sign_in(&tts, "agent@example.com").await;
    agent.goto(&tts.url("/tickets")).await;
    agent.wait_hydrated().await;
    agent
        .wait_for_text("[data-test=ticket-table]", "Printer on floor 3")
        .await;

    // Choosing a category applies it at once.
    agent.choose("select[name=category]", "Hardware").await;
    agent
        .wait_until("location.search.includes('category=') && !document.querySelector('[data-test=ticket-table]').textContent.includes('VPN disconnects')")
        .await;
    let table = agent
        .wait_for_text("[data-test=ticket-table]", "Second monitor flickers")
        .await;
    assert!(!table.contains("VPN disconnects"), "{table}");

    // Saving the view makes a chip that survives a reload and brings the filter back.
    agent.click("[data-test=save-view]").await;
    agent
        .fill(".save-view-form input[name=name]", "Hardware")
        .await;
    agent.click(".save-view-form button[type=submit]").await;
    agent
        .wait_for_text("[data-test=saved-views] .chip", "Hardware")
        .await;
    agent.goto(&tts.url("/tickets")).await;
    agent.wait_hydrated().await;
    agent
        .wait_for_text("[data-test=saved-views] .chip", "Hardware")
        .await;
    agent.click("[data-test=saved-views] .chip a").await;
    agent
        .wait_until("document.querySelector('[data-test=saved-views] .chip.chip-active') !== null")
        .await;
    let table = agent
        .wait_for_text("[data-test=ticket-table]", "Second monitor flickers")
        .await;
    assert!(!table.contains("VPN disconnects"), "{table}");
    screenshot_all_sizes(
        &agent,
        &tts,
        "/tickets?category=1",
        "tickets-agent-saved-view",
    )
    .await;

    // A requester's name filters by them.
    agent.goto(&tts.url("/tickets")).await;
    agent.wait_hydrated().await;
    agent
        .wait_for_text("[data-test=ticket-table]", "Printer on floor 3")
        .await;
    agent
        .click("[data-test=ticket-table] tbody tr:first-child a[title]")
        .await;
    agent
        .wait_for_text(".active-filters .chip", "Requested by")
        .await;

    // A typing mistake still finds the ticket.
    agent.goto(&tts.url("/tickets?q=flikers")).await;
    agent.wait_hydrated().await;
    agent
        .wait_for_text("[data-test=ticket-table]", "Second monitor flickers")
        .await;

    // Deleting the saved view removes its chip.
    agent.goto(&tts.url("/tickets")).await;
    agent.wait_hydrated().await;
    agent
        .click("[data-test=saved-views] .chip .chip-remove")
        .await;
    agent
        .wait_until("document.querySelectorAll('[data-test=saved-views] .chip').length === 0")
        .await;
    agent.assert_no_console_errors().await;
    agent.close().await;
}
