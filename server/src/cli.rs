//! The command line of the `tts` binary (SPEC.md section 4).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tts",
    version,
    about = "TTS: ticket tracking and workflows for your helpdesk, in one program.",
    long_about = "TTS: ticket tracking and workflows for your helpdesk, in one program.\n\n\
        With no configuration it keeps its data in SQLite under ./data and runs everything \
        in-process. Settings come from an optional TOML file (--config), environment \
        variables (DATABASE_URL, TTS_BIND, TTS_DATA_DIR, …) and the flags below; see README.md."
)]
pub struct Cli {
    /// A TOML configuration file (environment variables and flags override it).
    #[arg(long, global = true, env = "TTS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application, the REST API and the background runner.
    Serve(ServeArgs),
    /// Run only the background runner (for dedicated worker processes in a cluster).
    Worker(CommonArgs),
    /// Create or update the database schema, then exit.
    Migrate(CommonArgs),
    /// Create an administrator, or make an existing user one and set their password.
    #[command(name = "create-admin")]
    CreateAdmin(CreateAdminArgs),
    /// Load data into the database.
    Seed(SeedArgs),
}

#[derive(Debug, clap::Args)]
pub struct CommonArgs {
    /// Folder for the SQLite database, uploads and generated secrets [env: TTS_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on [env: TTS_BIND] [default: 127.0.0.1:3000]
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,

    #[command(flatten)]
    pub common: CommonArgs,

    /// Load demo users (one per role) on start, and list them on the sign-in page.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, clap::Args)]
pub struct CreateAdminArgs {
    /// The administrator's e-mail address (their sign-in name).
    #[arg(long)]
    pub email: String,

    /// Their full name, as shown in the application.
    #[arg(long, default_value = "Administrator")]
    pub name: String,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Demo users of each role (the password is printed).
    #[arg(long, required = true)]
    pub demo: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}
