//! The inventory in PostgreSQL (`--inventory postgresql://…`): the records `inventory.jsonl`
//! keeps, one row each, in a `pgca` schema that pgca creates and migrates itself
//! ([`schema`]). Several `pgca serve` processes, and the CLI, share one inventory there; the
//! database's replication and failover keep it, not a scheme of pgca's own.
//!
//! - Every write is one batch, as in the file: one SERIALIZABLE transaction that inserts the
//!   batch's rows, retried on a serialization failure ([`store`]).
//! - Writers hold the inventory's advisory lock for the whole operation, as they hold the CA
//!   directory's lock file: what they planned against is what they commit after. A write whose
//!   connection was lost after it planned is refused, never committed against a stale plan.
//! - A serial is issued once, a token used once and a certificate renewed once, by unique
//!   indexes: two processes can never both commit either.
//! - Readers keep the ledger in memory and fetch only the rows after the last one they saw.
//! - The certificates and CRLs the records describe are kept beside them ([`files`]), committed
//!   in the same transaction: a `serve` host answers from the database what another host issued.

pub mod connect;
pub mod files;
pub mod retry;
pub mod schema;
pub mod store;

pub(crate) use files::PublishedFile;
pub use schema::SCHEMA_VERSION;
pub use store::InventoryDb;
