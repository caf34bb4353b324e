//! Configuration: defaults, then an optional TOML file, then environment variables, then
//! command-line flags. Validated once at start; a wrong value stops the program with one line
//! that names the setting.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Environment variables read without the `TTS_` prefix, as the seeds and most tools name them.
const UNPREFIXED: [&str; 3] = ["DATABASE_URL", "AMQP_URL", "SMTP_URL"];

/// The settings, as given. Keys are the lower-case names of the environment variables without
/// `TTS_` (`bind` ↔ `TTS_BIND`, `database_url` ↔ `DATABASE_URL`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub database_url: Option<String>,
    pub amqp_url: Option<String>,
    pub smtp_url: Option<String>,
    /// A PEM certificate to trust for SMTP's TLS besides the public roots (a private CA).
    pub smtp_ca_file: Option<PathBuf>,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub public_url: Option<String>,
    pub jwt_secret: Option<String>,
    /// The secret before a rotation: tokens it signed stay valid until they expire.
    pub jwt_previous_secret: Option<String>,
    /// Encrypts TOTP secrets at rest; generated into the data folder if not given.
    pub encryption_key: Option<String>,
    pub mail_from: String,
    /// Sign-in, refresh, reset and code requests allowed per client IP per minute.
    pub auth_rate_per_minute: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// How many trusted proxies stand in front of TTS: the client is the address that many
    /// places from the right of `X-Forwarded-For` (what the outermost trusted proxy appended).
    pub trusted_proxies: u32,
    /// A bearer token that lets a scraper read `/metrics` from another host; without it only
    /// this host may (a loopback connection that no proxy forwarded).
    pub metrics_token: Option<String>,
    /// Sockets one user may hold open in one process (1–100,000).
    pub sockets_per_user: u32,
    /// Where attachments are stored (a shared folder in a cluster); `DATA_DIR/attachments`
    /// when unset.
    pub attachments_dir: Option<PathBuf>,
    /// Largest attachment, in bytes.
    pub attachment_max_bytes: u64,
    /// Most attachments per ticket.
    pub attachment_max_count: u32,
    pub log_format: LogFormat,
    pub log_level: String,
    /// The connection pool's size; unset, the database's default
    /// (`services::db::DbOptions::max_connections`).
    pub db_max_connections: Option<u32>,
    pub db_connect_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
    /// Where the `asset` end logic posts completed tasks (the asset management system).
    pub ams_url: Option<String>,
    /// Where the `budget` end logic posts completed tasks (the budget management system).
    pub bms_url: Option<String>,
    /// Signs end-logic calls (HMAC-SHA256); generated into the data folder if not given.
    pub end_logic_secret: Option<String>,
    /// How long an end-logic call may take, in seconds.
    pub end_logic_timeout_secs: u64,
    /// How often the SLA monitor looks for warnings and breaches, in seconds.
    pub sla_check_secs: u64,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            database_url: None,
            amqp_url: None,
            smtp_url: None,
            smtp_ca_file: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from("data"),
            public_url: None,
            jwt_secret: None,
            jwt_previous_secret: None,
            encryption_key: None,
            mail_from: "TTS <tts@localhost>".to_owned(),
            auth_rate_per_minute: 30,
            trust_forwarded_for: false,
            trusted_proxies: 1,
            metrics_token: None,
            sockets_per_user: 40,
            attachments_dir: None,
            attachment_max_bytes: 10 * 1024 * 1024,
            attachment_max_count: 20,
            log_format: LogFormat::Human,
            log_level: "info".to_owned(),
            db_max_connections: None,
            db_connect_timeout_secs: 5,
            shutdown_grace_secs: 20,
            ams_url: None,
            bms_url: None,
            end_logic_secret: None,
            end_logic_timeout_secs: 10,
            sla_check_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// Values from the command line, which win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub bind: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
}

/// A configuration that cannot be used, as one line for the operator.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

fn env_name(key: &str) -> String {
    let upper = key.to_ascii_uppercase();
    if UNPREFIXED.contains(&upper.as_str()) {
        upper
    } else {
        format!("TTS_{upper}")
    }
}

fn known_keys() -> Vec<String> {
    let defaults = serde_json::to_value(RawConfig::default()).unwrap_or_default();
    defaults
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

impl RawConfig {
    /// Reads the configuration from its sources.
    pub fn load(overrides: &Overrides) -> Result<RawConfig, ConfigError> {
        let keys = known_keys();
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        if let Some(file) = &overrides.config_file {
            if !file.is_file() {
                return Err(ConfigError(format!(
                    "the configuration file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        let prefixed_keys = keys.clone();
        figment = figment
            .merge(Env::prefixed("TTS_").filter(move |key| {
                prefixed_keys
                    .iter()
                    .any(|k| key.as_str().eq_ignore_ascii_case(k))
            }))
            .merge(Env::raw().only(&UNPREFIXED));
        if let Some(bind) = overrides.bind {
            figment = figment.merge(Serialized::default("bind", bind));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("data_dir", dir));
        }
        figment
            .extract::<RawConfig>()
            .map_err(|err| ConfigError(describe_figment_error(&err)))
    }

    /// Checks every value and resolves the derived ones (the SQLite path, the JWT secret).
    /// Creates the data folder and, on first start, the secret file in it.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let non_empty = |key: &str, value: Option<String>| -> Result<Option<String>, ConfigError> {
            match value {
                Some(v) if v.trim().is_empty() => {
                    Err(ConfigError(format!("{} is set but empty", env_name(key))))
                }
                other => Ok(other.map(|v| v.trim().to_owned())),
            }
        };
        let database_url = non_empty("database_url", self.database_url)?;
        let amqp_url = non_empty("amqp_url", self.amqp_url)?;
        let smtp_url = non_empty("smtp_url", self.smtp_url)?;
        if let Some(url) = &database_url {
            let known = ["postgres://", "postgresql://", "sqlite:"];
            if !known.iter().any(|scheme| url.starts_with(scheme)) {
                return Err(ConfigError(
                    "DATABASE_URL must start with postgres://, postgresql:// or sqlite:".into(),
                ));
            }
        }
        if let Some(url) = &amqp_url
            && !(url.starts_with("amqp://") || url.starts_with("amqps://"))
        {
            return Err(ConfigError(
                "AMQP_URL must start with amqp:// or amqps://".into(),
            ));
        }
        if let Some(url) = &smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            return Err(ConfigError(
                "SMTP_URL must start with smtp:// or smtps://".into(),
            ));
        }
        let public_url = non_empty("public_url", self.public_url)?;
        if let Some(url) = &public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError(
                "TTS_PUBLIC_URL must be an http:// or https:// address".into(),
            ));
        }
        if self
            .log_level
            .parse::<tracing_subscriber::EnvFilter>()
            .is_err()
        {
            return Err(ConfigError(format!(
                "TTS_LOG_LEVEL '{}' is not a valid log filter (try info, debug or tts=debug,info)",
                self.log_level
            )));
        }
        if self
            .db_max_connections
            .is_some_and(|size| !(1..=1000).contains(&size))
        {
            return Err(ConfigError(
                "TTS_DB_MAX_CONNECTIONS must be between 1 and 1000".into(),
            ));
        }
        if !(1..=300).contains(&self.db_connect_timeout_secs) {
            return Err(ConfigError(
                "TTS_DB_CONNECT_TIMEOUT_SECS must be between 1 and 300".into(),
            ));
        }
        if !(1..=100_000).contains(&self.auth_rate_per_minute) {
            return Err(ConfigError(
                "TTS_AUTH_RATE_PER_MINUTE must be between 1 and 100000".into(),
            ));
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError(format!(
                "TTS_MAIL_FROM '{}' is not an address (try: TTS <tts@example.com>)",
                self.mail_from
            )));
        }
        if !(1..=1024 * 1024 * 1024).contains(&self.attachment_max_bytes) {
            return Err(ConfigError(
                "TTS_ATTACHMENT_MAX_BYTES must be between 1 and 1073741824 (1 GiB)".into(),
            ));
        }
        if !(1..=100_000).contains(&self.sockets_per_user) {
            return Err(ConfigError(
                "TTS_SOCKETS_PER_USER must be between 1 and 100000".into(),
            ));
        }
        if !(1..=16).contains(&self.trusted_proxies) {
            return Err(ConfigError(
                "TTS_TRUSTED_PROXIES must be between 1 and 16".into(),
            ));
        }
        if !(1..=1000).contains(&self.attachment_max_count) {
            return Err(ConfigError(
                "TTS_ATTACHMENT_MAX_COUNT must be between 1 and 1000".into(),
            ));
        }
        if self.shutdown_grace_secs > 3600 {
            return Err(ConfigError(
                "TTS_SHUTDOWN_GRACE_SECS must be at most 3600".into(),
            ));
        }

        let ams_url = non_empty("ams_url", self.ams_url)?;
        let bms_url = non_empty("bms_url", self.bms_url)?;
        for (key, url) in [("TTS_AMS_URL", &ams_url), ("TTS_BMS_URL", &bms_url)] {
            if let Some(url) = url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(ConfigError(format!(
                    "{key} must be an http:// or https:// address"
                )));
            }
        }
        if !(1..=300).contains(&self.end_logic_timeout_secs) {
            return Err(ConfigError(
                "TTS_END_LOGIC_TIMEOUT_SECS must be between 1 and 300".into(),
            ));
        }
        if !(1..=3600).contains(&self.sla_check_secs) {
            return Err(ConfigError(
                "TTS_SLA_CHECK_SECS must be between 1 and 3600".into(),
            ));
        }

        let data_dir = prepare_data_dir(&self.data_dir)?;
        let end_logic_secret = match non_empty("end_logic_secret", self.end_logic_secret)? {
            Some(secret) if secret.len() < 16 => {
                return Err(ConfigError(
                    "TTS_END_LOGIC_SECRET must be at least 16 characters".into(),
                ));
            }
            Some(secret) => secret,
            None => load_or_create_secret(&data_dir.join("end_logic_secret"))?,
        };
        let jwt_secret = match non_empty("jwt_secret", self.jwt_secret)? {
            Some(secret) if secret.len() < 32 => {
                return Err(ConfigError(
                    "TTS_JWT_SECRET must be at least 32 characters".into(),
                ));
            }
            Some(secret) => secret,
            None => load_or_create_secret(&data_dir.join("jwt_secret"))?,
        };
        let jwt_previous_secret = match non_empty("jwt_previous_secret", self.jwt_previous_secret)?
        {
            Some(secret) if secret.len() < 32 => {
                return Err(ConfigError(
                    "TTS_JWT_PREVIOUS_SECRET must be at least 32 characters".into(),
                ));
            }
            other => other,
        };
        let encryption_key = match non_empty("encryption_key", self.encryption_key)? {
            Some(key) if key.len() < 32 => {
                return Err(ConfigError(
                    "TTS_ENCRYPTION_KEY must be at least 32 characters".into(),
                ));
            }
            Some(key) => key,
            None => load_or_create_secret(&data_dir.join("encryption_key"))?,
        };
        let database_url = database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("tts.db").display()));
        let attachments_dir = match &self.attachments_dir {
            Some(dir) => prepare_data_dir(dir).map_err(|e| {
                ConfigError(e.0.replace("data folder", "attachments folder (TTS_ATTACHMENTS_DIR)"))
            })?,
            None => prepare_data_dir(&data_dir.join("attachments"))?,
        };

        Ok(Config {
            secure_cookies: public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            database_url,
            amqp_url,
            smtp_url,
            smtp_ca_file: self.smtp_ca_file,
            bind: self.bind,
            data_dir,
            public_url,
            jwt_secret: SecretString::from(jwt_secret),
            jwt_previous_secret: jwt_previous_secret.map(SecretString::from),
            encryption_key: SecretString::from(encryption_key),
            mail_from: self.mail_from,
            auth_rate_per_minute: self.auth_rate_per_minute,
            trust_forwarded_for: self.trust_forwarded_for,
            trusted_proxies: self.trusted_proxies,
            metrics_token: non_empty("metrics_token", self.metrics_token)?,
            sockets_per_user: self.sockets_per_user,
            attachments_dir,
            attachment_max_bytes: self.attachment_max_bytes,
            attachment_max_count: self.attachment_max_count,
            log_format: self.log_format,
            log_level: self.log_level,
            db_max_connections: self.db_max_connections,
            db_connect_timeout: Duration::from_secs(self.db_connect_timeout_secs),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            ams_url,
            bms_url,
            end_logic_secret: SecretString::from(end_logic_secret),
            end_logic_timeout: Duration::from_secs(self.end_logic_timeout_secs),
            sla_check_every: Duration::from_secs(self.sla_check_secs),
        })
    }
}

/// The checked configuration the program runs with.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub amqp_url: Option<String>,
    pub smtp_url: Option<String>,
    pub smtp_ca_file: Option<PathBuf>,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub public_url: Option<String>,
    pub jwt_secret: SecretString,
    pub jwt_previous_secret: Option<SecretString>,
    pub encryption_key: SecretString,
    pub mail_from: String,
    pub auth_rate_per_minute: u32,
    pub trust_forwarded_for: bool,
    pub trusted_proxies: u32,
    pub metrics_token: Option<String>,
    pub sockets_per_user: u32,
    pub attachments_dir: PathBuf,
    pub attachment_max_bytes: u64,
    pub attachment_max_count: u32,
    pub secure_cookies: bool,
    pub log_format: LogFormat,
    pub log_level: String,
    pub db_max_connections: Option<u32>,
    pub db_connect_timeout: Duration,
    pub shutdown_grace: Duration,
    pub ams_url: Option<String>,
    pub bms_url: Option<String>,
    pub end_logic_secret: SecretString,
    pub end_logic_timeout: Duration,
    pub sla_check_every: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field(
                "database_url",
                &services::db::redact_url(&self.database_url),
            )
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("mail_from", &self.mail_from)
            .finish_non_exhaustive()
    }
}

/// Turns figment's error into one line naming the setting as the operator would set it.
fn describe_figment_error(err: &figment::Error) -> String {
    let setting = err.path.first().map(|key| env_name(key));
    let source = err.metadata.as_ref().map(|m| m.name.to_string());
    let problem = match &err.kind {
        figment::error::Kind::UnknownField(field, _) => {
            return format!(
                "unknown setting '{field}'{} (known settings: {})",
                source.map(|s| format!(" in {s}")).unwrap_or_default(),
                known_keys().join(", ")
            );
        }
        other => other.to_string(),
    };
    match setting {
        Some(name) => format!("{name}: {problem}"),
        None => problem,
    }
}

fn prepare_data_dir(dir: &Path) -> Result<PathBuf, ConfigError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        ConfigError(format!(
            "cannot create the data folder {}: {}",
            dir.display(),
            io_reason(&e)
        ))
    })?;
    // Prove we can write there now, rather than failing on the first upload.
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"ok").map_err(|e| {
        ConfigError(format!(
            "the data folder {} is not writable: {}",
            dir.display(),
            io_reason(&e)
        ))
    })?;
    let _ = std::fs::remove_file(&probe);
    dir.canonicalize().map_err(|e| {
        ConfigError(format!(
            "cannot resolve the data folder {}: {}",
            dir.display(),
            io_reason(&e)
        ))
    })
}

/// Reads the secret kept in the data folder, creating it (random, owner-only) on first start.
fn load_or_create_secret(path: &Path) -> Result<String, ConfigError> {
    use base64::Engine as _;
    use rand::RngCore as _;

    match std::fs::read_to_string(path) {
        Ok(secret) if secret.trim().len() >= 32 => return Ok(secret.trim().to_owned()),
        Ok(_) => {
            return Err(ConfigError(format!(
                "the secret file {} is too short; delete it to generate a new one \
                 (this signs everyone out)",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(ConfigError(format!(
                "cannot read the secret file {}: {}",
                path.display(),
                io_reason(&e)
            )));
        }
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    write_owner_only(path, &secret).map_err(|e| {
        ConfigError(format!(
            "cannot write the secret file {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })?;
    Ok(secret)
}

#[cfg(unix)]
fn write_owner_only(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_owner_only(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::NotFound => "not found".to_owned(),
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_follow_the_documented_scheme() {
        assert_eq!(env_name("bind"), "TTS_BIND");
        assert_eq!(env_name("database_url"), "DATABASE_URL");
        assert!(known_keys().contains(&"jwt_secret".to_owned()));
    }

    #[test]
    fn the_secret_is_created_once_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt_secret");
        let first = load_or_create_secret(&path).unwrap();
        assert!(first.len() >= 32);
        assert_eq!(load_or_create_secret(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_values_name_their_setting() {
        let dir = tempfile::tempdir().unwrap();
        let base = RawConfig {
            data_dir: dir.path().to_owned(),
            ..RawConfig::default()
        };

        let err = RawConfig {
            jwt_secret: Some("short".into()),
            ..base.clone()
        }
        .resolve();
        assert!(err.unwrap_err().to_string().contains("TTS_JWT_SECRET"));

        let err = RawConfig {
            database_url: Some("mysql://x".into()),
            ..base.clone()
        }
        .resolve();
        assert!(err.unwrap_err().to_string().contains("DATABASE_URL"));

        let err = RawConfig {
            log_level: "info,[[[".into(),
            ..base.clone()
        }
        .resolve();
        assert!(err.unwrap_err().to_string().contains("TTS_LOG_LEVEL"));

        let err = RawConfig {
            db_max_connections: Some(0),
            ..base.clone()
        }
        .resolve();
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("TTS_DB_MAX_CONNECTIONS")
        );

        let ok = base.resolve().unwrap();
        assert!(ok.database_url.starts_with("sqlite://"));
        assert!(ok.database_url.ends_with("tts.db"));
    }
}
