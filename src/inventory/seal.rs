//! The inventory's seal, `DIR/inventory.seal`: how many batches the inventory had committed at
//! its last write, and a chain of their hashes, so that a file cut short, emptied or replaced by
//! an older copy is told from an interrupted write.
//!
//! A crash can only leave an uncommitted batch at the end of the inventory, or a committed batch
//! the seal does not count yet (the seal is replaced right after the batch is durable; one that
//! could not be replaced, on a full disk, lags further until the next write replaces it). An
//! inventory with fewer committed batches than its seal counts, or whose first batches do not
//! hash to the seal's chain, lost records that were committed: [`Error::DamagedInventory`].

use std::path::{Path, PathBuf};

use ring::digest;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The seal's file name, beside the inventory (`inventory.jsonl`'s seal; in general the
/// inventory's name with the extension `seal`).
pub const SEAL_FILE: &str = "inventory.seal";

/// What the seal records of the inventory at its last write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Seal {
    /// How many batches were committed (commit lines, the empty one of an upgraded inventory
    /// included).
    pub batches: u64,
    /// Where the last committed batch ends, in bytes.
    pub bytes: u64,
    /// The hash chain over every commit's SHA-256 (see [`Chain`]), hex.
    pub chain: String,
}

/// The running hash chain over the commits read so far: `chain(n) = SHA-256(chain(n-1) ||
/// sha256 of batch n, as its commit line writes it)`, starting from 32 zero bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Chain {
    /// How many commits it covers.
    pub batches: u64,
    value: [u8; 32],
}

impl Chain {
    /// The chain after one more commit, whose batch hashes to `sha256` (hex).
    pub fn next(&self, sha256: &str) -> Chain {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(&self.value);
        ctx.update(sha256.to_ascii_lowercase().as_bytes());
        let mut value = [0; 32];
        value.copy_from_slice(ctx.finish().as_ref());
        Chain {
            batches: self.batches + 1,
            value,
        }
    }

    /// The chain a seal records.
    pub(crate) fn of_seal(seal: &Seal) -> Option<Chain> {
        let mut value = [0; 32];
        for (i, pair) in seal.chain.as_bytes().chunks(2).enumerate() {
            let byte = std::str::from_utf8(pair).ok()?;
            *value.get_mut(i)? = u8::from_str_radix(byte, 16).ok()?;
        }
        Some(Chain {
            batches: seal.batches,
            value,
        })
    }

    /// Its value, hex.
    pub fn hex(&self) -> String {
        crate::model::hex::lower(&self.value)
    }
}

/// Where the seal of the inventory at `inventory` lives.
pub(crate) fn path_of(inventory: &Path) -> PathBuf {
    inventory.with_extension("seal")
}

/// The seal beside `inventory`, if there is one (inventories written before pgca sealed them
/// have none until their next write). A seal that cannot be read is damage too.
pub(crate) fn read(inventory: &Path) -> Result<Option<Seal>> {
    let path = path_of(inventory);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read inventory seal", &path)(e)),
    };
    serde_json::from_slice(&bytes)
        .ok()
        .filter(|s: &Seal| s.chain.len() == 64 && s.chain.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(Some)
        .ok_or_else(|| Error::DamagedInventory {
            path: inventory.to_path_buf(),
            evidence: format!("its seal {} cannot be read", path.display()),
        })
}

/// Writes the seal for an inventory whose committed batches end at `bytes` with `chain`,
/// atomically (a reader sees the old seal or the new one).
pub(crate) fn write(inventory: &Path, chain: &Chain, bytes: u64) -> Result<()> {
    let text = encode(chain, bytes);
    crate::storage::replace_file(&path_of(inventory), &text, 0o600, "write inventory seal")
}

/// Creates the seal of a new inventory (`init`, in its staging directory).
pub(crate) fn create(inventory: &Path, chain: &Chain, bytes: u64) -> Result<()> {
    let text = encode(chain, bytes);
    crate::storage::create_file(&path_of(inventory), &text, 0o600, "write inventory seal")
}

/// The seal's one line for an inventory whose committed batches end at `bytes` with `chain`.
fn encode(chain: &Chain, bytes: u64) -> Vec<u8> {
    let seal = Seal {
        batches: chain.batches,
        bytes,
        chain: chain.hex(),
    };
    let mut text = serde_json::to_vec(&seal).expect("the seal serialises");
    text.push(b'\n');
    text
}

/// Judges an inventory whose committed batches end at `bytes`, where the chain reached `at_seal`
/// after the seal's count of batches (`None`: the inventory has fewer), against the seal.
pub(crate) fn judge(
    inventory: &Path,
    seal: &Seal,
    total: &Chain,
    bytes: u64,
    at_seal: Option<&Chain>,
) -> Result<()> {
    let damaged = |evidence: String| {
        Err(Error::DamagedInventory {
            path: inventory.to_path_buf(),
            evidence,
        })
    };
    match at_seal {
        None => damaged(format!(
            "it holds {} committed batches ({bytes} bytes) where its seal {} records {} ({} bytes): \
             it was cut short, emptied or an older copy put back",
            total.batches,
            path_of(inventory).display(),
            seal.batches,
            seal.bytes
        )),
        Some(c) if !c.hex().eq_ignore_ascii_case(&seal.chain) => damaged(format!(
            "its first {} batches do not match its seal {}: it was edited or replaced by another copy",
            seal.batches,
            path_of(inventory).display()
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_depends_on_every_commit_and_their_order() {
        let a = Chain::default().next(&"a".repeat(64)).next(&"b".repeat(64));
        let b = Chain::default().next(&"b".repeat(64)).next(&"a".repeat(64));
        assert_eq!(a.batches, 2);
        assert_ne!(a.hex(), b.hex());
        // A commit's hash is compared without regard to case, as readers compare it.
        let upper = Chain::default().next(&"A".repeat(64)).next(&"b".repeat(64));
        assert_eq!(a, upper);
    }
}
