//! Writing an export: one file, or a directory of files, through the storage layer.
//!
//! The parent of the output is reached by the trust walk (every directory on the way owned by
//! root or the user pgca runs as, not writable by others; a sticky `/tmp` is fine), and never
//! created: a missing directory is an error. Without `force` an existing output is refused and
//! files are created with `O_EXCL|O_NOFOLLOW`; with it they replace the old ones atomically (a
//! symbolic link at the name is replaced, never followed). Keys get their mode from the first
//! byte. On an error nothing new is left behind.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::storage::{self, DIR_MODE, Dir, Trust};

/// One file to write: its name, its bytes, its mode.
pub(super) struct OutFile<'a> {
    pub(super) name: String,
    pub(super) bytes: &'a [u8],
    pub(super) mode: u32,
}

/// The opened parent of the output and the output's name in it.
pub(super) struct Target {
    parent: Dir,
    name: String,
    path: PathBuf,
    force: bool,
}

impl Target {
    /// Opens the parent of `out` and refuses an existing `out` without `force`: before anything
    /// is built or issued, so bad input writes nothing.
    pub(super) fn open(out: &Path, force: bool) -> Result<Target> {
        let (parent, name) = storage::parent_dir(out)?;
        if name == "." || name == ".." {
            return Err(Error::io("write", out)(
                std::io::ErrorKind::InvalidInput.into(),
            ));
        }
        if !force && parent.stat_at(&name)?.is_some() {
            return Err(Error::CertExists(out.to_path_buf()));
        }
        Ok(Target {
            parent,
            name,
            path: out.to_path_buf(),
            force,
        })
    }

    /// Writes the output as one file.
    pub(super) fn write_file(&self, bytes: &[u8], mode: u32) -> Result<Vec<PathBuf>> {
        if self.force {
            self.parent
                .replace_file(&self.name, bytes, mode, None, "write")?;
        } else {
            self.parent
                .create_file(&self.name, bytes, mode, None, true, "write")?;
            self.parent.sync()?;
        }
        Ok(vec![self.path.clone()])
    }

    /// Writes the output as a directory (mode 0700) holding `files`. A new directory that
    /// cannot be completed is removed again; an existing one (only with `force`) must be trusted,
    /// and each file in it is replaced atomically.
    pub(super) fn write_dir(&self, files: &[OutFile<'_>]) -> Result<Vec<PathBuf>> {
        let paths = files.iter().map(|f| self.path.join(&f.name)).collect();
        if let Some(dir) = self.parent.open_sub(&self.name)? {
            if !self.force {
                return Err(Error::CertExists(self.path.clone()));
            }
            dir.check(&Trust::invoker())?;
            for f in files {
                dir.replace_file(&f.name, f.bytes, f.mode, None, "write")?;
            }
            return Ok(paths);
        }
        let dir = self.parent.create_dir_new(&self.name, DIR_MODE)?;
        let written = (|| {
            for f in files {
                dir.create_file(&f.name, f.bytes, f.mode, None, true, "write")?;
            }
            dir.sync()
        })();
        if let Err(e) = written {
            let _ = self.parent.remove_tree(&self.name);
            return Err(e);
        }
        self.parent.sync()?;
        Ok(paths)
    }
}
