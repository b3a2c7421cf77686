//! `pgca inventory export`: the inventory in use as one portable file (issue 26's first
//! piece). Every committed record, as the inventory holds it, behind a header whose count and
//! SHA-256 openssl checks; the same bytes every time; an interrupted write's batch left out, a
//! damaged inventory refused; the file 0600, never replaced without --force, never written
//! through another user's directory or link.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::{Env, one_line, openssl, p};

/// The header of an export, and its record lines' bytes.
fn split(path: &Path) -> (serde_json::Value, Vec<u8>) {
    let bytes = fs::read(path).unwrap();
    let at = bytes.iter().position(|&b| b == b'\n').unwrap();
    (
        serde_json::from_slice(&bytes[..at]).unwrap(),
        bytes[at + 1..].to_vec(),
    )
}

/// The inventory's lines without the commit lines that frame its batches.
fn records_of(env: &Env) -> Vec<u8> {
    let text = fs::read_to_string(env.path("inventory.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with(r#"{"event":"commit","#))
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect()
}

#[test]
fn an_export_is_every_committed_record_behind_its_count_and_digest() {
    let env = Env::init(&["--server-host", "db1.example.com"]);
    env.ok(&["issue-client", "alice", "bob"]);
    env.ok(&["revoke", "bob"]);
    env.ok(&["token", "carol", "--client"]);
    env.ok(&["renew", "--force", "alice"]);
    let out = env.tmp.path().join("inventory.export");
    let said = env.ok(&["inventory", "export", p(&out)]);

    let (header, records) = split(&out);
    assert_eq!(records, records_of(&env));
    let lines = records.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(header["format"], "pgca-inventory");
    assert_eq!(header["version"], 1);
    assert_eq!(header["events"], lines);
    assert!(lines >= 8, "{lines} records");
    // The digest, by openssl.
    let tail = env.tmp.path().join("records");
    fs::write(&tail, &records).unwrap();
    let (ok, dgst) = openssl(&["dgst", "-sha256", "-r", p(&tail)]);
    assert!(ok, "{dgst}");
    let sha = header["sha256"].as_str().unwrap();
    assert_eq!(dgst.split_whitespace().next(), Some(sha));
    assert_eq!(
        said,
        format!("exported {lines} records to {} (sha256 {sha})\n", p(&out))
    );
    let md = fs::metadata(&out).unwrap();
    assert_eq!(md.mode() & 0o777, 0o600);

    // The same inventory, the same bytes.
    let again = env.tmp.path().join("again.export");
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["inventory", "export", "--json", p(&again)])).unwrap();
    assert_eq!(fs::read(&again).unwrap(), fs::read(&out).unwrap());
    assert_eq!(json["records"], lines);
    assert_eq!(json["sha256"], sha);

    // An existing file: refused without --force, untouched; replaced with it.
    fs::write(&again, "keep\n").unwrap();
    let line = env.fails(&["inventory", "export", p(&again)]);
    assert!(line.contains("already exists"), "{line}");
    assert_eq!(fs::read_to_string(&again).unwrap(), "keep\n");
    env.ok(&["inventory", "export", "--force", "-q", p(&again)]);
    assert_eq!(fs::read(&again).unwrap(), fs::read(&out).unwrap());
}

#[test]
fn an_interrupted_write_is_left_out_and_a_damaged_inventory_refused() {
    let env = Env::init(&[]);
    env.ok(&["issue-client", "alice"]);
    let first = env.tmp.path().join("first.export");
    env.ok(&["inventory", "export", p(&first)]);

    // A batch a crash cut short (no commit line): not a record, not exported.
    let inventory = env.path("inventory.jsonl");
    let intact = fs::read(&inventory).unwrap();
    let mut torn = intact.clone();
    torn.extend_from_slice(br#"{"event":"issued","serial":"00ff","kind":"cli"#);
    fs::write(&inventory, &torn).unwrap();
    let second = env.tmp.path().join("second.export");
    env.ok(&["inventory", "export", p(&second)]);
    assert_eq!(fs::read(&second).unwrap(), fs::read(&first).unwrap());

    // Cut short before its last committed batch: damaged, refused, nothing written.
    let last_batch = intact[..intact.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap();
    let before_last = intact[..last_batch]
        .windows(br#"{"event":"commit","#.len())
        .rposition(|w| w == br#"{"event":"commit","#)
        .unwrap();
    let end = before_last
        + intact[before_last..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 1;
    fs::write(&inventory, &intact[..end]).unwrap();
    let third = env.tmp.path().join("third.export");
    let out = env.run(&["inventory", "export", p(&third)]);
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out.stderr);
    assert!(
        line.contains("is damaged") && line.contains("pgca repair"),
        "{line}"
    );
    assert!(!third.exists());
}

#[test]
fn an_export_is_never_written_through_another_users_directory_or_link() {
    common::root_only!();
    let env = Env::init(&[]);
    fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let victim = env.tmp.path().join("victim");
    fs::write(&victim, "root's own\n").unwrap();
    let (uid, gid) = common::ids("nobody");

    // A directory nobody owns, with a link nobody planted at the name: refused, even with
    // --force; the link's target untouched.
    let theirs = env.tmp.path().join("theirs");
    fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(uid), Some(gid)).unwrap();
    common::as_user(
        "nobody",
        &format!("ln -s '{}' '{}/inv.export'", p(&victim), p(&theirs)),
    );
    let out = env.run(&[
        "inventory",
        "export",
        "--force",
        p(&theirs.join("inv.export")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out.stderr);
    assert!(line.contains("owned by nobody"), "{line}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "root's own\n");

    // A shared sticky directory: a planted link is refused without --force, and replaced,
    // never followed, with it.
    let shared = env.tmp.path().join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = shared.join("inv.export");
    common::as_user(
        "nobody",
        &format!("ln -s '{}' '{}'", p(&victim), p(&planted)),
    );
    let line = env.fails(&["inventory", "export", p(&planted)]);
    assert!(line.contains("already exists"), "{line}");
    env.ok(&["inventory", "export", "--force", "-q", p(&planted)]);
    let md = fs::symlink_metadata(&planted).unwrap();
    assert!(!md.is_symlink());
    assert_eq!((md.uid(), md.mode() & 0o777), (0, 0o600));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "root's own\n");
}

/// `inventory import` into a directory writes `DIR/inventory.jsonl` as root: a directory
/// another user owns is refused, and a link planted at the name is never followed (the file is
/// created with `O_EXCL`, so a name that exists in any form is a non-empty inventory).
#[test]
fn an_import_is_never_written_through_another_users_directory_or_link() {
    common::root_only!();
    let env = Env::init(&[]);
    fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let export = env.tmp.path().join("inv.export");
    env.ok(&["inventory", "export", "-q", p(&export)]);
    let victim = env.tmp.path().join("victim");
    fs::write(&victim, "root's own\n").unwrap();
    let (uid, gid) = common::ids("nobody");

    // A CA directory nobody owns: refused before anything is read or written there.
    let theirs = env.tmp.path().join("theirs");
    fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(uid), Some(gid)).unwrap();
    let out = std::process::Command::new(common::pgca_bin())
        .args(["--dir", p(&theirs), "inventory", "import", p(&export)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let line = one_line(&out.stderr);
    assert!(line.contains("owned by nobody"), "{line}");
    assert!(
        fs::read_dir(&theirs).unwrap().next().is_none(),
        "something was written"
    );

    // A root-owned directory where nobody planted a link at inventory.jsonl (through a sticky
    // shared parent it could write): refused, the link's target untouched.
    let mine = env.tmp.path().join("mine");
    fs::create_dir(&mine).unwrap();
    fs::set_permissions(&mine, fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&victim, mine.join("inventory.jsonl")).unwrap();
    let out = std::process::Command::new(common::pgca_bin())
        .args(["--dir", p(&mine), "inventory", "import", p(&export)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "root's own\n");
    assert!(
        fs::symlink_metadata(mine.join("inventory.jsonl"))
            .unwrap()
            .is_symlink()
    );

    // Into an empty directory of root's: the inventory, 0600, its records the export's.
    let fresh = env.tmp.path().join("fresh");
    fs::create_dir(&fresh).unwrap();
    fs::set_permissions(&fresh, fs::Permissions::from_mode(0o700)).unwrap();
    let out = std::process::Command::new(common::pgca_bin())
        .args(["--dir", p(&fresh), "inventory", "import", p(&export)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let md = fs::symlink_metadata(fresh.join("inventory.jsonl")).unwrap();
    assert_eq!((md.uid(), md.mode() & 0o777), (0, 0o600));
}
