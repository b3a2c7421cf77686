//! [`Dir`]: an open directory, and every file operation relative to it.
//!
//! A `Dir` is opened once (by [`super::open_dir`], which checks every directory on the way) and
//! everything below it is done with the `*at` system calls relative to its handle, never
//! following a symbolic link: a path is never resolved again between a check and a use.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

use super::trust::Trust;
use crate::error::Distrust;
use crate::error::{Error, Result};

/// An open directory (see the module docs). Names given to its methods are single entries of
/// the directory, never paths.
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
    /// The path it was opened by, for messages only.
    path: PathBuf,
}

impl Dir {
    pub(super) fn from_fd(fd: OwnedFd, path: PathBuf) -> Dir {
        Dir { fd, path }
    }

    /// The path this directory was opened by (for messages).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The handle, for locking.
    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// The directory's own status.
    pub(crate) fn stat(&self) -> Result<Stat> {
        rustix::fs::fstat(&self.fd).map_err(|e| Error::io("read", &self.path)(e.into()))
    }

    /// Refuses a directory `trust` does not trust.
    pub(crate) fn check(&self, trust: &Trust) -> Result<()> {
        trust
            .check_dir(&self.stat()?)
            .map_err(|why| Error::Untrusted {
                path: self.path.clone(),
                why,
            })
    }

    /// The status of an entry, not following a symbolic link; `None` if there is none.
    pub(crate) fn stat_at(&self, name: &str) -> Result<Option<Stat>> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(s) => Ok(Some(s)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(Error::io("read", self.path.join(name))(e.into())),
        }
    }

    /// Reads the regular file `name` of this directory, at most `max` bytes: a link, a FIFO or a
    /// device there is refused without being opened or followed (`O_NOFOLLOW | O_NONBLOCK`,
    /// the type checked on the open file).
    pub(crate) fn read_file(&self, name: &str, max: u64, what: &'static str) -> Result<Vec<u8>> {
        use std::io::Read;
        let path = self.path.join(name);
        let not_a_file = || Error::UnsafeInput {
            path: path.clone(),
            reason: crate::error::UnsafeInput::NotAFile,
        };
        match self.stat_at(name)? {
            None => return Err(Error::io(what, &path)(std::io::ErrorKind::NotFound.into())),
            Some(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => {
                return Err(not_a_file());
            }
            Some(_) => {}
        }
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io(what, &path)(e.into()))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::io(what, &path)(e.into()))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(not_a_file());
        }
        let mut out = Vec::new();
        std::fs::File::from(fd)
            .take(max + 1)
            .read_to_end(&mut out)
            .map_err(Error::io(what, &path))?;
        if out.len() as u64 > max {
            return Err(Error::UnsafeInput {
                path,
                reason: crate::error::UnsafeInput::TooLarge { max },
            });
        }
        Ok(out)
    }

    /// Opens the subdirectory `name`; `None` if it does not exist. A symbolic link, or anything
    /// else that is not a directory, is refused.
    pub(crate) fn open_sub(&self, name: &str) -> Result<Option<Dir>> {
        let path = self.path.join(name);
        match rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(Dir::from_fd(fd, path))),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
                let link = self
                    .stat_at(name)?
                    .is_some_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Symlink);
                Err(Error::Untrusted {
                    path,
                    why: if link {
                        Distrust::Symlink
                    } else {
                        Distrust::NotADirectory
                    },
                })
            }
            Err(e) => Err(Error::io("open directory", path)(e.into())),
        }
    }

    /// Creates the subdirectory `name` with exactly `mode`, given to `owner`, and opens it. An
    /// existing directory is opened as it is (its owner and mode are the caller's to check).
    pub(crate) fn create_dir(
        &self,
        name: &str,
        mode: u32,
        owner: Option<(u32, u32)>,
    ) -> Result<Dir> {
        match self.make_dir(name, mode, owner) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                self.open_sub(name)?.ok_or_else(|| {
                    Error::io("create directory", self.path.join(name))(
                        std::io::ErrorKind::NotFound.into(),
                    )
                })
            }
            made => made,
        }
    }

    /// Creates the subdirectory `name`, which must not exist, with exactly `mode`, and opens it.
    pub(crate) fn create_dir_new(&self, name: &str, mode: u32) -> Result<Dir> {
        self.make_dir(name, mode, None)
    }

    fn make_dir(&self, name: &str, mode: u32, owner: Option<(u32, u32)>) -> Result<Dir> {
        let path = self.path.join(name);
        rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o700))
            .map_err(|e| Error::io("create directory", &path)(e.into()))?;
        let dir = self.open_sub(name)?.ok_or_else(|| {
            Error::io("create directory", &path)(std::io::ErrorKind::NotFound.into())
        })?;
        if let Some((uid, gid)) = owner {
            dir.chown(uid, gid)?;
        }
        // Exactly `mode`, whatever the umask took away from the 0700 it was made with.
        dir.chmod(mode)?;
        Ok(dir)
    }

    /// Sets the directory's own mode, exactly.
    pub(crate) fn chmod(&self, mode: u32) -> Result<()> {
        rustix::fs::fchmod(&self.fd, Mode::from_raw_mode(mode))
            .map_err(|e| Error::io("set permissions of", &self.path)(e.into()))
    }

    /// Gives the directory itself to `uid:gid`.
    pub(crate) fn chown(&self, uid: u32, gid: u32) -> Result<()> {
        fchown(&self.fd, uid, gid).map_err(|e| Error::io("change owner of", &self.path)(e))
    }

    /// Creates the file `name`, which must not exist (a symbolic link there is not followed),
    /// with `mode` from the first byte, given to `owner`, writes `contents` and, with `fsync`,
    /// makes it durable. On any failure the file is removed again: no partial file is left.
    pub(crate) fn create_file(
        &self,
        name: &str,
        contents: &[u8],
        mode: u32,
        owner: Option<(u32, u32)>,
        fsync: bool,
        what: &'static str,
    ) -> Result<()> {
        let path = || self.path.join(name);
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
        )
        .map_err(|e| Error::io(what, path())(e.into()))?;
        let written = (|| -> std::io::Result<()> {
            if let Some((uid, gid)) = owner {
                fchown(&fd, uid, gid)?;
            }
            // After the chown (which may clear set-id bits) and whatever the umask took away.
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
            let mut file = std::fs::File::from(fd);
            file.write_all(contents)?;
            if fsync {
                file.sync_all()?;
            }
            Ok(())
        })();
        if let Err(e) = written {
            let _ = rustix::fs::unlinkat(&self.fd, name, AtFlags::empty());
            return Err(Error::io(what, path())(e));
        }
        Ok(())
    }

    /// Opens the file `name` to append to, creating it with `mode` if it does not exist (a
    /// symbolic link there is not followed). An existing file must be a regular file with one
    /// link, owned by the user pgca runs as, that group and others cannot write: a request log
    /// another user could swap or read into is refused.
    pub(crate) fn open_append(
        &self,
        name: &str,
        mode: u32,
        what: &'static str,
    ) -> Result<std::fs::File> {
        let path = || self.path.join(name);
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY
                | OFlags::APPEND
                | OFlags::CREATE
                | OFlags::NOFOLLOW
                | OFlags::CLOEXEC
                | OFlags::NONBLOCK,
            Mode::from_raw_mode(mode),
        )
        .map_err(|e| Error::io(what, path())(e.into()))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::io(what, path())(e.into()))?;
        let refuse = |reason| Error::UnsafeOutput {
            path: path(),
            reason,
        };
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(refuse("not a regular file"));
        }
        if st.st_uid != rustix::process::geteuid().as_raw() {
            return Err(refuse("owned by another user"));
        }
        if st.st_nlink != 1 {
            return Err(refuse("it has other hard links"));
        }
        if st.st_mode & 0o022 != 0 {
            return Err(refuse("group or others can write it"));
        }
        Ok(std::fs::File::from(fd))
    }

    /// Replaces (or creates) the file `name` atomically: a complete new file is written under a
    /// temporary name with `mode` and `owner`, fsync-ed and renamed over `name`, then the
    /// directory is fsync-ed. Readers see the old file or the new one; a symbolic link at `name`
    /// is replaced, never followed.
    pub(crate) fn replace_file(
        &self,
        name: &str,
        contents: &[u8],
        mode: u32,
        owner: Option<(u32, u32)>,
        what: &'static str,
    ) -> Result<()> {
        let tmp = super::temp_name(name);
        self.create_file(&tmp, contents, mode, owner, true, what)?;
        self.rename(&tmp, name).inspect_err(|_| {
            let _ = rustix::fs::unlinkat(&self.fd, tmp.as_str(), AtFlags::empty());
        })?;
        self.sync()
    }

    /// Creates the file `name` complete or not at all, never over anything at the name (a file
    /// or a symbolic link there is left as it is): `contents` written with `mode` and fsync-ed
    /// under a temporary name, then hard-linked as `name`, which fails if `name` exists. Returns
    /// whether this call created it (`false`: something was there, perhaps another process's
    /// copy made the same way).
    pub(crate) fn create_file_complete(
        &self,
        name: &str,
        contents: &[u8],
        mode: u32,
        what: &'static str,
    ) -> Result<bool> {
        let tmp = super::temp_name(name);
        self.create_file(&tmp, contents, mode, None, true, what)?;
        let linked = rustix::fs::linkat(&self.fd, tmp.as_str(), &self.fd, name, AtFlags::empty());
        self.unlink_quietly(&tmp);
        match linked {
            Ok(()) => self.sync().map(|()| true),
            Err(rustix::io::Errno::EXIST) => Ok(false),
            Err(e) => Err(Error::io(what, self.path.join(name))(e.into())),
        }
    }

    /// Replaces (or creates) several files, each atomically as [`Dir::replace_file`] does, with
    /// their renames back to back: every new file is written and fsync-ed under a temporary name
    /// first, then each is renamed over its name in the order given, then the directory is
    /// fsync-ed once. A reader that opens two of them one after the other (libpq: the
    /// certificate, then its key) can meet an old one and a new one only within those renames,
    /// not for as long as the later files take to write. If a file cannot be written, nothing
    /// is replaced and no temporary file is left; if a rename fails part-way, the files already
    /// renamed get their earlier contents back (kept as hard links under temporary names until
    /// the renames are done), so a directory never keeps a new key beside an old certificate.
    pub(crate) fn replace_files(
        &self,
        files: &[(&str, &[u8], u32)],
        owner: Option<(u32, u32)>,
        what: &'static str,
    ) -> Result<()> {
        let mut staged: Vec<Staged> = Vec::with_capacity(files.len());
        for &(name, contents, mode) in files {
            let tmp = super::temp_name(name);
            if let Err(e) = self.create_file(&tmp, contents, mode, owner, true, what) {
                self.drop_staged(&staged);
                return Err(e);
            }
            staged.push(Staged {
                tmp,
                name,
                earlier: None,
            });
        }
        for i in 0..staged.len() {
            match self.keep_earlier(staged[i].name) {
                Ok(earlier) => staged[i].earlier = earlier,
                Err(e) => {
                    self.drop_staged(&staged);
                    return Err(e);
                }
            }
        }
        self.swap_staged(&staged, |from, to| self.rename(from, to))?;
        self.sync()
    }

    /// A hard link to what `name` holds now, under a temporary name; `None` if nothing is there.
    fn keep_earlier(&self, name: &str) -> Result<Option<String>> {
        let kept = super::temp_name(name);
        match rustix::fs::linkat(&self.fd, name, &self.fd, kept.as_str(), AtFlags::empty()) {
            Ok(()) => Ok(Some(kept)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(Error::io("keep the earlier", self.path.join(name))(
                e.into(),
            )),
        }
    }

    /// Renames every staged file over its name with `rename`; when one fails, puts back what
    /// the earlier ones replaced (or removes them where there was nothing) and removes every
    /// temporary name. On success the kept earlier files are removed.
    fn swap_staged(
        &self,
        staged: &[Staged],
        mut rename: impl FnMut(&str, &str) -> Result<()>,
    ) -> Result<()> {
        for (i, s) in staged.iter().enumerate() {
            if let Err(e) = rename(&s.tmp, s.name) {
                for done in &staged[..i] {
                    match &done.earlier {
                        Some(kept) => {
                            let _ = self.rename(kept, done.name);
                        }
                        None => self.unlink_quietly(done.name),
                    }
                }
                self.drop_staged(&staged[i..]);
                return Err(e);
            }
        }
        for s in staged {
            if let Some(kept) = &s.earlier {
                self.unlink_quietly(kept);
            }
        }
        Ok(())
    }

    /// Removes the temporary names of `staged`: the new files and the kept earlier ones.
    fn drop_staged(&self, staged: &[Staged]) {
        for s in staged {
            self.unlink_quietly(&s.tmp);
            if let Some(kept) = &s.earlier {
                self.unlink_quietly(kept);
            }
        }
    }

    fn unlink_quietly(&self, name: &str) {
        let _ = rustix::fs::unlinkat(&self.fd, name, AtFlags::empty());
    }

    /// Renames the entry `from` to `to`, both in this directory.
    pub(crate) fn rename(&self, from: &str, to: &str) -> Result<()> {
        rustix::fs::renameat(&self.fd, from, &self.fd, to)
            .map_err(|e| Error::io("move into place", self.path.join(to))(e.into()))
    }

    /// Where the symbolic link `name` points; `None` if there is no such entry or it is not a
    /// link.
    pub(crate) fn read_link(&self, name: &str) -> Option<PathBuf> {
        rustix::fs::readlinkat(&self.fd, name, Vec::new())
            .ok()
            .map(|t| PathBuf::from(std::ffi::OsStr::from_bytes(t.to_bytes())))
    }

    /// Points the symbolic link `name` at `target` atomically, the link given to `owner`: a new
    /// link under a temporary name renamed over the old one, so that a reader resolving `name`
    /// sees the old target or the new one, never neither.
    pub(crate) fn swap_symlink(
        &self,
        target: &Path,
        name: &str,
        owner: Option<(u32, u32)>,
    ) -> Result<()> {
        let tmp = super::temp_name(name);
        rustix::fs::symlinkat(target, &self.fd, tmp.as_str())
            .map_err(|e| Error::io("create link", self.path.join(&tmp))(e.into()))?;
        let done = (|| {
            if let Some((uid, gid)) = owner {
                rustix::fs::chownat(
                    &self.fd,
                    tmp.as_str(),
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
                .map_err(|e| Error::io("change owner of", self.path.join(&tmp))(e.into()))?;
            }
            self.rename(&tmp, name)
        })();
        if done.is_err() {
            let _ = rustix::fs::unlinkat(&self.fd, tmp.as_str(), AtFlags::empty());
        }
        done
    }

    /// The names in this directory (without `.` and `..`).
    pub(crate) fn entries(&self) -> Result<Vec<OsString>> {
        let io = |e: rustix::io::Errno| Error::io("read directory", &self.path)(e.into());
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.fd).map_err(io)? {
            let name = entry.map_err(io)?.file_name().to_bytes().to_vec();
            if name != b"." && name != b".." {
                out.push(OsString::from(std::ffi::OsStr::from_bytes(&name)));
            }
        }
        Ok(out)
    }

    /// Removes the entry `name` and, if it is a directory, everything in it, never following a
    /// symbolic link (a link is removed, not its target). A missing entry is fine.
    pub(crate) fn remove_tree(&self, name: &str) -> Result<()> {
        let Some(st) = self.stat_at(name)? else {
            return Ok(());
        };
        let path = || self.path.join(name);
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            if let Some(sub) = self.open_sub(name)? {
                for e in sub.entries()? {
                    sub.remove_tree(&e.to_string_lossy())?;
                }
            }
            rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR)
        } else {
            rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())
        }
        .map_err(|e| Error::io("remove", path())(e.into()))
    }

    /// Makes the regular file `name` of this directory durable (opened without following a
    /// link; `fsync` on a read-only descriptor flushes the file all the same).
    pub(crate) fn sync_file(&self, name: &str) -> Result<()> {
        let path = || self.path.join(name);
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io("sync", path())(e.into()))?;
        rustix::fs::fsync(&fd).map_err(|e| Error::io("sync", path())(e.into()))
    }

    /// Makes the directory's entries durable.
    pub(crate) fn sync(&self) -> Result<()> {
        rustix::fs::fsync(&self.fd).map_err(|e| Error::io("sync directory", &self.path)(e.into()))
    }
}

fn fchown(fd: &OwnedFd, uid: u32, gid: u32) -> std::io::Result<()> {
    rustix::fs::fchown(
        fd,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
    )
    .map_err(Into::into)
}

/// One file of [`Dir::replace_files`] on its way into place.
struct Staged<'a> {
    /// The new contents' temporary name.
    tmp: String,
    /// The name it replaces.
    name: &'a str,
    /// What the name held before, kept under a temporary name until every rename is done.
    earlier: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::super::trust::{Trust, open_dir};
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn a_rename_failing_part_way_puts_the_earlier_files_back_and_leaves_no_temporary_file() {
        let d = tempfile::tempdir().unwrap();
        let dir = open_dir(d.path(), &Trust::invoker(), None).unwrap();
        std::fs::write(d.path().join("a.key"), b"old key").unwrap();
        std::fs::write(d.path().join("a.crt"), b"old cert").unwrap();
        let files: [(&str, &[u8], u32); 3] = [
            ("a.key", b"new key", 0o600),
            ("new.crl", b"new crl", 0o644),
            ("a.crt", b"new cert", 0o644),
        ];
        let mut staged = Vec::new();
        for (name, contents, mode) in files {
            let tmp = super::super::temp_name(name);
            dir.create_file(&tmp, contents, mode, None, true, "write")
                .unwrap();
            let earlier = dir.keep_earlier(name).unwrap();
            staged.push(super::Staged { tmp, name, earlier });
        }
        let e = dir
            .swap_staged(&staged, |from, to| {
                if to == "a.crt" {
                    return Err(crate::error::Error::io("move into place", to)(
                        std::io::ErrorKind::StorageFull.into(),
                    ));
                }
                dir.rename(from, to)
            })
            .unwrap_err();
        assert!(e.to_string().contains("a.crt"), "{e}");
        assert_eq!(std::fs::read(d.path().join("a.key")).unwrap(), b"old key");
        assert_eq!(std::fs::read(d.path().join("a.crt")).unwrap(), b"old cert");
        let mut left: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["a.crt", "a.key"]);
        // And the same renames without a failure replace all three and keep nothing earlier.
        dir.replace_files(&files, None, "write").unwrap();
        assert_eq!(std::fs::read(d.path().join("a.key")).unwrap(), b"new key");
        assert_eq!(std::fs::read(d.path().join("a.crt")).unwrap(), b"new cert");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 3);
        assert_eq!(
            std::fs::metadata(d.path().join("a.key")).unwrap().nlink(),
            1
        );
    }

    #[test]
    fn files_are_made_with_their_mode_and_never_through_a_link() {
        let d = tempfile::tempdir().unwrap();
        let dir = open_dir(d.path(), &Trust::invoker(), None).unwrap();
        dir.create_file("k", b"secret", 0o600, None, true, "write key")
            .unwrap();
        let m = std::fs::metadata(d.path().join("k")).unwrap().permissions();
        assert_eq!(m.mode() & 0o777, 0o600);
        // A link planted at the name is not followed by a create, and replaced by a replace.
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, d.path().join("l")).unwrap();
        let e = dir
            .create_file("l", b"x", 0o644, None, true, "write")
            .unwrap_err();
        assert!(e.to_string().contains("file exists"), "{e}");
        dir.replace_file("l", b"new", 0o644, None, "write").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(d.path().join("l")).unwrap(), b"new");
        assert!(
            !std::fs::symlink_metadata(d.path().join("l"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn remove_tree_never_follows_links_and_open_sub_refuses_them() {
        let d = tempfile::tempdir().unwrap();
        let outside = d.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("precious"), b"x").unwrap();
        let inner = d.path().join("work");
        std::fs::create_dir_all(inner.join("a/b")).unwrap();
        std::os::unix::fs::symlink(&outside, inner.join("a/link")).unwrap();
        std::os::unix::fs::symlink(&outside, inner.join("tls")).unwrap();
        let dir = open_dir(&inner, &Trust::invoker(), None).unwrap();
        let e = dir.open_sub("tls").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "refusing {}: a symbolic link, which pgca never follows there",
                inner.join("tls").display()
            )
        );
        dir.remove_tree("a").unwrap();
        dir.remove_tree("tls").unwrap();
        assert!(std::fs::read_dir(&inner).unwrap().next().is_none());
        assert!(outside.join("precious").exists());
    }
}
