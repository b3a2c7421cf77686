//! Replacing a user's own file by its path: the walk in front of the one atomic writer,
//! [`Dir::replace_file`](super::handle::Dir::replace_file).
//!
//! [`replace_file`](super::replace_file) replaces whatever is at a name in a directory pgca
//! writes in. A user's own file, such as their `pg_service.conf`, asks for more: it may be a
//! symbolic link their dotfile manager made, and its mode, owner and group are theirs to choose.
//! [`replace_keeping`] follows such a link when a trusted user owns it, keeps an existing file's
//! mode, owner and group, and gives a new file exactly the mode and owner asked for.

use std::io;
use std::path::Path;

use super::parent;
use super::trust::{MAX_LINKS, Trust, invoker_ids, open_dir};
use crate::error::{Distrust, Error, Result};

/// Replaces the file at `path` with `contents` atomically: a reader sees the old file or the new
/// one, never a mix, and on any failure the original is untouched and no temporary file is left.
///
/// - Every directory on the way must be one only root, the user pgca runs as or, with `owner`
///   (uid, gid), that user can change ([`Trust`]).
/// - A symbolic link at the name is followed when root or the user pgca runs as owns it (not
///   `owner`: see [`Trust::follows`]), link after link: the target is replaced and the links
///   stay. A link anyone else owns is refused.
/// - An existing file keeps its permission bits, owner and group. A new file gets exactly
///   `new_mode`, whatever the umask, and belongs to `owner`, else to the user pgca runs as.
/// - Every I/O failure names `path` with `what`, not a directory or the temporary name.
pub(crate) fn replace_keeping(
    path: &Path,
    contents: &[u8],
    new_mode: u32,
    owner: Option<(u32, u32)>,
    what: &'static str,
) -> Result<()> {
    let trust = match owner {
        Some((uid, _)) => Trust::with_owner(uid),
        None => Trust::invoker(),
    };
    let named = |e: Error| match e {
        Error::Io { source, .. } => Error::Io {
            action: what,
            path: path.to_path_buf(),
            source,
        },
        other => other,
    };
    let me = invoker_ids();
    let mut target = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let name = target
            .file_name()
            .ok_or_else(|| Error::io(what, path)(io::ErrorKind::InvalidInput.into()))?
            .to_string_lossy()
            .into_owned();
        let dir = open_dir(parent(&target), &trust, None).map_err(named)?;
        match dir.stat_at(&name).map_err(named)? {
            Some(st) if st.st_mode & 0o170000 == 0o120000 => {
                trust.check_link(&target, st.st_uid)?;
                let link = dir
                    .read_link(&name)
                    .ok_or_else(|| Error::io(what, path)(io::ErrorKind::NotFound.into()))?;
                target = parent(&target).join(link);
            }
            existing => {
                let (mode, ids) = match existing {
                    Some(st) => (st.st_mode & 0o7777, (st.st_uid, st.st_gid)),
                    None => (new_mode, owner.unwrap_or(me)),
                };
                let ids = (ids != me).then_some(ids);
                return dir
                    .replace_file(&name, contents, mode, ids, what)
                    .map_err(named);
            }
        }
    }
    Err(Error::Untrusted {
        path: path.to_path_buf(),
        why: Distrust::TooManyLinks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn is_root() -> bool {
        invoker_ids().0 == 0
    }

    #[test]
    fn a_new_file_gets_the_mode_and_owner_asked_for() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        // As root, a file for another user; otherwise for ourselves, given explicitly.
        let owner = if is_root() {
            (1234, 5678)
        } else {
            invoker_ids()
        };
        replace_keeping(&p, b"x", 0o640, Some(owner), "write").unwrap();
        let md = fs::metadata(&p).unwrap();
        assert_eq!(md.permissions().mode() & 0o7777, 0o640);
        assert_eq!((md.uid(), md.gid()), owner);
        assert_eq!(fs::read(&p).unwrap(), b"x");
        // Replaced: the mode and owner stay, whatever is asked for a new file.
        fs::set_permissions(&p, fs::Permissions::from_mode(0o604)).unwrap();
        replace_keeping(&p, b"y", 0o600, None, "write").unwrap();
        let md = fs::metadata(&p).unwrap();
        assert_eq!(md.permissions().mode() & 0o7777, 0o604);
        assert_eq!((md.uid(), md.gid()), owner);
        assert_eq!(fs::read(&p).unwrap(), b"y");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn links_are_followed_until_there_are_too_many() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("real"), b"old").unwrap();
        std::os::unix::fs::symlink("real", d.path().join("l1")).unwrap();
        std::os::unix::fs::symlink("l1", d.path().join("l2")).unwrap();
        replace_keeping(&d.path().join("l2"), b"new", 0o600, None, "write").unwrap();
        assert_eq!(fs::read(d.path().join("real")).unwrap(), b"new");
        assert!(
            fs::symlink_metadata(d.path().join("l1"))
                .unwrap()
                .is_symlink()
        );
        assert!(
            fs::symlink_metadata(d.path().join("l2"))
                .unwrap()
                .is_symlink()
        );
        // A loop.
        std::os::unix::fs::symlink("b", d.path().join("a")).unwrap();
        std::os::unix::fs::symlink("a", d.path().join("b")).unwrap();
        let e = replace_keeping(&d.path().join("a"), b"x", 0o600, None, "write").unwrap_err();
        let Error::Untrusted { path, why } = e else {
            panic!("{e}")
        };
        assert_eq!((path, why), (d.path().join("a"), Distrust::TooManyLinks));
    }

    #[test]
    fn io_failures_name_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("missing/f");
        let e = replace_keeping(&p, b"x", 0o600, None, "write thing")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "cannot write thing {}: no such file or directory",
                p.display()
            )
        );
    }

    #[test]
    fn a_link_another_user_owns_is_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        fs::write(&real, b"keep").unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        // Only root can give a link away; as anyone else the link stays ours and is followed.
        if is_root() {
            std::os::unix::fs::lchown(&link, Some(1234), Some(1234)).unwrap();
            // Not even for that user: their link could point root at root's own files.
            let e = replace_keeping(&link, b"x", 0o600, Some((1234, 1234)), "write").unwrap_err();
            let Error::Untrusted { path, why } = e else {
                panic!("{e}")
            };
            assert_eq!(path, link);
            assert!(
                matches!(why, Distrust::ForeignLink { uid: 1234, .. }),
                "{why}"
            );
            assert_eq!(fs::read(&real).unwrap(), b"keep");
        } else {
            replace_keeping(&link, b"x", 0o600, None, "write").unwrap();
            assert_eq!(fs::read(&real).unwrap(), b"x");
        }
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    }
}
