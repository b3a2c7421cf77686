//! Path-based file helpers: for inside the CA directory, which only root or its owner can
//! change (see the rules in [`crate::storage`]), and for reading.

use std::fs::{self, DirBuilder, File};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::storage::handle::Dir;
use crate::storage::trust::{Trust, open_dir};

/// Mode of private key files.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificates and other public files.
pub const PUBLIC_MODE: u32 = 0o644;
/// Mode of the CA directory and its subdirectories.
pub const DIR_MODE: u32 = 0o700;

/// Opens the directory holding `path` as the user pgca runs as would trust it, and returns it
/// with the file name.
pub(crate) fn parent_dir(path: &Path) -> Result<(Dir, String)> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::io("write", path)(std::io::ErrorKind::InvalidInput.into()))?
        .to_string_lossy()
        .into_owned();
    Ok((open_dir(parent(path), &Trust::invoker(), None)?, name))
}

/// Creates `path`, which must not exist, with `mode` from the first byte, writes `contents` and
/// fsyncs. On any failure the file is removed again: no partial file is left behind.
pub(crate) fn create_file(
    path: &Path,
    contents: &[u8],
    mode: u32,
    what: &'static str,
) -> Result<()> {
    let (dir, name) = parent_dir(path)?;
    dir.create_file(&name, contents, mode, None, true, what)
}

/// Opens `path` to append to ([`Dir::open_append`], mode 0600 when created), in a directory
/// the user pgca runs as trusts: `pgca serve --log FILE`.
pub(crate) fn open_append(path: &Path, what: &'static str) -> Result<std::fs::File> {
    let (dir, name) = parent_dir(path)?;
    dir.open_append(&name, super::KEY_MODE, what)
}

/// Replaces (or creates) `path` atomically with [`Dir::replace_file`], in a directory the user
/// pgca runs as trusts.
pub(crate) fn replace_file(
    path: &Path,
    contents: &[u8],
    mode: u32,
    what: &'static str,
) -> Result<()> {
    let (dir, name) = parent_dir(path)?;
    dir.replace_file(&name, contents, mode, None, what)
}

/// A fresh name beside `path` for a temporary file or directory: `.NAME.tmp-PID-RANDOM`.
/// Temporary names start with `.` and contain `.tmp-`, so recovery can find and remove them.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent(path).join(temp_name(&name))
}

/// A fresh temporary name for the entry `name` of the same directory (see [`temp_path`]).
pub(crate) fn temp_name(name: &str) -> String {
    format!(
        ".{name}{TEMP_MARK}{}-{}",
        std::process::id(),
        crate::model::hex::random(6)
    )
}

/// What every temporary name contains.
pub(crate) const TEMP_MARK: &str = ".tmp-";

/// Whether a directory entry is one of pgca's temporary names (`.X.tmp-PID-HEX12`, see
/// [`temp_name`]). A role's own entries end in `.crt`, `.key` or `.live`, so they never match.
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with('.')
        && name.contains(TEMP_MARK)
        && name
            .rsplit_once('-')
            .is_some_and(|(_, hex)| hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// fsyncs a directory, making renames and creations in it durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("sync directory", dir))
}

/// Makes everything written to the filesystem holding `dir` durable (syncfs(2)): one barrier for
/// a whole batch of files, instead of an fsync each.
pub(crate) fn sync_filesystem(dir: &Path) -> Result<()> {
    let d = File::open(dir).map_err(Error::io("open", dir))?;
    rustix::fs::syncfs(&d).map_err(|e| Error::io("sync filesystem of", dir)(e.into()))
}

/// Creates a directory with mode 0700; an existing directory is fine.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<()> {
    match DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(Error::io("create directory", dir)(e)),
    }
}

/// Points the symlink `link` at `target` atomically (a new link at a temporary name, renamed over
/// the old one): a reader resolving `link` sees the old target or the new one, never neither.
pub(crate) fn swap_symlink(target: &Path, link: &Path) -> Result<()> {
    let tmp = temp_path(link);
    std::os::unix::fs::symlink(target, &tmp).map_err(Error::io("create link", &tmp))?;
    if let Err(e) = fs::rename(&tmp, link) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("replace link", link)(e));
    }
    Ok(())
}

/// Creates the symlink `link` → `target` unless it already points there. A new link is made in
/// place (symlink(2) is atomic on its own); an existing one is replaced by [`swap_symlink`].
pub(crate) fn ensure_symlink(target: &Path, link: &Path) -> Result<()> {
    match fs::read_link(link) {
        Ok(t) if t == target => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => new_symlink(target, link),
        _ => swap_symlink(target, link),
    }
}

/// Creates the symlink `link` → `target`, expected not to exist: one symlink(2), no lookup
/// first. If it exists after all, it is made to point at `target` as [`ensure_symlink`] does.
pub(crate) fn new_symlink(target: &Path, link: &Path) -> Result<()> {
    match std::os::unix::fs::symlink(target, link) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => ensure_symlink(target, link),
        Err(e) => Err(Error::io("create link", link)(e)),
    }
}

/// Reads a whole file, naming it in the error.
pub(crate) fn read(path: &Path, what: &'static str) -> Result<Vec<u8>> {
    fs::read(path).map_err(Error::io(what, path))
}

/// Reads many small files of one directory: each is opened relative to the directory (one
/// path walk for the directory instead of one per file) and read without a stat. `check` reads
/// two files per certificate this way.
pub(crate) struct DirReader {
    dir: PathBuf,
    fd: Option<rustix::fd::OwnedFd>,
}

impl DirReader {
    /// A reader of `dir`; if `dir` cannot be opened, every read reports that through the
    /// file's own path.
    pub(crate) fn new(dir: &Path) -> DirReader {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok();
        DirReader {
            dir: dir.to_path_buf(),
            fd,
        }
    }

    /// The whole of `name` (a path relative to the directory), naming the file in errors.
    pub(crate) fn read(&self, name: &str, what: &'static str) -> Result<Vec<u8>> {
        self.read_io(name)
            .map_err(|e| Error::io(what, self.dir.join(name))(e))
    }

    /// [`DirReader::read`], with the error as the system gave it.
    pub(crate) fn read_io(&self, name: &str) -> std::io::Result<Vec<u8>> {
        use rustix::fs::{Mode, OFlags};
        let Some(dir) = &self.fd else {
            return fs::read(self.dir.join(name));
        };
        let file = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        let mut out = Vec::with_capacity(4096);
        loop {
            if out.len() == out.capacity() {
                out.reserve(4096);
            }
            match rustix::io::read(&file, rustix::buffer::spare_capacity(&mut out)) {
                Ok(0) => return Ok(out),
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The mode (permission bits) and owner of `name`, links followed, as `fs::metadata` gives
    /// them.
    pub(crate) fn mode_and_owner(&self, name: &str) -> std::io::Result<(u32, u32)> {
        use std::os::unix::fs::MetadataExt;
        let Some(dir) = &self.fd else {
            let m = fs::metadata(self.dir.join(name))?;
            return Ok((m.mode() & 0o7777, m.uid()));
        };
        let st = rustix::fs::statat(dir, name, rustix::fs::AtFlags::empty())?;
        Ok((st.st_mode & 0o7777, st.st_uid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn key_files_are_0600_whatever_the_umask_allows() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k.key");
        create_file(&p, b"secret", KEY_MODE, "write key").unwrap();
        assert_eq!(mode(&p), 0o600);
        assert_eq!(fs::read(&p).unwrap(), b"secret");
    }

    #[test]
    fn create_file_never_overwrites() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k.key");
        fs::write(&p, b"old").unwrap();
        let e = create_file(&p, b"new", KEY_MODE, "write key")
            .unwrap_err()
            .to_string();
        assert!(e.contains("file exists"), "{e}");
        assert_eq!(fs::read(&p).unwrap(), b"old");
    }

    #[test]
    fn swap_symlink_replaces_atomically() {
        let d = tempfile::tempdir().unwrap();
        let l = d.path().join("live");
        swap_symlink(Path::new("a"), &l).unwrap();
        swap_symlink(Path::new("b"), &l).unwrap();
        assert_eq!(fs::read_link(&l).unwrap(), Path::new("b"));
        ensure_symlink(Path::new("b"), &l).unwrap();
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
        // A link expected to be new that exists after all is replaced, not an error.
        new_symlink(Path::new("c"), &l).unwrap();
        assert_eq!(fs::read_link(&l).unwrap(), Path::new("c"));
        new_symlink(Path::new("d"), &d.path().join("fresh")).unwrap();
        assert_eq!(
            fs::read_link(d.path().join("fresh")).unwrap(),
            Path::new("d")
        );
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 2);
    }

    #[test]
    fn dir_reader_reads_whole_files_and_names_missing_ones() {
        let d = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(d.path().join("big"), &big).unwrap();
        fs::write(d.path().join("empty"), b"").unwrap();
        let r = DirReader::new(d.path());
        assert_eq!(r.read("big", "read").unwrap(), big);
        assert!(r.read("empty", "read").unwrap().is_empty());
        let e = r
            .read("gone.crt", "read certificate")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "cannot read certificate {}: no such file or directory",
                d.path().join("gone.crt").display()
            )
        );
        // A directory that cannot be opened: each read names its own file.
        let r = DirReader::new(&d.path().join("nope"));
        let e = r.read("a.key", "read key").unwrap_err().to_string();
        assert!(e.contains("nope/a.key: no such file or directory"), "{e}");
    }

    #[test]
    fn failures_name_the_path() {
        let e = read(Path::new("/nonexistent/ca.key"), "read CA key")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "cannot read CA key /nonexistent/ca.key: no such file or directory"
        );
    }
}
