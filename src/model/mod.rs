//! The shared vocabulary every other module imports, and that imports nothing of theirs: names,
//! kinds and sides, states, statuses, revocation reasons, serials, validity periods, the clock's
//! formats and the passphrase type.
//!
//! Nothing here touches a file except [`passphrase::Passphrase::from_file`].

pub mod due;
pub mod hex;
pub mod kind;
pub mod names;
pub mod parse;
pub mod passphrase;
pub mod reason;
pub mod serial;
pub mod status;
pub mod text;
pub mod timefmt;
pub mod validity;
