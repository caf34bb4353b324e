//! Systems and system roles (SPEC.md section 2, "Auth"): every user holds at most one role per
//! system. Workflow roles ("IT Support L1") are a different concept owned by the workflow engine.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The systems of the seeds that share this identity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum System {
    Tts,
    Hdts,
    Ams,
    Bms,
}

impl System {
    pub const ALL: [System; 4] = [System::Tts, System::Hdts, System::Ams, System::Bms];

    pub fn as_str(self) -> &'static str {
        match self {
            System::Tts => "tts",
            System::Hdts => "hdts",
            System::Ams => "ams",
            System::Bms => "bms",
        }
    }
}

/// A system role. The order is the order of power: `Admin` can do what an `Agent` can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SystemRole {
    Employee,
    Agent,
    Admin,
}

impl SystemRole {
    pub const ALL: [SystemRole; 3] = [SystemRole::Employee, SystemRole::Agent, SystemRole::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            SystemRole::Employee => "Employee",
            SystemRole::Agent => "Agent",
            SystemRole::Admin => "Admin",
        }
    }
}

/// The error of parsing a system or role name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}' (expected one of: {expected})")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl FromStr for System {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        System::ALL
            .into_iter()
            .find(|sys| sys.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownName {
                what: "system",
                value: s.to_owned(),
                expected: "tts, hdts, ams, bms",
            })
    }
}

impl FromStr for SystemRole {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SystemRole::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownName {
                what: "role",
                value: s.to_owned(),
                expected: "Admin, Agent, Employee",
            })
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for SystemRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One user's role in one system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleGrant {
    pub system: System,
    pub role: SystemRole,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_any_case_and_print_as_the_seeds_spell_them() {
        assert_eq!("TTS".parse::<System>().unwrap(), System::Tts);
        assert_eq!("admin".parse::<SystemRole>().unwrap(), SystemRole::Admin);
        assert_eq!(SystemRole::Admin.to_string(), "Admin");
        assert_eq!(serde_json::to_string(&System::Hdts).unwrap(), "\"hdts\"");
        assert_eq!(
            serde_json::to_string(&SystemRole::Agent).unwrap(),
            "\"Agent\""
        );
    }

    #[test]
    fn unknown_names_are_refused_with_the_choices() {
        let err = "Superuser".parse::<SystemRole>().unwrap_err();
        assert!(err.to_string().contains("Admin, Agent, Employee"));
        assert!("crm".parse::<System>().is_err());
    }

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(SystemRole::Admin > SystemRole::Agent);
        assert!(SystemRole::Agent > SystemRole::Employee);
    }
}
