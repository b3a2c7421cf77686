//! The JSON of `--json` where the library's types are not the whole answer: small serde structs
//! that borrow from the library's results, one per command, in the order of their fields.
//! Times are RFC 3339, serials lowercase hex, paths as given by the library (absolute).

use std::path::{Path, PathBuf};

use pgca::inventory::CrlRecord;
use pgca::ops::renew::RenewReport;
use pgca::ops::revoke::Revoked;
use pgca::pg::server::Deployed;
use pgca::{CertInfo, CertKind, IssuedCert, KeyType, Serial, Side};
use serde::Serialize;
use time::OffsetDateTime;

/// `inspect --json` of a certificate: the library's [`CertInfo`], with days left and the file.
#[derive(Serialize)]
struct InspectJson<'a> {
    #[serde(flatten)]
    info: &'a CertInfo,
    days_left: i64,
    file: String,
}

/// `inspect --json` of a certificate, its keys sorted as every version of pgca printed them.
pub fn inspect_json(file: &Path, info: &CertInfo, now: OffsetDateTime) -> serde_json::Value {
    let v = InspectJson {
        info,
        days_left: info.days_left(now),
        file: file.display().to_string(),
    };
    serde_json::to_value(v).expect("certificate info serialises")
}

/// A certificate just issued or renewed.
#[derive(Serialize)]
pub struct IssuedJson<'a> {
    kind: CertKind,
    name: &'a str,
    serial: &'a Serial,
    key_type: KeyType,
    #[serde(with = "time::serde::rfc3339")]
    not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    not_after: OffsetDateTime,
    cert: &'a Path,
    /// The key file; null for an external key (`pgca sign`), which the CA directory never holds.
    key: Option<&'a Path>,
    /// The serial of the certificate it replaced (`--force`), or null.
    replaced: Option<&'a Serial>,
    /// Present (true) for an external key: the certificate's public key was signed, its
    /// private key stays on its host (a renewal re-signed the recorded public key).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    external_key: bool,
}

impl<'a> From<&'a IssuedCert> for IssuedJson<'a> {
    fn from(i: &'a IssuedCert) -> Self {
        IssuedJson {
            kind: i.kind,
            name: &i.name,
            serial: &i.serial,
            key_type: i.key_type,
            not_before: i.not_before,
            not_after: i.not_after,
            cert: &i.cert_path,
            key: (!i.external_key).then_some(i.key_path.as_path()),
            replaced: i.replaced.as_ref(),
            external_key: i.external_key,
        }
    }
}

/// A CA certificate `init` created.
#[derive(Serialize)]
pub struct CaJson<'a> {
    kind: CertKind,
    cert: &'a Path,
    #[serde(with = "time::serde::rfc3339")]
    not_after: OffsetDateTime,
}

/// `init --json`: both CAs, and the server certificate if one was issued.
#[derive(Serialize)]
pub struct InitJson<'a> {
    cas: Vec<CaJson<'a>>,
    issued: Vec<IssuedJson<'a>>,
}

/// `init --json`.
pub fn init_json<'a>(
    cas: &'a [(Side, PathBuf, OffsetDateTime)],
    server: Option<&'a IssuedCert>,
) -> InitJson<'a> {
    InitJson {
        cas: cas
            .iter()
            .map(|(side, cert, not_after)| CaJson {
                kind: side.ca_kind(),
                cert,
                not_after: *not_after,
            })
            .collect(),
        issued: server.into_iter().map(IssuedJson::from).collect(),
    }
}

/// A service entry written with `issue-client --service`.
#[derive(Serialize)]
pub struct ServiceJsonRef<'a> {
    name: &'a str,
    file: &'a Path,
}

/// `issue-server --json` and `issue-client --json`: the certificates, and the service entry
/// written with them (`--service`).
#[derive(Serialize)]
pub struct IssueJson<'a> {
    issued: Vec<IssuedJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<ServiceJsonRef<'a>>,
}

/// `issue-server --json` and `issue-client --json`.
pub fn issue_json<'a>(
    issued: &'a [IssuedCert],
    service: Option<(&'a str, &'a Path)>,
) -> IssueJson<'a> {
    IssueJson {
        issued: issued.iter().map(IssuedJson::from).collect(),
        service: service.map(|(name, file)| ServiceJsonRef { name, file }),
    }
}

/// A CA key after `passwd`.
#[derive(Serialize)]
pub struct KeyJson<'a> {
    file: &'a Path,
    encrypted: bool,
}

/// `passwd --json`.
#[derive(Serialize)]
pub struct PasswdJson<'a> {
    keys: Vec<KeyJson<'a>>,
}

/// `passwd --json`.
pub fn passwd_json(keys: &[(PathBuf, bool)]) -> PasswdJson<'_> {
    PasswdJson {
        keys: keys
            .iter()
            .map(|(file, encrypted)| KeyJson {
                file,
                encrypted: *encrypted,
            })
            .collect(),
    }
}

/// A certificate named by kind, name and serial.
#[derive(Serialize)]
pub struct CertRef<'a> {
    kind: CertKind,
    name: &'a str,
    serial: &'a Serial,
}

fn cert_refs(v: &[(CertKind, String, Serial)]) -> Vec<CertRef<'_>> {
    v.iter()
        .map(|(kind, name, serial)| CertRef {
            kind: *kind,
            name,
            serial,
        })
        .collect()
}

/// A CRL just written: the inventory's record, its file, and whether its nextUpdate was cut
/// to the CA's expiry.
#[derive(Serialize)]
pub struct CrlJson<'a> {
    file: PathBuf,
    #[serde(flatten)]
    record: &'a CrlRecord,
    clamped_to_ca_expiry: bool,
}

/// A CRL written in the CA directory `root`.
pub fn crl_json<'a>(root: &Path, record: &'a CrlRecord) -> CrlJson<'a> {
    CrlJson {
        file: root.join(format!("{}.crl", record.ca)),
        record,
        clamped_to_ca_expiry: record.clamped_to_ca_expiry,
    }
}

/// `crl --json`.
#[derive(Serialize)]
pub struct CrlsJson<'a> {
    crls: Vec<CrlJson<'a>>,
}

/// `crl --json`.
pub fn crls_json<'a>(root: &Path, records: &'a [CrlRecord]) -> CrlsJson<'a> {
    CrlsJson {
        crls: records.iter().map(|c| crl_json(root, c)).collect(),
    }
}

/// `revoke --json`.
#[derive(Serialize)]
pub struct RevokeJson<'a> {
    revoked: Vec<CertRef<'a>>,
    already: Vec<CertRef<'a>>,
    still_valid: Vec<CertRef<'a>>,
    crl: Option<CrlJson<'a>>,
    redeployed: &'a [PathBuf],
}

/// `revoke --json`.
pub fn revoke_json<'a>(root: &Path, done: &'a Revoked) -> RevokeJson<'a> {
    RevokeJson {
        revoked: cert_refs(&done.revoked),
        already: cert_refs(&done.already),
        still_valid: cert_refs(&done.still_valid),
        crl: done.crl_record.as_ref().map(|c| crl_json(root, c)),
        redeployed: &done.redeployed,
    }
}

/// One renewal in `renew --json`.
#[derive(Serialize)]
pub struct RenewalJson<'a> {
    old_serial: &'a Serial,
    issued: IssuedJson<'a>,
    redeployed: &'a [PathBuf],
    #[serde(skip_serializing_if = "<[PathBuf]>::is_empty")]
    reinstalled: &'a [PathBuf],
}

/// `renew --json`: what was renewed, the CRLs re-issued, the revoked names left alone, and
/// the failures (also on stderr).
#[derive(Serialize)]
pub struct RenewJson<'a> {
    renewed: Vec<RenewalJson<'a>>,
    crls: Vec<CrlJson<'a>>,
    revoked: Vec<CertRef<'a>>,
    /// Due or named, left to their host's `pgca agent` (issued online).
    online: Vec<CertRef<'a>>,
    /// Deployments and installs written again for their CA bundle or CRL alone.
    refreshed: &'a [std::path::PathBuf],
    failures: Vec<String>,
}

/// `renew --json`.
pub fn renew_json<'a>(root: &Path, report: &'a RenewReport) -> RenewJson<'a> {
    RenewJson {
        renewed: report
            .renewed
            .iter()
            .map(|r| RenewalJson {
                old_serial: &r.old_serial,
                issued: IssuedJson::from(&r.issued),
                redeployed: &r.redeployed,
                reinstalled: &r.reinstalled,
            })
            .collect(),
        crls: report.crls.iter().map(|c| crl_json(root, c)).collect(),
        revoked: cert_refs(&report.revoked),
        online: cert_refs(&report.online),
        refreshed: &report.refreshed,
        failures: report.failures.iter().map(ToString::to_string).collect(),
    }
}

/// `deploy-server --json`.
#[derive(Serialize)]
pub struct DeployedJson<'a> {
    name: &'a str,
    serial: &'a Serial,
    data_dir: &'a Path,
    include_file: &'a Path,
    cert: &'a Path,
    key: &'a Path,
    client_ca: &'a Path,
}

/// `deploy-server --json`.
pub fn deployed_json<'a>(name: &'a str, d: &'a Deployed) -> DeployedJson<'a> {
    DeployedJson {
        name,
        serial: &d.serial,
        data_dir: &d.data_dir,
        include_file: &d.include_file,
        cert: &d.cert,
        key: &d.key,
        client_ca: &d.client_ca,
    }
}

/// `client-install --json`.
#[derive(Serialize)]
pub struct InstalledJson<'a> {
    role: &'a str,
    dir: &'a Path,
    files: &'a [PathBuf],
}

/// `client-install --json`.
pub fn installed_json<'a>(role: &'a str, dir: &'a Path, files: &'a [PathBuf]) -> InstalledJson<'a> {
    InstalledJson { role, dir, files }
}

/// `service add --json`.
#[derive(Serialize)]
pub struct ServiceAddedJson<'a> {
    /// `added` or `replaced`.
    action: &'static str,
    name: &'a str,
    file: &'a Path,
}

/// `service add --json`.
pub fn service_added_json<'a>(
    replaced: bool,
    name: &'a str,
    file: &'a Path,
) -> ServiceAddedJson<'a> {
    ServiceAddedJson {
        action: if replaced { "replaced" } else { "added" },
        name,
        file,
    }
}

/// `conninfo --json`.
#[derive(Serialize)]
pub struct ConninfoJson<'a> {
    driver: &'a str,
    text: &'a str,
}

/// `conninfo --json`.
pub fn conninfo_json<'a>(driver: &'a str, text: &'a str) -> ConninfoJson<'a> {
    ConninfoJson { driver, text }
}

/// `export --json`: the replication certificate of a cnpg export.
#[derive(Serialize)]
pub struct ReplicationJson<'a> {
    role: &'static str,
    serial: &'a Serial,
    issued: bool,
}

/// `export --json`.
#[derive(Serialize)]
pub struct ExportedJson<'a> {
    kind: &'static str,
    name: &'a str,
    serial: &'a Serial,
    format: &'static str,
    out: &'a Path,
    files: &'a [PathBuf],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    secrets: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    replication: Option<ReplicationJson<'a>>,
}

/// `export --json`.
pub fn exported_json(e: &pgca::Exported) -> ExportedJson<'_> {
    ExportedJson {
        kind: e.kind.name(),
        name: &e.name,
        serial: &e.serial,
        format: e.format.name(),
        out: &e.out,
        files: &e.files,
        secrets: &e.secrets,
        replication: e.replication.as_ref().map(|r| ReplicationJson {
            role: pgca::export::REPLICATION_ROLE,
            serial: &r.serial,
            issued: r.issued,
        }),
    }
}

/// `inventory export --json`.
#[derive(Serialize)]
pub struct InventoryExportedJson<'a> {
    file: &'a Path,
    format: &'a str,
    version: u32,
    records: usize,
    sha256: &'a str,
}

/// `inventory export --json`.
pub fn inventory_exported_json(e: &pgca::InventoryExported) -> InventoryExportedJson<'_> {
    InventoryExportedJson {
        file: &e.path,
        format: &e.header.format,
        version: e.header.version,
        records: e.header.events,
        sha256: &e.header.sha256,
    }
}

/// `inventory import --json`.
#[derive(Serialize)]
pub struct InventoryImportedJson<'a> {
    into: &'a str,
    records: usize,
    files: u64,
    sha256: &'a str,
}

/// `inventory import --json`.
pub fn inventory_imported_json(e: &pgca::InventoryImported) -> InventoryImportedJson<'_> {
    InventoryImportedJson {
        into: &e.target,
        records: e.header.events,
        files: e.files,
        sha256: &e.header.sha256,
    }
}
