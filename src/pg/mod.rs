//! PostgreSQL's and libpq's side: server configuration and deployment into a data
//! directory, client files and environment, connection strings for drivers, and `pg_service.conf`.

pub mod client;
pub mod conninfo;
pub mod given;
pub mod server;
pub mod service;

pub use client::{
    ClientInstalled, ClientPaths, Connection, InstallFiles, InstallOptions, ServiceRequest,
    default_client_dir, install_files, install_pems,
};
pub use conninfo::Driver;
pub use given::GivenPems;
pub use server::{DeployFiles, Deployed, deploy_files, deploy_pems};
pub use service::{ServiceFile, Upserted};
