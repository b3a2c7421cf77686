//! What the three readers share: every file read through the trust walk, an included name
//! resolved against the including file's directory, PostgreSQL's nesting limit, include cycles
//! refused, and `include_dir`'s order.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::storage::{Trust, absolute, list_dir_trusting, read_public_trusting};

/// PostgreSQL's `CONF_FILE_MAX_DEPTH`: the top file is at depth 0, a file it includes at 1, and
/// nothing is opened deeper than this.
pub const MAX_DEPTH: usize = 10;

/// The error of a line that does not parse.
pub(crate) fn bad(path: &Path, line: usize, reason: impl Into<String>) -> Error {
    Error::BadConfig {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

/// Where an include directive was written: the including file and line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At<'a> {
    pub(crate) file: &'a Path,
    pub(crate) line: usize,
}

/// The files being read, outermost first, and whom their directories may belong to.
pub(crate) struct Files {
    trust: Trust,
    /// The identity (device, inode) of each file being read, outermost first.
    open: Vec<(u64, u64)>,
}

impl Files {
    /// Reading with root, the user pgca runs as and `owner` (the cluster's, when given) trusted
    /// with the directories on the way.
    pub(crate) fn new(owner: Option<u32>) -> Files {
        Files {
            trust: owner.map_or_else(Trust::invoker, Trust::with_owner),
            open: Vec::new(),
        }
    }

    /// The depth the next file opened would be at.
    pub(crate) fn depth(&self) -> usize {
        self.open.len()
    }

    /// Opens `path` (absolute, or relative to the current directory for the top file) and
    /// returns its absolute path and text; the caller reads it and calls [`Files::leave`].
    /// `Ok(None)` when it does not exist and `if_exists`. Refused: deeper than [`MAX_DEPTH`],
    /// or a file already being read (a cycle), as an error at `at`.
    pub(crate) fn enter(
        &mut self,
        path: &Path,
        at: Option<At<'_>>,
        if_exists: bool,
    ) -> Result<Option<(PathBuf, String)>> {
        let path = absolute(path);
        let refuse = |reason: String| match at {
            Some(at) => bad(at.file, at.line, reason),
            None => bad(&path, 0, reason),
        };
        if self.depth() > MAX_DEPTH {
            return Err(refuse(format!(
                "cannot open {}: nesting deeper than {MAX_DEPTH} includes",
                path.display()
            )));
        }
        let (bytes, id) = match read_public_trusting(&path, "read configuration file", &self.trust)
        {
            Ok(got) => got,
            Err(Error::Io { source, .. })
                if if_exists && source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if self.open.contains(&id) {
            return Err(refuse(format!(
                "{} includes itself (an include cycle)",
                path.display()
            )));
        }
        self.open.push(id);
        Ok(Some((path, String::from_utf8_lossy(&bytes).into_owned())))
    }

    /// Done with the file [`Files::enter`] opened last.
    pub(crate) fn leave(&mut self) {
        self.open.pop();
    }

    /// `include_dir`'s files: the names in `dir` ending in `.conf`, not starting with `.`, not
    /// directories, sorted by their bytes (C locale), as absolute paths. A missing directory is
    /// an error, as in PostgreSQL.
    pub(crate) fn conf_files(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let (shown, entries) = list_dir_trusting(&absolute(dir), &self.trust)?;
        let mut names: Vec<String> = entries
            .into_iter()
            .filter(|(name, is_dir)| !is_dir && !name.starts_with('.') && name.ends_with(".conf"))
            .map(|(name, _)| name)
            .collect();
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        Ok(names.into_iter().map(|n| shown.join(n)).collect())
    }
}

/// An included name: absolute as it is, else relative to the including file's directory.
pub(crate) fn resolve(from: &Path, name: &str) -> PathBuf {
    let name = Path::new(name);
    if name.is_absolute() {
        name.to_path_buf()
    } else {
        from.parent().unwrap_or(Path::new("/")).join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// As root: a directory of another user's is walked only when that user is the cluster's
    /// owner given, and a link of theirs is never followed.
    #[test]
    fn other_users_directories_and_links_need_the_owner_given() {
        if crate::storage::trust::effective_uid() != 0 {
            return;
        }
        let other = 65534;
        let d = tempfile::tempdir().unwrap();
        let data = d.path().join("data");
        fs::create_dir(&data).unwrap();
        fs::write(data.join("postgresql.conf"), "port = 1\n").unwrap();
        std::os::unix::fs::chown(&data, Some(other), Some(other)).unwrap();
        let conf = data.join("postgresql.conf");
        let e = super::super::conf::read_postgresql_conf(&conf, None).unwrap_err();
        assert!(matches!(e, Error::Untrusted { .. }), "{e}");
        let s = super::super::conf::read_postgresql_conf(&conf, Some(other)).unwrap();
        assert_eq!(s.value("port"), Some("1"));
        // A link the owner planted, to a file of root's: refused.
        fs::write(d.path().join("secret"), "ssl_key_passphrase = 'x'\n").unwrap();
        let link = data.join("link.conf");
        std::os::unix::fs::symlink(d.path().join("secret"), &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(other), Some(other)).unwrap();
        fs::write(&conf, "include 'link.conf'\n").unwrap();
        let e = super::super::conf::read_postgresql_conf(&conf, Some(other)).unwrap_err();
        assert!(matches!(e, Error::Untrusted { .. }), "{e}");
    }
}
