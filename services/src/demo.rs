//! Demo data, so a newcomer can click through at once (`tts serve --demo`, `tts seed --demo`).
//! Seeding is idempotent: what exists already is left as it is.

use chrono::Utc;
use domain::tickets::{NewTicket, Priority, TicketSource};
use domain::{RoleGrant, System, SystemRole};

use crate::audit::Actor;
use crate::db::{Db, tickets as ticket_rows, users as user_rows};
use crate::error::Result;
use crate::users::{self, NewUser};

/// The password of every demo account. Demo data is for trying TTS out, never for production.
pub const DEMO_PASSWORD: &str = "tts-demo-2026";

/// The demo accounts: e-mail, name, TTS role.
pub const DEMO_USERS: [(&str, &str, SystemRole); 7] = [
    ("admin@example.com", "Avery Admin", SystemRole::Admin),
    ("agent@example.com", "Alex Agent", SystemRole::Agent),
    ("sam@example.com", "Sam Support", SystemRole::Agent),
    ("morgan@example.com", "Morgan Manager", SystemRole::Agent),
    ("fiona@example.com", "Fiona Finance", SystemRole::Agent),
    (
        "employee@example.com",
        "Emma Employee",
        SystemRole::Employee,
    ),
    ("noah@example.com", "Noah Newhire", SystemRole::Employee),
];

/// Creates the demo accounts that do not exist yet; returns how many were created.
pub async fn seed(db: &Db) -> Result<usize> {
    let mut created = 0;
    for (email, name, role) in DEMO_USERS {
        let exists = {
            let mut pooled = db.acquire().await?;
            user_rows::find_by_email(&mut pooled.conn(), email)
                .await?
                .is_some()
        };
        if exists {
            continue;
        }
        let mut roles = vec![RoleGrant {
            system: System::Tts,
            role,
        }];
        if role == SystemRole::Employee {
            roles.push(RoleGrant {
                system: System::Hdts,
                role: SystemRole::Employee,
            });
        }
        users::create(
            db,
            Actor::System,
            NewUser {
                email: email.to_owned(),
                full_name: name.to_owned(),
                password: Some(DEMO_PASSWORD.to_owned()),
                roles,
            },
        )
        .await?;
        created += 1;
    }
    Ok(created)
}

/// Departments, categories with sub-categories, the agents' departments and a few tickets in
/// various states, unless reference data exists already. Returns how many tickets it made.
pub async fn seed_helpdesk(db: &Db) -> Result<usize> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if !ticket_rows::departments(&mut tx.conn()).await?.is_empty() {
        return Ok(0);
    }
    let mut departments = Vec::new();
    for name in ["IT", "Finance", "People", "Facilities"] {
        departments.push(ticket_rows::insert_department(&mut tx.conn(), name, now).await?);
    }
    let tree: [(&str, &str, &[&str]); 4] = [
        (
            "Hardware",
            "Laptops, printers, screens and phones",
            &["Laptop", "Printer", "Monitor"],
        ),
        (
            "Software",
            "Installing, licences and things that break",
            &["Installation", "Licence", "Bug"],
        ),
        (
            "Access",
            "Accounts, passwords and VPN",
            &["Password", "New account", "VPN"],
        ),
        (
            "Workplace",
            "Desks, rooms and the building",
            &["Desk", "Meeting room"],
        ),
    ];
    let mut categories = Vec::new();
    for (name, description, children) in tree {
        let parent =
            ticket_rows::insert_category(&mut tx.conn(), None, name, description, now).await?;
        let mut child_ids = Vec::new();
        for child in children {
            child_ids.push(
                ticket_rows::insert_category(&mut tx.conn(), Some(parent), child, "", now).await?,
            );
        }
        categories.push((parent, child_ids));
    }
    let agents = [
        user_rows::find_by_email(&mut tx.conn(), "agent@example.com").await?,
        user_rows::find_by_email(&mut tx.conn(), "sam@example.com").await?,
    ];
    let agent_ids: Vec<i64> = agents.iter().flatten().map(|u| u.id).collect();
    ticket_rows::set_department_members(&mut tx.conn(), departments[0], &agent_ids).await?;
    let requesters = [
        user_rows::find_by_email(&mut tx.conn(), "employee@example.com").await?,
        user_rows::find_by_email(&mut tx.conn(), "noah@example.com").await?,
    ];
    tx.commit().await?;
    let requester_ids: Vec<i64> = requesters.iter().flatten().map(|u| u.id).collect();
    if requester_ids.is_empty() {
        return Ok(0);
    }

    // (subject, description, category index, sub-category index, department, priority, status)
    let tickets: [(&str, &str, usize, usize, usize, Priority, &str); 8] = [
        (
            "Printer on floor 3 jams on every page",
            "It pulls two sheets at once and jams.\n\n- Model: **LaserJet M507**\n- Tray 2",
            0,
            1,
            0,
            Priority::High,
            "in_progress",
        ),
        (
            "VPN disconnects every hour",
            "The VPN client drops the connection roughly every 60 minutes and asks me to sign in again.",
            2,
            2,
            0,
            Priority::Medium,
            "open",
        ),
        (
            "New laptop for the intern starting Monday",
            "Please prepare a laptop with the standard image for Noah's intern.",
            0,
            0,
            0,
            Priority::Medium,
            "new",
        ),
        (
            "Excel licence expired",
            "Excel says my licence expired this morning.",
            1,
            1,
            0,
            Priority::Urgent,
            "new",
        ),
        (
            "Expense tool shows an error on submit",
            "Submitting my October expenses ends with *Error 500*. Finance needs them by Friday.",
            1,
            2,
            1,
            Priority::Low,
            "on_hold",
        ),
        (
            "Password reset for the payroll system",
            "I am locked out of the payroll system after the holidays.",
            2,
            0,
            0,
            Priority::High,
            "resolved",
        ),
        (
            "Second monitor flickers",
            "The left screen flickers when the laptop is docked.",
            0,
            2,
            0,
            Priority::Low,
            "new",
        ),
        (
            "Book the large meeting room for the offsite",
            "Thursday 9:00–17:00, 14 people, with a projector.",
            3,
            1,
            3,
            Priority::Medium,
            "closed",
        ),
    ];
    let writer = crate::tickets::TicketWriter::unbatched(db.clone());
    let mut made = 0;
    for (n, (subject, description, category, sub, department, priority, status)) in
        tickets.into_iter().enumerate()
    {
        let (category_id, children) = &categories[category];
        let id = crate::tickets::submit_for(
            &writer,
            requester_ids[n % requester_ids.len()],
            NewTicket {
                subject: subject.to_owned(),
                description: description.to_owned(),
                category_id: Some(*category_id),
                sub_category_id: children.get(sub).copied(),
                department_id: Some(departments[department]),
                priority,
                fields: Default::default(),
            },
            TicketSource::Portal,
        )
        .await?
        .row
        .id;
        if status != "new" {
            let mut tx = db.begin().await?;
            let done = matches!(status, "resolved" | "closed").then_some(now);
            ticket_rows::set_status(&mut tx.conn(), id, "new", status, done, now).await?;
            ticket_rows::insert_event(
                &mut tx.conn(),
                &ticket_rows::NewEvent {
                    ticket_id: id,
                    kind: "status",
                    actor_id: agent_ids.first().copied(),
                    from_value: Some("new"),
                    to_value: Some(status),
                    note: "",
                    is_internal: false,
                    now,
                },
            )
            .await?;
            tx.commit().await?;
        }
        made += 1;
    }
    Ok(made)
}

/// The demo workflows: an IT hardware request with a manager's approval and an asset end, a
/// finance reimbursement with a budget end, and general support for every other ticket.
fn demo_workflows() -> [DemoWorkflow<'static>; 3] {
    use domain::workflow::EndLogic;
    [
        DemoWorkflow {
            name: "IT hardware request",
            description: "New or replacement hardware: reviewed by IT, approved by a manager, prepared and delivered; the asset system records it.",
            category: Some("Hardware"),
            department: None,
            sla_hours: [5 * 24, 3 * 24, 24, 8],
            end_logic: EndLogic::Asset,
            steps: &[
                (
                    "Review request",
                    "Check the request is complete: **who** needs **what**, and why. Send it for approval or reject it with a reason.",
                    Some("IT Support"),
                    Some("IT Managers"),
                    1,
                    true,
                    false,
                ),
                (
                    "Manager approval",
                    "Approve the purchase, send it back for more detail, or reject it.",
                    Some("IT Managers"),
                    None,
                    2,
                    false,
                    false,
                ),
                (
                    "Prepare hardware",
                    "Order or take the device from stock, install the standard image and arrange the hand-over.",
                    Some("IT Support"),
                    Some("IT Managers"),
                    3,
                    false,
                    false,
                ),
                ("Delivered", "", Some("IT Support"), None, 1, false, true),
                ("Rejected", "", Some("IT Support"), None, 1, false, true),
            ],
            transitions: &[
                (0, 1, "Send for approval"),
                (0, 4, "Reject"),
                (1, 2, "Approve"),
                (1, 0, "Send back"),
                (1, 4, "Reject"),
                (2, 3, "Delivered"),
            ],
        },
        DemoWorkflow {
            name: "Finance reimbursement",
            description: "Expense claims: receipts checked by a clerk, payment approved; the budget system books it.",
            category: None,
            department: Some("Finance"),
            sla_hours: [10 * 24, 5 * 24, 2 * 24, 24],
            end_logic: EndLogic::Budget,
            steps: &[
                (
                    "Check receipts",
                    "Every line needs a receipt and a cost centre.",
                    Some("Finance Clerks"),
                    Some("Finance Approvers"),
                    1,
                    true,
                    false,
                ),
                (
                    "Approve payment",
                    "Approve the payment or reject the claim with a reason.",
                    Some("Finance Approvers"),
                    None,
                    1,
                    false,
                    false,
                ),
                ("Paid", "", Some("Finance Clerks"), None, 1, false, true),
                ("Rejected", "", Some("Finance Clerks"), None, 1, false, true),
            ],
            transitions: &[
                (0, 1, "Receipts complete"),
                (0, 3, "Reject"),
                (1, 2, "Approve"),
                (1, 0, "Send back"),
                (1, 3, "Reject"),
            ],
        },
        DemoWorkflow {
            name: "General support",
            description: "Every ticket no other workflow takes: IT support resolves it and the requester is told.",
            category: None,
            department: None,
            sla_hours: [5 * 24, 2 * 24, 8, 4],
            end_logic: EndLogic::Notification,
            steps: &[
                (
                    "Resolve",
                    "Reproduce, fix or answer, and write what you did in the notes.",
                    Some("IT Support"),
                    Some("IT Managers"),
                    1,
                    true,
                    false,
                ),
                ("Resolved", "", Some("IT Support"), None, 1, false, true),
            ],
            transitions: &[(0, 1, "Resolved")],
        },
    ]
}

/// A demo workflow's graph, laid out as the editor's "Auto layout" does (so the demo shows
/// the drawing the editor promises); `role` finds a workflow role's id by name.
fn demo_graph(
    demo: &DemoWorkflow<'_>,
    role: impl Fn(Option<&str>) -> Option<domain::workflow::RoleId>,
) -> domain::workflow::WorkflowGraph {
    use domain::workflow::{Step, StepId, Transition, WorkflowGraph};
    let steps = demo
        .steps
        .iter()
        .enumerate()
        .map(
            |(i, &(name, instructions, step_role, escalation, weight, is_start, is_end))| Step {
                id: StepId(-1 - i64::try_from(i).unwrap_or_default()),
                name: name.to_owned(),
                instructions: instructions.to_owned(),
                role: role(step_role),
                escalation_role: role(escalation),
                weight,
                is_start,
                is_end,
                position: domain::workflow::Position::default(),
            },
        )
        .collect();
    let transitions = demo
        .transitions
        .iter()
        .enumerate()
        .map(|(i, &(from, to, action))| {
            let step_id = |k: usize| -1 - i64::try_from(k).unwrap_or_default();
            Transition::new(
                -1 - i64::try_from(i).unwrap_or_default(),
                step_id(from),
                step_id(to),
                action,
            )
        })
        .collect();
    let mut graph = WorkflowGraph { steps, transitions };
    domain::workflow::drawing::auto_layout(&mut graph);
    graph
}

/// A demo step: name, instructions, role (by name), escalation role, weight, start, end.
type DemoStep<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    i64,
    bool,
    bool,
);

/// One demo workflow: its settings and graph (transitions name steps by position).
struct DemoWorkflow<'a> {
    name: &'a str,
    description: &'a str,
    category: Option<&'a str>,
    department: Option<&'a str>,
    /// SLA in hours for low, medium, high, urgent.
    sla_hours: [i64; 4],
    end_logic: domain::workflow::EndLogic,
    steps: &'a [DemoStep<'a>],
    transitions: &'a [(usize, usize, &'a str)],
}

const HOUR: i64 = 3600;

/// Workflow roles with their members, and three deployed workflows: an IT hardware request
/// with a manager's approval and an asset end, a finance reimbursement with a budget end, and
/// general support for every other ticket. Skipped if any workflow exists. Returns how many
/// workflows it made.
pub async fn seed_workflows(db: &Db) -> Result<usize> {
    use domain::workflow::{GraphSave, SlaPolicy, WorkflowInput};

    let Some(admin) = ({
        let mut pooled = db.acquire().await?;
        user_rows::find_by_email(&mut pooled.conn(), "admin@example.com").await?
    }) else {
        return Ok(0);
    };
    let principal = crate::auth::policy::Principal::User(crate::auth::policy::UserPrincipal {
        user: domain::SessionUser {
            id: admin.id,
            email: admin.email.clone(),
            full_name: admin.full_name.clone(),
            roles: vec![RoleGrant {
                system: System::Tts,
                role: SystemRole::Admin,
            }],
            must_set_up_second_factor: false,
        },
        session_id: None,
        token_id: "demo-seed".to_owned(),
        token_expires_at: Utc::now(),
    });
    if !crate::workflows::list(db, &principal).await?.is_empty() {
        return Ok(0);
    }

    let roles: [(&str, &str, &[&str]); 4] = [
        (
            "IT Support",
            "First-line IT: triage, fixes, hardware",
            &["agent@example.com", "sam@example.com"],
        ),
        (
            "IT Managers",
            "Approve purchases and escalations",
            &["morgan@example.com"],
        ),
        (
            "Finance Clerks",
            "Check claims and receipts",
            &["fiona@example.com"],
        ),
        (
            "Finance Approvers",
            "Approve payments",
            &["morgan@example.com"],
        ),
    ];
    let mut role_ids = std::collections::HashMap::new();
    for (name, description, members) in roles {
        let role = match crate::workflow_roles::list(db)
            .await?
            .into_iter()
            .find(|r| r.name == name)
        {
            Some(role) => role,
            None => crate::workflow_roles::create(db, Actor::System, name, description).await?,
        };
        for email in members {
            let user = {
                let mut pooled = db.acquire().await?;
                user_rows::find_by_email(&mut pooled.conn(), email).await?
            };
            if let Some(user) = user {
                crate::workflow_roles::set_member(db, Actor::System, role.id, user.id, true)
                    .await?;
            }
        }
        role_ids.insert(name, role.id);
    }

    let (categories, departments) = {
        let mut pooled = db.acquire().await?;
        let mut conn = pooled.conn();
        (
            ticket_rows::categories(&mut conn).await?,
            ticket_rows::departments(&mut conn).await?,
        )
    };
    let category = |name: &str| {
        categories
            .iter()
            .find(|c| c.parent_id.is_none() && c.name == name)
            .map(|c| c.id)
    };
    let department = |name: &str| departments.iter().find(|d| d.name == name).map(|d| d.id);

    let mut made = 0;
    for demo in demo_workflows() {
        let [low, medium, high, urgent] = demo.sla_hours.map(|h| Some(h * HOUR));
        let created = crate::workflows::create(
            db,
            &principal,
            WorkflowInput {
                name: Some(demo.name.to_owned()),
                description: Some(demo.description.to_owned()),
                category_id: Some(demo.category.and_then(category)),
                sub_category_id: None,
                department_id: Some(demo.department.and_then(department)),
                sla: Some(SlaPolicy {
                    low,
                    medium,
                    high,
                    urgent,
                }),
                end_logic: Some(demo.end_logic),
            },
        )
        .await?;
        let role = |name: Option<&str>| name.and_then(|n| role_ids.get(n).copied());
        let graph = demo_graph(&demo, role);
        crate::workflows::save_graph(
            db,
            &principal,
            created.id,
            GraphSave {
                revision: created.revision,
                graph,
            },
        )
        .await?;
        crate::workflows::deploy(db, &principal, created.id, None).await?;
        made += 1;
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo workflows are drawn as the editor promises: no edge crosses a step, no label
    /// covers a step or another label.
    #[test]
    fn the_demo_workflows_are_drawn_cleanly() {
        for demo in demo_workflows() {
            let graph = demo_graph(&demo, |_| None);
            let faults = domain::workflow::drawing::faults(&graph);
            assert!(faults.is_empty(), "{}: {faults:#?}", demo.name);
        }
    }
}
