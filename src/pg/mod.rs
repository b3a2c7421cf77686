//! PostgreSQL's and libpq's side: server configuration and deployment into a data
//! directory, client files and environment, and `pg_service.conf`.

pub mod client;
pub mod server;
pub mod service;
