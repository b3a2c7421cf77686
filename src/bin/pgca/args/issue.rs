//! `pgca issue-server` and `pgca issue-client`, and the options they share.

use std::path::PathBuf;

use clap::Args;

use super::Report;
use super::service::ServiceConnArgs;

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

/// `pgca issue-server`.
#[derive(Debug, Args)]
pub struct IssueServerArgs {
    /// Host names and IP addresses clients connect to
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,

    #[command(flatten)]
    pub issue: IssueArgs,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca issue-client`.
#[derive(Debug, Args)]
pub struct IssueClientArgs {
    /// PostgreSQL role names (1-63 bytes; no control characters, invisible characters, '/',
    /// '=', quotes, backslashes, leading '-' or leading or trailing spaces)
    #[arg(value_name = "ROLE", required = true)]
    pub roles: Vec<String>,

    #[command(flatten)]
    pub issue: IssueArgs,

    /// Accept a role name PostgreSQL allows but libpq, shells or readers mishandle (a leading
    /// '-', '=', quotes, a backslash, whitespace other than a space, invisible characters such as
    /// U+200B or U+200C); bidirectional controls, control characters, '/' and leading or
    /// trailing spaces are always refused
    #[arg(long)]
    pub allow_unusual_role: bool,

    /// Also write a pg_service.conf entry NAME for the role (one role only; needs --host)
    #[arg(long, value_name = "NAME", requires = "host")]
    pub service: Option<String>,

    /// Encrypt the client key (PKCS#8, scrypt + AES-256) with its own passphrase, from
    /// --key-passphrase-file or a prompt; libpq decrypts it with sslpassword or asks for it
    #[arg(long)]
    pub encrypt_key: bool,

    /// The client key's passphrase (first line of FILE, root's or yours, mode 0600); implies
    /// --encrypt-key
    #[arg(long, value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,

    /// Put the key's passphrase into the service entry as sslpassword (the file is 0600)
    #[arg(long, requires = "service")]
    pub sslpassword: bool,

    #[command(flatten)]
    pub conn: ServiceConnArgs,

    #[command(flatten)]
    pub out: Report,
}
