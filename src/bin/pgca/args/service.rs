//! `pgca service add|remove|list|show`, and the connection options a service entry holds
//! (also `issue-client --service`'s).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Quiet, Report};

/// `pgca service ...`.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Write a service entry: host, port, user, dbname, sslmode=verify-full, sslrootcert,
    /// sslcert, sslkey (absolute paths); an existing entry is replaced only with --force
    Add(ServiceAddArgs),
    /// Remove a service entry
    Remove(ServiceNameArgs),
    /// List the services in the file
    List(ServiceListArgs),
    /// Show a service entry as libpq reads it
    Show(ServiceNameArgs),
}

/// Where the service file is.
#[derive(Debug, Args)]
pub struct ServiceFileArg {
    /// The service file [default: $PGSERVICEFILE, else ~/.pg_service.conf]
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// The user the service file is for (name or uid): directories on the way to it may be
    /// theirs, and a new file is theirs [default: the user pgca runs as]
    #[arg(long = "file-owner", value_name = "USER")]
    pub owner: Option<String>,
}

/// Connection options of a service entry.
#[derive(Debug, Args)]
pub struct ServiceConnArgs {
    /// The server's host name (one of its certificate's names)
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// The server's port
    #[arg(long, value_name = "PORT", default_value = "5432")]
    pub port: String,

    /// The database (libpq's default: the role name)
    #[arg(long, value_name = "DB")]
    pub dbname: Option<String>,

    /// Add sslcrl with the server CA's CRL (it must exist: pgca crl), so libpq refuses a
    /// revoked server certificate
    #[arg(long)]
    pub crl: bool,

    #[command(flatten)]
    pub file: ServiceFileArg,
}

/// `pgca service add`.
#[derive(Debug, Args)]
pub struct ServiceAddArgs {
    /// The service name (psql "service=NAME")
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The role whose certificate the entry uses
    #[arg(long, value_name = "ROLE", required = true)]
    pub role: String,

    #[command(flatten)]
    pub conn: ServiceConnArgs,

    /// Replace an existing entry of that name
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca service remove` and `show`.
#[derive(Debug, Args)]
pub struct ServiceNameArgs {
    /// The service name
    #[arg(value_name = "NAME")]
    pub name: String,

    #[command(flatten)]
    pub file: ServiceFileArg,

    #[command(flatten)]
    pub out: Quiet,
}

/// `pgca service list`.
#[derive(Debug, Args)]
pub struct ServiceListArgs {
    /// Print JSON instead of text
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    #[command(flatten)]
    pub file: ServiceFileArg,

    #[command(flatten)]
    pub out: Quiet,
}
