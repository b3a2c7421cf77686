//! Opening a connection to the inventory database: the connection string read as libpq reads
//! it (a URI or `key=value` pairs, a service, `PG*` variables, `~/.pgpass`), every host of it
//! tried in turn (`target_session_attrs=read-write` finds the primary), TLS as `sslmode` says
//! with a client certificate if given: the same client as `pgca audit`'s live read.

use std::time::Duration;

use postgres::Client;

use crate::audit::libpq::{self, Env, Params};
use crate::audit::live_connect;
use crate::error::{Error, Result};

/// How long one connection attempt (every host) may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection string, checked and kept with its redacted form for messages.
#[derive(Clone)]
pub(crate) struct Target {
    conninfo: zeroize::Zeroizing<String>,
    /// The connection string with its secrets replaced by `***`.
    pub(crate) shown: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Target {
    /// Reads `conninfo`. A password or sslpassword written into it is refused: the string
    /// comes from a command line or an environment variable that other users, and the commands
    /// `renew --exec` runs, can read. A passfile (`~/.pgpass`), a service file or a client
    /// certificate gives the secret instead.
    pub(crate) fn parse(conninfo: &str) -> Result<Target> {
        let shown = libpq::redact(conninfo);
        if let Some(key) = libpq::written_secret(conninfo) {
            return Err(Error::InventoryDb {
                target: shown,
                reason: format!(
                    "a {key} written into the connection string would be readable by other \
                     users: use a passfile (~/.pgpass), a service (pg_service.conf) or a client \
                     certificate"
                ),
            });
        }
        Params::resolve(conninfo, &Env::default()).map_err(|reason| Error::InventoryDb {
            target: shown.clone(),
            reason,
        })?;
        Ok(Target {
            conninfo: zeroize::Zeroizing::new(conninfo.to_string()),
            shown,
        })
    }

    /// An error about this database.
    pub(crate) fn error(&self, reason: impl Into<String>) -> Error {
        Error::InventoryDb {
            target: self.shown.clone(),
            reason: reason.into(),
        }
    }

    /// A new connection: every host tried in turn, within [`CONNECT_TIMEOUT`].
    pub(crate) fn connect(&self) -> Result<Client> {
        let env = Env::default();
        let params = Params::resolve(&self.conninfo, &env)
            .map_err(|r| self.error(r))?
            .with_default("application_name", "pgca inventory");
        let mut secrets = Vec::new();
        let connected = live_connect::connect(&params, &env, CONNECT_TIMEOUT, &mut secrets);
        for s in &mut secrets {
            zeroize::Zeroize::zeroize(s);
        }
        connected.map(|c| c.client).map_err(|r| self.error(r))
    }
}
