//! The `tts` program: configuration, command line, the HTTP server and the background runner,
//! around the services of the `services` crate and the Leptos app of the `app` crate.

pub mod broker;
pub mod cli;
pub mod config;
pub mod http;
pub mod runner;
pub mod telemetry;

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::time::Duration;

use leptos::prelude::LeptosOptions;
use secrecy::ExposeSecret as _;
use services::db::{Db, DbOptions};
use services::{AuthSettings, Services};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::Layer as _;
use tower::util::MapRequestLayer;

use cli::{Cli, Command};
use config::{Config, Overrides, RawConfig};

/// A failure that ends the program: printed as one line, exit status 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Fatal(pub String);

impl From<config::ConfigError> for Fatal {
    fn from(err: config::ConfigError) -> Self {
        Fatal(err.to_string())
    }
}

impl From<services::db::OpenError> for Fatal {
    fn from(err: services::db::OpenError) -> Self {
        Fatal(err.to_string())
    }
}

/// Runs one command of the command line.
pub async fn run(cli: Cli) -> Result<(), Fatal> {
    let (overrides, demo) = match &cli.command {
        Command::Serve(args) => (
            Overrides {
                config_file: cli.config.clone(),
                bind: args.bind,
                data_dir: args.common.data_dir.clone(),
            },
            args.demo,
        ),
        Command::Worker(common) | Command::Migrate(common) => {
            (overrides_with(&cli, &common.data_dir), false)
        }
        Command::CreateAdmin(args) => (overrides_with(&cli, &args.common.data_dir), false),
        Command::Seed(args) => (overrides_with(&cli, &args.common.data_dir), args.demo),
    };
    let config = RawConfig::load(&overrides)?.resolve()?;
    telemetry::init(config.log_format, &config.log_level);
    telemetry::install_panic_hook();

    match cli.command {
        Command::Serve(_) => {
            let shutdown = shutdown_signal();
            let server = start(config.clone(), demo).await?;
            tracing::info!(
                address = %server.address,
                database = server.services.db().backend().name(),
                "TTS is ready at http://{}",
                server.address
            );
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            server.stop(config.shutdown_grace).await;
            Ok(())
        }
        Command::Worker(_) => {
            let shutdown = shutdown_signal();
            let services = open_services(&config, false).await?;
            let cancel = CancellationToken::new();
            let runner = runner::start(
                services.clone(),
                None,
                config.sla_check_every,
                config.amqp_url.clone(),
                cancel.clone(),
            );
            shutdown.await;
            cancel.cancel();
            let _ = runner.await;
            services.db().close().await;
            Ok(())
        }
        Command::Migrate(_) => {
            let db = open_db(&config).await?;
            db.migrate().await?;
            println!("The {} database is up to date.", db.backend().name());
            db.close().await;
            Ok(())
        }
        Command::CreateAdmin(args) => {
            let password = admin_password()?;
            let services = open_services(&config, false).await?;
            let outcome =
                services::users::ensure_admin(services.db(), &args.email, &args.name, &password)
                    .await
                    .map_err(|err| Fatal(domain::AppError::from(err).message))?;
            match outcome {
                services::users::AdminOutcome::Created(_) => {
                    println!("Created the administrator {}.", args.email.trim())
                }
                services::users::AdminOutcome::Updated(_) => println!(
                    "{} already existed: they are now an administrator with the new password.",
                    args.email.trim()
                ),
            }
            services.db().close().await;
            Ok(())
        }
        Command::Seed(_) => {
            let services = open_services(&config, true).await?;
            println!(
                "Demo accounts (password: {}):",
                services::demo::DEMO_PASSWORD
            );
            for (email, name, role) in services::demo::DEMO_USERS {
                println!("  {role:<9} {email:<24} {name}");
            }
            services.db().close().await;
            Ok(())
        }
    }
}

fn overrides_with(cli: &Cli, data_dir: &Option<std::path::PathBuf>) -> Overrides {
    Overrides {
        config_file: cli.config.clone(),
        bind: None,
        data_dir: data_dir.clone(),
    }
}

/// The password for `create-admin`: from `TTS_ADMIN_PASSWORD`, or asked twice on a terminal.
fn admin_password() -> Result<String, Fatal> {
    if let Ok(password) = std::env::var("TTS_ADMIN_PASSWORD") {
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Fatal(
            "no password: set TTS_ADMIN_PASSWORD or run create-admin in a terminal".into(),
        ));
    }
    let first = rpassword::prompt_password("Password for the administrator: ")
        .map_err(|e| Fatal(format!("could not read the password: {e}")))?;
    let second = rpassword::prompt_password("The same password again: ")
        .map_err(|e| Fatal(format!("could not read the password: {e}")))?;
    if first != second {
        return Err(Fatal("the two passwords differ".into()));
    }
    Ok(first)
}

async fn open_db(config: &Config) -> Result<Db, Fatal> {
    let options = DbOptions {
        url: config.database_url.clone(),
        max_connections: config.db_max_connections,
        connect_timeout: config.db_connect_timeout,
    };
    Ok(Db::connect(&options).await?)
}

/// Opens the database, brings its schema up to date and, with `demo`, loads the demo data.
pub async fn open_services(config: &Config, demo: bool) -> Result<Services, Fatal> {
    let db = open_db(config).await?;
    db.migrate().await?;
    if demo {
        let created = services::demo::seed(&db)
            .await
            .map_err(|err| Fatal(format!("could not load the demo data: {err}")))?;
        if created > 0 {
            tracing::info!(created, "demo accounts created");
        }
        let tickets = services::demo::seed_helpdesk(&db)
            .await
            .map_err(|err| Fatal(format!("could not load the demo data: {err}")))?;
        if tickets > 0 {
            tracing::info!(tickets, "demo helpdesk data created");
        }
        let workflows = services::demo::seed_workflows(&db)
            .await
            .map_err(|err| Fatal(format!("could not load the demo workflows: {err}")))?;
        if workflows > 0 {
            tracing::info!(workflows, "demo workflows deployed");
        }
    }
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.bind));
    let settings = services::Settings {
        auth: AuthSettings {
            jwt_secret: config.jwt_secret.clone(),
            previous_jwt_secret: config.jwt_previous_secret.clone(),
            encryption_key: config.encryption_key.clone(),
            access_lifetime: chrono::Duration::minutes(15),
            refresh_lifetime: chrono::Duration::days(1),
            secure_cookies: config.secure_cookies,
            public_url,
            lockout_threshold: 5,
            lockout_duration: chrono::Duration::minutes(15),
        },
        demo_mode: demo,
        attachments: services::attachments::AttachmentSettings {
            dir: config.attachments_dir.clone(),
            max_bytes: config.attachment_max_bytes,
            max_count: config.attachment_max_count,
        },
        end_logic: services::outbox::EndLogicSettings {
            ams_url: config.ams_url.clone(),
            bms_url: config.bms_url.clone(),
            signing_secret: config.end_logic_secret.expose_secret().to_owned(),
            timeout: config.end_logic_timeout,
            ..Default::default()
        },
        email: services::email::EmailSettings {
            templates_dir: Some(config.data_dir.join("templates").join("email")),
        },
        sockets_per_user: config.sockets_per_user as usize,
    };
    let smtp_ca = match &config.smtp_ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|e| {
            Fatal(format!(
                "TTS_SMTP_CA_FILE: cannot read {}: {e}",
                path.display()
            ))
        })?),
        None => None,
    };
    let mailer = services::mail::Mailer::new(
        config.smtp_url.as_deref(),
        smtp_ca.as_deref(),
        config.data_dir.join("mailbox"),
        &config.mail_from,
    )
    .map_err(|e| Fatal(format!("{e:#}")))?;
    Ok(Services::new(db, mailer, settings))
}

/// A running server (the HTTP listener and the background runner).
pub struct RunningServer {
    pub address: SocketAddr,
    pub services: Services,
    cancel: CancellationToken,
    http: JoinHandle<std::io::Result<()>>,
    runner: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting connections, lets requests in flight finish (up to `grace`), stops the
    /// runner and closes the database.
    pub async fn stop(self, grace: Duration) {
        self.cancel.cancel();
        if tokio::time::timeout(grace, self.http).await.is_err() {
            tracing::warn!("requests still running after the grace period were dropped");
        }
        // Shutdown is bounded: a background job or a connection that does not let go must
        // not keep the process alive.
        if tokio::time::timeout(grace, self.runner).await.is_err() {
            tracing::warn!("the background runner did not stop within the grace period");
        }
        if tokio::time::timeout(Duration::from_secs(5), self.services.db().close())
            .await
            .is_err()
        {
            tracing::warn!("database connections still in use at shutdown were abandoned");
        }
    }
}

/// Opens everything and starts serving on `config.bind` (port 0 picks a free port).
pub async fn start(config: Config, demo: bool) -> Result<RunningServer, Fatal> {
    let services = open_services(&config, demo).await?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| {
            let reason = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "the address is already in use (is another TTS running? choose another with --bind)"
                    .to_owned()
            }
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => e.to_string(),
        };
            Fatal(format!("cannot listen on {}: {reason}", config.bind))
        })?;
    let address = listener.local_addr().map_err(|e| Fatal(e.to_string()))?;

    let site_root = config.data_dir.join("site");
    http::assets::place_split_manifest(&site_root)
        .map_err(|e| Fatal(format!("cannot write the site's chunk manifest: {e}")))?;
    let leptos_options = LeptosOptions::builder()
        .output_name(env!("LEPTOS_OUTPUT_NAME"))
        .site_root(site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(address)
        .env(leptos::config::Env::PROD)
        .build();
    let session_store = services::browser_sessions::SessionStore::open(services.db())
        .await
        .map_err(|e| Fatal(format!("cannot prepare the session store: {e:#}")))?;
    let state = http::AppState::new(http::AppStateParts {
        leptos_options,
        services: services.clone(),
        metrics: http::ops::metrics_handle(),
        protection: http::security::Protection::new(
            config
                .trust_forwarded_for
                .then_some(config.trusted_proxies as usize),
            config.public_url.as_deref(),
            config.auth_rate_per_minute,
        )
        .with_metrics_token(config.metrics_token.clone()),
        session_store: session_store.clone(),
        secure_cookies: config.secure_cookies,
    });
    let app = MapRequestLayer::new(http::trim_trailing_slash).layer(http::router(state));

    let cancel = CancellationToken::new();
    let runner = runner::start(
        services.clone(),
        Some(session_store),
        config.sla_check_every,
        config.amqp_url.clone(),
        cancel.child_token(),
    );
    // Pushes new notifications to this process's sockets (from any replica's writes).
    let watcher_stop = cancel.child_token();
    let watched = services.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = watcher_stop.cancelled() => {}
            () = services::live::watch_notifications(watched) => {}
        }
    });
    let stop = cancel.clone();
    let http = tokio::spawn(async move {
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                SocketAddr,
            >(app),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
    });
    Ok(RunningServer {
        address,
        services,
        cancel,
        http,
        runner,
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
/// Listens for Ctrl-C and SIGTERM from the moment it is called (before the program says it
/// is ready: a signal sent right after "ready" must not kill it half-way); the future ends at
/// the first signal.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            async fn received(signal: Option<Signal>) {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = received(interrupt) => {},
                () = received(terminate) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
