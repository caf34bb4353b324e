//! Demo data, so a newcomer can click through at once (`tts serve --demo`, `tts seed --demo`).
//! Seeding is idempotent: what exists already is left as it is.

use chrono::Utc;
use domain::tickets::{NewTicket, Priority, TicketSource};
use domain::{RoleGrant, System, SystemRole};

use crate::db::{Db, tickets as ticket_rows, users as user_rows};
use crate::error::Result;
use crate::users::{self, NewUser};

/// The password of every demo account. Demo data is for trying TTS out, never for production.
pub const DEMO_PASSWORD: &str = "tts-demo-2026";

/// The demo accounts: e-mail, name, TTS role.
pub const DEMO_USERS: [(&str, &str, SystemRole); 5] = [
    ("admin@example.com", "Avery Admin", SystemRole::Admin),
    ("agent@example.com", "Alex Agent", SystemRole::Agent),
    ("sam@example.com", "Sam Support", SystemRole::Agent),
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
