//! Whom pgca trusts with the directories it works in, and the walk that opens a path under that
//! rule.
//!
//! pgca runs as root and writes where other users can write too: PostgreSQL data directories
//! (the database user's), home directories, shared places. A directory is **trusted** when it is
//! owned by root, by the user pgca runs as, or by the one user the files are for (the database
//! user for a data directory, `--owner` for `client-install`), and nobody else can change its
//! entries: not writable by group or others, unless the sticky bit stops them from replacing
//! entries they do not own (`/tmp`). Every directory on the way to one pgca writes in must be
//! trusted, as OpenSSH's StrictModes asks of `~/.ssh`; a symbolic link is followed only when it
//! lies in a trusted directory and is owned by a trusted user. [`open_dir`] walks a path one
//! component at a time with `O_NOFOLLOW`, checking each as it goes, and returns a handle to the
//! directory: nothing resolves the path again afterwards.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::unistd::{Uid, User};
use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::Dir;
use crate::error::Distrust;
use crate::error::{Error, Result};

/// The users whose directories pgca may work through: root, the user pgca runs as, and
/// optionally the user the files are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Trust {
    euid: u32,
    owner: Option<u32>,
}

impl Trust {
    /// Root and the user pgca runs as.
    pub(crate) fn invoker() -> Trust {
        Trust {
            euid: effective_uid(),
            owner: None,
        }
    }

    /// Root, the user pgca runs as, and `uid`, for whom the files are written.
    pub(crate) fn with_owner(uid: u32) -> Trust {
        Trust {
            owner: Some(uid),
            ..Trust::invoker()
        }
    }

    /// Whether `uid` may control a directory pgca works through.
    pub(crate) fn trusts(&self, uid: u32) -> bool {
        uid == 0 || uid == self.euid || Some(uid) == self.owner
    }

    /// Whether pgca follows a symbolic link owned by `uid`: only root's and its own. The files'
    /// owner may own directories on the way, but a link of theirs could point pgca, running as
    /// root, at root's own files.
    pub(crate) fn follows(&self, uid: u32) -> bool {
        uid == 0 || uid == self.euid
    }

    /// Refuses `link`, a symbolic link owned by `uid`, unless [`Trust::follows`] that owner.
    pub(crate) fn check_link(&self, link: &Path, uid: u32) -> Result<()> {
        if self.follows(uid) {
            return Ok(());
        }
        Err(Error::Untrusted {
            path: link.to_path_buf(),
            why: Distrust::ForeignLink {
                uid,
                name: user_name(uid),
            },
        })
    }

    /// Checks a directory's owner and mode; `Ok` when trusted.
    pub(crate) fn check_dir(&self, stat: &rustix::fs::Stat) -> std::result::Result<(), Distrust> {
        if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
            return Err(Distrust::NotADirectory);
        }
        if !self.trusts(stat.st_uid) {
            return Err(Distrust::Owner {
                uid: stat.st_uid,
                name: user_name(stat.st_uid),
            });
        }
        let mode = stat.st_mode & 0o7777;
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Err(Distrust::Writable { mode: mode & 0o777 });
        }
        Ok(())
    }
}

/// How many symbolic links one walk may follow (the kernel's own limit).
pub(super) const MAX_LINKS: usize = 40;

/// Opens the directory at `path`, checking every directory on the way from `/` with `trust`
/// (see the module docs). With `create`, missing directories are made with that mode (exactly,
/// whatever the umask) and given to that owner; their parents must be trusted as usual.
pub(crate) fn open_dir(path: &Path, trust: &Trust, create: Option<NewDir>) -> Result<Dir> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(Error::io("resolve", path))?
            .join(path)
    };
    let mut todo: VecDeque<OsString> = components(&absolute);
    let mut links = 0;
    let mut cur = root_dir(trust)?;
    while let Some(name) = todo.pop_front() {
        if name == ".." {
            let parent = open_raw(cur.fd(), "..")
                .map_err(|e| Error::io("open directory", cur.path().join(".."))(e.into()))?;
            let shown = cur.path().parent().unwrap_or(Path::new("/")).to_path_buf();
            cur = checked(parent, shown, trust)?;
            continue;
        }
        let shown = cur.path().join(&name);
        match rustix::fs::statat(cur.fd(), name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                trust.check_link(&shown, st.st_uid)?;
                links += 1;
                if links > MAX_LINKS {
                    return Err(Error::Untrusted {
                        path: shown,
                        why: Distrust::TooManyLinks,
                    });
                }
                let target = rustix::fs::readlinkat(cur.fd(), name.as_os_str(), Vec::new())
                    .map_err(|e| Error::io("read link", &shown)(e.into()))?;
                let target = PathBuf::from(std::ffi::OsStr::from_bytes(target.to_bytes()));
                let mut rest = components(&target);
                rest.extend(todo.drain(..));
                todo = rest;
                if target.is_absolute() {
                    cur = root_dir(trust)?;
                }
            }
            Ok(_) => {
                let fd = open_raw(cur.fd(), &name)
                    .map_err(|e| Error::io("open directory", &shown)(e.into()))?;
                cur = checked(fd, shown, trust)?;
            }
            Err(rustix::io::Errno::NOENT) if create.is_some() => {
                let new = create.expect("checked");
                cur = cur.create_dir(&name.to_string_lossy(), new.mode, new.owner)?;
                cur.check(trust)?;
            }
            Err(e) => return Err(Error::io("open directory", &shown)(e.into())),
        }
    }
    Ok(cur)
}

/// How [`open_dir`] makes a missing directory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NewDir {
    /// Its mode, exactly.
    pub(crate) mode: u32,
    /// Its owner and group; `None` for the user pgca runs as.
    pub(crate) owner: Option<(u32, u32)>,
}

fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

fn root_dir(trust: &Trust) -> Result<Dir> {
    let fd = rustix::fs::open(
        "/",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io("open directory", "/")(e.into()))?;
    checked(fd, PathBuf::from("/"), trust)
}

fn open_raw(dir: &OwnedFd, name: impl rustix::path::Arg) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn checked(fd: OwnedFd, path: PathBuf, trust: &Trust) -> Result<Dir> {
    let dir = Dir::from_fd(fd, path);
    dir.check(trust)?;
    Ok(dir)
}

/// The effective uid of this process.
pub(crate) fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The uid and primary gid of a user, by name or number, through the system's user database
/// (NSS: `/etc/passwd`, LDAP, sssd, whatever `getent passwd` sees).
pub fn lookup_user(user: &str) -> Result<(u32, u32)> {
    let by_name = User::from_name(user).ok().flatten();
    let found = by_name.or_else(|| {
        let uid = user.parse::<u32>().ok()?;
        User::from_uid(Uid::from_raw(uid)).ok().flatten()
    });
    found
        .map(|u| (u.uid.as_raw(), u.gid.as_raw()))
        .ok_or_else(|| Error::UnknownUser(user.to_string()))
}

/// The name of a uid, from the system's user database.
pub(crate) fn user_name(uid: u32) -> Option<String> {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// The home directory of a uid, from the system's user database.
pub(crate) fn user_home(uid: u32) -> Option<PathBuf> {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.dir)
}

/// The uid and gid of the user pgca runs as.
pub(crate) fn invoker_ids() -> (u32, u32) {
    (effective_uid(), rustix::process::getegid().as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_looked_up_as_getent_sees_them() {
        // getent asks NSS, as libc's getpwnam does: every user it lists is found by name and by
        // uid with the same ids and home, whatever database the user comes from.
        let out = std::process::Command::new("getent")
            .arg("passwd")
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let mut seen = 0;
        for line in text.lines() {
            let f: Vec<&str> = line.split(':').collect();
            let (name, uid, gid, home) = (f[0], f[2].parse::<u32>().unwrap(), f[3], f[5]);
            let by_name = lookup_user(name).unwrap();
            assert_eq!(by_name.0, uid, "{line}");
            assert_eq!(by_name.1.to_string(), gid, "{line}");
            if user_name(uid).as_deref() == Some(name) {
                assert_eq!(lookup_user(&uid.to_string()).unwrap(), by_name, "{line}");
                assert_eq!(user_home(uid), Some(PathBuf::from(home)), "{line}");
            }
            seen += 1;
        }
        assert!(seen >= 2, "getent passwd listed {seen} users");
        assert_eq!(lookup_user("root").unwrap(), (0, 0));
        let e = lookup_user("no-such-user-pgca").unwrap_err().to_string();
        assert_eq!(e, "unknown user \"no-such-user-pgca\"");
    }
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_walk_opens_trusted_paths_and_follows_trusted_links() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, d.path().join("link")).unwrap();
        let dir = open_dir(&d.path().join("link"), &Trust::invoker(), None).unwrap();
        dir.create_file("f", b"x", 0o600, None, true, "write")
            .unwrap();
        assert_eq!(std::fs::read(real.join("f")).unwrap(), b"x");
        // `..` is the physical parent, as for the kernel.
        let up = open_dir(&d.path().join("link/.."), &Trust::invoker(), None).unwrap();
        assert!(up.stat_at("real").unwrap().is_some());
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let open = d.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::create_dir(open.join("inner")).unwrap();
        let e = open_dir(&open.join("inner"), &Trust::invoker(), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "refusing {}: writable by other users (mode 0777), who could replace what pgca writes there",
                open.display()
            )
        );
        // The sticky bit stops others from replacing entries: /tmp is fine.
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        open_dir(&open.join("inner"), &Trust::invoker(), None).unwrap();
    }

    #[test]
    fn missing_directories_are_made_with_the_exact_mode() {
        let d = tempfile::tempdir().unwrap();
        let new = NewDir {
            mode: 0o750,
            owner: None,
        };
        open_dir(&d.path().join("a/b"), &Trust::invoker(), Some(new)).unwrap();
        for p in ["a", "a/b"] {
            let m = std::fs::metadata(d.path().join(p)).unwrap().permissions();
            assert_eq!(m.mode() & 0o7777, 0o750, "{p}");
        }
    }
}
