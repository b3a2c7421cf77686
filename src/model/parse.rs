//! Reading the vocabulary from text where its parse errors need [`crate::error::Error`], which
//! itself names kinds: kept apart from `kind.rs` so that the error type can import kinds.

use crate::error::Error;
use crate::model::kind::Side;

impl std::str::FromStr for Side {
    type Err = Error;

    /// `server` or `client`.
    fn from_str(s: &str) -> Result<Side, Self::Err> {
        Side::BOTH
            .into_iter()
            .find(|side| side.name() == s)
            .ok_or_else(|| Error::InvalidValue {
                what: "CA",
                value: s.to_string(),
                reason: "expected server or client",
            })
    }
}
