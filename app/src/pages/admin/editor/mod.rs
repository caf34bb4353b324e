//! The visual workflow editor (issue 8), at `/admin/workflows/:id/editor`.
//!
//! - [`model`]: every edit, pure and unit tested (the drawing — automatic layout and edge
//!   routing — is `domain::workflow::drawing`, shared with the server);
//! - [`state`]: the draft with its undo history, selection, viewport, live validation (the
//!   engine's `domain::workflow::validate`, compiled to WebAssembly) and saving;
//! - [`canvas`]: the SVG canvas, gestures, keyboard and minimap;
//! - [`panel`]: toolbar, side panel, list view and the deploy confirmation.
//!
//! Saving: every change marks the draft unsaved and it is saved 1.5 s after the last change
//! (and before a deploy), settings and graph together with the revision it was loaded at; if
//! another admin saved meanwhile the server refuses (409) and the editor stops saving and
//! offers a reload, never overwriting their work.

pub mod canvas;
pub mod model;
pub mod panel;
pub mod state;

use domain::workflow::WorkflowStatus;
use domain::{AppError, SystemRole};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::workflows::{WorkflowPage, deploy_workflow, load_workflow, save_workflow_draft};
use crate::components::toast::use_toasts;
use crate::components::ui::{EmptyState, Spinner};
use crate::session::RequireRole;
use state::{EditorState, SaveState};

/// How long after the last change the draft is saved by itself.
const AUTOSAVE_AFTER: std::time::Duration = std::time::Duration::from_millis(1500);

#[component]
pub fn WorkflowEditorPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let reloads = RwSignal::new(0u32);
    let page = Resource::new(
        move || (id(), reloads.get()),
        |(id, _)| async move { load_workflow(id).await },
    );
    view! {
        <Title text="Workflow editor" />
        <RequireRole role=SystemRole::Admin>
            <Transition fallback=|| view! { <Spinner label="Loading the editor" /> }>
                {move || page.get().map(|result| match result {
                    Ok(data) => view! { <Editor data reload=Callback::new(move |()| reloads.update(|r| *r += 1)) /> }.into_any(),
                    Err(err) => view! {
                        <EmptyState icon="workflow" title="Workflow not found" message=err.message />
                    }
                    .into_any(),
                })}
            </Transition>
        </RequireRole>
    }
}

#[component]
fn Editor(data: WorkflowPage, reload: Callback<()>) -> impl IntoView {
    let WorkflowPage {
        workflow,
        versions,
        roles,
        reference,
    } = data;
    let name = workflow.name.clone();
    let state = EditorState::new(&workflow, versions, roles, reference);
    let toasts = use_toasts();

    // Saving: one save at a time; a change during a save is saved after it.
    let save = Action::new(move |_: &()| {
        let (save, sent) = state.draft_save();
        let changes_at_send = state.changes.get_untracked();
        state.save_state.set(SaveState::Saving);
        async move {
            let result = save_workflow_draft(state.workflow_id, save).await;
            (sent, changes_at_send, result)
        }
    });
    Effect::new(move |_| {
        if let Some((sent, changes_at_send, result)) = save.value().get() {
            match result {
                Ok(workflow) => state.saved(&sent, &workflow, changes_at_send),
                Err(err) if err.kind == domain::ErrorKind::Conflict => {
                    state.save_state.set(SaveState::Conflict(format!(
                        "{} Your changes since the last save are kept on screen but cannot be saved over theirs.",
                        err.message
                    )))
                }
                Err(err) => state.save_state.set(SaveState::Failed(err.message)),
            }
        }
    });
    let timer = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |previous: Option<u64>| {
        let changes = state.changes.get();
        let saving = save.pending().get();
        if previous.is_some()
            && !saving
            && matches!(state.save_state.get_untracked(), SaveState::Unsaved)
        {
            if let Some(handle) = timer.get_value() {
                handle.clear();
            }
            let handle = set_timeout_with_handle(
                move || {
                    if matches!(state.save_state.get_untracked(), SaveState::Unsaved)
                        && !save.pending().get_untracked()
                    {
                        save.dispatch(());
                    }
                },
                AUTOSAVE_AFTER,
            )
            .ok();
            timer.set_value(handle);
        }
        changes
    });
    // Leaving with unsaved changes asks first.
    let before_unload = window_event_listener(leptos::ev::beforeunload, move |event| {
        if !matches!(state.save_state.get_untracked(), SaveState::Saved) {
            event.prevent_default();
        }
    });
    on_cleanup(move || before_unload.remove());

    // Deploying: saves first if needed, then deploys what was saved.
    let deploy_open = RwSignal::new(false);
    let deploy = Action::new(move |_: &()| async move {
        if !matches!(state.save_state.get_untracked(), SaveState::Saved) {
            let (save, sent) = state.draft_save();
            let changes_at_send = state.changes.get_untracked();
            let saved = save_workflow_draft(state.workflow_id, save).await?;
            state.saved(&sent, &saved, changes_at_send);
        }
        // The revision of the draft the confirmation showed: another admin's save since
        // makes the deploy refuse (409) rather than ship what nobody reviewed.
        let seen = state.revision.get_untracked();
        let number = deploy_workflow(state.workflow_id, Some(seen)).await?;
        let page = load_workflow(state.workflow_id).await?;
        Ok::<_, AppError>((number, page))
    });
    Effect::new(move |_| {
        if let Some(result) = deploy.value().get() {
            match result {
                Ok((number, page)) => {
                    let mut versions = page.versions;
                    versions.sort_by_key(|v| std::cmp::Reverse(v.number));
                    state.versions.set(versions);
                    state.status.set(page.workflow.status);
                    state.revision.set(page.workflow.revision);
                    deploy_open.set(false);
                    toasts.success(format!(
                        "Version {number} deployed: new tickets start on it"
                    ));
                }
                Err(err) => toasts.error(err.message),
            }
        }
    });
    let status = move || state.status.get();
    let banner = move || {
        state.viewing.get().map(|number| {
            view! {
                <div class="editor-banner" role="status">
                    {format!("Version {number}, read-only.")}
                    <button class="button button-ghost button-small" on:click=move |_| state.viewing.set(None)>"Back to the draft"</button>
                </div>
            }
        })
    };
    view! {
        <div class="workflow-editor">
            <header class="editor-header">
                <A href=format!("/admin/workflows/{}", state.workflow_id) attr:class="back-link">"← Workflow"</A>
                <h1>{name}</h1>
                <span class=move || format!("badge badge-status-{}", status().as_str()) data-test="workflow-status">{move || status().label()}</span>
                {move || {
                    let undeployed = status() != WorkflowStatus::Draft
                        && panel::changes_since_running(state).is_some_and(|(_, lines)| !lines.is_empty());
                    undeployed.then(|| view! {
                        <span class="badge badge-amber" data-test="undeployed" title="The draft differs from the running version: deploy to use it">"Undeployed changes"</span>
                    })
                }}
                {move || {
                    let count = state.problems.with(Vec::len);
                    (count > 0).then(|| view! {
                        <span class="badge badge-red" data-test="problem-count">
                            {format!("{count} problem{}", if count == 1 { "" } else { "s" })}
                        </span>
                    })
                }}
            </header>
            <panel::Toolbar state on_deploy=Callback::new(move |()| deploy_open.set(true)) />
            {banner}
            <div class="editor-body">
                <canvas::Canvas state />
                <Show when=move || state.list_view.get()>
                    <section class="editor-list">
                        <h2>"Steps"</h2>
                        <panel::GraphList state />
                    </section>
                </Show>
                <panel::SidePanel state on_reload=reload />
            </div>
            <div class="visually-hidden" aria-live="polite" role="status" data-test="editor-announcement">
                {move || state.announcement.get()}
            </div>
            <panel::DeployDialog
                state
                open=deploy_open
                on_confirm=Callback::new(move |()| { deploy.dispatch(()); })
                pending=deploy.pending().into()
            />
        </div>
    }
}
