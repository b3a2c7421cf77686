//! Why a certificate was revoked, and how much of a name a revocation takes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Why a certificate was revoked (RFC 5280 §5.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reason {
    /// No reason given (not written into the CRL entry).
    Unspecified,
    /// The key leaked, or may have: a lost laptop.
    KeyCompromise,
    /// The CA's key leaked.
    #[serde(rename = "cACompromise")]
    CaCompromise,
    /// The subject changed organisation or role.
    AffiliationChanged,
    /// Replaced by a newer certificate.
    Superseded,
    /// No longer needed: someone left, a server was retired.
    CessationOfOperation,
    /// Its privileges were withdrawn.
    PrivilegeWithdrawn,
}

impl Reason {
    /// Every reason, by its RFC 5280 name.
    pub const ALL: [Reason; 7] = [
        Reason::Unspecified,
        Reason::KeyCompromise,
        Reason::CaCompromise,
        Reason::AffiliationChanged,
        Reason::Superseded,
        Reason::CessationOfOperation,
        Reason::PrivilegeWithdrawn,
    ];

    /// The RFC 5280 name, e.g. `keyCompromise`.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "keyCompromise",
            Reason::CaCompromise => "cACompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
            Reason::PrivilegeWithdrawn => "privilegeWithdrawn",
        }
    }
}

impl FromStr for Reason {
    type Err = Error;

    /// Accepts the RFC 5280 names in any case (`keyCompromise`, `keycompromise`).
    fn from_str(s: &str) -> Result<Self> {
        Reason::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnknownReason(s.to_string()))
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which certificates of a name `CaDir::revoke` revokes (a serial is always just itself).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// Every certificate of the name that has not expired: a name revoked is revoked whole.
    #[default]
    Unexpired,
    /// Only the current certificate; the others stay valid and are reported.
    Current,
    /// Every certificate of the name, expired ones too.
    All,
}
