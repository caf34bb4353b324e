//! The `tts` command line, run as a process: help, the commands, and every startup failure
//! giving one clear line and a non-zero exit instead of a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output, Stdio};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn tts(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tts"));
    command.args(args).current_dir(dir).stdin(Stdio::null());
    // Only what the test sets: no configuration leaks in from the developer's shell.
    for (key, _) in std::env::vars() {
        if key.starts_with("TTS_")
            || ["DATABASE_URL", "AMQP_URL", "SMTP_URL"].contains(&key.as_str())
        {
            command.env_remove(key);
        }
    }
    command.env("RUST_BACKTRACE", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A failure is one `error:` line, with no panic and no backtrace.
fn assert_one_line_error(run: &Run, mentions: &str) {
    assert_eq!(run.code, 1, "exit status; stderr: {}", run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line in: {}", run.stderr);
    assert!(
        errors[0].contains(mentions),
        "{:?} should mention {mentions:?}",
        errors[0]
    );
    assert!(!run.stderr.contains("panicked"), "no panic: {}", run.stderr);
    assert!(
        !run.stderr.contains("stack backtrace"),
        "no backtrace: {}",
        run.stderr
    );
}

async fn database_env(dir: &std::path::Path) -> String {
    common::fresh_database_url(dir).await
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let run = tts(&["--help"], &[], dir.path());
    assert_eq!(run.code, 0);
    for command in ["serve", "worker", "migrate", "create-admin", "seed"] {
        assert!(run.stdout.contains(command), "--help lists {command}");
        let run = tts(&[command, "--help"], &[], dir.path());
        assert_eq!(run.code, 0, "{command} --help");
        assert!(run.stdout.contains("Usage: tts"), "{command} --help");
    }
    let run = tts(&["serve", "--help"], &[], dir.path());
    for flag in ["--bind", "--data-dir", "--demo"] {
        assert!(run.stdout.contains(flag), "serve --help documents {flag}");
    }
}

#[test]
fn usage_mistakes_are_reported_by_the_parser() {
    let dir = tempfile::tempdir().unwrap();
    let run = tts(&["seed"], &[], dir.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--demo"), "{}", run.stderr);
    let run = tts(&["serve", "--bind", "not-an-address"], &[], dir.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--bind"), "{}", run.stderr);
}

#[test]
fn invalid_settings_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("TTS_BIND", "nonsense")], "TTS_BIND"),
        (&[("TTS_LOG_FORMAT", "xml")], "TTS_LOG_FORMAT"),
        (
            &[("TTS_DB_MAX_CONNECTIONS", "lots")],
            "TTS_DB_MAX_CONNECTIONS",
        ),
        (&[("TTS_DB_MAX_CONNECTIONS", "0")], "TTS_DB_MAX_CONNECTIONS"),
        (&[("TTS_JWT_SECRET", "too-short")], "TTS_JWT_SECRET"),
        (&[("DATABASE_URL", "mysql://localhost/tts")], "DATABASE_URL"),
        (&[("AMQP_URL", "http://broker")], "AMQP_URL"),
        (&[("TTS_PUBLIC_URL", "ftp://example.com")], "TTS_PUBLIC_URL"),
        (&[("TTS_LOG_LEVEL", "info,[[")], "TTS_LOG_LEVEL"),
    ];
    for (env, setting) in cases {
        let mut env = env.to_vec();
        env.push(("TTS_DATA_DIR", data));
        let run = tts(&["migrate"], &env, dir.path());
        assert_one_line_error(&run, setting);
    }
}

#[test]
fn the_configuration_file_is_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tts.toml");
    std::fs::write(&file, "bind = \"127.0.0.1:0\"\nbogus_setting = 1\n").unwrap();
    let run = tts(
        &["--config", file.to_str().unwrap(), "migrate"],
        &[],
        dir.path(),
    );
    assert_one_line_error(&run, "bogus_setting");

    std::fs::write(&file, "log_level = 42\n").unwrap();
    let run = tts(
        &["--config", file.to_str().unwrap(), "migrate"],
        &[],
        dir.path(),
    );
    assert_one_line_error(&run, "TTS_LOG_LEVEL");

    let run = tts(
        &["--config", "/no/such/file.toml", "migrate"],
        &[],
        dir.path(),
    );
    assert_one_line_error(&run, "/no/such/file.toml");

    // A valid file works; the environment overrides it.
    let data = dir.path().join("from-file");
    std::fs::write(&file, format!("data_dir = {:?}\n", data.to_str().unwrap())).unwrap();
    let run = tts(
        &["--config", file.to_str().unwrap(), "migrate"],
        &[],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(data.join("tts.db").exists(), "the file's data_dir was used");
}

#[test]
fn an_unusable_data_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_folder = dir.path().join("a-file");
    std::fs::write(&not_a_folder, "x").unwrap();
    let inside = not_a_folder.join("data");
    let run = tts(
        &["migrate", "--data-dir", inside.to_str().unwrap()],
        &[],
        dir.path(),
    );
    assert_one_line_error(&run, "data folder");
}

#[tokio::test]
async fn the_embedded_defaults_create_the_database_and_an_owner_only_secret() {
    let dir = tempfile::tempdir().unwrap();
    let run = tts(&["migrate"], &[], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("SQLite database is up to date"),
        "{}",
        run.stdout
    );
    let data = dir.path().join("data");
    assert!(
        data.join("tts.db").exists(),
        "SQLite under ./data by default"
    );
    let secret = std::fs::read_to_string(data.join("jwt_secret")).unwrap();
    assert!(secret.len() >= 32);
    assert!(
        !run.stdout.contains(&secret) && !run.stderr.contains(&secret),
        "never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data.join("jwt_secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only");
    }
    // The same secret is kept across runs.
    tts(&["migrate"], &[], dir.path());
    assert_eq!(
        std::fs::read_to_string(data.join("jwt_secret")).unwrap(),
        secret
    );
}

#[test]
fn an_unreachable_postgresql_is_a_clear_error_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let run = tts(
        &["migrate"],
        &[
            (
                "DATABASE_URL",
                "postgres://tts:hunter2-secret@127.0.0.1:1/tts",
            ),
            ("TTS_DB_CONNECT_TIMEOUT_SECS", "2"),
        ],
        dir.path(),
    );
    assert_one_line_error(&run, "could not connect to PostgreSQL at 127.0.0.1:1");
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}

#[tokio::test]
async fn a_port_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let url = database_env(dir.path()).await;
    let run = tts(
        &["serve", "--bind", &address],
        &[("DATABASE_URL", &url)],
        dir.path(),
    );
    assert_one_line_error(&run, "already in use");
    assert!(run.stderr.contains(&address));
}

#[tokio::test]
async fn create_admin_creates_then_updates_and_checks_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_env(dir.path()).await;
    let db = [("DATABASE_URL", url.as_str())];

    let with_password = |password: &'static str| {
        let mut env = db.to_vec();
        env.push(("TTS_ADMIN_PASSWORD", password));
        env
    };
    let run = tts(
        &[
            "create-admin",
            "--email",
            "Boss@Example.com",
            "--name",
            "The Boss",
        ],
        &with_password("first-password-1"),
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Created the administrator"),
        "{}",
        run.stdout
    );

    let run = tts(
        &["create-admin", "--email", "boss@example.com"],
        &with_password("second-password-2"),
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("already existed"), "{}", run.stdout);

    let run = tts(
        &["create-admin", "--email", "boss@example.com"],
        &with_password("short"),
        dir.path(),
    );
    assert_one_line_error(&run, "password");

    let run = tts(
        &["create-admin", "--email", "not-an-address"],
        &with_password("long-enough-password"),
        dir.path(),
    );
    assert_one_line_error(&run, "e-mail");

    // No password and no terminal to ask on.
    let run = tts(
        &["create-admin", "--email", "x@example.com"],
        &db,
        dir.path(),
    );
    assert_one_line_error(&run, "TTS_ADMIN_PASSWORD");
}

#[tokio::test]
async fn seed_demo_prints_the_accounts_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_env(dir.path()).await;
    for _ in 0..2 {
        let run = tts(&["seed", "--demo"], &[("DATABASE_URL", &url)], dir.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("admin@example.com") && run.stdout.contains("tts-demo-2026"));
    }
}

#[cfg(unix)]
#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    use std::io::{BufRead as _, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let url = database_env(dir.path()).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tts"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &url)
        .env("TTS_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("tts logs until ready").unwrap();
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(address) = event["address"].as_str() {
            break address.to_owned();
        }
    };
    let health = reqwest::get(format!("http://{address}/health/"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");
}
