//! Managing users: creating and inviting them, the first administrator, the directory,
//! editing, roles, deactivation, unlocking.

use chrono::{Duration, Utc};
use domain::account::SecondFactorMethod;
use domain::users::{Page, UserSummary, check_email, check_full_name};
use domain::{AppError, ErrorKind, RoleGrant, System, SystemRole};

use crate::Services;
use crate::audit::{self, Actor};
use crate::auth::{crypto, normalize_email, password};
use crate::db::{Db, security, sessions, users, workflow_roles};
use crate::error::Result;
use crate::mail::Mail;

/// A user to create.
pub struct NewUser {
    pub email: String,
    pub full_name: String,
    /// `None`: the user is invited and chooses a password through an e-mailed link.
    pub password: Option<String>,
    pub roles: Vec<RoleGrant>,
}

/// Creates a user with their roles. A taken e-mail is a 409.
#[tracing::instrument(skip_all)]
pub async fn create(db: &Db, actor: Actor<'_>, input: NewUser) -> Result<i64> {
    let email = normalize_email(&input.email);
    check_email(&email).map_err(|p| AppError::invalid_field("email", p))?;
    check_full_name(&input.full_name).map_err(|p| AppError::invalid_field("full_name", p))?;
    let hash = match &input.password {
        Some(pw) => {
            password::check_new(pw, &email).map_err(|p| AppError::invalid_field("password", p))?;
            Some(password::hash(pw).await?)
        }
        None => None,
    };

    let now = Utc::now();
    let mut tx = db.begin().await?;
    if users::find_by_email(&mut tx.conn(), &email)
        .await?
        .is_some()
    {
        return Err(taken(&email).into());
    }
    let new = users::NewUser {
        email: &email,
        full_name: input.full_name.trim(),
        password_hash: hash.as_deref(),
    };
    let id = match users::insert(&mut tx.conn(), &new, now).await {
        Ok(id) => id,
        // Another request created the same address since the check (PostgreSQL's
        // transactions run side by side).
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(taken(&email).into());
        }
        Err(other) => return Err(other.into()),
    };
    for grant in &input.roles {
        users::set_grant(&mut tx.conn(), id, grant.system, grant.role, now).await?;
    }
    let roles: Vec<String> = input
        .roles
        .iter()
        .map(|g| format!("{}:{}", g.system.as_str(), g.role.as_str()))
        .collect();
    audit::record(
        &mut tx.conn(),
        actor,
        "user.created",
        "user",
        Some(id),
        None,
        Some(serde_json::json!({
            "email": email, "full_name": new.full_name, "roles": roles,
            "invited": input.password.is_none(),
        })),
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = id, "user created");
    Ok(id)
}

fn taken(email: &str) -> AppError {
    AppError::conflict(format!("A user with the e-mail {email} already exists."))
}

/// Creates a user without a password and e-mails them a link (valid three days) to choose one.
pub async fn invite(services: &Services, actor: Actor<'_>, input: NewUser) -> Result<i64> {
    let id = create(
        services.db(),
        actor,
        NewUser {
            password: None,
            ..input
        },
    )
    .await?;
    let user = get(services.db(), id).await?;
    let token = crypto::random_token(32);
    let now = Utc::now();
    {
        let mut pooled = services.db().acquire().await?;
        security::insert_code(
            &mut pooled.conn(),
            id,
            "password_reset",
            &crypto::sha256_hex(token.as_bytes()),
            now,
            now + Duration::days(3),
        )
        .await?;
    }
    let base = services
        .auth()
        .settings()
        .public_url
        .trim_end_matches('/')
        .to_owned();
    services
        .auth()
        .mailer()
        .send(&Mail {
            to: user.email.clone(),
            subject: "You are invited to TTS".into(),
            text: format!(
                "Hello {},\n\nan administrator created a TTS account for you ({}). Choose your \
                 password within three days here:\n\n  {base}/reset-password?token={token}\n",
                user.full_name, user.email
            ),
        })
        .await?;
    Ok(id)
}

/// What [`ensure_admin`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminOutcome {
    Created(i64),
    /// The user existed: their password was replaced and they were made an administrator.
    Updated(i64),
}

/// Makes sure `email` is a TTS administrator with `password`: creates the account, or, for an
/// existing one, sets the password, grants the role, reactivates and unlocks it (the way back
/// in for a locked-out administrator).
pub async fn ensure_admin(
    db: &Db,
    email: &str,
    full_name: &str,
    new_password: &str,
) -> Result<AdminOutcome> {
    let email = normalize_email(email);
    check_email(&email).map_err(|p| AppError::invalid_field("email", p))?;
    password::check_new(new_password, &email)
        .map_err(|p| AppError::invalid_field("password", p))?;

    let existing = {
        let mut pooled = db.acquire().await?;
        users::find_by_email(&mut pooled.conn(), &email).await?
    };
    let Some(user) = existing else {
        let id = create(
            db,
            Actor::System,
            NewUser {
                email,
                full_name: full_name.to_owned(),
                password: Some(new_password.to_owned()),
                roles: vec![RoleGrant {
                    system: System::Tts,
                    role: SystemRole::Admin,
                }],
            },
        )
        .await?;
        return Ok(AdminOutcome::Created(id));
    };

    let hash = password::hash(new_password).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    users::set_password(&mut tx.conn(), user.id, &hash, now).await?;
    users::set_active(&mut tx.conn(), user.id, true, now).await?;
    users::set_grant(&mut tx.conn(), user.id, System::Tts, SystemRole::Admin, now).await?;
    // From the command line (`tts admin`): the operator of the machine, not a signed-in user.
    audit::record(
        &mut tx.conn(),
        Actor::System,
        "user.admin_restored",
        "user",
        Some(user.id),
        None,
        Some(serde_json::json!({ "email": email, "password_replaced": true })),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(AdminOutcome::Updated(user.id))
}

/// How a user list may be sorted (`-` in front for descending).
const ORDERINGS: [(&str, &str); 4] = [
    ("id", "id"),
    ("email", "email"),
    ("full_name", "LOWER(full_name)"),
    ("last_login_at", "last_login_at"),
];

/// The directory: users matching `query` (e-mail or name), sorted by `ordering`, one page.
pub async fn search(
    db: &Db,
    query: &str,
    ordering: Option<&str>,
    page: i64,
    page_size: i64,
) -> Result<Page<UserSummary>> {
    let ordering = ordering.unwrap_or("-id");
    let (field, descending) = match ordering.strip_prefix('-') {
        Some(field) => (field, true),
        None => (ordering, false),
    };
    let column = ORDERINGS
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            let names: Vec<&str> = ORDERINGS.iter().map(|(n, _)| *n).collect();
            AppError::invalid_field(
                "ordering",
                format!(
                    "must be one of {} (with - for descending)",
                    names.join(", ")
                ),
            )
        })?;
    let order_by = format!(
        "{column} {}, id DESC",
        if descending { "DESC" } else { "ASC" }
    );
    if query.chars().count() > 200 {
        return Err(AppError::invalid_field("q", "must be at most 200 characters").into());
    }
    let mut pooled = db.acquire().await?;
    let (rows, count) = users::search(
        &mut pooled.conn(),
        query,
        &order_by,
        page_size,
        (page - 1).max(0) * page_size,
    )
    .await?;
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        results.push(summary(&mut pooled.conn(), row).await?);
    }
    Ok(Page {
        count,
        count_capped: false,
        results,
    })
}

async fn summary(conn: &mut crate::db::Conn<'_>, row: users::UserRow) -> Result<UserSummary> {
    let roles = users::grants(conn, row.id).await?;
    let workflow_roles = workflow_roles::names_of_user(conn, row.id).await?;
    Ok(UserSummary {
        id: row.id,
        invited: row.password_hash.is_none(),
        email: row.email,
        full_name: row.full_name,
        is_active: row.is_active,
        roles,
        created_at: row.created_at,
        last_login_at: row.last_login_at,
        locked_until: row.locked_until,
        second_factor: SecondFactorMethod::parse(&row.second_factor),
        workflow_roles,
    })
}

/// The newest users first (for overviews).
pub async fn list(db: &Db, limit: i64) -> Result<Vec<UserSummary>> {
    Ok(search(db, "", Some("-id"), 1, limit.clamp(1, 500))
        .await?
        .results)
}

pub async fn get(db: &Db, id: i64) -> Result<UserSummary> {
    let mut pooled = db.acquire().await?;
    let row = users::find_by_id(&mut pooled.conn(), id)
        .await?
        .ok_or_else(|| AppError::not_found("User"))?;
    summary(&mut pooled.conn(), row).await
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub is_active: Option<bool>,
    /// The complete set of system roles (systems not listed lose their role).
    pub roles: Option<Vec<RoleGrant>>,
}

/// Applies an administrator's changes. The last active administrator cannot be demoted or
/// deactivated (nobody could administer TTS any more); a deactivated user's sessions end.
pub async fn update(db: &Db, actor_id: i64, id: i64, changes: UserChanges) -> Result<UserSummary> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let current = users::find_by_id(&mut tx.conn(), id)
        .await?
        .ok_or_else(|| AppError::not_found("User"))?;

    let email = match &changes.email {
        Some(email) => {
            let email = normalize_email(email);
            check_email(&email).map_err(|p| AppError::invalid_field("email", p))?;
            if email != current.email
                && users::find_by_email(&mut tx.conn(), &email)
                    .await?
                    .is_some()
            {
                return Err(taken(&email).into());
            }
            email
        }
        None => current.email.clone(),
    };
    let full_name = match &changes.full_name {
        Some(name) => {
            check_full_name(name).map_err(|p| AppError::invalid_field("full_name", p))?;
            name.trim().to_owned()
        }
        None => current.full_name.clone(),
    };
    if let Some(roles) = &changes.roles {
        let mut systems: Vec<System> = roles.iter().map(|g| g.system).collect();
        systems.sort();
        let before = systems.len();
        systems.dedup();
        if systems.len() != before {
            return Err(AppError::invalid_field("roles", "name each system at most once").into());
        }
    }

    let was_admin = users::grants(&mut tx.conn(), id)
        .await?
        .iter()
        .any(|g| g.system == System::Tts && g.role == SystemRole::Admin);
    let stays_admin = match &changes.roles {
        Some(roles) => roles
            .iter()
            .any(|g| g.system == System::Tts && g.role == SystemRole::Admin),
        None => was_admin,
    };
    let stays_active = changes.is_active.unwrap_or(current.is_active);
    if was_admin && current.is_active && (!stays_admin || !stays_active) {
        let admins = users::count_active_with_role(&mut tx.conn(), SystemRole::Admin).await?;
        if admins <= 1 {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "This is the last active administrator: make someone else an administrator first.",
            )
            .into());
        }
    }
    if id == actor_id && !stays_active {
        return Err(AppError::new(
            ErrorKind::Conflict,
            "You cannot deactivate your own account.",
        )
        .into());
    }

    users::update_profile(&mut tx.conn(), id, &email, &full_name, now).await?;
    if let Some(active) = changes.is_active {
        users::set_active(&mut tx.conn(), id, active, now).await?;
        if !active {
            sessions::revoke_all_of_user(&mut tx.conn(), id, None, "account deactivated", now)
                .await?;
        }
    }
    if let Some(roles) = &changes.roles {
        for system in System::ALL {
            match roles.iter().find(|g| g.system == system) {
                Some(grant) => {
                    users::set_grant(&mut tx.conn(), id, system, grant.role, now).await?
                }
                None => {
                    users::remove_grant(&mut tx.conn(), id, system).await?;
                }
            }
        }
    }
    let roles_now: Vec<String> = {
        let mut names: Vec<String> = users::grants(&mut tx.conn(), id)
            .await?
            .iter()
            .map(|g| format!("{}:{}", g.system.as_str(), g.role.as_str()))
            .collect();
        names.sort();
        names
    };
    audit::record(
        &mut tx.conn(),
        Actor::User(actor_id),
        "user.updated",
        "user",
        Some(id),
        Some(serde_json::json!({
            "email": current.email, "full_name": current.full_name, "is_active": current.is_active,
        })),
        Some(serde_json::json!({
            "email": email, "full_name": full_name, "is_active": stays_active,
            "roles": roles_now,
        })),
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = id, actor = actor_id, "user updated");
    get(db, id).await
}

/// Lifts a lockout after failed sign-ins.
pub async fn unlock(db: &Db, actor: Actor<'_>, id: i64) -> Result<UserSummary> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if users::unlock(&mut tx.conn(), id, now).await? == 0 {
        return Err(AppError::not_found("User").into());
    }
    audit::record(
        &mut tx.conn(),
        actor,
        "user.unlocked",
        "user",
        Some(id),
        None,
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = id, "user unlocked");
    get(db, id).await
}

/// A user changes their own name (the e-mail is their sign-in name: administrators change it).
pub async fn rename_self(db: &Db, id: i64, full_name: &str) -> Result<UserSummary> {
    check_full_name(full_name).map_err(|p| AppError::invalid_field("full_name", p))?;
    {
        let mut pooled = db.acquire().await?;
        let current = users::find_by_id(&mut pooled.conn(), id)
            .await?
            .ok_or_else(|| AppError::not_found("User"))?;
        users::update_profile(
            &mut pooled.conn(),
            id,
            &current.email,
            full_name.trim(),
            Utc::now(),
        )
        .await?;
    }
    get(db, id).await
}

/// The user a ticket from another system names as its requester: found by e-mail, or created
/// (without a password, as an Employee of HDTS and TTS) so the ticket has someone to belong
/// to; they can set a password through "Forgot your password?".
pub async fn find_or_create_requester(db: &Db, email: &str, full_name: &str) -> Result<i64> {
    let email = normalize_email(email);
    check_email(&email).map_err(|p| AppError::invalid_field("employee.email", p))?;
    {
        let mut pooled = db.acquire().await?;
        if let Some(user) = users::find_by_email(&mut pooled.conn(), &email).await? {
            return Ok(user.id);
        }
    }
    let full_name: String = full_name
        .trim()
        .chars()
        .take(domain::users::MAX_NAME_LENGTH)
        .collect();
    let full_name = if check_full_name(&full_name).is_ok() {
        full_name
    } else {
        email.clone()
    };
    let roles = vec![
        RoleGrant {
            system: System::Tts,
            role: SystemRole::Employee,
        },
        RoleGrant {
            system: System::Hdts,
            role: SystemRole::Employee,
        },
    ];
    // Created on behalf of an external submission: the engine is the actor.
    match create(
        db,
        Actor::System,
        NewUser {
            email: email.clone(),
            full_name,
            password: None,
            roles,
        },
    )
    .await
    {
        Ok(id) => Ok(id),
        // Created by a submission racing this one.
        Err(crate::Error::App(e)) if e.kind == ErrorKind::Conflict => {
            let mut pooled = db.acquire().await?;
            users::find_by_email(&mut pooled.conn(), &email)
                .await?
                .map(|u| u.id)
                .ok_or_else(|| {
                    AppError::conflict("The requester could not be saved; try again.").into()
                })
        }
        Err(other) => Err(other),
    }
}
