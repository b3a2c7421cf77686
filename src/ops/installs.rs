//! The recorded client installs (`pgca client-install`, `~/.postgresql` or `--to DIR`) against
//! the current certificate of each role, for `check` and `verify`: a copy left on an old serial
//! keeps working only until that certificate expires or is revoked, and then the client breaks
//! with no warning. `pgca renew` installs renewed pairs again; `client-install --forget` drops a
//! record.

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::inventory::Install;
use crate::model::kind::CertKind;
use crate::model::serial::Serial;
use crate::model::status::Status;
use crate::ops::check::{Finding, FindingState};
use crate::storage;
use crate::store::layout::CaDir;
use crate::x509::inspect::CertInfo;

/// The most pgca reads of an installed certificate.
const MAX_CERT: u64 = 1 << 20;

impl CaDir {
    /// A finding for every recorded install whose `postgresql.crt` is not the current
    /// certificate of its role (`current`), is past its end, or cannot be read. Installs that
    /// hold the current certificate give no finding.
    pub(crate) fn judge_installs(
        &self,
        installs: &[Install],
        current: impl Fn(&str) -> Option<Serial>,
        now: OffsetDateTime,
    ) -> Vec<Finding> {
        installs
            .iter()
            .filter_map(|i| judge_install(i, current(&i.role), now))
            .collect()
    }
}

fn judge_install(i: &Install, current: Option<Serial>, now: OffsetDateTime) -> Option<Finding> {
    let path = i.dir.join("postgresql.crt");
    let mut f = Finding {
        kind: CertKind::Client,
        name: i.role.clone(),
        path: path.clone(),
        serial: None,
        not_after: None,
        seconds_left: None,
        status: Status::Warning,
        state: FindingState::NotRecorded,
        detail: String::new(),
        external_key: false,
        needs_new_csr: false,
        lifetime: None,
    };
    let info = match read_installed(i) {
        Ok(info) => info,
        Err(e) => {
            f.state = FindingState::Unreadable;
            f.detail = format!(
                "the install of {} in {} cannot be read ({e}): install again, or drop the record with `client-install --forget`",
                i.role,
                i.dir.display()
            );
            return Some(f);
        }
    };
    f.serial = Some(info.serial.clone());
    f.not_after = Some(info.not_after);
    f.seconds_left = Some((info.not_after - now).whole_seconds());
    if now >= info.not_after {
        f.status = Status::Critical;
        f.state = FindingState::Expired;
        f.detail = format!(
            "the install of {} in {} holds serial {}, expired: the client is refused",
            i.role,
            i.dir.display(),
            info.serial
        );
        return Some(f);
    }
    if Some(&info.serial) == current.as_ref() {
        return None;
    }
    f.detail = format!(
        "the install of {} in {} holds serial {}, not the current {}: run pgca renew, or pgca client-install {} --to {} --force",
        i.role,
        i.dir.display(),
        info.serial,
        current.map_or_else(|| "(none)".to_string(), |s| s.to_string()),
        i.role,
        i.dir.display()
    );
    Some(f)
}

/// The installed `postgresql.crt`, read through the trust walk for the install's owner: no
/// link, FIFO or device followed.
fn read_installed(i: &Install) -> crate::error::Result<CertInfo> {
    let dir = storage::open_dir(&i.dir, &storage::Trust::with_owner(i.uid), None)?;
    let pem = dir.read_file("postgresql.crt", MAX_CERT, "read installed certificate")?;
    CertInfo::from_pem(&pem).map_err(|reason| crate::error::Error::BadCert {
        path: PathBuf::from(&i.dir).join("postgresql.crt"),
        reason,
    })
}
