//! The passphrase that protects a key. Where it comes from (a file, the environment, a
//! prompt) is the caller's business: the `pgca` binary's rules are in its `passphrase` module.
//! A file holds the passphrase on its first line; the line ending is not part of it.

use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A passphrase. Its `Debug` prints nothing of it, and its memory is wiped when dropped.
///
/// # Examples
///
/// ```
/// let p = pgca::Passphrase::new("correct horse battery staple");
/// assert_eq!(format!("{p:?}"), "Passphrase(..)");
/// ```
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// A passphrase from a string.
    pub fn new(s: impl Into<String>) -> Passphrase {
        Passphrase(Zeroizing::new(s.into()))
    }

    /// The bytes, for key derivation.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Reads the first line of a file, which must be a regular file owned by root or the user
    /// pgca runs as, with no access for group or others (at most 0600), reached through no
    /// link or directory another user controls (the rules of [`Error::UnsafeInput`] and
    /// [`Error::Untrusted`]). A FIFO is refused, never waited on.
    pub fn from_file(path: &Path) -> Result<Passphrase> {
        let bytes = crate::storage::read_input(
            path,
            "read passphrase file",
            crate::storage::Input::Secret,
        )?;
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::BadPassphrase {
            from: path.display().to_string(),
            reason: "not UTF-8",
        })?;
        let line = text.split('\n').next().unwrap_or("").trim_end_matches('\r');
        if line.is_empty() {
            return Err(Error::BadPassphrase {
                from: path.display().to_string(),
                reason: "empty",
            });
        }
        Ok(Passphrase::new(line))
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_hold_the_first_line_without_its_ending() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("p");
        std::fs::write(&f, "s3cret\r\nignored\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Passphrase::from_file(&f).unwrap().as_bytes(), b"s3cret");
        std::fs::write(&f, "\n").unwrap();
        assert!(
            Passphrase::from_file(&f)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
    }
}
