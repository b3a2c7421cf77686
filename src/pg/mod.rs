//! PostgreSQL's and libpq's side: server configuration and deployment into a data
//! directory, client files and environment, connection strings for drivers, and `pg_service.conf`.

pub mod client;
pub mod conninfo;
mod given;
pub mod server;
pub mod service;
