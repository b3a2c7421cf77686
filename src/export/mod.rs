//! Handing a certificate to something that is not libpq or a data directory: a directory of PEM
//! files, a PKCS#8 DER key for pgjdbc, a PKCS#12 keystore for Java and .NET, a Kubernetes TLS
//! Secret, or the Secrets CloudNativePG takes for user-provided certificates.
//!
//! Everything is read through the store's checked read of a name's current pair (a revoked,
//! expired or unrecorded certificate is refused), built in memory, and written through the
//! storage layer: into a directory reached by the trust walk, keys 0600 from the first byte,
//! nothing replaced without `force`, nothing half-written on error.
//!
//! - [`request`]: what to export, in which format, where; what was written.
//! - [`k8s`]: Secret manifests and DNS-1123 names.
//! - [`write`]: the output file or directory.
//! - [`run`]: `CaDir::export` and `CaDir::export_needs_signing`.
//! - [`inventory`]: `CaDir::export_inventory`, the inventory as one portable file.

pub mod import;
pub mod inventory;
pub mod k8s;
pub mod request;
pub mod run;
mod write;

pub use import::{ImportRequest, ImportTarget, InventoryImported, import_inventory};
pub use inventory::InventoryExported;
pub use request::{ExportFormat, ExportRequest, Exported, ReplicationCert};
pub use run::REPLICATION_ROLE;
