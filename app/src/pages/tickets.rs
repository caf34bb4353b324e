//! Tickets: the list (an employee's own requests; an agent's working list with filters,
//! search and keyboard shortcuts), the submission form, and one ticket's page.

use domain::SystemRole;
use domain::tasks::TaskStatus;
use domain::tickets::{
    Priority, ReferenceData, TicketEvent, TicketOrdering, TicketStatus, TicketSummary,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::tasks::{TaskPanel, load_ticket_task};
use crate::api::tickets::{
    ChangeTicketStatus, DeleteSavedFilter, ReopenTicket, SaveFilter, SubmitTicket, TicketView,
    list_saved_filters, list_tickets, load_reference_data, load_ticket,
};
use crate::components::comments::{CommentThread, ThreadState};
use crate::components::forms::{MarkdownPreview, MarkdownPreviewToggle, NoteVisibilityToggle};
use crate::components::icons::Icon;
use crate::components::toast::use_toasts;
use crate::components::ui::{
    EmptyState, ErrorNotice, FieldError, FormError, PageHeader, Spinner, Timestamp, last_error,
    toast_result,
};
use crate::components::upload::{ChosenFiles, FileDrop, UploadProgress, upload_files};
use crate::pages::task::{TaskActions, WorkflowPanel};
use crate::session::{RequireRole, use_session};

pub fn status_badge(status: TicketStatus) -> impl IntoView {
    view! { <span class=format!("badge badge-status-{}", status.as_str())>{status.label()}</span> }
}

pub fn priority_badge(priority: Priority) -> impl IntoView {
    view! { <span class=format!("badge badge-priority-{}", priority.as_str())>{priority.label()}</span> }
}

/// The list page's query string as the URL has it (filters, search, order, page).
fn current_query_string(query: &leptos_router::params::ParamsMap) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for key in [
        "q",
        "status",
        "priority",
        "category",
        "department",
        "requester",
        "assignee",
        "ordering",
        "page",
    ] {
        if let Some(value) = query.get(key).filter(|v| !v.is_empty()) {
            out.append_pair(key, &value);
        }
    }
    out.finish()
}

/// The same query string on another page.
fn with_page(query: &str, page: u32) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key != "page" {
            out.append_pair(&key, &value);
        }
    }
    out.append_pair("page", &page.to_string());
    format!("?{}", out.finish())
}

/// The same query string without `key` (and from the first page).
fn without_key(query: &str, key: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, value) in form_urlencoded::parse(query.as_bytes()) {
        if k != key && k != "page" {
            out.append_pair(&k, &value);
        }
    }
    format!("?{}", out.finish())
}

/// Categories for the filter: each category, then its sub-categories indented.
fn category_options(data: &ReferenceData) -> Vec<(String, String)> {
    let mut options = vec![(String::new(), "Any category".to_owned())];
    for category in data.categories.iter().filter(|c| c.parent_id.is_none()) {
        options.push((category.id.to_string(), category.name.clone()));
        for sub in data
            .categories
            .iter()
            .filter(|c| c.parent_id == Some(category.id))
        {
            options.push((sub.id.to_string(), format!("\u{a0}\u{a0}{}", sub.name)));
        }
    }
    options
}

/// A filter of the list: changing it applies it at once (the Apply button does the same
/// without scripts). The current choice is marked `selected`, so the server-rendered page
/// shows it too. (A handler, not an inline `onchange`: the pages' CSP runs no inline script.)
#[component]
fn FilterSelect(
    name: &'static str,
    label: &'static str,
    current: String,
    options: Vec<(String, String)>,
) -> impl IntoView {
    view! {
        <select name=name aria-label=label on:change=|ev| {
            if let Some(form) = event_target::<web_sys::HtmlSelectElement>(&ev).form() {
                let _ = form.request_submit();
            }
        }>
            {options
                .into_iter()
                .map(|(value, text)| {
                    let selected = value == current;
                    view! { <option value=value selected=selected>{text}</option> }
                })
                .collect_view()}
        </select>
    }
}

type SavedFiltersResource = Resource<Result<Vec<domain::tickets::SavedFilter>, domain::AppError>>;

/// The user's saved views of the list, one click each, and saving the current one.
#[component]
fn SavedViews(
    saved_filters: SavedFiltersResource,
    save_filter: ServerAction<SaveFilter>,
    delete_filter: ServerAction<DeleteSavedFilter>,
    query_string: Memo<String>,
) -> impl IntoView {
    let save_error = last_error(save_filter.value());
    view! {
        <div class="saved-views" data-test="saved-views">
            <Transition fallback=|| ()>
                {move || saved_filters.get().and_then(Result::ok).map(|filters| {
                    let current = query_string.get();
                    // Nothing to save: the full list, or a view saved already.
                    let can_save = !current.is_empty() && !filters.iter().any(|f| f.query == current);
                    let chips = filters
                        .into_iter()
                        .map(|filter| {
                            let href = format!("/tickets?{}", filter.query);
                            let active = filter.query == current;
                            let delete_label = format!("Delete the saved view {}", filter.name);
                            view! {
                                <span class="chip" class:chip-active=active>
                                    <A href=href>{filter.name}</A>
                                    <ActionForm action=delete_filter attr:class="chip-form">
                                        <input type="hidden" name="id" value=filter.id />
                                        <button
                                            type="submit"
                                            class="chip-remove"
                                            aria-label=delete_label
                                        >
                                            "×"
                                        </button>
                                    </ActionForm>
                                </span>
                            }
                        })
                        .collect_view();
                    view! {
                        {chips}
                        {can_save.then(|| view! {
                            <details class="save-view">
                                <summary class="button button-ghost button-small" data-test="save-view">
                                    <Icon name="plus" />
                                    <span>"Save this view"</span>
                                </summary>
                                <ActionForm action=save_filter attr:class="save-view-form">
                                    <input type="hidden" name="query" value=current.clone() />
                                    <input
                                        name="name"
                                        placeholder="Name, e.g. Urgent and unassigned"
                                        aria-label="Name of the view"
                                        maxlength="100"
                                        required
                                    />
                                    <button type="submit" class="button button-primary button-small">"Save"</button>
                                    <FieldError error=save_error field="name" />
                                </ActionForm>
                            </details>
                        })}
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
pub fn TicketsPage() -> impl IntoView {
    let session = use_session();
    // Created here, outside any reactive closure, so the server and the browser number the
    // resource alike (a resource created inside a re-running closure breaks hydration).
    let query = use_query_map();
    let query_string = Memo::new(move |_| current_query_string(&query.read()));
    let tickets = Resource::new(move || query_string.get(), list_tickets);
    let reference = Resource::new(|| (), |_| load_reference_data());
    let save_filter = ServerAction::<SaveFilter>::new();
    let delete_filter = ServerAction::<DeleteSavedFilter>::new();
    let saved_filters = Resource::new(
        move || (save_filter.version().get(), delete_filter.version().get()),
        |_| list_saved_filters(),
    );
    toast_result(save_filter.version(), save_filter.value(), "View saved");
    toast_result(
        delete_filter.version(),
        delete_filter.value(),
        "Saved view deleted",
    );
    let my_id = move || session.user.get().map_or(0, |u| u.id);
    let is_agent = move || {
        session
            .user
            .get()
            .is_some_and(|u| u.can_act_as(SystemRole::Agent))
    };
    view! {
        <Title text="Tickets" />
        <RequireRole role=SystemRole::Employee>
            {move || {
                let agent = is_agent();
                view! {
                    <PageHeader
                        title=if agent { "Tickets" } else { "My tickets" }
                        subtitle=if agent {
                            "Everything you can work on. j/k to move, Enter to open, / to search."
                        } else {
                            "Requests you submitted, newest first."
                        }
                    >
                        <A href="/tickets/new" attr:class="button button-primary" attr:data-test="new-ticket">
                            <Icon name="plus" />
                            <span>"New ticket"</span>
                        </A>
                    </PageHeader>
                    <SavedViews saved_filters save_filter delete_filter query_string />
                    <TicketList agent tickets query_string reference my_id=my_id() />
                }
            }}
        </RequireRole>
    }
}

type TicketsResource = Resource<Result<domain::Page<TicketSummary>, domain::AppError>>;

#[component]
fn TicketList(
    agent: bool,
    tickets: TicketsResource,
    query_string: Memo<String>,
    reference: Resource<Result<ReferenceData, domain::AppError>>,
    my_id: i64,
) -> impl IntoView {
    let query = use_query_map();
    let selected = RwSignal::new(0usize);
    let rows = RwSignal::new(Vec::<i64>::new());
    let search_input = NodeRef::<leptos::html::Input>::new();

    // Keyboard: j/k move, Enter opens, / searches (not while typing in a field).
    let navigate = use_navigate();
    let handle = window_event_listener(leptos::ev::keydown, move |event| {
        let typing = event
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if typing || event.ctrl_key() || event.meta_key() || event.alt_key() {
            return;
        }
        let count = rows.with_untracked(Vec::len);
        match event.key().as_str() {
            "j" | "ArrowDown" if count > 0 => {
                event.prevent_default();
                selected.update(|s| *s = (*s + 1).min(count - 1));
            }
            "k" | "ArrowUp" if count > 0 => {
                event.prevent_default();
                selected.update(|s| *s = s.saturating_sub(1));
            }
            "Enter" if count > 0 => {
                if let Some(id) = rows.with_untracked(|r| r.get(selected.get_untracked()).copied())
                {
                    navigate(&format!("/tickets/{id}"), Default::default());
                }
            }
            "/" => {
                if let Some(input) = search_input.get_untracked() {
                    event.prevent_default();
                    let _ = input.focus();
                }
            }
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());

    let value = move |key: &'static str| move || query.read().get(key).unwrap_or_default();
    view! {
        <section class="panel" aria-label="Tickets">
            <Form method="GET" action="" attr:class="filters" attr:role="search">
                <div class="search-form">
                    <span class="search-icon"><Icon name="search" /></span>
                    <input
                        node_ref=search_input
                        type="search"
                        name="q"
                        placeholder="Search subject and description, or a ticket number"
                        aria-label="Search tickets"
                        data-test="ticket-search"
                        value=value("q")
                    />
                </div>
                <FilterSelect
                    name="status"
                    label="Status"
                    current=value("status")()
                    options=std::iter::once(("", "Any status".to_owned()))
                        .chain(TicketStatus::ALL.iter().map(|s| (s.as_str(), s.label().to_owned())))
                        .map(|(v, l)| (v.to_owned(), l))
                        .collect()
                />
                <FilterSelect
                    name="priority"
                    label="Priority"
                    current=value("priority")()
                    options=std::iter::once(("", "Any priority".to_owned()))
                        .chain(Priority::ALL.iter().rev().map(|p| (p.as_str(), p.label().to_owned())))
                        .map(|(v, l)| (v.to_owned(), l))
                        .collect()
                />
                {agent.then(|| view! {
                    <Transition fallback=|| ()>
                        {move || reference.get().and_then(Result::ok).map(|data| view! {
                            <FilterSelect
                                name="category"
                                label="Category"
                                current=value("category")()
                                options=category_options(&data)
                            />
                            <FilterSelect
                                name="department"
                                label="Department"
                                current=value("department")()
                                options=std::iter::once((String::new(), "Any department".to_owned()))
                                    .chain(data.departments.iter().map(|d| (d.id.to_string(), d.name.clone())))
                                    .collect()
                            />
                        })}
                    </Transition>
                    <FilterSelect
                        name="assignee"
                        label="Assignee"
                        current=value("assignee")()
                        options=vec![
                            (String::new(), "Anyone".to_owned()),
                            (my_id.to_string(), "Assigned to me".to_owned()),
                            ("0".to_owned(), "Unassigned".to_owned()),
                        ]
                    />
                })}
                <FilterSelect
                    name="ordering"
                    label="Order"
                    current=value("ordering")()
                    options=std::iter::once((String::new(), "Default order".to_owned()))
                        .chain(TicketOrdering::ALL.iter().map(|o| (o.as_param().to_owned(), o.label().to_owned())))
                        .collect()
                />
                {move || query.read().get("requester").filter(|r| !r.is_empty()).map(|requester| view! {
                    <input type="hidden" name="requester" value=requester />
                })}
                <button type="submit" class="button button-secondary button-small">"Apply"</button>
            </Form>
            {move || query.read().get("requester").filter(|r| !r.is_empty()).map(|_| {
                let without = without_key(&query_string.get(), "requester");
                let name = tickets
                    .get()
                    .and_then(Result::ok)
                    .and_then(|page| page.results.first().map(|t| t.requester.full_name.clone()))
                    .unwrap_or_else(|| "one person".to_owned());
                view! {
                    <div class="active-filters">
                        <span class="chip">
                            {format!("Requested by {name}")}
                            <A href=without attr:class="chip-remove" attr:aria-label="Show every requester">"×"</A>
                        </span>
                    </div>
                }
            })}
            <Transition fallback=|| view! { <Spinner label="Loading tickets" /> }>
                {move || tickets.get().map(|result| match result {
                    Ok(page) if page.results.is_empty() => {
                        rows.set(Vec::new());
                        let filtered = !query_string.get().is_empty();
                        view! {
                            <EmptyState
                                icon="ticket"
                                title=if filtered { "No tickets match" } else { "No tickets yet" }
                                message=if filtered {
                                    "Try fewer filters or other words."
                                } else {
                                    "When you submit a request, it appears here with its status and its last update."
                                }
                            />
                        }
                        .into_any()
                    }
                    Ok(page) => {
                        rows.set(page.results.iter().map(|t| t.id).collect());
                        selected.set(0);
                        let (current, size) = domain::tickets::TicketQuery::from_pairs(
                            form_urlencoded::parse(query_string.get_untracked().as_bytes())
                                .collect::<Vec<_>>()
                                .iter()
                                .map(|(k, v)| (k.as_ref(), v.as_ref())),
                        )
                        .map(|q| q.paging())
                        .unwrap_or((1, domain::tickets::DEFAULT_PAGE_SIZE));
                        let count = page.count;
                        let capped = if page.count_capped { "+" } else { "" };
                        let first = i64::from((current - 1) * size) + 1;
                        let last = first + page.results.len() as i64 - 1;
                        let qs = query_string.get_untracked();
                        view! {
                            <TicketTable tickets=page.results agent selected />
                            <div class="pager">
                                <span class="muted">{format!("{first}–{last} of {count}{capped}")}</span>
                                {(current > 1).then(|| view! {
                                    <A href=with_page(&qs, current - 1) attr:class="button button-secondary button-small">"Previous"</A>
                                })}
                                {(last < count).then(|| view! {
                                    <A href=with_page(&qs, current + 1) attr:class="button button-secondary button-small">"Next"</A>
                                })}
                            </div>
                        }
                        .into_any()
                    }
                    Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn TicketTable(
    tickets: Vec<TicketSummary>,
    agent: bool,
    selected: RwSignal<usize>,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table ticket-table" data-test="ticket-table">
                <thead>
                    <tr>
                        <th scope="col" class="hide-narrow">"Ticket"</th>
                        <th scope="col">"Subject"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col" class="hide-narrow">"Step"</th>
                        <th scope="col">"Priority"</th>
                        {agent.then(|| view! {
                            <th scope="col" class="hide-narrow">"Requester"</th>
                        })}
                        <th scope="col" class="hide-narrow">"Assignee"</th>
                        <th scope="col" class="hide-narrow">"Updated"</th>
                    </tr>
                </thead>
                <tbody>
                    {tickets
                        .into_iter()
                        .enumerate()
                        .map(|(index, ticket)| {
                            let href = format!("/tickets/{}", ticket.id);
                            view! {
                                <tr
                                    class:selected=move || selected.get() == index
                                    aria-selected=move || (selected.get() == index).to_string()
                                >
                                    <td class="muted nowrap cell-number">{ticket.number.clone()}</td>
                                    <td class="strong cell-subject">
                                        <A href=href>{ticket.subject.clone()}</A>
                                        {ticket.category.clone().map(|c| view! { <span class="muted small">{format!(" · {c}")}</span> })}
                                    </td>
                                    <td class="cell-status">{status_badge(ticket.status)}</td>
                                    <td class="muted hide-narrow cell-step" data-test="ticket-step">{ticket.step.clone().unwrap_or_else(|| "—".to_owned())}</td>
                                    <td class="cell-priority">{priority_badge(ticket.priority)}</td>
                                    {agent.then(|| view! {
                                        <td class="muted hide-narrow">
                                            <A href=format!("?requester={}", ticket.requester.id) attr:title="Show this person's tickets">
                                                {ticket.requester.full_name.clone()}
                                            </A>
                                        </td>
                                    })}
                                    <td class="muted hide-narrow" data-test="ticket-assignee">{ticket.assignee.clone().map_or_else(|| "—".to_owned(), |a| a.full_name)}</td>
                                    <td class="muted nowrap cell-updated"><Timestamp at=ticket.updated_at /></td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn NewTicketPage() -> impl IntoView {
    let reference = Resource::new(|| (), |_| load_reference_data());
    view! {
        <Title text="New ticket" />
        <RequireRole role=SystemRole::Employee>
            <A href="/tickets" attr:class="back-link">"← Tickets"</A>
            <PageHeader title="New ticket" subtitle="Tell us what you need; the right team picks it up." />
            <Suspense fallback=|| view! { <Spinner label="Loading the form" /> }>
                {move || Suspend::new(async move {
                    match reference.await {
                        Ok(data) => view! { <TicketForm data /> }.into_any(),
                        Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                    }
                })}
            </Suspense>
        </RequireRole>
    }
}

#[component]
fn TicketForm(data: ReferenceData) -> impl IntoView {
    let description = NodeRef::<leptos::html::Textarea>::new();
    let previewing = RwSignal::new(None::<Result<String, String>>);
    let submit = ServerAction::<SubmitTicket>::new();
    let error = last_error(submit.value());
    let files: ChosenFiles = RwSignal::new(Vec::new());
    let progress = RwSignal::new(None::<u32>);
    let uploading = move || progress.get().is_some();
    let pending = Signal::derive(move || submit.pending().get() || uploading());
    // Submitted: upload the chosen files to the new ticket, then open it.
    let navigate = use_navigate();
    let toasts = use_toasts();
    Effect::new(move |_| {
        if let Some(Ok(id)) = submit.value().get() {
            let chosen = files.get_untracked();
            let path = format!("/tickets/{id}");
            let navigate = navigate.clone();
            if chosen.is_empty() {
                navigate(&path, Default::default());
            } else {
                upload_files(id, chosen, progress, move |result| {
                    if let Err(message) = result {
                        toasts.error(format!(
                            "The ticket was created, but a file was not: {message}"
                        ));
                    }
                    navigate(&path, Default::default());
                });
            }
        }
    });
    let category = RwSignal::new(String::new());
    let categories = StoredValue::new(data.categories.clone());
    let sub_categories = move || {
        let parent = category.get().parse::<i64>().ok();
        categories.with_value(|all| {
            all.iter()
                .filter(|c| c.is_active && c.parent_id.is_some() && c.parent_id == parent)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let invalid = move |field: &'static str| {
        move || {
            error
                .get()
                .is_some_and(|e| e.field(field).is_some())
                .to_string()
        }
    };
    view! {
        <section class="panel">
            <FormError error />
            <ActionForm action=submit attr:class="form ticket-form" attr:novalidate="">
                <div class="field">
                    <label for="subject">"Subject"</label>
                    <input id="subject" name="subject" type="text" maxlength="200" required autofocus
                        placeholder="The printer on floor 3 jams on every page"
                        aria-invalid=invalid("subject") aria-describedby="subject-error" />
                    <FieldError error field="subject" id="subject-error" />
                </div>
                <div class="form-grid">
                    <div class="field">
                        <label for="category_id">"Category"</label>
                        <select id="category_id" name="category_id" on:change=move |ev| category.set(event_target_value(&ev))
                            aria-invalid=invalid("category_id") aria-describedby="category_id-error">
                            <option value="">"Choose…"</option>
                            {data.categories.iter().filter(|c| c.is_active && c.parent_id.is_none()).map(|c| view! {
                                <option value=c.id.to_string()>{c.name.clone()}</option>
                            }).collect_view()}
                        </select>
                        <FieldError error field="category_id" id="category_id-error" />
                    </div>
                    <div class="field">
                        <label for="sub_category_id">"Sub-category"</label>
                        <select id="sub_category_id" name="sub_category_id" disabled=move || sub_categories().is_empty()
                            aria-invalid=invalid("sub_category_id") aria-describedby="sub_category_id-error">
                            <option value="">{move || if sub_categories().is_empty() { "None" } else { "Choose…" }}</option>
                            {move || sub_categories().into_iter().map(|c| view! {
                                <option value=c.id.to_string()>{c.name}</option>
                            }).collect_view()}
                        </select>
                        <FieldError error field="sub_category_id" id="sub_category_id-error" />
                    </div>
                    <div class="field">
                        <label for="department_id">"Department"</label>
                        <select id="department_id" name="department_id"
                            aria-invalid=invalid("department_id") aria-describedby="department_id-error">
                            <option value="">"Not sure"</option>
                            {data.departments.iter().filter(|d| d.is_active).map(|d| view! {
                                <option value=d.id.to_string()>{d.name.clone()}</option>
                            }).collect_view()}
                        </select>
                        <FieldError error field="department_id" id="department_id-error" />
                    </div>
                    <div class="field">
                        <label for="priority">"Priority"</label>
                        <select id="priority" name="priority" aria-describedby="priority-error">
                            {data.priorities.iter().map(|p| view! {
                                <option value=p.code.as_str() selected=p.code == Priority::Medium>
                                    {format!("{} — {}", p.name, p.description)}
                                </option>
                            }).collect_view()}
                        </select>
                        <FieldError error field="priority" id="priority-error" />
                    </div>
                </div>
                <div class="field">
                    <div class="field-head">
                        <label for="description">"Description"</label>
                        <MarkdownPreviewToggle source=description previewing />
                    </div>
                    <textarea id="description" name="description" rows="8" node_ref=description
                        class:hidden=move || previewing.get().is_some()
                        placeholder="What happened, what you expected, and anything that helps (Markdown works)."
                        aria-invalid=invalid("description") aria-describedby="description-error description-hint"></textarea>
                    <MarkdownPreview previewing />
                    <p class="field-hint" id="description-hint">"Markdown: **bold**, lists, `code`, links."</p>
                    <FieldError error field="description" id="description-error" />
                </div>
                <div class="field">
                    <span class="label">"Attachments"</span>
                    <FileDrop files hint="Screenshots, logs or documents." />
                    <UploadProgress progress />
                </div>
                <div class="form-actions">
                    <A href="/tickets" attr:class="button button-ghost">"Cancel"</A>
                    <button type="submit" class="button button-primary" disabled=pending data-test="submit-ticket">
                        {move || if uploading() { "Uploading…" } else if pending.get() { "Submitting…" } else { "Submit ticket" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn TicketPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|v| v.parse::<i64>().ok());
    let change = ServerAction::<ChangeTicketStatus>::new();
    toast_result(change.version(), change.value(), "Status changed");
    let reopen = ServerAction::<ReopenTicket>::new();
    toast_result(
        reopen.version(),
        reopen.value(),
        "Reopened: the ticket is back with the help desk",
    );
    let uploads = RwSignal::new(0usize);
    // Acting on the workflow moves the ticket too (status, assignee, history).
    let task_actions = TaskActions::new();
    let view_data = Resource::new(
        move || {
            (
                id(),
                change.version().get(),
                reopen.version().get(),
                uploads.get(),
                task_actions.changes(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => load_ticket(id).await,
                None => Err(domain::AppError::not_found("Ticket")),
            }
        },
    );
    // The conversation has its own state and socket: it lives as long as the page, not as
    // long as one rendering of the ticket's details.
    let thread = ThreadState::new(Signal::derive(id));
    // A status change may end or resume the workflow.
    let panel = Resource::new(
        move || {
            (
                id(),
                task_actions.changes(),
                change.version().get(),
                reopen.version().get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => load_ticket_task(id).await,
                None => Err(domain::AppError::not_found("Ticket")),
            }
        },
    );
    view! {
        <RequireRole role=SystemRole::Employee>
            <A href="/tickets" attr:class="back-link">"← Tickets"</A>
            <Transition fallback=|| view! { <Spinner label="Loading the ticket" /> }>
                {move || view_data.get().map(|result| match result {
                    Ok(data) => view! { <TicketDetail data change reopen uploads panel task_actions thread /> }.into_any(),
                    Err(err) => view! {
                        <Title text="Ticket not found" />
                        <EmptyState icon="ticket" title="Ticket not found" message=err.message />
                    }
                    .into_any(),
                })}
            </Transition>
        </RequireRole>
    }
}

#[component]
fn TicketDetail(
    data: TicketView,
    change: ServerAction<ChangeTicketStatus>,
    reopen: ServerAction<ReopenTicket>,
    uploads: RwSignal<usize>,
    panel: Resource<Result<TaskPanel, domain::AppError>>,
    task_actions: TaskActions,
    thread: ThreadState,
) -> impl IntoView {
    let TicketView {
        ticket,
        history,
        attachments,
        can_work,
        can_reopen,
    } = data;
    let ticket_id = ticket.id;
    let title = format!("{} · {}", ticket.number, ticket.subject);
    let category = match (&ticket.category, &ticket.sub_category) {
        (Some(c), Some(s)) => format!("{} › {}", c.name, s.name),
        (Some(c), None) => c.name.clone(),
        _ => "—".to_owned(),
    };
    view! {
        <Title text=title />
        <div class="ticket-heading">
            <span class="eyebrow">{ticket.number.clone()}</span>
            <h1 class="page-title" data-test="ticket-subject">{ticket.subject.clone()}</h1>
            <div class="badge-row">
                {status_badge(ticket.status)}
                {priority_badge(ticket.priority)}
                <span class="muted small">"Opened " <Timestamp at=ticket.created_at /> {format!(" by {}", ticket.requester.full_name)}</span>
            </div>
        </div>
        <div class="two-column ticket-layout">
            <div class="stack">
                <WorkflowPanel panel actions=task_actions />
                <section class="panel" aria-labelledby="description-title">
                    <h2 id="description-title" class="panel-title">"Description"</h2>
                    {if ticket.description.trim().is_empty() {
                        view! { <p class="muted">"No description."</p> }.into_any()
                    } else {
                        view! { <div class="prose" data-test="ticket-description" inner_html=ticket.description_html.clone()></div> }.into_any()
                    }}
                </section>
                <Attachments ticket_id attachments uploads />
                <CommentThread state=thread />
                <section class="panel" aria-labelledby="history-title">
                    <h2 id="history-title" class="panel-title">"History"</h2>
                    <ol class="timeline" data-test="ticket-history">
                        {history.into_iter().map(|event| view! { <HistoryEntry event /> }).collect_view()}
                    </ol>
                </section>
            </div>
            <aside class="stack">
                <section class="panel" aria-labelledby="details-title">
                    <h2 id="details-title" class="panel-title">"Details"</h2>
                    <dl class="facts">
                        <dt>"Requester"</dt><dd>{ticket.requester.full_name.clone()}<br /><span class="muted small">{ticket.requester.email.clone()}</span></dd>
                        <dt>"Assignee"</dt><dd>{ticket.assignee.clone().map_or_else(|| "Unassigned".to_owned(), |a| a.full_name)}</dd>
                        <dt>"Category"</dt><dd>{category}</dd>
                        <dt>"Department"</dt><dd>{ticket.department.clone().map_or_else(|| "—".to_owned(), |d| d.name)}</dd>
                        <dt>"Source"</dt><dd>{match &ticket.external_ref {
                            Some(r) => format!("{} · {r}", ticket.source.label()),
                            None => ticket.source.label().to_owned(),
                        }}</dd>
                        <dt>"Updated"</dt><dd><Timestamp at=ticket.updated_at /></dd>
                    </dl>
                </section>
                {can_reopen.then(|| view! { <ReopenPanel ticket_id reopen /> })}
                {can_work.then(|| view! { <StatusPanel ticket_id status=ticket.status change panel /> })}
            </aside>
        </div>
    }
}

/// The requester's "still broken" on their resolved ticket.
#[component]
fn ReopenPanel(ticket_id: i64, reopen: ServerAction<ReopenTicket>) -> impl IntoView {
    let error = last_error(reopen.value());
    let pending = reopen.pending();
    view! {
        <section class="panel" aria-labelledby="reopen-title" data-test="reopen-panel">
            <h2 id="reopen-title" class="panel-title">"Still broken?"</h2>
            <p class="muted small">
                "If the problem is back or was not fixed, reopen the ticket: it goes back to the help desk, where it left off."
            </p>
            <FormError error />
            <ActionForm action=reopen attr:class="form compact-form">
                <input type="hidden" name="id" value=ticket_id.to_string() />
                <div class="field">
                    <label for="reopen-note">"What is still wrong"</label>
                    <textarea id="reopen-note" name="note" rows="3" required maxlength="2000"
                        placeholder="For example: the printer jams again since this morning."></textarea>
                </div>
                <button type="submit" class="button button-primary button-block" disabled=pending data-test="reopen-ticket">
                    "Reopen ticket"
                </button>
            </ActionForm>
        </section>
    }
}

/// Changing the status by hand: while a workflow runs it sets the status, and only resolving
/// or closing (which ends the workflow, once confirmed) is offered.
#[component]
fn StatusPanel(
    ticket_id: i64,
    status: TicketStatus,
    change: ServerAction<ChangeTicketStatus>,
    panel: Resource<Result<TaskPanel, domain::AppError>>,
) -> impl IntoView {
    let error = last_error(change.value());
    let running = move || {
        panel
            .get()
            .and_then(Result::ok)
            .and_then(|p| p.task)
            .filter(|t| t.status == TaskStatus::Open)
    };
    view! {
        <section class="panel" aria-labelledby="status-title" data-test="status-panel">
            <h2 id="status-title" class="panel-title">"Change status"</h2>
            <FormError error />
            {move || {
                let running = running();
                let choices: Vec<TicketStatus> = match &running {
                    Some(_) => TicketStatus::ALL
                        .iter()
                        .copied()
                        .filter(|s| *s == status || s.is_done())
                        .collect(),
                    None => TicketStatus::ALL.to_vec(),
                };
                view! {
                    {running.as_ref().map(|task| {
                        let holder = task
                            .assignee
                            .as_ref()
                            .map_or_else(|| "nobody yet".to_owned(), |a| a.full_name.clone());
                        view! {
                            <p class="notice notice-warning" data-test="workflow-sets-status">
                                {format!(
                                    "The workflow {} is at the step {} with {holder}: it sets this ticket's status. Resolving or closing here ends the workflow.",
                                    task.workflow.name, task.current_step_name
                                )}
                            </p>
                        }
                    })}
                    <ActionForm action=change attr:class="form compact-form">
                        <input type="hidden" name="id" value=ticket_id.to_string() />
                        <div class="field">
                            <label for="status">"Status"</label>
                            <select id="status" name="status">
                                {choices.into_iter().map(|s| view! {
                                    <option value=s.as_str() selected=s == status>{s.label()}</option>
                                }).collect_view()}
                            </select>
                        </div>
                        {running.as_ref().map(|task| view! {
                            <label class="checkbox">
                                <input type="checkbox" name="end_workflow" value="true" data-test="end-workflow" />
                                {format!(
                                    " End the workflow {}: its task stops, its clocks stop and it leaves the inbox",
                                    task.workflow.name
                                )}
                            </label>
                            <FieldError error field="end_workflow" id="end_workflow-error" />
                        })}
                        <div class="field">
                            <label for="note">"Note"</label>
                            <textarea id="note" name="note" rows="3" maxlength="2000" placeholder="What was done, or why"></textarea>
                            <NoteVisibilityToggle name="note_internal" internal=false />
                        </div>
                        <button type="submit" class="button button-primary button-block" data-test="change-status">"Update status"</button>
                    </ActionForm>
                }
            }}
        </section>
    }
}

#[component]
fn HistoryEntry(event: TicketEvent) -> impl IntoView {
    let who = event
        .actor
        .as_ref()
        .map_or_else(|| "The system".to_owned(), |a| a.full_name.clone());
    let label = |value: &Option<String>| {
        value
            .as_deref()
            .and_then(|v| v.parse::<TicketStatus>().ok())
            .map_or_else(
                || value.clone().unwrap_or_default(),
                |s| s.label().to_owned(),
            )
    };
    let what = match event.kind.as_str() {
        "created" => "submitted the ticket".to_owned(),
        "status" => format!(
            "changed the status from {} to {}",
            label(&event.from_value),
            label(&event.to_value)
        ),
        "priority" => format!(
            "changed the priority from {} to {}",
            event.from_value.clone().unwrap_or_default(),
            event.to_value.clone().unwrap_or_default()
        ),
        "assigned" if !event.note.is_empty() => {
            format!("assigned the ticket at the step {}", event.note)
        }
        "assigned" => "changed the assignee".to_owned(),
        "workflow" => format!(
            "started the workflow {}",
            event.to_value.clone().unwrap_or_default()
        ),
        "workflow_ended" => format!(
            "ended the workflow at the step {} ({})",
            event.from_value.clone().unwrap_or_default(),
            label(&event.to_value).to_lowercase()
        ),
        "workflow_resumed" => format!(
            "reopened the ticket: the workflow resumed at the step {}",
            event.to_value.clone().unwrap_or_default()
        ),
        "action" => format!(
            "moved the ticket from {} to {}",
            event.from_value.clone().unwrap_or_default(),
            event.to_value.clone().unwrap_or_default()
        ),
        "updated" => "edited the ticket".to_owned(),
        "attachment" => format!("attached {}", event.to_value.clone().unwrap_or_default()),
        other => other.to_owned(),
    };
    view! {
        <li class="timeline-item">
            <span class="timeline-dot" aria-hidden="true"></span>
            <div>
                <p><strong>{who}</strong> {format!(" {what}")}</p>
                {(!event.note.is_empty() && event.kind != "assigned").then(|| view! {
                    <p class="timeline-note" class:timeline-note-internal=event.is_internal>
                        {event.is_internal.then(|| view! {
                            <span class="badge badge-amber" title="Only agents and admins see internal notes">"Internal"</span>
                            " "
                        })}
                        {event.note.clone()}
                    </p>
                })}
                <p class="muted small"><Timestamp at=event.created_at /></p>
            </div>
        </li>
    }
}

/// The ticket's files: images as thumbnails, the rest as links; and adding more.
#[component]
fn Attachments(
    ticket_id: i64,
    attachments: Vec<domain::tickets::Attachment>,
    uploads: RwSignal<usize>,
) -> impl IntoView {
    let files: ChosenFiles = RwSignal::new(Vec::new());
    let progress = RwSignal::new(None::<u32>);
    let toasts = use_toasts();
    let start = move |_| {
        let chosen = files.get_untracked();
        if chosen.is_empty() {
            return;
        }
        upload_files(ticket_id, chosen, progress, move |result| match result {
            Ok(()) => {
                files.set(Vec::new());
                toasts.success("Files attached");
                uploads.update(|n| *n += 1);
            }
            Err(message) => toasts.error(message),
        });
    };
    let count = attachments.len();
    view! {
        <section class="panel" aria-labelledby="attachments-title">
            <h2 id="attachments-title" class="panel-title">{format!("Attachments ({count})")}</h2>
            {(count > 0).then(|| view! {
                <ul class="attachment-grid" data-test="attachments">
                    {attachments.into_iter().map(|file| {
                        let href = format!("/api/v1/attachments/{}/", file.id);
                        let size = domain::tickets::human_size(file.size_bytes.max(0) as u64);
                        let preview = if file.is_image() {
                            view! { <img src=href.clone() alt=file.file_name.clone() loading="lazy" /> }.into_any()
                        } else {
                            view! { <span class="attachment-icon"><Icon name="file" /></span> }.into_any()
                        };
                        view! {
                            <li>
                                <a class="attachment" href=href target="_blank" rel="noopener">
                                    {preview}
                                    <span class="attachment-name">{file.file_name.clone()}</span>
                                    <span class="muted small">{size}</span>
                                </a>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
            <FileDrop files hint="Screenshots, logs or documents." />
            <UploadProgress progress />
            <button
                type="button"
                class="button button-secondary"
                data-test="upload"
                disabled=move || files.with(Vec::is_empty) || progress.get().is_some()
                on:click=start
            >
                "Upload"
            </button>
        </section>
    }
}
