//! Authorization: who may do what. The one place the rules live: server functions, REST
//! handlers and WebSockets all ask [`authorize`], and it denies unless a rule allows.

use chrono::{DateTime, Utc};
use domain::{AppError, ErrorKind, SessionUser, SystemRole};

/// The caller of an operation, once authenticated.
#[derive(Debug, Clone)]
pub enum Principal {
    User(UserPrincipal),
    ApiKey(ApiKeyPrincipal),
}

#[derive(Debug, Clone)]
pub struct UserPrincipal {
    pub user: SessionUser,
    /// The signed-in session the access token belongs to (absent for older tokens).
    pub session_id: Option<String>,
    pub token_id: String,
    pub token_expires_at: DateTime<Utc>,
}

impl Principal {
    /// The user as the engine checks on their behalf (can a mentioned user see this ticket?),
    /// not a signed-in session.
    pub fn on_behalf_of(user: SessionUser) -> Principal {
        Principal::User(UserPrincipal {
            user,
            session_id: None,
            token_id: String::new(),
            token_expires_at: Utc::now(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct ApiKeyPrincipal {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
}

impl Principal {
    pub fn user(&self) -> Option<&UserPrincipal> {
        match self {
            Principal::User(user) => Some(user),
            Principal::ApiKey(_) => None,
        }
    }

    /// Who acts for a message taken from RabbitMQ: trusted like an API key holding the one
    /// scope that message's task needs (`tickets:submit` to take a ticket from HDTS,
    /// `notifications:send` for the notification tasks), so a task can do nothing beyond what
    /// its sender in the seeds does. Id 0 is no stored key; audit shows it as `api_key:0`.
    pub fn celery(scope: &'static str) -> Principal {
        Principal::ApiKey(ApiKeyPrincipal {
            id: CELERY_KEY_ID,
            name: "RabbitMQ".into(),
            scopes: vec![scope.into()],
        })
    }

    /// Who sent an external ticket, in the form its reference is kept under: `api_key:3`,
    /// `celery` (the RabbitMQ intake) or `user:12`. References are the sender's numbering, so
    /// two senders never find each other's tickets.
    pub fn external_sender(&self) -> String {
        match self {
            Principal::ApiKey(k) if k.id == CELERY_KEY_ID => "celery".into(),
            other => other.actor(),
        }
    }

    /// A short description for logs and audit: `user:12` or `api_key:3`.
    pub fn actor(&self) -> String {
        match self {
            Principal::User(u) => format!("user:{}", u.user.id),
            Principal::ApiKey(k) => format!("api_key:{}", k.id),
        }
    }
}

/// The id standing for RabbitMQ's messages where a key's id would be ([`Principal::celery`]).
const CELERY_KEY_ID: i64 = 0;

/// The scopes an API key can be given.
pub const SCOPES: [(&str, &str); 5] = [
    (
        "tickets:submit",
        "Submit tickets from another system (HDTS)",
    ),
    ("tickets:read", "Read every ticket and its attachments"),
    ("notifications:send", "Send notifications to users"),
    ("users:read", "Read the user directory"),
    ("roles:read", "Read workflow roles and their members"),
];

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Manage one's own account: profile, password, second factor, sessions.
    OwnAccount,
    ViewUsers,
    ManageUsers,
    ViewRoles,
    ManageRoles,
    ManageApiKeys,
    ManageSecurityPolicy,
    SubmitTickets,
    /// Take tickets from another system (`/tickets/send/`, the HDTS queue), naming their
    /// requester: integrations (API keys with `tickets:submit`) and admins, never employees.
    SubmitExternalTickets,
    /// See tickets (which ones: [`ticket_scope`]).
    ViewTickets,
    /// Change tickets: status, assignment, fields.
    WorkTickets,
    /// Reopen one's own resolved ticket ("still broken"), whatever one's role; which tickets:
    /// the caller's own (staff reopen any they may see).
    ReopenOwnTickets,
    /// Reference data (categories, departments, priorities) and helpdesk settings.
    ManageHelpdesk,
    SendNotifications,
    /// See workflows and their versions.
    ViewWorkflows,
    /// Create, edit, deploy and pause workflows; work the triage queue.
    ManageWorkflows,
    /// Act on tasks (which ones: the assignee's, or any for admins).
    WorkTasks,
    /// Read the audit log.
    ReadAudit,
}

impl Permission {
    /// Every permission (for the authorization matrix tests).
    pub const ALL: [Permission; 18] = [
        Permission::OwnAccount,
        Permission::ViewUsers,
        Permission::ManageUsers,
        Permission::ViewRoles,
        Permission::ManageRoles,
        Permission::ManageApiKeys,
        Permission::ManageSecurityPolicy,
        Permission::SubmitTickets,
        Permission::SubmitExternalTickets,
        Permission::ViewTickets,
        Permission::WorkTickets,
        Permission::ReopenOwnTickets,
        Permission::ManageHelpdesk,
        Permission::SendNotifications,
        Permission::ViewWorkflows,
        Permission::ManageWorkflows,
        Permission::WorkTasks,
        Permission::ReadAudit,
    ];

    /// The least TTS role of a user who may do it (`None`: users may not, only API keys).
    pub fn minimum_role(self) -> Option<SystemRole> {
        match self {
            Permission::OwnAccount
            | Permission::SubmitTickets
            | Permission::ViewTickets
            | Permission::ReopenOwnTickets => Some(SystemRole::Employee),
            Permission::ViewRoles
            | Permission::WorkTickets
            | Permission::ViewWorkflows
            | Permission::WorkTasks => Some(SystemRole::Agent),
            Permission::ViewUsers
            | Permission::ManageUsers
            | Permission::ManageRoles
            | Permission::ManageApiKeys
            | Permission::ManageSecurityPolicy
            | Permission::ManageHelpdesk
            | Permission::SendNotifications
            | Permission::SubmitExternalTickets
            | Permission::ManageWorkflows
            | Permission::ReadAudit => Some(SystemRole::Admin),
        }
    }

    /// The API-key scope that allows it (`None`: API keys may not).
    pub fn scope(self) -> Option<&'static str> {
        match self {
            Permission::SubmitTickets | Permission::SubmitExternalTickets => Some("tickets:submit"),
            Permission::ViewTickets => Some("tickets:read"),
            Permission::SendNotifications => Some("notifications:send"),
            Permission::ViewUsers => Some("users:read"),
            Permission::ViewRoles => Some("roles:read"),
            Permission::OwnAccount
            | Permission::ManageUsers
            | Permission::ManageRoles
            | Permission::ManageApiKeys
            | Permission::ManageSecurityPolicy
            | Permission::WorkTickets
            | Permission::ReopenOwnTickets
            | Permission::ManageHelpdesk
            | Permission::ViewWorkflows
            | Permission::ManageWorkflows
            | Permission::WorkTasks
            | Permission::ReadAudit => None,
        }
    }
}

/// Allows or denies `permission` to `principal`: 403 with a reason, or `Ok`.
pub fn authorize(principal: &Principal, permission: Permission) -> Result<(), AppError> {
    match principal {
        Principal::User(user) => {
            if user.user.must_set_up_second_factor && permission != Permission::OwnAccount {
                return Err(AppError::new(
                    ErrorKind::Forbidden,
                    "Your role requires a second factor. Set one up under Account → Security first.",
                ));
            }
            match permission.minimum_role() {
                Some(role) if user.user.can_act_as(role) => Ok(()),
                _ => Err(AppError::forbidden()),
            }
        }
        Principal::ApiKey(key) => match permission.scope() {
            Some(scope) if key.scopes.iter().any(|s| s == scope) => Ok(()),
            Some(scope) => Err(AppError::new(
                ErrorKind::Forbidden,
                format!("This API key lacks the '{scope}' scope."),
            )),
            None => Err(AppError::new(
                ErrorKind::Forbidden,
                "API keys cannot do this; sign in as a user.",
            )),
        },
    }
}

/// Which tickets a caller may see: the one rule behind the portal, the agent list, REST and
/// search alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketScope {
    /// Admins, and API keys with `tickets:read`; agents when the helpdesk setting says so.
    All,
    /// An agent: tickets of their departments, assigned to them, or requested by them.
    Departments { user_id: i64 },
    /// An employee: the tickets they requested.
    Own { user_id: i64 },
}

impl TicketScope {
    /// Whether a ticket with these people and department is inside the scope.
    pub fn includes(
        self,
        requester_id: i64,
        assignee_id: Option<i64>,
        department_id: Option<i64>,
        member_of: &[i64],
    ) -> bool {
        match self {
            TicketScope::All => true,
            TicketScope::Own { user_id } => requester_id == user_id,
            TicketScope::Departments { user_id } => {
                requester_id == user_id
                    || assignee_id == Some(user_id)
                    || department_id.is_some_and(|d| member_of.contains(&d))
            }
        }
    }
}

/// The tickets `principal` may see, given the admins' choice for agents; 403 if none.
pub fn ticket_scope(
    principal: &Principal,
    agents_see: domain::tickets::AgentVisibility,
) -> Result<TicketScope, AppError> {
    authorize(principal, Permission::ViewTickets)?;
    Ok(match principal {
        Principal::ApiKey(_) => TicketScope::All,
        Principal::User(user) => match user.user.tts_role() {
            SystemRole::Admin => TicketScope::All,
            SystemRole::Agent => match agents_see {
                domain::tickets::AgentVisibility::All => TicketScope::All,
                domain::tickets::AgentVisibility::OwnDepartments => TicketScope::Departments {
                    user_id: user.user.id,
                },
            },
            SystemRole::Employee => TicketScope::Own {
                user_id: user.user.id,
            },
        },
    })
}

/// The principal if there is one and it may do `permission`; 401 without one.
pub fn require(
    principal: Option<Principal>,
    permission: Permission,
) -> Result<Principal, AppError> {
    let principal = principal.ok_or_else(|| AppError::unauthorized("Please sign in."))?;
    authorize(&principal, permission)?;
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{RoleGrant, System};

    fn user(role: SystemRole, must_set_up: bool) -> Principal {
        Principal::User(UserPrincipal {
            user: SessionUser {
                id: 1,
                email: "a@b.c".into(),
                full_name: "A".into(),
                roles: vec![RoleGrant {
                    system: System::Tts,
                    role,
                }],
                must_set_up_second_factor: must_set_up,
            },
            session_id: None,
            token_id: "t".into(),
            token_expires_at: Utc::now(),
        })
    }

    #[test]
    fn admins_may_do_everything_a_user_can_and_employees_little() {
        for permission in Permission::ALL {
            assert!(
                authorize(&user(SystemRole::Admin, false), permission).is_ok(),
                "{permission:?}"
            );
        }
        let employee = user(SystemRole::Employee, false);
        assert!(authorize(&employee, Permission::OwnAccount).is_ok());
        assert!(authorize(&employee, Permission::ViewRoles).is_err());
        assert!(authorize(&employee, Permission::ManageUsers).is_err());
        assert!(authorize(&user(SystemRole::Agent, false), Permission::ViewRoles).is_ok());
        assert!(authorize(&user(SystemRole::Agent, false), Permission::ManageRoles).is_err());
    }

    #[test]
    fn a_missing_second_factor_confines_the_user_to_their_account() {
        let admin = user(SystemRole::Admin, true);
        assert!(authorize(&admin, Permission::OwnAccount).is_ok());
        let err = authorize(&admin, Permission::ManageUsers).unwrap_err();
        assert!(err.message.contains("second factor"));
    }

    #[test]
    fn api_keys_need_the_scope_and_never_manage_anything() {
        let key = Principal::ApiKey(ApiKeyPrincipal {
            id: 1,
            name: "hdts".into(),
            scopes: vec!["tickets:submit".into()],
        });
        assert!(authorize(&key, Permission::SubmitTickets).is_ok());
        assert!(authorize(&key, Permission::SendNotifications).is_err());
        assert!(authorize(&key, Permission::ManageUsers).is_err());
        assert!(authorize(&key, Permission::OwnAccount).is_err());
        assert_eq!(
            require(None, Permission::OwnAccount).unwrap_err().status(),
            401
        );
    }
}
