//! `list`: every certificate the inventory knows, with its state.

use std::path::PathBuf;

use serde::Serialize;
use time::OffsetDateTime;

use crate::error::Result;
use crate::model::kind::CertKind;
use crate::model::kind::CertState;
use crate::model::serial::Serial;
use crate::store::layout::CaDir;
use crate::x509::inspect::days_between;
use crate::x509::keys::KeyType;

/// One row of [`CaDir::list`].
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ListEntry {
    /// What it is.
    pub kind: CertKind,
    /// Role, first host name, or `server-ca`/`client-ca`.
    pub name: String,
    /// Serial number.
    pub serial: Serial,
    /// Subject alternative names.
    pub sans: Vec<String>,
    /// Key type.
    pub key_type: KeyType,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days left (negative once expired).
    pub days_left: i64,
    /// State at the time of listing.
    pub state: CertState,
    /// The certificate file: the live path for current ones, the archived copy otherwise.
    pub cert: PathBuf,
    /// Whether the key is external (`pgca sign`): the CA directory holds none for it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external_key: bool,
}

impl CaDir {
    /// Every certificate in the inventory with its state at `now`: the CAs first, then servers
    /// and clients by name, older certificates of a name before newer ones.
    pub fn list(&self, now: OffsetDateTime) -> Result<Vec<ListEntry>> {
        let ledger = self.inventory()?;
        let mut rows: Vec<ListEntry> = ledger
            .issued()
            .iter()
            .map(|i| ListEntry {
                kind: i.kind,
                name: i.name.clone(),
                serial: i.serial.clone(),
                sans: i.sans.clone(),
                key_type: i.key_type,
                not_before: i.not_before,
                not_after: i.not_after,
                days_left: days_between(now, i.not_after),
                state: ledger.state(i, now),
                cert: if i.kind.is_ca() {
                    self.root.join(&i.cert)
                } else if ledger.is_current(i) {
                    self.cert_path(i.kind, &i.name)
                } else {
                    self.root.join(&i.cert)
                },
                external_key: i.external_key,
            })
            .collect();
        rows.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name))); // stable: issue order kept
        Ok(rows)
    }
}
