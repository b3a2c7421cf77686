//! The inventory: an append-only log of everything the CA has done, `DIR/inventory.jsonl`.
//!
//! One JSON object per line, each with an `event` field. Whatever state a certificate is in
//! (current, superseded by a later one of the same name, expired) is derived from the log, not
//! stored, so it can never disagree with it.
//!
//! Every write is one batch: its event lines, then a commit line that counts them and carries
//! the SHA-256 of their bytes (newlines included), all in a single `write` followed by
//! `fdatasync`. Issuing 150 certificates appends:
//!
//! ```text
//! {"event":"issued","serial":"…","kind":"client","name":"r0",…}
//! …
//! {"event":"issued","serial":"…","kind":"client","name":"r149",…}
//! {"event":"commit","events":150,"sha256":"9f2c…"}
//! ```
//!
//! The cost of a write does not grow with the inventory, and a batch is all or nothing. A kill
//! can stop a large write part-way and a power cut can keep only some of its blocks; either way
//! the commit line is missing, or the lines before it do not match it and hold the NUL bytes of a
//! lost block. Readers skip such a batch at the end of the file ([`Ledger::torn_tail`]) and the
//! next writer cuts it off, back to the end of the last committed record. A commit line is what
//! makes a batch complete, not the final newline: a last line that lost its newline (an editor, a
//! copy) but reads as a matching commit is committed, and the next writer adds the newline.
//!
//! Anything else that does not fit is [`Error::CorruptInventory`] naming the line, never
//! dropped: an unreadable committed line, a line between two batches that no commit covers, a
//! commit that does not match its batch with more lines after it, or without the damage of an
//! interrupted write (an edit).
//!
//! Inventories written before batches were framed have no commit lines. Their lines are
//! committed records, a last line without its newline included if it reads as one, and the first
//! write to such a file appends an empty commit line (`"events":0`), durably, before its batch:
//! lines before the first commit that it does not cover are those older records.

pub mod db;
pub mod enrollment;
pub mod export;
pub mod ledger;
pub mod log;
pub mod record;
pub mod rollover;
pub mod seal;

pub(crate) use db::PublishedFile;
pub use db::{InventoryDb, SCHEMA_VERSION};
pub use enrollment::{Authorization, TokenMinted, TokenState, TokenUsed, Tokens};
pub use export::{EXPORT_FORMAT, EXPORT_VERSION, ExportHeader};
pub use ledger::Ledger;
pub use log::{INVENTORY_FILE, path_in, read};
pub use record::{CrlRecord, Deployment, Event, Install, InstallForgotten, Issued, Revocation};
pub use rollover::{Rollover, RolloverPhase, RolloverStarted, RolloverStep};
pub use seal::SEAL_FILE;
