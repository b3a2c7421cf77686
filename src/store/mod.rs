//! A CA directory: the one place pgca keeps its CAs, certificates, keys and inventory.
//!
//! ```text
//! DIR/                              0700
//!   server-ca.crt  server-ca.key    the server CA (key 0600)
//!   client-ca.crt  client-ca.key    the client CA (key 0600)
//!   server-ca.pkcs11 client-ca.pkcs11  instead of the keys, when they are in a PKCS#11 token (0600)
//!   inventory.jsonl                 append-only log of everything issued (see inventory.rs)
//!   inventory.seal                  how many batches it had committed, and their hash chain
//!   server-ca.crl  client-ca.crl    the CRLs (`pgca revoke`, `pgca crl`)
//!   server-ca.next.crt .next.key    during a rollover, the new CA (see [`cas`]): then
//!                                   server-ca.crt and .crl hold both CAs, the one in use first
//!   ca-archive/                     retired CAs: SIDE-ca-<serial>.crt, .key (or .pkcs11), .crl
//!   .lock                           flock: one writer at a time
//!   .renew.lock                     flock: one `pgca renew` at a time
//!   .pending                        a batch under way (see below)
//!   probes                          the probes list `pgca check` probes
//!   inventory.jsonl.damaged-TIME    a damaged inventory `pgca repair` set aside
//!   servers/  clients/              0700, one set of entries per name:
//!     alice.crt -> alice.live/alice.crt
//!     alice.key -> alice.live/alice.key
//!     alice.live -> archive/<serial>          the switch: one atomic rename swaps cert and key
//!     alice.prev -> archive/<serial>          the pair it replaced, until the next renewal
//!     archive/<serial>/alice.crt, alice.key   every pair ever issued; never modified
//! ```
//!
//! `pgca verify` reports any other entry (see `ops/verify.rs`).
//!
//! A certificate signed from a request (`pgca sign`, [`sign`]) has an external key: its archive
//! directory holds the certificate alone and its name has no `NAME.key` link.
//!
//! `alice.crt` and `alice.key` are the paths to give PostgreSQL and libpq. They resolve through
//! `alice.live`, so replacing a certificate (`--force`, renewal) changes both files in one rename:
//! nothing ever reads a new certificate with an old key.
//!
//! A write goes: sign everything in memory (bad input writes nothing) → create `.pending` →
//! write each pair into `archive/<serial>` and make it durable (fsync, or one syncfs for a bulk
//! batch) → append the batch to the inventory, closed by its commit line, in one write and
//! fdatasync (the commit point: a batch whose commit line is missing or does not match is not
//! committed, whatever part of it reached the disk) → swap the `.live` links → remove `.pending`.
//! If the process dies, the next writer finds `.pending` and recovers: the archive directories
//! `.pending` lists that the inventory does not know are removed, links of recorded
//! certificates are rolled forward. Any other archive directory the inventory does not know is
//! evidence of a damaged inventory, never removed ([`evidence`]).

pub(crate) mod ca_files;
pub(crate) mod cas;
mod evidence;
pub(crate) mod hierarchy;
pub(crate) mod init;
pub(crate) mod issue;
mod journal;
pub mod layout;
pub(crate) mod ledger_cache;
pub mod list;
pub(crate) mod live;
pub(crate) mod made;
pub mod options;
pub(crate) mod parallel;
pub(crate) mod rollover_files;
pub mod sign;

pub use layout::{CaDir, default_dir};
pub use list::ListEntry;
pub use options::{
    BACKDATE_SECONDS, DEFAULT_CA_VALIDITY, DEFAULT_LEAF_VALIDITY, InitOptions, IssueOptions,
    IssuedCert, Progress,
};
