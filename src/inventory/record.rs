//! The records the inventory holds: issued certificates, deployments, revocations and CRLs.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::kind::CertKind;
use crate::model::serial::Serial;
use crate::x509::keys::KeyType;

/// One issued certificate, as recorded when it was issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Issued {
    /// Serial number.
    pub serial: Serial,
    /// What it is.
    pub kind: CertKind,
    /// Role (clients), first host name (servers), or `server-ca`/`client-ca`.
    pub name: String,
    /// Subject alternative names (servers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
    /// Key type.
    pub key_type: KeyType,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// The certificate file, relative to the CA directory (the archived copy, which never moves).
    pub cert: String,
    /// The key file, relative to the CA directory; empty for an external key (`pgca sign`),
    /// which the CA directory never holds.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Whether the key file is encrypted (`issue-client --encrypt-key`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted_key: bool,
    /// SHA-256 of the certificate (DER), hex: a file claiming to be this certificate must hash
    /// to it. `None` in records written before pgca kept it (their serial is compared instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// SHA-256 of the certified public key (DER SubjectPublicKeyInfo), hex: once a certificate
    /// is revoked, its key is never certified again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spki_sha256: Option<String>,
    /// Whether the key was made elsewhere and only its public key certified (`pgca sign`): the
    /// CA directory holds no private key for this certificate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external_key: bool,
    /// The certified public key (DER SubjectPublicKeyInfo, standard base64) of an external key:
    /// what `renew` signs again. `None` for keys the CA directory holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spki: Option<String>,
    /// The serial of the CA certificate that signed it (leaves). `None` in records written
    /// before pgca kept it: those were signed by the side's CA of the time, before any rollover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_serial: Option<Serial>,
    /// How it was authorised, for a certificate issued online (`pgca serve`): the enrollment
    /// token, or the certificate presented to renew it, and the peer. `None` for certificates
    /// issued on the CA host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized: Option<Box<crate::inventory::enrollment::Authorization>>,
}

impl Issued {
    /// The recorded public key of an external key (DER SubjectPublicKeyInfo), if any.
    pub fn external_spki(&self) -> Option<Vec<u8>> {
        use base64::Engine;
        let b64 = self.spki.as_deref().filter(|_| self.external_key)?;
        base64::engine::general_purpose::STANDARD.decode(b64).ok()
    }

    /// A record for a freshly issued certificate.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        serial: Serial,
        kind: CertKind,
        name: String,
        sans: Vec<String>,
        key_type: KeyType,
        validity: (OffsetDateTime, OffsetDateTime),
        issued_at: OffsetDateTime,
        files: (String, String),
    ) -> Issued {
        Issued {
            serial,
            kind,
            name,
            sans,
            key_type,
            not_before: validity.0,
            not_after: validity.1,
            issued_at,
            cert: files.0,
            key: files.1,
            encrypted_key: false,
            sha256: None,
            spki_sha256: None,
            external_key: false,
            spki: None,
            ca_serial: None,
            authorized: None,
        }
    }
}

/// A server certificate installed into a PostgreSQL data directory (`pgca deploy-server`).
/// Renewal installs the new certificate wherever the old one was deployed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Deployment {
    /// The server certificate's name.
    pub name: String,
    /// The data directory, absolute.
    pub data_dir: std::path::PathBuf,
    /// The serial installed.
    pub serial: Serial,
    /// The `--owner` given, if any (otherwise the data directory's owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The uid that owned the data directory (the database user): a later deployment (renewal)
    /// refuses a data directory that another user owns by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir_uid: Option<u32>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl Deployment {
    /// A record of a deployment made now.
    pub(crate) fn new(
        name: String,
        data_dir: PathBuf,
        serial: Serial,
        owner: Option<String>,
        at: OffsetDateTime,
    ) -> Deployment {
        Deployment {
            name,
            data_dir,
            serial,
            owner,
            data_dir_uid: None,
            at,
        }
    }
}

/// A client certificate installed into a directory (`pgca client-install`: `~/.postgresql` or
/// `--to DIR`). Renewal installs the new pair there again, under the same owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Install {
    /// The role.
    pub role: String,
    /// The directory, absolute.
    pub dir: PathBuf,
    /// The serial installed.
    pub serial: Serial,
    /// The `--owner` given, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The uid the files (and the directory) belong to: a later install (renewal) refuses a
    /// directory that another user owns by then.
    pub uid: u32,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// An install dropped from the records (`pgca client-install ROLE --forget`): nothing is
/// installed there again, and `check` and `verify` no longer look at it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstallForgotten {
    /// The role.
    pub role: String,
    /// The directory, absolute.
    pub dir: PathBuf,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A certificate revoked with `pgca revoke`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Revocation {
    /// The serial revoked.
    pub serial: Serial,
    /// Its kind.
    pub kind: CertKind,
    /// Its name.
    pub name: String,
    /// Why.
    pub reason: crate::model::reason::Reason,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// SHA-256 of the revoked certificate's public key, hex, when known: that key is never
    /// certified again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spki_sha256: Option<String>,
}

/// A CRL written (its number must only ever grow).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CrlRecord {
    /// Whose CRL: `server-ca` or `client-ca`.
    pub ca: CertKind,
    /// The CRL number.
    pub number: u64,
    /// thisUpdate.
    #[serde(with = "time::serde::rfc3339")]
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    #[serde(with = "time::serde::rfc3339")]
    pub next_update: OffsetDateTime,
    /// Whether nextUpdate was cut short to the CA certificate's notAfter, because the period
    /// asked for would have outlived the CA. Reported on the record of a CRL just written; not
    /// kept in the inventory, so `false` on records read from it.
    #[serde(skip)]
    pub clamped_to_ca_expiry: bool,
}

/// One line of the inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Event {
    /// A certificate was issued.
    Issued(Issued),
    /// A server certificate was deployed into a data directory.
    Deployed(Deployment),
    /// A certificate was revoked.
    Revoked(Revocation),
    /// A CRL was written.
    CrlIssued(CrlRecord),
    /// A client certificate was installed into a directory.
    Installed(Install),
    /// A recorded install was dropped.
    InstallForgotten(InstallForgotten),
    /// A CA rollover began (`pgca rollover start`).
    RolloverStarted(crate::inventory::rollover::RolloverStarted),
    /// A CA rollover moved issuing to the new CA (`pgca rollover switch`).
    RolloverSwitched(crate::inventory::rollover::RolloverStep),
    /// A CA rollover retired the old CA (`pgca rollover finish`).
    RolloverFinished(crate::inventory::rollover::RolloverStep),
    /// An enrollment token was minted (`pgca token`).
    TokenMinted(crate::inventory::enrollment::TokenMinted),
    /// An enrollment token was used (`pgca serve`): never accepted again.
    TokenUsed(crate::inventory::enrollment::TokenUsed),
}
