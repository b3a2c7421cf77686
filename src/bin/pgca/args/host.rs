//! The file mode of `deploy-server` and `client-install`: a certificate, its key and the other
//! side's CA given as files, on a host without the CA directory (the key made there with
//! `pgca request`, the certificate signed on the CA host and sent back).

use std::path::PathBuf;

use clap::Args;

/// `deploy-server`'s two forms.
pub const DEPLOY_SERVER_USAGE: &str = "\
pgca deploy-server [OPTIONS] --data-dir <DIR> <NAME>
       pgca deploy-server [OPTIONS] --data-dir <DIR> --cert <FILE> --key <FILE> --ca-file <FILE>";

/// `client-install`'s two forms.
pub const CLIENT_INSTALL_USAGE: &str = "\
pgca client-install [OPTIONS] <ROLE>
       pgca client-install [OPTIONS] --cert <FILE> --key <FILE> --root <FILE>";

/// `deploy-server --cert --key --ca-file`.
#[derive(Debug, Args)]
pub struct DeployFileArgs {
    /// Install this server certificate (PEM) instead of NAME's from the CA directory: no CA
    /// directory needed. It must be a server certificate (serverAuth), valid now
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["name", "probe"],
        requires_all = ["key", "ca_file"],
        help_heading = "Without a CA directory"
    )]
    pub cert: Option<PathBuf>,

    /// The certificate's key (PKCS#8 PEM, not encrypted): owned by root or the user pgca runs
    /// as, mode 0600 (root's: at most 0640), as PostgreSQL requires
    #[arg(
        long,
        value_name = "FILE",
        requires = "cert",
        help_heading = "Without a CA directory"
    )]
    pub key: Option<PathBuf>,

    /// The client CA certificate (PEM), PostgreSQL's ssl_ca_file: client certificates must be
    /// signed by it. Not the CA that signed --cert
    #[arg(
        long,
        value_name = "FILE",
        requires = "cert",
        help_heading = "Without a CA directory"
    )]
    pub ca_file: Option<PathBuf>,

    /// The client CA's CRL (PEM), PostgreSQL's ssl_crl_file: revoked client certificates are
    /// refused. Signed by --ca-file's CA and current; keep it so (pgca crl on the CA host, then
    /// deploy again), or every client is refused
    #[arg(
        long,
        value_name = "FILE",
        requires = "cert",
        help_heading = "Without a CA directory"
    )]
    pub crl: Option<PathBuf>,
}

/// `client-install --cert --key --root`.
#[derive(Debug, Args)]
pub struct InstallFileArgs {
    /// Install this client certificate (PEM) instead of ROLE's from the CA directory: no CA
    /// directory needed. It must be a client certificate (clientAuth), valid now; its CN is the
    /// role
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "role",
        requires_all = ["key", "root"],
        help_heading = "Without a CA directory"
    )]
    pub cert: Option<PathBuf>,

    /// The certificate's key (PKCS#8 PEM, not encrypted): owned by root or the user pgca runs
    /// as, mode 0600 (root's: at most 0640), as libpq requires
    #[arg(
        long,
        value_name = "FILE",
        requires = "cert",
        help_heading = "Without a CA directory"
    )]
    pub key: Option<PathBuf>,

    /// The server CA certificate (PEM), libpq's sslrootcert: the server's certificate must be
    /// signed by it. Not the CA that signed --cert
    #[arg(
        long,
        value_name = "FILE",
        requires = "cert",
        help_heading = "Without a CA directory"
    )]
    pub root: Option<PathBuf>,

    /// The server CA's CRL (PEM), written as root.crl, where libpq looks for one: a revoked
    /// server certificate is refused. Signed by --root's CA and current; keep it so, or libpq
    /// refuses every server
    #[arg(
        long,
        value_name = "FILE",
        requires = "cert",
        help_heading = "Without a CA directory"
    )]
    pub crl: Option<PathBuf>,
}
