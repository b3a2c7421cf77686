//! `pgca audit`'s offline part: PostgreSQL's own configuration read by PostgreSQL's rules, so
//! that what the server will do can be judged without asking it.
//!
//! - [`conf`]: `postgresql.conf` (`guc-file.l`): settings, quoting and escapes, the last
//!   setting of a name winning, `include`, `include_if_exists`, `include_dir`; and
//!   `postgresql.auto.conf` after it, as the server reads them.
//! - [`hba`]: `pg_hba.conf` (`hba.c`): rules with their connection type, databases, users,
//!   address, method and options.
//! - [`ident`]: `pg_ident.conf`: user name maps.
//!
//! Every file, the included ones too, is read through the trust walk (`storage`): each
//! directory on the way owned by root, the user pgca runs as or the cluster's owner when given,
//! and writable by nobody else; a link followed only when root or the user pgca runs as owns
//! it. A line PostgreSQL would refuse is [`crate::error::Error::BadConfig`], naming the file and
//! line; includes nest at most [`MAX_DEPTH`] deep, and a file that includes itself is refused.

pub mod conf;
pub mod hba;
pub mod ident;
mod source;
mod tokens;

pub use conf::{AUTO_CONF, Setting, Settings, read_postgresql_conf, read_server_conf};
pub use hba::{AuthMethod, ConnType, HbaAddress, HbaName, HbaRule, read_pg_hba};
pub use ident::{IdentMap, SystemUser, read_pg_ident};
pub use source::MAX_DEPTH;
