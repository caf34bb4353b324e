//! Managing users: creating them, the first administrator, listing them.

use chrono::Utc;
use domain::users::{UserSummary, check_email, check_full_name, check_password};
use domain::{AppError, RoleGrant, System, SystemRole};

use crate::auth::{normalize_email, password};
use crate::db::{Db, users};
use crate::error::Result;

/// A user to create.
pub struct NewUser {
    pub email: String,
    pub full_name: String,
    pub password: Option<String>,
    pub roles: Vec<RoleGrant>,
}

/// Creates a user with their roles. A taken e-mail is a 409.
#[tracing::instrument(skip_all)]
pub async fn create(db: &Db, input: NewUser) -> Result<i64> {
    let email = normalize_email(&input.email);
    check_email(&email).map_err(|p| AppError::invalid_field("email", p))?;
    check_full_name(&input.full_name).map_err(|p| AppError::invalid_field("full_name", p))?;
    let hash = match &input.password {
        Some(pw) => {
            check_password(pw).map_err(|p| AppError::invalid_field("password", p))?;
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
        return Err(
            AppError::conflict(format!("A user with the e-mail {email} already exists.")).into(),
        );
    }
    let new = users::NewUser {
        email: &email,
        full_name: input.full_name.trim(),
        password_hash: hash.as_deref(),
    };
    let id = users::insert(&mut tx.conn(), &new, now).await?;
    for grant in &input.roles {
        users::set_grant(&mut tx.conn(), id, grant.system, grant.role, now).await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = id, "user created");
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
/// existing one, sets the password and grants the role (the way back in for a locked-out admin).
pub async fn ensure_admin(
    db: &Db,
    email: &str,
    full_name: &str,
    new_password: &str,
) -> Result<AdminOutcome> {
    let email = normalize_email(email);
    check_email(&email).map_err(|p| AppError::invalid_field("email", p))?;
    check_password(new_password).map_err(|p| AppError::invalid_field("password", p))?;

    let existing = {
        let mut pooled = db.acquire().await?;
        users::find_by_email(&mut pooled.conn(), &email).await?
    };
    let Some(user) = existing else {
        let id = create(
            db,
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
    users::set_password_hash(&mut tx.conn(), user.id, &hash, now).await?;
    users::set_grant(&mut tx.conn(), user.id, System::Tts, SystemRole::Admin, now).await?;
    tx.commit().await?;
    Ok(AdminOutcome::Updated(user.id))
}

/// The newest users first, with their roles.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<UserSummary>> {
    let mut pooled = db.acquire().await?;
    let rows = users::list(&mut pooled.conn(), limit.clamp(1, 500)).await?;
    let mut summaries = Vec::with_capacity(rows.len());
    for row in rows {
        let roles = users::grants(&mut pooled.conn(), row.id).await?;
        summaries.push(UserSummary {
            id: row.id,
            email: row.email,
            full_name: row.full_name,
            is_active: row.is_active,
            roles,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
        });
    }
    Ok(summaries)
}
