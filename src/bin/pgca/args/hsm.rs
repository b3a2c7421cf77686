//! `pgca init`'s PKCS#11 options: both CA keys generated inside a token (an HSM, a cloud KMS
//! behind PKCS#11, SoftHSM2).

use std::path::PathBuf;

use clap::Args;

/// Where `pgca init` generates the CA keys when they live in a PKCS#11 token.
#[derive(Debug, Args)]
pub struct Pkcs11Args {
    /// Generate both CA keys inside the PKCS#11 token with this label (or named by an RFC 7512
    /// pkcs11: URI: token=, serial=, ?module-path=); the user PIN is read like the passphrase
    #[arg(long, value_name = "LABEL|URI", conflicts_with = "no_passphrase")]
    pub pkcs11_token: Option<String>,

    /// The token's PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so: a
    /// regular file of root's or yours, not writable by others, reached through no link or
    /// directory another user controls
    #[arg(long, value_name = "PATH", requires = "pkcs11_token")]
    pub pkcs11_module: Option<PathBuf>,
}
