//! Browser tests of the visual workflow editor: an admin builds a workflow from an empty
//! canvas with the mouse and the keyboard, sees a validation problem appear and go, undoes
//! and redoes, meets another admin's save (refused, then reloaded), simulates, deploys, and
//! a ticket submitted through the portal follows the new workflow. And a 200-step workflow
//! opens and moves. Screenshots of each state, both themes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use harness::{Browser, Tts, screenshot_all_sizes};
use serde_json::{Value, json};

/// The id of the demo data's department (or role, category) with this name.
fn id_named(list: &Value, name: &str) -> i64 {
    list.as_array()
        .unwrap()
        .iter()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))["id"]
        .as_i64()
        .unwrap()
}

/// How many nodes the canvas draws.
async fn node_count(browser: &Browser) -> usize {
    browser
        .eval("return String(document.querySelectorAll('.editor-svg [data-step]').length)")
        .await
        .parse()
        .unwrap()
}

/// Waits until the canvas draws `expected` nodes.
async fn wait_for_nodes(browser: &Browser, expected: usize) {
    browser
        .wait_until(&format!(
            "document.querySelectorAll('.editor-svg [data-step]').length === {expected}"
        ))
        .await;
}

/// The data-step id of the step with this name, once the draft is saved (saving gives new
/// steps their lasting ids, and redraws them).
async fn step_named(browser: &Browser, name: &str) -> String {
    browser
        .wait_for_text(".save-state", "All changes saved")
        .await;
    let script = format!(
        "const n = [...document.querySelectorAll('.editor-svg [data-step]')].find(n => n.querySelector('.node-name').textContent === '{name}'); return n ? n.getAttribute('data-step') : ''"
    );
    for _ in 0..100 {
        let id = browser.eval(&script).await;
        if !id.is_empty() {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no step named {name}");
}

/// Names the selected step and gives it a role in the side panel (each field committed as a
/// person would, by leaving it).
async fn describe_step(browser: &Browser, name: &str, role: &str) {
    // The panel shows the selected step's form (not the one selected before).
    browser
        .wait_until(
            "document.querySelector('[data-test=step-name]')?.value === \
             document.querySelector('.editor-svg .node.selected .node-name')?.textContent",
        )
        .await;
    browser.type_over("[data-test=step-name]", name).await;
    browser.keys("\t").await;
    browser.choose("[data-test=step-role]", role).await;
    browser
        .wait_for_text(".editor-svg .node.selected .node-name", name)
        .await;
}

/// A browser with the admin signed in and workflow `id` open in the editor.
async fn open_editor(tts: &Tts, id: i64) -> Browser {
    let admin = Browser::open(1440, 900).await;
    admin.sign_in(tts, "admin@example.com").await;
    admin
        .goto(&tts.url(&format!("/admin/workflows/{id}/editor")))
        .await;
    admin.wait_hydrated().await;
    admin
}

/// Presses keys on the canvas (focused first, as a click on it would).
async fn canvas_keys(browser: &Browser, keys: &str) {
    browser
        .eval("document.querySelector('.editor-canvas').focus(); return 'ok'")
        .await;
    browser.keys(keys).await;
}

async fn select_node(browser: &Browser, id: &str) {
    browser
        .click(&format!(".editor-svg [data-step='{id}']"))
        .await;
    browser
        .wait_for(&format!(".editor-svg [data-step='{id}'].selected"))
        .await;
}

/// Labels the transition just drawn (it is selected).
async fn label_transition(browser: &Browser, label: &str) {
    browser.type_over("[data-test=action-label]", label).await;
    browser.keys("\t").await;
    browser
        .wait_for_text(".edge.selected .edge-label", label)
        .await;
}

#[tokio::test]
async fn an_admin_builds_simulates_and_deploys_a_workflow_that_tickets_then_follow() {
    let tts = Tts::start().await;
    let admin_token = tts.token("admin@example.com").await;
    let (_, reference) = tts
        .call(&admin_token, "GET", "/api/v1/reference-data", None)
        .await;
    let facilities = id_named(&reference["departments"], "Facilities");
    let (status, created) = tts
        .call(
            &admin_token,
            "POST",
            "/api/v1/workflows",
            Some(json!({ "name": "Facilities equipment", "department_id": facilities })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();

    let admin = open_editor(&tts, id).await;
    admin.wait_for(".canvas-empty").await;
    admin.save_screenshot("editor-empty").await;

    // The first step with the mouse (the toolbar), the next ones with the keyboard (N).
    admin.click("[data-test=add-step]").await;
    wait_for_nodes(&admin, 1).await;
    describe_step(&admin, "Review request", "IT Support").await;
    canvas_keys(&admin, "n").await;
    wait_for_nodes(&admin, 2).await;

    // A step without a role and unreachable: problems on its node, deploy disabled.
    admin
        .wait_for(".editor-svg .node.selected.has-problem")
        .await;
    admin
        .wait_until("document.querySelector('[data-test=deploy]').disabled")
        .await;
    admin.wait_for_text(".deploy-blocker", "problem").await;
    admin.save_screenshot("editor-problems").await;
    describe_step(&admin, "Manager approval", "IT Managers").await;

    // Undo takes the role back, redo gives it again.
    canvas_keys(&admin, "\u{E009}z\u{E000}").await;
    admin
        .wait_for_text(".editor-svg .node.selected .node-role", "No role yet")
        .await;
    canvas_keys(&admin, "\u{E009}\u{E008}z\u{E000}").await;
    admin
        .wait_for_text(".editor-svg .node.selected .node-role", "IT Managers")
        .await;

    // A transition drawn with the mouse, from the first step's handle to the second step.
    let review = step_named(&admin, "Review request").await;
    let approval = step_named(&admin, "Manager approval").await;
    admin
        .drag_to(
            &format!(".editor-svg [data-step='{review}'] .node-handle"),
            &format!(".editor-svg [data-step='{approval}'] .node-box"),
            0.0,
            0.0,
        )
        .await;
    admin.wait_for(".edge.selected").await;
    label_transition(&admin, "Send for approval").await;
    // The problem of the unreachable step is gone.
    let approval = step_named(&admin, "Manager approval").await;
    admin
        .wait_until(&format!(
            "!document.querySelector(\".editor-svg [data-step='{approval}']\").classList.contains('has-problem')"
        ))
        .await;

    // Two more steps, each added after the selected one (to its right), and their
    // transitions: one from the step panel's "Add a transition", one by keyboard (T starts a
    // transition, the arrows choose its target, Enter draws it). Each edit is announced.
    let approval = step_named(&admin, "Manager approval").await;
    select_node(&admin, &approval).await;
    canvas_keys(&admin, "n").await;
    wait_for_nodes(&admin, 3).await;
    admin
        .wait_for_text(
            "[data-test=editor-announcement]",
            "added after Manager approval",
        )
        .await;
    describe_step(&admin, "Prepare equipment", "IT Support").await;
    canvas_keys(&admin, "n").await;
    wait_for_nodes(&admin, 4).await;
    describe_step(&admin, "Delivered", "IT Support").await;
    admin.click("[data-test=step-end]").await;
    let placed = admin
        .eval(
            "const x = name => [...document.querySelectorAll('.editor-svg .node')].find(n => n.querySelector('.node-name').textContent === name).getAttribute('transform'); \
             return [x('Manager approval'), x('Prepare equipment'), x('Delivered')].join(' | ')",
        )
        .await;
    let xs: Vec<f64> = placed
        .split(" | ")
        .map(|t| {
            t.trim_start_matches("translate(")
                .split(',')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        xs[0] < xs[1] && xs[1] < xs[2],
        "each new step to the right of the one before: {placed}"
    );

    let approval = step_named(&admin, "Manager approval").await;
    select_node(&admin, &approval).await;
    admin
        .choose("[data-test=new-transition-to]", "Prepare equipment")
        .await;
    admin
        .fill("[data-test=new-transition-action]", "Approve")
        .await;
    admin.click("[data-test=add-transition-button]").await;
    admin
        .wait_for_text(
            "[data-test=editor-announcement]",
            "Transition added from Manager approval to Prepare equipment",
        )
        .await;
    let prepare = step_named(&admin, "Prepare equipment").await;
    select_node(&admin, &prepare).await;
    canvas_keys(&admin, "t").await;
    canvas_keys(&admin, "\u{E014}").await; // arrow right: the step after it
    canvas_keys(&admin, "\u{E007}").await; // Enter
    admin.wait_for(".edge.selected").await;
    label_transition(&admin, "Deliver").await;
    let edges = admin
        .eval("return String(document.querySelectorAll('.edge').length)")
        .await;
    assert_eq!(edges, "3");

    // The workflow's SLA, with nothing selected (Escape).
    canvas_keys(&admin, "\u{E00C}").await;
    for (priority, hours) in [
        ("low", "72"),
        ("medium", "48"),
        ("high", "24"),
        ("urgent", "8"),
    ] {
        admin
            .fill(&format!("[data-test=sla-{priority}]"), hours)
            .await;
        admin.keys("\t").await;
    }
    admin
        .wait_until("document.querySelector('.tab-count') === null")
        .await;
    admin
        .wait_until("!document.querySelector('[data-test=deploy]').disabled")
        .await;
    canvas_keys(&admin, "l").await; // automatic layout
    admin
        .wait_for_text(".save-state", "All changes saved")
        .await;
    admin.save_screenshot("editor-built").await;
    admin.set_theme("dark").await;
    admin.save_screenshot("editor-built-dark").await;
    admin.set_theme("light").await;

    // Another admin saves meanwhile: the next save is refused, the editor offers a reload.
    let (_, current) = tts
        .call(
            &admin_token,
            "GET",
            &format!("/api/v1/workflows/{id}"),
            None,
        )
        .await;
    let (status, _) = tts
        .call(
            &admin_token,
            "PUT",
            &format!("/api/v1/workflows/{id}/graph"),
            Some(json!({ "revision": current["revision"], "graph": current["graph"] })),
        )
        .await;
    assert_eq!(status, 200);
    let review = step_named(&admin, "Review request").await;
    select_node(&admin, &review).await;
    canvas_keys(&admin, "\u{E00A}\u{E014}").await; // Alt+Right moves the step
    admin.wait_for("[data-test=reload-workflow]").await;
    admin.wait_for_text(".save-state", "conflict").await;
    admin.click("[data-test=reload-workflow]").await;
    admin
        .wait_for_text(".save-state", "All changes saved")
        .await;
    wait_for_nodes(&admin, 4).await;

    // Simulation: the happy path reaches the end step.
    admin.click("[data-test=tab-simulate]").await;
    admin.click("[data-test=happy-path]").await;
    admin
        .wait_for_text(".sim-outcome", "reaches an end step")
        .await;
    admin.wait_for(".sim-token").await;
    admin.save_screenshot("editor-simulation").await;

    // Deploy, after a confirmation that lists what the first version holds.
    admin.click("[data-test=deploy]").await;
    admin.wait_for_text(".dialog", "first version").await;
    admin.click("[data-test=confirm-deploy]").await;
    admin.wait_for_text(".toast", "Version 1 deployed").await;
    admin.click("[data-test=tab-versions]").await;
    admin.wait_for_text(".version-list", "Version 1").await;
    // The one refused save above (409) is the only error the browser may have logged.
    admin.assert_no_console_errors_except(&[409]).await;

    // A ticket for Facilities, submitted through the portal, starts on the first step.
    let employee = Browser::open(1280, 900).await;
    employee.sign_in(&tts, "employee@example.com").await;
    let path = employee
        .submit_ticket(
            &tts,
            "Desk lamp flickers",
            "Facilities",
            "The lamp at desk 4.12 flickers.",
        )
        .await;
    employee.wait_for_step(&tts, &path, "Review request").await;
    employee.close().await;
    admin.close().await;
}

#[tokio::test]
async fn a_200_step_workflow_opens_moves_and_reads_as_a_list() {
    let tts = Tts::start().await;
    let admin_token = tts.token("admin@example.com").await;
    let (id, _first) = tts
        .chain_workflow(&admin_token, "Two hundred steps", 200)
        .await;

    let admin = open_editor(&tts, id).await;
    wait_for_nodes(&admin, 200).await;
    assert_eq!(node_count(&admin).await, 200);
    admin.wait_for(".minimap").await;
    admin.save_screenshot("editor-200-steps").await;
    admin.set_theme("dark").await;
    admin.save_screenshot("editor-200-steps-dark").await;
    admin.set_theme("light").await;

    // Dragging a step moves it (and only it), and is one undo step. The whole chain does not
    // fit the canvas even zoomed out: take a step in the middle of what it shows.
    let visible = admin
        .eval(
            "const c = document.querySelector('.editor-canvas').getBoundingClientRect(); \
             const cx = c.left + c.width / 2, cy = c.top + c.height / 2; \
             const near = [...document.querySelectorAll('.editor-svg [data-step]')].map(n => { \
               const r = n.querySelector('.node-box').getBoundingClientRect(); \
               return [Math.hypot(r.left + r.width / 2 - cx, r.top + r.height / 2 - cy), n.getAttribute('data-step')]; \
             }).sort((a, b) => a[0] - b[0]); \
             return near[0][1]",
        )
        .await;
    let selector = format!(".editor-svg [data-step='{visible}']");
    let before = admin.attr(&selector, "transform").await;
    admin
        .drag_by(&format!("{selector} .node-box"), 120.0, 80.0)
        .await;
    admin
        .wait_until(&format!(
            "document.querySelector(\"{selector}\").getAttribute('transform') !== '{before}'"
        ))
        .await;
    let moved = admin.attr(&selector, "transform").await;
    canvas_keys(&admin, "\u{E009}z\u{E000}").await;
    admin
        .wait_until(&format!(
            "document.querySelector(\"{selector}\").getAttribute('transform') === '{before}'"
        ))
        .await;
    // Redo, and the move is saved with the workflow: a fresh page shows it there.
    canvas_keys(&admin, "\u{E009}y\u{E000}").await;
    admin
        .wait_until(&format!(
            "document.querySelector(\"{selector}\").getAttribute('transform') === '{moved}'"
        ))
        .await;
    admin
        .wait_for_text(".save-state", "All changes saved")
        .await;
    admin
        .goto(&tts.url(&format!("/admin/workflows/{id}/editor")))
        .await;
    admin.wait_hydrated().await;
    wait_for_nodes(&admin, 200).await;
    assert_eq!(admin.attr(&selector, "transform").await, moved);

    // The same graph as a list, for screen readers.
    admin.click("[data-test=list-view]").await;
    admin.wait_for_text(".graph-list", "Step 200 (end)").await;
    admin.assert_no_console_errors().await;

    // A workflow of ten steps, laid out automatically, in both themes and on a phone.
    let (ten, _) = tts.chain_workflow(&admin_token, "Ten steps", 10).await;
    screenshot_all_sizes(
        &admin,
        &tts,
        &format!("/admin/workflows/{ten}/editor"),
        "editor-10-steps",
    )
    .await;
    admin.assert_no_console_errors().await;
    admin.close().await;
}
