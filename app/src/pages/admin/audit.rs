//! The audit log: who changed which workflow, task, ticket or user, from what to what, newest
//! first, with filters by action, kind of target and target.

use domain::audit::AuditEvent;
use domain::{AppError, SystemRole};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;
use serde_json::Value;

use super::AdminHeader;
use crate::api::tasks::{AUDIT_PAGE_SIZE, load_audit};
use crate::components::icons::Icon;
use crate::components::ui::{EmptyState, ErrorNotice, Spinner, Timestamp};
use crate::session::{RequireRole, encode_query_value, use_session};

const KINDS: [(&str, &str); 6] = [
    ("", "Any target"),
    ("workflow", "Workflows"),
    ("task", "Tasks"),
    ("ticket", "Tickets"),
    ("user", "Users"),
    ("role", "Roles"),
];

/// Longest value shown in a row; the whole JSON is one click away.
const SHORT: usize = 60;

fn short(value: &Value) -> String {
    let text = match value {
        Value::Null => "none".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > SHORT {
        format!("{}…", text.chars().take(SHORT).collect::<String>())
    } else {
        text
    }
}

/// What changed, key by key: `(key, before, after)`; only the keys whose values differ when
/// both sides are objects.
fn changes(
    before: Option<&Value>,
    after: Option<&Value>,
) -> Vec<(String, Option<String>, Option<String>)> {
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter(|k| b.get(*k) != a.get(*k))
                .map(|k| ((*k).clone(), b.get(k).map(short), a.get(k).map(short)))
                .collect()
        }
        (None, Some(Value::Object(a))) => a
            .iter()
            .map(|(k, v)| (k.clone(), None, Some(short(v))))
            .collect(),
        (Some(Value::Object(b)), None) => b
            .iter()
            .map(|(k, v)| (k.clone(), Some(short(v)), None))
            .collect(),
        (None, None) => Vec::new(),
        (b, a) => vec![(String::new(), b.map(short), a.map(short))],
    }
}

fn actor_label(event: &AuditEvent) -> String {
    if let Some(name) = &event.actor_name {
        return name.clone();
    }
    match event.actor.split_once(':') {
        Some(("api_key", id)) => format!("API key {id}"),
        Some(("user", id)) => format!("User {id}"),
        _ if event.actor == "system" => "The system".to_owned(),
        _ => event.actor.clone(),
    }
}

fn target_link(kind: &str, id: Option<i64>) -> Option<String> {
    let id = id?;
    match kind {
        "workflow" => Some(format!("/admin/workflows/{id}")),
        "ticket" => Some(format!("/tickets/{id}")),
        "user" => Some(format!("/admin/users/{id}")),
        "role" => Some(format!("/admin/roles/{id}")),
        _ => None,
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let session = use_session();
    let is_admin = move || {
        session.user.with(|user| {
            user.as_ref()
                .is_some_and(|u| u.can_act_as(SystemRole::Admin))
        })
    };
    let query = use_query_map();
    let value = move |key: &'static str| move || query.read().get(key).unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(1)
            .max(1)
    };
    let events = Resource::new(
        move || {
            (
                value("action")(),
                value("kind")(),
                value("target")(),
                page(),
                is_admin(),
            )
        },
        |(action, kind, target, page, admin)| async move {
            if admin {
                load_audit(action, kind, target, page).await
            } else {
                Err(AppError::forbidden())
            }
        },
    );
    let filtered = move || {
        !(value("action")().is_empty()
            && value("kind")().is_empty()
            && value("target")().is_empty())
    };
    let link = move |target_page: u32| {
        let mut parts = Vec::new();
        for key in ["action", "kind", "target"] {
            let v = query.read().get(key).unwrap_or_default();
            if !v.is_empty() {
                parts.push(format!("{key}={}", encode_query_value(&v)));
            }
        }
        parts.push(format!("page={target_page}"));
        format!("?{}", parts.join("&"))
    };
    view! {
        <Title text="Audit log" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            <section class="panel" aria-labelledby="audit-title">
                <h2 class="panel-title" id="audit-title">"Audit log"</h2>
                <p class="panel-intro muted">"Every change to workflows, tasks, tickets and people, with the values before and after. Newest first; nothing here is ever edited."</p>
                <Form method="GET" action="" attr:class="filters" attr:role="search">
                    <div class="search-form">
                        <span class="search-icon"><Icon name="search" /></span>
                        <input
                            type="search"
                            name="action"
                            list="audit-actions"
                            placeholder="Action or prefix, e.g. workflow. or task.transitioned"
                            aria-label="Action or action prefix"
                            value=value("action")
                        />
                        <datalist id="audit-actions">
                            {["workflow.", "task.", "ticket.", "triage.", "user.", "role."].into_iter().map(|a| view! { <option value=a></option> }).collect_view()}
                        </datalist>
                    </div>
                    <select name="kind" aria-label="Kind of target">
                        {KINDS.into_iter().map(|(v, label)| {
                            let selected = v == value("kind")();
                            view! { <option value=v selected=selected>{label}</option> }
                        }).collect_view()}
                    </select>
                    <input class="target-input" type="number" min="1" name="target" placeholder="Target id"
                        aria-label="Target id" value=value("target") />
                    <button type="submit" class="button button-secondary button-small">"Apply"</button>
                    {move || filtered().then(|| view! { <A href="/admin/audit" attr:class="button button-ghost button-small">"Clear"</A> })}
                </Form>
                <Transition fallback=|| view! { <Spinner label="Loading the audit log" /> }>
                    {move || events.get().map(|result| match result {
                        Ok(found) if found.results.is_empty() => view! {
                            <EmptyState
                                icon="search"
                                title=if filtered() { "Nothing matches" } else { "Nothing recorded yet" }
                                message=if filtered() { "Try a shorter action prefix or another target." } else { "Changes appear here as people work." }
                            />
                        }
                        .into_any(),
                        Ok(found) => {
                            let current = page();
                            let size = i64::from(AUDIT_PAGE_SIZE);
                            let first = i64::from(current - 1) * size + 1;
                            let last = first + found.results.len() as i64 - 1;
                            let count = found.count;
                            view! {
                                <AuditTable events=found.results />
                                <div class="pager">
                                    <span class="muted">{format!("{first}–{last} of {count}")}</span>
                                    {(current > 1).then(|| view! { <A href=link(current - 1) attr:class="button button-secondary button-small">"Newer"</A> })}
                                    {(last < count).then(|| view! { <A href=link(current + 1) attr:class="button button-secondary button-small">"Older"</A> })}
                                </div>
                            }
                            .into_any()
                        }
                        Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                    })}
                </Transition>
            </section>
        </RequireRole>
    }
}

#[component]
fn AuditTable(events: Vec<AuditEvent>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table audit-table" data-test="audit-table">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Change"</th>
                    </tr>
                </thead>
                <tbody>
                    {events.into_iter().map(|event| {
                        let who = actor_label(&event);
                        let target = match event.target_id {
                            Some(id) => format!("{} #{id}", event.target_kind),
                            None => event.target_kind.clone(),
                        };
                        let href = target_link(&event.target_kind, event.target_id);
                        let rows = changes(event.before.as_ref(), event.after.as_ref());
                        let shown = rows.len().min(4);
                        let more = rows.len() - shown;
                        let raw = (event.before.is_some() || event.after.is_some()).then(|| {
                            let pretty = |v: &Option<Value>| v.as_ref().map_or_else(|| "—".to_owned(), |v| serde_json::to_string_pretty(v).unwrap_or_default());
                            (pretty(&event.before), pretty(&event.after))
                        });
                        view! {
                            <tr data-test="audit-row">
                                <td class="nowrap muted small cell-when"><Timestamp at=event.created_at /></td>
                                <td class="cell-who">{who}</td>
                                <td><code class="action-code">{event.action.clone()}</code></td>
                                <td class="nowrap">{match href {
                                    Some(href) => view! { <A href=href>{target}</A> }.into_any(),
                                    None => view! { <span>{target}</span> }.into_any(),
                                }}</td>
                                <td class="cell-change">
                                    <ul class="change-list">
                                        {rows.into_iter().take(shown).map(|(key, before, after)| view! {
                                            <li>
                                                {(!key.is_empty()).then(|| view! { <span class="change-key">{format!("{key}: ")}</span> })}
                                                {before.map(|b| view! { <span class="change-before">{b}</span> })}
                                                {after.map(|a| view! { <span class="change-arrow" aria-hidden="true">" → "</span><span class="visually-hidden">" became "</span><span class="change-after">{a}</span> })}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                    {raw.map(|(before, after)| view! {
                                        <details class="raw-json">
                                            <summary>{if more > 0 { format!("{more} more · JSON") } else { "JSON".to_owned() }}</summary>
                                            <div class="json-pair">
                                                <div><span class="muted small">"Before"</span><pre>{before}</pre></div>
                                                <div><span class="muted small">"After"</span><pre>{after}</pre></div>
                                            </div>
                                        </details>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::changes;
    use serde_json::json;

    #[test]
    fn only_changed_keys_are_listed() {
        let before = json!({ "status": "draft", "version": null, "name": "A" });
        let after = json!({ "status": "deployed", "version": 1, "name": "A" });
        let rows = changes(Some(&before), Some(&after));
        assert_eq!(
            rows,
            vec![
                (
                    "status".to_owned(),
                    Some("draft".to_owned()),
                    Some("deployed".to_owned())
                ),
                (
                    "version".to_owned(),
                    Some("none".to_owned()),
                    Some("1".to_owned())
                ),
            ]
        );
    }

    #[test]
    fn long_values_are_shortened() {
        let after = json!({ "notes": "x".repeat(200) });
        let rows = changes(None, Some(&after));
        assert_eq!(rows.len(), 1);
        assert!(rows[0].2.as_deref().is_some_and(|v| v.ends_with('…')));
    }
}
