//! Crash-safe file primitives: every write pgca makes goes through here.
//!
//! - Private keys are created with mode 0600 from the first byte (`O_CREAT|O_EXCL` with the mode),
//!   never created with the umask and chmod-ed later.
//! - Files that replace others are written to a temporary name in the same directory, fsync-ed,
//!   renamed into place, and the directory is fsync-ed: a reader sees the old file or the new one.
//! - A certificate and its key are switched as one: see [`swap_symlink`] and `dir.rs`.
//! - Writers hold an exclusive `flock` on `DIR/.lock`; readers a shared one.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Mode of private key files.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificates and other public files.
pub const PUBLIC_MODE: u32 = 0o644;
/// Mode of the CA directory and its subdirectories.
pub const DIR_MODE: u32 = 0o700;

/// Creates `path`, which must not exist, with `mode` from the first byte, writes `contents` and
/// fsyncs. On any failure the file is removed again: no partial file is left behind.
pub(crate) fn create_file(
    path: &Path,
    contents: &[u8],
    mode: u32,
    what: &'static str,
) -> Result<()> {
    create_file_with(path, contents, mode, true, what)
}

/// [`create_file`], with the fsync only if `fsync`: otherwise the caller makes the data durable
/// with [`sync_filesystem`] before renaming anything into place.
pub(crate) fn create_file_with(
    path: &Path,
    contents: &[u8],
    mode: u32,
    fsync: bool,
    what: &'static str,
) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(Error::io(what, path))?;
    let written = file
        .write_all(contents)
        .and_then(|()| if fsync { file.sync_all() } else { Ok(()) });
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(Error::io(what, path)(e));
    }
    Ok(())
}

/// Replaces (or creates) `path` atomically: a temporary file with `mode`, fsync, rename, fsync
/// of the directory. Readers see the old content or the new, never a mix.
/// With `owner`, the temporary file is given to that uid:gid before it is renamed into place.
pub(crate) fn replace_file(
    path: &Path,
    contents: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
    what: &'static str,
) -> Result<()> {
    let tmp = temp_path(path);
    create_file(&tmp, contents, mode, what)?;
    if let Some(ids) = owner
        && let Err(e) = chown(&tmp, ids)
    {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(what, path)(e));
    }
    sync_dir(parent(path))
}

/// Gives `path` (not following a final symlink) to `uid:gid`.
pub(crate) fn chown(path: &Path, owner: (u32, u32)) -> Result<()> {
    std::os::unix::fs::lchown(path, Some(owner.0), Some(owner.1))
        .map_err(Error::io("change owner of", path))
}

/// This process's effective uid (from `/proc/self/status`; no libc needed).
pub(crate) fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The uid and gid of a user, by name or number, from `/etc/passwd`.
pub(crate) fn lookup_user(user: &str) -> Result<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").map_err(Error::io("read", "/etc/passwd"))?;
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 4
            && (f[0] == user || f[2] == user)
            && let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse())
        {
            return Ok((uid, gid));
        }
    }
    Err(Error::UnknownUser(user.to_string()))
}

/// A fresh name beside `path` for a temporary file or directory: `.NAME.tmp-PID-RANDOM`.
/// Temporary names start with `.` and contain `.tmp-`, so recovery can find and remove them.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent(path).join(format!(
        ".{name}{TEMP_MARK}{}-{}",
        std::process::id(),
        random_hex(6)
    ))
}

/// What every temporary name contains.
pub(crate) const TEMP_MARK: &str = ".tmp-";

/// `n` random bytes as hex.
pub(crate) fn random_hex(n: usize) -> String {
    use ring::rand::SecureRandom;
    let mut b = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the system random source works");
    b.iter().map(|x| format!("{x:02x}")).collect()
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
        use rustix::fs::{Mode, OFlags};
        let path = || self.dir.join(name);
        let Some(dir) = &self.fd else {
            return read(&path(), what);
        };
        let file = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| Error::io(what, path())(e.into()))?;
        let mut out = Vec::with_capacity(4096);
        loop {
            if out.len() == out.capacity() {
                out.reserve(4096);
            }
            match rustix::io::read(&file, rustix::buffer::spare_capacity(&mut out)) {
                Ok(0) => return Ok(out),
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(Error::io(what, path())(e.into())),
            }
        }
    }
}

/// An advisory lock on a CA directory, released when dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// The lock file's name inside the CA directory.
    pub(crate) const FILE: &'static str = ".lock";

    /// Waits for the exclusive lock: only one writer at a time, and no readers meanwhile.
    pub(crate) fn exclusive(dir: &Path) -> Result<DirLock> {
        let file = Self::open(dir)?;
        file.lock()
            .map_err(Error::io("lock", dir.join(Self::FILE)))?;
        Ok(DirLock { _file: file })
    }

    /// Waits for a shared lock: readers see no half-finished batch.
    pub(crate) fn shared(dir: &Path) -> Result<DirLock> {
        let file = Self::open(dir)?;
        file.lock_shared()
            .map_err(Error::io("lock", dir.join(Self::FILE)))?;
        Ok(DirLock { _file: file })
    }

    fn open(dir: &Path) -> Result<File> {
        let path = dir.join(Self::FILE);
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(KEY_MODE)
            .open(&path)
            .map_err(Error::io("open lock file", &path))
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
