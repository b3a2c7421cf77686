//! `pgca init`: the two CAs, and a first server certificate with `--server-host`.

use clap::Args;

use super::{Pkcs11Args, Report};

const KEY_TYPES: &str = "ecdsa-p256 (default), ecdsa-p384, ed25519, rsa2048, rsa3072, rsa4096";

/// `pgca init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also issue a server certificate for NAME (repeat for more names; the first of at most 64
    /// characters is the CN)
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

    /// Store the CA keys unencrypted (by default they are encrypted with a passphrase)
    #[arg(long)]
    pub no_passphrase: bool,

    /// Per CA a root (the trust anchor, SIDE-ca.crt) and an issuing intermediate it signs
    /// (SIDE-issuing.crt) that signs every certificate; certificate files then hold the chain
    #[arg(long)]
    pub intermediate: bool,

    #[command(flatten)]
    pub pkcs11: Pkcs11Args,

    #[command(flatten)]
    pub out: Report,
}
