//! Putting certificates where PostgreSQL and libpq read them: `server-config`,
//! `deploy-server`, `client-install`, `env` (their file forms, `--cert`, are in [`super::host`]).

use std::path::PathBuf;

use clap::Args;

use super::host::{DeployFileArgs, InstallFileArgs};
use super::{Quiet, Report};

/// `pgca server-config`.
#[derive(Debug, Args)]
pub struct ServerConfigArgs {
    /// The server certificate's name (its first host name)
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The data directory the files are deployed to (makes the paths absolute)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(flatten)]
    pub out: Quiet,
}

/// `pgca deploy-server`.
#[derive(Debug, Args)]
pub struct DeployServerArgs {
    /// The server certificate's name (its first host name)
    #[arg(value_name = "NAME", required_unless_present = "cert")]
    pub name: Option<String>,

    /// The PostgreSQL data directory
    #[arg(long, value_name = "DIR", required = true)]
    pub data_dir: PathBuf,

    /// Owner of the installed files [default: the data directory's owner, the database user]
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,

    /// Add this server to the CA directory's probes list, which `pgca check` probes
    #[arg(long, value_name = "HOST[:PORT]")]
    pub probe: Option<String>,

    #[command(flatten)]
    pub out: Report,

    #[command(flatten)]
    pub files: DeployFileArgs,
}

/// `pgca client-install`.
#[derive(Debug, Args)]
pub struct ClientInstallArgs {
    /// The role
    #[arg(value_name = "ROLE", required_unless_present = "cert")]
    pub role: Option<String>,

    /// Where to install [default: ~/.postgresql of --owner, else of $HOME]
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,

    /// The user the files are for (name or uid): they are owned by that user, and DIR must be
    /// theirs [default: the user pgca runs as]
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,

    /// Replace existing files
    #[arg(long)]
    pub force: bool,

    /// Drop the record of this install (ROLE in DIR): renew no longer installs there, check
    /// and verify no longer look at it; the files stay
    #[arg(long, conflicts_with_all = ["force", "cert"])]
    pub forget: bool,

    #[command(flatten)]
    pub out: Report,

    #[command(flatten)]
    pub files: InstallFileArgs,
}

/// `pgca env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The role
    #[arg(value_name = "ROLE")]
    pub role: String,

    /// The server's host name (must be one of its certificate's names)
    #[arg(long, value_name = "HOST", required = true)]
    pub host: String,

    /// The server's port [default: libpq's, 5432]
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,

    /// The database [default: libpq's, the role name]
    #[arg(long, value_name = "DB")]
    pub dbname: Option<String>,

    #[command(flatten)]
    pub out: Quiet,
}
