//! `pgca export`: a certificate and key in another format.

use std::path::PathBuf;

use clap::Args;

use super::Report;

/// `pgca export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The certificate: a role or a server name
    #[arg(value_name = "NAME")]
    pub name: String,

    /// pem, pk8, p12, k8s or cnpg
    #[arg(long, value_name = "FORMAT", required = true)]
    pub format: String,

    /// The file to write (pem: the directory to create)
    #[arg(long, value_name = "PATH", required = true)]
    pub out: PathBuf,

    /// server or client, when NAME is both [default: whichever NAME is]
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,

    /// p12: the file's password (first line of FILE, root's or yours, mode 0600) [default: a
    /// prompt, asked twice]
    #[arg(long, value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,

    /// k8s, cnpg: the Secrets' namespace [default: none in the manifest]
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// k8s: the Secret's name; cnpg: the Secrets' prefix [default: pgca-KIND-NAME, made a
    /// DNS-1123 name]
    #[arg(long = "name", id = "secret_name", value_name = "NAME")]
    pub secret_name: Option<String>,

    /// Replace an existing PATH
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub out_format: Report,
}
