//! The commands, a module per group: each turns its parsed arguments into library calls and
//! hands what they return to [`crate::render`]. What every command shares is here: the CA
//! directory and passphrase sources of the global options, and the parsing of plain-string
//! arguments (the library checks the values, so a bad one fails with exit status 1, not 2).

pub mod audit;
pub mod completions;
pub mod conninfo;
pub mod csr;
pub mod deploy;
pub mod export;
pub mod host;
pub mod hsm;
pub mod init;
pub mod inspect;
pub mod inventory;
pub mod issue;
pub mod monitor;
pub mod nagios;
pub mod online;
pub mod passwd;
pub mod probe;
pub mod renew;
pub mod repair;
pub mod revoke;
pub mod rollover;
pub mod service;

use std::path::PathBuf;

use pgca::{CaDir, Error, Result, Side, Validity};

use crate::args::{Cli, ServiceFileArg};
use crate::passphrase::Sources;

/// The global options, parsed once: where the CA directory is, how long to wait for its lock,
/// where the CA passphrase comes from.
pub struct Context {
    dir: Option<PathBuf>,
    /// `--inventory`, `$PGCA_INVENTORY`: the inventory database's connection string.
    pub inventory: Option<String>,
    wait: Option<pgca::Wait>,
    /// `--passphrase-file`, then the environment, then a prompt.
    pub sources: Sources,
}

impl Context {
    /// Reads the global options; a bad `--wait` fails here, before any command runs.
    pub fn new(cli: &Cli) -> Result<Context> {
        let wait = parse_opt::<Validity>(&cli.wait)?
            .map(|v| pgca::Wait(std::time::Duration::from_secs(v.seconds().max(0) as u64)));
        Ok(Context {
            dir: cli.dir.clone(),
            inventory: cli.inventory.clone(),
            wait,
            sources: Sources::with_file(cli.passphrase_file.clone()),
        })
    }

    /// The CA directory: `--dir`, else `$PGCA_DIR` (clap reads it), else the default.
    pub fn dir(&self) -> Result<PathBuf> {
        self.dir
            .clone()
            .or_else(pgca::default_dir)
            .ok_or(Error::NoDirectory)
    }

    /// The `--wait` given, if any (for locks outside the CA directory).
    pub fn wait(&self) -> Option<pgca::Wait> {
        self.wait
    }

    /// The inventory database (`--inventory`, `$PGCA_INVENTORY`), connected, if one is given.
    pub fn inventory_db(&self) -> Result<Option<pgca::InventoryDb>> {
        self.inventory
            .as_deref()
            .map(pgca::InventoryDb::connect)
            .transpose()
    }

    /// Opens the CA directory (with its inventory database, if given) with the `--wait` given.
    pub fn open(&self) -> Result<CaDir> {
        let ca = match self.inventory_db()? {
            Some(db) => CaDir::open_with_inventory_db(self.dir()?, db)?,
            None => CaDir::open(self.dir()?)?,
        };
        Ok(match self.wait {
            Some(w) => ca.with_wait(w),
            None => ca,
        })
    }

    /// The CA directory when there is one: `--dir` or `$PGCA_DIR` must open; the default one
    /// is used only if it exists (`pgca audit` runs without one, its certificate checks off).
    pub fn open_if_any(&self) -> Result<Option<CaDir>> {
        if self.dir.is_some() {
            return self.open().map(Some);
        }
        match pgca::default_dir() {
            Some(d) if d.join("inventory.jsonl").exists() || d.join("server-ca.crt").exists() => {
                self.open().map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Opens the CA directory for a command that signs with the given CAs' keys, with the
    /// passphrase (asked for only when one of those keys is encrypted).
    pub fn signing(&self, sides: &[Side]) -> Result<CaDir> {
        let ca = self.open()?;
        match ca.encrypted_key_among(sides)? {
            None => Ok(ca),
            Some(reference) if hsm::is_reference(&reference) => {
                let token = pgca::x509::token_uri::TokenUri::read(&reference)?.token;
                Ok(ca.with_passphrase(hsm::pin(&self.sources, &token)?))
            }
            Some(key) => match self.sources.get("passphrase for the CA keys", false)? {
                Some(p) => Ok(ca.with_passphrase(p)),
                None => Err(Error::NeedPassphrase(key)),
            },
        }
    }
}

/// A command line that parsed but does not make sense: clap's usage error, exit status 2.
pub fn usage_error(msg: &str) -> ! {
    crate::args::command()
        .error(clap::error::ErrorKind::ArgumentConflict, msg)
        .exit()
}

/// `--file-owner`, looked up: (uid, gid).
pub fn file_owner(a: &ServiceFileArg) -> Result<Option<(u32, u32)>> {
    a.owner.as_deref().map(pgca::lookup_user).transpose()
}

/// A TCP port, 1 to 65535.
pub fn parse_port(s: &str) -> Result<u16> {
    s.parse::<u16>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or(Error::InvalidPort(s.to_string()))
}

/// Every item parsed by the library's `FromStr`, the first bad one failing.
pub fn parse_all<T: std::str::FromStr<Err = Error>>(items: &[String]) -> Result<Vec<T>> {
    items.iter().map(|s| s.parse()).collect()
}

/// An optional item parsed by the library's `FromStr`.
pub fn parse_opt<T: std::str::FromStr<Err = Error>>(item: &Option<String>) -> Result<Option<T>> {
    item.as_deref().map(str::parse).transpose()
}
