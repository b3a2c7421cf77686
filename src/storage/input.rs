//! Reading a file a user names on the command line (`deploy-server --cert FILE --key FILE`,
//! `--passphrase-file FILE`), and opening a PKCS#11 module: pgca runs as root, so a file another
//! user could have placed or pointed at is hostile.
//!
//! - The directory holding the file is opened by the trust walk ([`super::open_dir`]): every
//!   directory on the way owned by root or the user pgca runs as, writable by nobody else.
//! - A symbolic link at the file's name is followed only when root or that user owns it (and
//!   the walk starts again from its target); one another user planted is refused, so that
//!   nobody can make root read, and install for them, a file of root's.
//! - The file is opened relative to that directory with `O_NOFOLLOW | O_NONBLOCK` (a FIFO can
//!   never hang the open), and what is checked is the open file (`fstat`): a regular file, at
//!   most [`MAX_INPUT`] bytes ([`MAX_SECRET`] for a passphrase file).
//! - A key must also pass libpq's and PostgreSQL's rule for key files (owned by the user pgca
//!   runs as with mode at most 0600, or by root with at most 0640), and have no other hard
//!   link (a link another user made to root's key in a shared directory would pass the rest).
//! - A passphrase, PIN or password file ([`Input::Secret`]) is the only secret in front of a CA
//!   key: it must be owned by root or the user pgca runs as, with no access for group or others
//!   (at most 0600, also for root: nobody else may have read it or written what it holds).

use std::io::Read;
use std::path::{Path, PathBuf};

use rustix::fd::OwnedFd;
use rustix::fs::{FileType, Mode, OFlags, Stat};
use zeroize::Zeroizing;

use super::trust::{MAX_LINKS, Trust, effective_uid, open_dir, user_name};
use crate::error::{Distrust, Error, Result, UnsafeInput};

/// The largest file pgca reads as a certificate, key or CA file: 1 MiB.
pub(crate) const MAX_INPUT: u64 = 1 << 20;

/// The largest passphrase, PIN or password file pgca reads: 64 KiB (only its first line counts).
pub(crate) const MAX_SECRET: u64 = 64 << 10;

/// What a file given on the command line is: public data, or a private key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// A certificate or a CA bundle.
    Public,
    /// A private key: the key-file rule applies.
    Key,
    /// A passphrase, PIN or password file: the secret-file rule applies.
    Secret,
}

impl Input {
    /// The most pgca reads of such a file.
    fn max(self) -> u64 {
        match self {
            Input::Public | Input::Key => MAX_INPUT,
            Input::Secret => MAX_SECRET,
        }
    }
}

/// A file opened by [`open_input`]: the open file, what `fstat` said of it, and its path as
/// errors show it (the directory the walk reached, joined with the file's name).
pub(crate) struct Opened {
    /// The open file (read-only, `O_NONBLOCK`, close-on-exec).
    pub(crate) fd: OwnedFd,
    /// `fstat` of it: a regular file.
    pub(crate) stat: Stat,
    /// Where it was found, after following trusted links.
    pub(crate) path: PathBuf,
}

/// Reads the file at `path` by the rules of the module docs; `what` names the action in errors
/// (`read key`). The bytes are wiped when dropped.
pub(crate) fn read_input(
    path: &Path,
    what: &'static str,
    input: Input,
) -> Result<Zeroizing<Vec<u8>>> {
    let Opened { fd, stat, path } = open_input(path, what)?;
    let refuse = |reason: UnsafeInput| Error::UnsafeInput {
        path: path.clone(),
        reason,
    };
    let max = input.max();
    let size = u64::try_from(stat.st_size).unwrap_or(u64::MAX);
    if size > max {
        return Err(refuse(UnsafeInput::TooLarge { max }));
    }
    match input {
        Input::Public => {}
        Input::Key => key_rule(&stat).map_err(refuse)?,
        Input::Secret => secret_rule(&stat).map_err(refuse)?,
    }
    let mut out = Zeroizing::new(Vec::with_capacity(size as usize + 1));
    std::fs::File::from(fd)
        .take(max + 1)
        .read_to_end(&mut out)
        .map_err(Error::io(what, &path))?;
    if out.len() as u64 > max {
        return Err(refuse(UnsafeInput::TooLarge { max }));
    }
    Ok(out)
}

/// Opens the regular file at `path` by the rules of the module docs (the trust walk, trusted
/// links only, `O_NOFOLLOW | O_NONBLOCK`, the type checked before and after the open), without
/// reading it or judging its owner and mode: that is the caller's. `what` names the action in
/// errors (`load pkcs11 module`).
pub(crate) fn open_input(path: &Path, what: &'static str) -> Result<Opened> {
    open_input_trusting(path, what, &Trust::invoker())
}

/// [`open_input`] with the directories on the way also trusted when `trust`'s owner has them
/// (a data directory's configuration, the cluster owner's): links are still followed only when
/// root or the user pgca runs as owns them.
pub(crate) fn open_input_trusting(
    path: &Path,
    what: &'static str,
    trust: &Trust,
) -> Result<Opened> {
    let trust = *trust;
    let mut cur = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        let Some(name) = cur.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return Err(Error::io(what, &cur)(
                std::io::ErrorKind::InvalidInput.into(),
            ));
        };
        let dir = open_dir(super::parent(&cur), &trust, None)?;
        let shown = dir.path().join(&name);
        let Some(st) = dir.stat_at(&name)? else {
            return Err(Error::io(what, &shown)(std::io::ErrorKind::NotFound.into()));
        };
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            trust.check_link(&shown, st.st_uid)?;
            let target = dir.read_link(&name).ok_or_else(|| {
                Error::io("read link", &shown)(std::io::ErrorKind::NotFound.into())
            })?;
            cur = if target.is_absolute() {
                target
            } else {
                dir.path().join(target)
            };
            continue;
        }
        let not_a_file = |path: PathBuf| Error::UnsafeInput {
            path,
            reason: UnsafeInput::NotAFile,
        };
        // Never open a device or a FIFO, whose open alone may do something.
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(not_a_file(shown));
        }
        let fd = rustix::fs::openat(
            dir.fd(),
            name.as_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io(what, &shown)(e.into()))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::io(what, &shown)(e.into()))?;
        // Swapped for something else between the stat and the open.
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(not_a_file(shown));
        }
        return Ok(Opened {
            fd,
            stat: st,
            path: shown,
        });
    }
    Err(Error::Untrusted {
        path: cur,
        why: Distrust::TooManyLinks,
    })
}

/// Reads a public file (a configuration file) like [`read_input`] with [`Input::Public`], the
/// directories on the way judged by `trust` ([`open_input_trusting`]); with the bytes, the
/// file's identity (device and inode) as `fstat` gave it.
pub(crate) fn read_public_trusting(
    path: &Path,
    what: &'static str,
    trust: &Trust,
) -> Result<(Vec<u8>, (u64, u64))> {
    let Opened { fd, stat, path } = open_input_trusting(path, what, trust)?;
    // st_dev and st_ino are narrower on some targets.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    let id = (stat.st_dev as u64, stat.st_ino as u64);
    let mut out = Vec::new();
    std::fs::File::from(fd)
        .take(MAX_INPUT + 1)
        .read_to_end(&mut out)
        .map_err(Error::io(what, &path))?;
    if out.len() as u64 > MAX_INPUT {
        return Err(Error::UnsafeInput {
            path,
            reason: UnsafeInput::TooLarge { max: MAX_INPUT },
        });
    }
    Ok((out, id))
}

/// The entries of the directory at `path`, opened by the trust walk with `trust`: each name and
/// whether it is a directory (not followed: a link counts as a file, read later through
/// [`open_input_trusting`]). The path is the one the walk reached.
pub(crate) fn list_dir_trusting(
    path: &Path,
    trust: &Trust,
) -> Result<(PathBuf, Vec<(String, bool)>)> {
    let dir = open_dir(path, trust, None)?;
    let mut out = Vec::new();
    for name in dir.entries()? {
        let name = name.to_string_lossy().into_owned();
        let is_dir = dir
            .stat_at(&name)?
            .is_some_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory);
        out.push((name, is_dir));
    }
    Ok((dir.path().to_path_buf(), out))
}

/// libpq's and PostgreSQL's rule for a key file (owned by root: at most 0640; by the user
/// pgca runs as: at most 0600), and one hard link: `Err` says why not.
fn key_rule(st: &Stat) -> std::result::Result<(), UnsafeInput> {
    let mode = st.st_mode & 0o7777;
    let uid = st.st_uid;
    let allowed = if uid == 0 {
        0o640
    } else if uid == effective_uid() {
        0o600
    } else {
        return Err(UnsafeInput::KeyOwner {
            uid,
            name: user_name(uid),
        });
    };
    if mode & !allowed != 0 {
        return Err(UnsafeInput::KeyMode {
            mode,
            allowed,
            root: uid == 0,
        });
    }
    if st.st_nlink > 1 {
        // st_nlink is u32 on some targets.
        #[allow(clippy::unnecessary_cast)]
        return Err(UnsafeInput::HardLinks(st.st_nlink as u64));
    }
    Ok(())
}

/// The rule for a passphrase, PIN or password file: owned by root or the user pgca runs as, and
/// no access at all for group or others; `Err` says why not.
fn secret_rule(st: &Stat) -> std::result::Result<(), UnsafeInput> {
    let uid = st.st_uid;
    if uid != 0 && uid != effective_uid() {
        return Err(UnsafeInput::SecretOwner {
            uid,
            name: user_name(uid),
        });
    }
    let mode = st.st_mode & 0o7777;
    if mode & 0o077 != 0 {
        return Err(UnsafeInput::SecretMode { mode });
    }
    Ok(())
}

/// The absolute form of a path given on the command line (for messages and results).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_follow_libpqs_rule_and_certificates_are_read_as_they_are() {
        let d = tempfile::tempdir().unwrap();
        let key = d.path().join("k.key");
        fs::write(&key, b"secret").unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            &read_input(&key, "read key", Input::Key).unwrap()[..],
            b"secret"
        );
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_input(&key, "read key", Input::Key)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "refusing {}: a key of mode 0644, open to other users",
                key.display()
            )),
            "{e}"
        );
        assert_eq!(
            &read_input(&key, "read certificate", Input::Public).unwrap()[..],
            b"secret"
        );
        // A second hard link: refused for a key.
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        fs::hard_link(&key, d.path().join("other")).unwrap();
        let e = read_input(&key, "read key", Input::Key)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 hard links"), "{e}");
        // Not a regular file, and a missing one.
        let e = read_input(d.path(), "read certificate", Input::Public)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not a regular file") || e.contains("cannot read"),
            "{e}"
        );
        let e = read_input(
            &d.path().join("nope.crt"),
            "read certificate",
            Input::Public,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            format!(
                "cannot read certificate {}: no such file or directory",
                d.path().join("nope.crt").display()
            )
        );
    }

    #[test]
    fn secrets_are_read_only_when_nobody_else_can_open_them() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("pass");
        fs::write(&f, b"s3cret\n").unwrap();
        for (mode, ok) in [
            (0o600, true),
            (0o400, true),
            (0o700, true),
            (0o640, false),
            (0o644, false),
            (0o620, false),
            (0o604, false),
        ] {
            fs::set_permissions(&f, fs::Permissions::from_mode(mode)).unwrap();
            let got = read_input(&f, "read passphrase file", Input::Secret);
            match (got, ok) {
                (Ok(b), true) => assert_eq!(&b[..], b"s3cret\n", "{mode:o}"),
                (Err(e), false) => assert_eq!(
                    e.to_string(),
                    format!(
                        "refusing {}: a passphrase file of mode {mode:04o}, open to other users \
                         (at most 0600)",
                        f.display()
                    )
                ),
                (got, _) => panic!("mode {mode:o}: {:?}", got.map(|_| ())),
            }
        }
        // Larger than a passphrase file is.
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&f, vec![b'x'; MAX_SECRET as usize + 1]).unwrap();
        let e = read_input(&f, "read passphrase file", Input::Secret).unwrap_err();
        assert!(e.to_string().contains("larger than 65536 bytes"), "{e}");
        // A FIFO is refused at once, never opened.
        let fifo = d.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = read_input(&fifo, "read passphrase file", Input::Secret).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("refusing {}: not a regular file", fifo.display())
        );
        let e = open_input(&fifo, "load pkcs11 module")
            .map(|_| ())
            .unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn own_links_are_followed_relative_to_their_directory() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("archive")).unwrap();
        fs::write(d.path().join("archive/c.crt"), b"cert").unwrap();
        std::os::unix::fs::symlink("archive/c.crt", d.path().join("live.crt")).unwrap();
        let got = read_input(
            &d.path().join("live.crt"),
            "read certificate",
            Input::Public,
        )
        .unwrap();
        assert_eq!(&got[..], b"cert");
        std::os::unix::fs::symlink("loop", d.path().join("loop")).unwrap();
        let e = read_input(&d.path().join("loop"), "read certificate", Input::Public).unwrap_err();
        assert!(e.to_string().contains("too many levels"), "{e}");
    }
}
