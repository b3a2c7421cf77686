//! The command line: clap definitions only. `main.rs` turns them into library calls.
//!
//! Names, durations and key types are taken as plain strings and checked by the library, so that
//! a bad value gets pgca's one-line message and exit status 1, while exit status 2 stays what
//! it means for every tool: the command line itself was malformed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  failure: bad input (a name, duration or key type), an existing certificate without --force,
     a file that cannot be read or written, a CA that cannot sign
  2  usage error: unknown command or option, missing argument

The CA directory is --dir, else $PGCA_DIR, else $XDG_DATA_HOME/pgca, else ~/.local/share/pgca.";

const KEY_TYPES: &str = "ecdsa-p256 (default), ecdsa-p384, ed25519, rsa2048, rsa3072, rsa4096";

/// pgca: a certificate authority for PostgreSQL TLS.
///
/// Creates a server CA (clients trust it with sslrootcert and sslmode=verify-full) and a
/// separate client CA (the server trusts it with ssl_ca_file), then issues server certificates
/// for host names and client certificates whose CN is the PostgreSQL role, for pg_hba.conf's
/// `cert` method.
///
/// Typical start:
///   pgca init --server-host db.example.com
///   pgca issue-client alice
///   pgca list
#[derive(Debug, Parser)]
#[command(name = "pgca", version, after_long_help = EXIT_CODES, after_help = EXIT_CODES)]
pub struct Cli {
    /// The CA directory (created by `init`, mode 0700)
    #[arg(long, global = true, env = "PGCA_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the server CA and the client CA (and, with --server-host, a server certificate)
    ///
    /// Writes DIR/server-ca.crt, DIR/server-ca.key, DIR/client-ca.crt, DIR/client-ca.key (keys
    /// mode 0600) and DIR/inventory.jsonl. Refuses a directory that already holds a CA.
    Init(InitArgs),

    /// Issue a server certificate: CN = the first NAME, every NAME a subject alternative name
    ///
    /// Writes DIR/servers/NAME.crt and DIR/servers/NAME.key (EKU serverAuth). Give every name
    /// clients use in `host=`: DNS names (a leading `*.` wildcard allowed) and IP addresses.
    IssueServer(IssueServerArgs),

    /// Issue client certificates whose CN is the PostgreSQL role
    ///
    /// Writes DIR/clients/ROLE.crt and DIR/clients/ROLE.key (EKU clientAuth) for each ROLE.
    /// Several roles in one call are issued as one batch: all or, on bad input, none.
    IssueClient(IssueClientArgs),

    /// List every certificate in the inventory: kind, name, serial, expiry, days left, state
    ///
    /// States: valid; due (less than a third of its lifetime left); expired; not-yet-valid;
    /// superseded (a newer certificate of the same name exists).
    List(ListArgs),

    /// Show a certificate file: subject, SANs, issuer, serial, validity, key, usages, fingerprint
    Inspect(InspectArgs),
}

/// Options shared by the commands that issue a certificate.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Lifetime, e.g. 90d, 1y, 12h (units s, m, h, d, w, y) [default: 1y]
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub validity: Option<String>,

    /// Key type: ecdsa-p256 (default), ecdsa-p384, ed25519, rsa2048, rsa3072, rsa4096
    #[arg(long, value_name = "TYPE")]
    pub key_type: Option<String>,

    /// Replace an existing certificate of the same name (the old pair stays in the archive)
    #[arg(long)]
    pub force: bool,
}

/// `pgca init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also issue a server certificate for NAME (repeat for more names; the first is the CN)
    #[arg(long = "server-host", value_name = "NAME")]
    pub server_hosts: Vec<String>,

    /// Key type of both CAs (and of the server certificate)
    #[arg(long, value_name = "TYPE", long_help = format!("Key type of both CAs (and of the server certificate): {KEY_TYPES}"))]
    pub key_type: Option<String>,

    /// Lifetime of both CAs [default: 10y]
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub ca_validity: Option<String>,

    /// Lifetime of the server certificate issued with --server-host [default: 1y]
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub validity: Option<String>,

    /// Organisation (O=) in both CA subjects
    #[arg(long, value_name = "NAME", default_value = "pgca")]
    pub org: String,
}

/// `pgca issue-server`.
#[derive(Debug, Args)]
pub struct IssueServerArgs {
    /// Host names and IP addresses clients connect to
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,

    #[command(flatten)]
    pub issue: IssueArgs,
}

/// `pgca issue-client`.
#[derive(Debug, Args)]
pub struct IssueClientArgs {
    /// PostgreSQL role names (1-63 bytes; no control characters or '/')
    #[arg(value_name = "ROLE", required = true)]
    pub roles: Vec<String>,

    #[command(flatten)]
    pub issue: IssueArgs,

    /// Print nothing on success
    #[arg(long, short)]
    pub quiet: bool,
}

/// `pgca list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array instead of a table
    #[arg(long)]
    pub json: bool,
}

/// `pgca inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A PEM certificate file
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}
