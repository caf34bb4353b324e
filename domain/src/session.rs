//! Who is signed in, as the UI needs to know it.

use serde::{Deserialize, Serialize};

use crate::roles::{RoleGrant, System, SystemRole};

/// The signed-in user as the application shell sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub roles: Vec<RoleGrant>,
    /// Their role requires a second factor they have not set up: until they do, they may only
    /// manage their own account.
    #[serde(default)]
    pub must_set_up_second_factor: bool,
}

impl SessionUser {
    /// The user's role in TTS. A signed-in user with no `tts` role still follows their own
    /// tickets, so they are treated as an employee; only a `tts` grant gives more.
    pub fn tts_role(&self) -> SystemRole {
        self.roles
            .iter()
            .find(|grant| grant.system == System::Tts)
            .map_or(SystemRole::Employee, |grant| grant.role)
    }

    /// Whether the user may use the areas of `role` (an admin may use the agent's area).
    pub fn can_act_as(&self, role: SystemRole) -> bool {
        self.tts_role() >= role
    }

    /// Initials for the avatar in the header ("Ada Lovelace" → "AL").
    pub fn initials(&self) -> String {
        let source = if self.full_name.trim().is_empty() {
            &self.email
        } else {
            &self.full_name
        };
        let initials: String = source
            .split(|c: char| c.is_whitespace() || c == '.' || c == '@')
            .filter_map(|part| part.chars().next())
            .filter(|c| c.is_alphanumeric())
            .take(2)
            .flat_map(char::to_uppercase)
            .collect();
        if initials.is_empty() {
            "?".to_owned()
        } else {
            initials
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(roles: Vec<RoleGrant>) -> SessionUser {
        SessionUser {
            id: 1,
            email: "ada@example.com".into(),
            full_name: "Ada Lovelace".into(),
            roles,
            must_set_up_second_factor: false,
        }
    }

    #[test]
    fn tts_role_comes_from_the_tts_grant_only() {
        let u = user(vec![RoleGrant {
            system: System::Ams,
            role: SystemRole::Admin,
        }]);
        assert_eq!(u.tts_role(), SystemRole::Employee);
        assert!(!u.can_act_as(SystemRole::Agent));
        let u = user(vec![RoleGrant {
            system: System::Tts,
            role: SystemRole::Admin,
        }]);
        assert!(u.can_act_as(SystemRole::Agent));
        assert!(u.can_act_as(SystemRole::Admin));
    }

    #[test]
    fn initials_fall_back_to_the_email() {
        assert_eq!(user(vec![]).initials(), "AL");
        let mut u = user(vec![]);
        u.full_name = " ".into();
        assert_eq!(u.initials(), "AE");
    }
}
