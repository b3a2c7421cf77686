//! Reading a service file, and replacing it atomically with the edits: [`read_file`],
//! [`write_file`], [`write_file_for`], [`ServiceFile::save`].

use std::fs;
use std::io;
use std::path::Path;

use super::edit::ServiceFile;
use crate::error::{Error, Result};
use crate::storage::replace::replace_keeping;

/// The mode of a service file pgca creates: it may hold `sslpassword`. An existing file keeps
/// its mode.
pub const SERVICE_FILE_MODE: u32 = 0o600;

impl ServiceFile {
    /// Writes the file to its path atomically: see [`write_file`].
    pub fn save(&self) -> Result<()> {
        write_file(self.path(), self.as_bytes())
    }

    /// Writes the file for the user `owner` (uid, gid): see [`write_file_for`].
    pub fn save_for(&self, owner: Option<(u32, u32)>) -> Result<()> {
        write_file_for(self.path(), self.as_bytes(), owner)
    }
}

/// Reads the service file at `path`. A missing file is an empty one, ready to be added to.
pub fn read_file(path: &Path) -> Result<ServiceFile> {
    match fs::read(path) {
        Ok(bytes) => Ok(ServiceFile::parse(path, bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(ServiceFile::new(path)),
        Err(e) => Err(Error::io("read service file", path)(e)),
    }
}

/// Replaces the service file at `path` with `bytes` atomically: a reader sees the old file or
/// the new one, never a mix.
///
/// The bytes go to a temporary file in the same directory, created with the file's mode from
/// the first byte, fsync-ed, then renamed over `path`, and the directory is fsync-ed (the
/// storage layer's one atomic writer). A new file gets mode [`SERVICE_FILE_MODE`] whatever the
/// umask; an existing file keeps its permission bits, owner and group. A symbolic link (a
/// dotfile manager's) is followed when root or the user pgca runs as owns it: its target is
/// replaced and the link stays. Every directory on the way must be one only root or the user
/// pgca runs as can change (see [`write_file_for`] to write for another user). On any failure
/// the original file is untouched and no temporary file is left.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file_for(path, bytes, None)
}

/// [`write_file`] for the user `owner` (uid, gid): directories on the way may also be theirs,
/// and a new file is theirs.
pub fn write_file_for(path: &Path, bytes: &[u8], owner: Option<(u32, u32)>) -> Result<()> {
    replace_keeping(path, bytes, SERVICE_FILE_MODE, owner, "write service file")
}

#[cfg(test)]
mod tests {
    use std::fs::Permissions;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::PathBuf;
    use std::process::Command;

    use super::*;
    use crate::storage::trust::{effective_uid, lookup_user};

    // ---- reading and writing files ----

    fn mode_of(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn dir_names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_missing_file_reads_as_empty_and_other_read_errors_name_the_path() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pg_service.conf");
        let f = read_file(&p).unwrap();
        assert!(f.is_empty());
        assert_eq!(f.path(), p);
        let e = read_file(d.path()).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "cannot read service file {}: is a directory",
                d.path().display()
            )
        );
    }

    #[test]
    fn a_new_file_is_0600_and_an_edit_survives_a_save_and_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pg_service.conf");
        let mut f = read_file(&p).unwrap();
        f.upsert("a", &[("sslpassword", "s")], false).unwrap();
        f.save().unwrap();
        assert_eq!(mode_of(&p), 0o600);
        assert_eq!(read_file(&p).unwrap(), f);
        assert_eq!(dir_names(d.path()), ["pg_service.conf"]);
    }

    // ---- steps run in a child process: another umask, another user ----

    /// Where a child step works: set by [`run_child`], absent when the ignored tests are run
    /// by hand (they then do nothing).
    const CHILD_DIR: &str = "PGCA_SERVICE_TEST_DIR";

    /// Runs the ignored test `name` of this module in a child process of this test binary, with
    /// [`CHILD_DIR`] set to `dir`, after the shell commands `setup` (`umask 000 && `), as
    /// `user` when given (`runuser -u USER`). Fails unless the child ran exactly that test and
    /// it passed: a renamed or moved test cannot pass by running nothing.
    fn run_child(name: &str, dir: &Path, setup: &str, user: Option<&str>) {
        // The path libtest knows this test by: this module's path without the crate's name.
        let (_, module) = module_path!().split_once("::").unwrap();
        let mut cmd = match user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", "sh"]);
                c
            }
            None => Command::new("sh"),
        };
        let out = cmd
            .args(["-c", &format!("{setup}exec \"$0\" \"$@\"")])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                &format!("{module}::{name}"),
                "--ignored",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {out:?}");
        assert!(
            stdout.contains("test result: ok. 1 passed;"),
            "{module}::{name} did not run exactly one test: {stdout}"
        );
    }

    /// As root, which ignores permission bits and owns all it makes: opens the temporary
    /// directory `top` to nobody, gives them `theirs`, and returns "nobody", the user the child
    /// steps then run as. Otherwise `None`: the steps run as the user the tests run as.
    fn nobody_if_root(top: &Path, theirs: &[&Path]) -> Option<&'static str> {
        if effective_uid() != 0 {
            return None;
        }
        let (uid, gid) = lookup_user("nobody").unwrap();
        fs::set_permissions(top, Permissions::from_mode(0o755)).unwrap();
        for p in theirs {
            std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
        }
        Some("nobody")
    }

    /// Run by [`a_new_file_is_0600_under_umask_000`] in a child process whose umask is 000.
    #[test]
    #[ignore = "run as a child process by a_new_file_is_0600_under_umask_000"]
    fn write_as_child_under_umask() {
        if let Some(dir) = std::env::var_os(CHILD_DIR) {
            let dir = PathBuf::from(dir);
            // Proves the umask: a plain file gets 0666.
            fs::write(dir.join("control"), b"x").unwrap();
            write_file(&dir.join("pg_service.conf"), b"[a]\nhost=h\n").unwrap();
        }
    }

    #[test]
    fn a_new_file_is_0600_under_umask_000() {
        let d = tempfile::tempdir().unwrap();
        run_child(
            "write_as_child_under_umask",
            d.path(),
            "umask 000 && ",
            None,
        );
        assert_eq!(mode_of(&d.path().join("control")), 0o666);
        let p = d.path().join("pg_service.conf");
        assert_eq!(mode_of(&p), 0o600);
        assert_eq!(fs::read(&p).unwrap(), b"[a]\nhost=h\n");
    }

    /// Run by [`an_existing_file_keeps_its_mode_owner_and_group`] as the file's owner.
    #[test]
    #[ignore = "run as a child process by an_existing_file_keeps_its_mode_owner_and_group"]
    fn write_as_child_own_file() {
        if let Some(dir) = std::env::var_os(CHILD_DIR) {
            let p = PathBuf::from(dir).join("home/pg_service.conf");
            write_file(&p, b"[z]\nhost=3\n").unwrap();
        }
    }

    #[test]
    fn an_existing_file_keeps_its_mode_owner_and_group() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pg_service.conf");
        fs::write(&p, b"[z]\nhost=1\n").unwrap();
        fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap();
        let is_root = fs::metadata(d.path()).unwrap().uid() == 0;
        if is_root {
            std::os::unix::fs::chown(&p, Some(1234), Some(5678)).unwrap();
        }
        let before = fs::metadata(&p).unwrap();
        write_file(&p, b"[z]\nhost=2\n").unwrap();
        let after = fs::metadata(&p).unwrap();
        assert_eq!(mode_of(&p), 0o640);
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        assert_ne!(
            after.ino(),
            before.ino(),
            "replaced by rename, not rewritten"
        );
        assert_eq!(fs::read(&p).unwrap(), b"[z]\nhost=2\n");
        assert_eq!(dir_names(d.path()), ["pg_service.conf"]);
        // A world-readable file stays so: that is the owner's choice.
        fs::set_permissions(&p, Permissions::from_mode(0o644)).unwrap();
        write_file(&p, b"").unwrap();
        assert_eq!(mode_of(&p), 0o644);

        // As root, the writes above were root's on a file another user owns. A user writing
        // their own file (as root: nobody, in a directory of theirs) keeps its mode too.
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join("home");
        fs::create_dir(&home).unwrap();
        let p = home.join("pg_service.conf");
        fs::write(&p, b"[z]\nhost=1\n").unwrap();
        fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap();
        let user = nobody_if_root(d.path(), &[&home, &p]);
        let before = fs::metadata(&p).unwrap();
        run_child("write_as_child_own_file", d.path(), "", user);
        let after = fs::metadata(&p).unwrap();
        assert_eq!(mode_of(&p), 0o640);
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        assert_ne!(after.ino(), before.ino(), "replaced by rename");
        assert_eq!(fs::read(&p).unwrap(), b"[z]\nhost=3\n");
        assert_eq!(dir_names(&home), ["pg_service.conf"]);
    }

    #[test]
    fn a_failed_write_leaves_the_original_and_no_temporary_file() {
        let d = tempfile::tempdir().unwrap();
        // A name so long that the temporary name beside it cannot be created (even by root).
        let p = d.path().join("s".repeat(250));
        fs::write(&p, b"[z]\nhost=1\n").unwrap();
        let e = write_file(&p, b"[z]\nhost=2\n").unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("cannot write service file {}: ", p.display())),
            "{e}"
        );
        assert_eq!(fs::read(&p).unwrap(), b"[z]\nhost=1\n");
        assert_eq!(dir_names(d.path()), ["s".repeat(250)]);
        // A missing directory.
        let q = d.path().join("missing/pg_service.conf");
        let e = write_file(&q, b"x").unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "cannot write service file {}: no such file or directory",
                q.display()
            )
        );
    }

    /// Run by [`an_unwritable_directory_is_permission_denied`] as the directory's owner.
    #[test]
    #[ignore = "run as a child process by an_unwritable_directory_is_permission_denied"]
    fn write_as_child_into_an_unwritable_directory() {
        if let Some(dir) = std::env::var_os(CHILD_DIR) {
            let p = PathBuf::from(dir).join("ro/pg_service.conf");
            let e = write_file(&p, b"[z]\nhost=2\n").unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "cannot write service file {}: permission denied",
                    p.display()
                )
            );
        }
    }

    #[test]
    fn an_unwritable_directory_is_permission_denied() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("ro");
        fs::create_dir(&sub).unwrap();
        let p = sub.join("pg_service.conf");
        fs::write(&p, b"[z]\nhost=1\n").unwrap();
        // Root ignores permission bits: as root, the write is nobody's, in a directory of theirs.
        let user = nobody_if_root(d.path(), &[&sub, &p]);
        fs::set_permissions(&sub, Permissions::from_mode(0o500)).unwrap();
        run_child(
            "write_as_child_into_an_unwritable_directory",
            d.path(),
            "",
            user,
        );
        assert_eq!(fs::read(&p).unwrap(), b"[z]\nhost=1\n");
        assert_eq!(dir_names(&sub), ["pg_service.conf"]);
        fs::set_permissions(&sub, Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn a_symbolic_link_is_followed_and_kept() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("dotfiles-pg_service.conf");
        fs::write(&real, b"[z]\nhost=1\n").unwrap();
        fs::set_permissions(&real, Permissions::from_mode(0o600)).unwrap();
        let link = d.path().join(".pg_service.conf");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut f = read_file(&link).unwrap();
        f.upsert("a", &[("host", "h")], false).unwrap();
        f.save().unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"[z]\nhost=1\n\n[a]\nhost=h\n");
        assert_eq!(mode_of(&real), 0o600);
    }
}
