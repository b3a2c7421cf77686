//! An export's request and result.

use std::path::PathBuf;
use std::str::FromStr;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::model::kind::CertKind;
use crate::model::passphrase::Passphrase;
use crate::model::serial::Serial;

/// The formats `pgca export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportFormat {
    /// A directory `PATH/` with `NAME.crt`, `NAME.key` (0600) and `ca.crt`, the CA the peer
    /// is checked against (a client's: the server CA; a server's: the client CA).
    Pem,
    /// The key as PKCS#8 DER (pgjdbc's `sslkey`), mode 0600.
    Pk8,
    /// A PKCS#12 file: the key, its certificate and its CA, password-protected (see
    /// [`crate::x509::pkcs12`]).
    P12,
    /// A Kubernetes Secret of type `kubernetes.io/tls` (YAML), mode 0600.
    K8s,
    /// The Secrets CloudNativePG takes for user-provided certificates (multi-document YAML).
    Cnpg,
}

impl ExportFormat {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [ExportFormat; 5] = [
        ExportFormat::Pem,
        ExportFormat::Pk8,
        ExportFormat::P12,
        ExportFormat::K8s,
        ExportFormat::Cnpg,
    ];

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Pem => "pem",
            ExportFormat::Pk8 => "pk8",
            ExportFormat::P12 => "p12",
            ExportFormat::K8s => "k8s",
            ExportFormat::Cnpg => "cnpg",
        }
    }
}

impl std::fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExportFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| Error::InvalidValue {
                what: "export format",
                value: s.to_string(),
                reason: "expected pem, pk8, p12, k8s or cnpg",
            })
    }
}

/// What to export, and where.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ExportRequest {
    /// The certificate's name (a role or a server name).
    pub name: String,
    /// Server or client; `None`: whichever the name is (both: [`Error::Ambiguous`]).
    pub kind: Option<CertKind>,
    /// The format.
    pub format: ExportFormat,
    /// The output: a directory to create for [`ExportFormat::Pem`], else a file.
    pub out: PathBuf,
    /// Replace an existing output.
    pub force: bool,
    /// The PKCS#12 file's password ([`ExportFormat::P12`] only).
    pub password: Option<Passphrase>,
    /// The Secrets' namespace (`k8s`, `cnpg`); none: the manifest names none.
    pub namespace: Option<String>,
    /// The Secret's name (`k8s`) or the Secrets' prefix (`cnpg`); default `pgca-KIND-NAME`,
    /// made a DNS-1123 name.
    pub secret_name: Option<String>,
    /// The time expiry is judged at (and a replication certificate issued at); `None`: now.
    pub now: Option<OffsetDateTime>,
}

impl ExportRequest {
    /// `name` as `format` to `out`, not replacing anything.
    pub fn new(name: impl Into<String>, format: ExportFormat, out: PathBuf) -> ExportRequest {
        ExportRequest {
            name: name.into(),
            kind: None,
            format,
            out,
            force: false,
            password: None,
            namespace: None,
            secret_name: None,
            now: None,
        }
    }
}

/// The `streaming_replica` certificate a `cnpg` export carries.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReplicationCert {
    /// Its serial.
    pub serial: Serial,
    /// Whether this export issued it (none was current, unrevoked and unexpired).
    pub issued: bool,
}

/// What [`crate::store::layout::CaDir::export`] wrote.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Exported {
    /// The format.
    pub format: ExportFormat,
    /// Server or client.
    pub kind: CertKind,
    /// The name.
    pub name: String,
    /// The exported certificate's serial.
    pub serial: Serial,
    /// The output path (a directory for `pem`).
    pub out: PathBuf,
    /// Every file written.
    pub files: Vec<PathBuf>,
    /// The Secrets' names (`k8s`, `cnpg`).
    pub secrets: Vec<String>,
    /// The replication certificate (`cnpg`).
    pub replication: Option<ReplicationCert>,
}
