//! The services of TTS: business rules, their transactions and their data access.
//!
//! Every door into the program (Leptos server functions, REST handlers, WebSocket messages,
//! queue consumers, the command line) is a thin adapter over [`Services`]. SQL lives only in
//! [`db`]; rules live only here.

pub mod attachments;
pub mod audit;
pub mod auth;
pub mod browser_sessions;
pub mod clock;
pub mod comments;
pub mod db;
pub mod demo;
pub mod email;
pub mod error;
pub mod live;
pub mod mail;
pub mod markdown;
pub mod notifications;
pub mod outbox;
pub mod reference;
pub mod status;
pub mod tasks;
pub mod tickets;
pub mod users;
pub mod workflow_roles;
pub mod workflows;

use std::sync::Arc;
use std::time::Instant;

pub use auth::{AuthService, AuthSettings};
pub use db::{Backend, Db};
pub use error::{Error, Result};

/// Everything the doors need, cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    auth: AuthService,
    demo_mode: bool,
    attachments: attachments::AttachmentSettings,
    ticket_writer: tickets::TicketWriter,
    started_at: Instant,
    clock: clock::Clock,
    end_logic: outbox::EndLogicSettings,
    http: reqwest::Client,
    /// Woken when this process writes outbox events, so the runner takes them at once
    /// rather than at its next poll.
    outbox_wake: Arc<outbox::OutboxWake>,
    live: Arc<live::LiveHub>,
    email: email::EmailSettings,
}

/// The settings services need from the program's configuration.
pub struct Settings {
    pub auth: AuthSettings,
    /// Demo data is loaded: the sign-in page lists the demo accounts.
    pub demo_mode: bool,
    pub attachments: attachments::AttachmentSettings,
    pub end_logic: outbox::EndLogicSettings,
    pub email: email::EmailSettings,
    /// Sockets one user may hold open in this process ([`live::LiveHub::hold_socket`]).
    pub sockets_per_user: usize,
}

impl Services {
    pub fn new(db: Db, mailer: mail::Mailer, settings: Settings) -> Self {
        let auth = AuthService::new(db.clone(), mailer, settings.auth);
        let outbox_wake = Arc::new(outbox::OutboxWake::default());
        let inner = Inner {
            ticket_writer: tickets::TicketWriter::new(db.clone(), outbox_wake.clone()),
            clock: clock::Clock::default(),
            end_logic: settings.end_logic,
            http: reqwest::Client::builder()
                .user_agent(concat!("TTS/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default(),
            outbox_wake,
            live: Arc::new(live::LiveHub::new(settings.sockets_per_user)),
            email: settings.email,
            db,
            auth,
            demo_mode: settings.demo_mode,
            attachments: settings.attachments,
            started_at: Instant::now(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    pub fn demo_mode(&self) -> bool {
        self.inner.demo_mode
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn ticket_writer(&self) -> &tickets::TicketWriter {
        &self.inner.ticket_writer
    }

    pub fn auth(&self) -> &AuthService {
        &self.inner.auth
    }

    pub fn attachment_settings(&self) -> &attachments::AttachmentSettings {
        &self.inner.attachments
    }

    pub fn started_at(&self) -> Instant {
        self.inner.started_at
    }

    /// The engine's clock (tests move it forward).
    pub fn clock(&self) -> &clock::Clock {
        &self.inner.clock
    }

    pub fn end_logic_settings(&self) -> &outbox::EndLogicSettings {
        &self.inner.end_logic
    }

    /// The HTTP client for calls to other systems.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub fn email_settings(&self) -> &email::EmailSettings {
        &self.inner.email
    }

    /// The rooms and channels of open sockets.
    pub fn live(&self) -> &Arc<live::LiveHub> {
        &self.inner.live
    }

    /// Wakes the runner's outbox dispatcher.
    pub fn outbox_wake(&self) -> &Arc<outbox::OutboxWake> {
        &self.inner.outbox_wake
    }
}
