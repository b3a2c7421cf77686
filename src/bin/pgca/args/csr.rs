//! `pgca request` and `pgca sign`: certificates for keys made elsewhere.

use std::path::PathBuf;

use clap::{ArgGroup, Args};

use super::Report;

/// `--server` or `--client`: always said, never guessed.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("kind").required(true).args(["server", "client"])))]
pub struct KindArgs {
    /// A server certificate (host names; EKU serverAuth)
    #[arg(long)]
    pub server: bool,

    /// A client certificate (one PostgreSQL role; EKU clientAuth)
    #[arg(long)]
    pub client: bool,
}

/// `pgca request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// --server: host names and IP addresses clients connect to (CN = the first, every name a
    /// subject alternative name); --client: the PostgreSQL role (one)
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,

    #[command(flatten)]
    pub kind: KindArgs,

    /// The directory to write NAME.key and NAME.csr into (created mode 0700 if missing; it must
    /// be one only root or you can change)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Key type: ecdsa-p256 (default), ecdsa-p384, ed25519, rsa2048, rsa3072, rsa4096
    #[arg(long, value_name = "TYPE")]
    pub key_type: Option<String>,

    /// Encrypt the key (PKCS#8, scrypt + AES-256) with its own passphrase, from
    /// --key-passphrase-file or a prompt; libpq decrypts it with sslpassword, PostgreSQL with
    /// ssl_passphrase_command
    #[arg(long)]
    pub encrypt_key: bool,

    /// The key's passphrase (first line of FILE, root's or yours, mode 0600); implies
    /// --encrypt-key
    #[arg(long, value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,

    /// Replace an existing NAME.key and NAME.csr in DIR
    #[arg(long)]
    pub force: bool,

    /// --client: accept a role name PostgreSQL allows but libpq, shells or readers mishandle (a
    /// leading '-', '=', quotes, a backslash, whitespace other than a space, invisible characters
    /// such as U+200B or U+200C); bidirectional controls, control characters, '/' and leading or
    /// trailing spaces are always refused
    #[arg(long)]
    pub allow_unusual_role: bool,

    #[command(flatten)]
    pub out_format: Report,
}

/// `pgca sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The certificate signing request (PKCS#10, PEM or DER), e.g. from pgca request
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub kind: KindArgs,

    /// Lifetime, e.g. 90d, 1y, 12h (units s, m, h, d, w, y) [default: 1y]
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub validity: Option<String>,

    /// Also write the certificate (PEM) to FILE, to hand to the host [default: only
    /// DIR/servers/NAME.crt or DIR/clients/ROLE.crt]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Replace an existing certificate of the same name (the old one stays in the archive) and
    /// an existing --out FILE
    #[arg(long)]
    pub force: bool,

    /// --client: accept a role name PostgreSQL allows but libpq, shells or readers mishandle (a
    /// leading '-', '=', quotes, a backslash, whitespace other than a space, invisible characters
    /// such as U+200B or U+200C); bidirectional controls, control characters, '/' and leading or
    /// trailing spaces are always refused
    #[arg(long)]
    pub allow_unusual_role: bool,

    #[command(flatten)]
    pub out_format: Report,
}
