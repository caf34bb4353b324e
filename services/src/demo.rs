//! Demo data, so a newcomer can click through at once (`tts serve --demo`, `tts seed --demo`).
//! Seeding is idempotent: what exists already is left as it is.

use domain::{RoleGrant, System, SystemRole};

use crate::db::{Db, users as user_rows};
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
