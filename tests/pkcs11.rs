//! CA keys inside a PKCS#11 token, with SoftHSM2: `init --pkcs11-token`, and every signing
//! command (issue-server, issue-client, renew, revoke, crl) signing through the token.
//!
//! Each test makes its own SoftHSM2 token directory in its temp dir (`SOFTHSM2_CONF` names a
//! config file pointing at it) and initialises a token labelled `pgca` with user PIN 1234. The
//! results are proven with openssl (`verify`, `crl -verify`, `verify -crl_check`) and a real
//! PostgreSQL 15 (`verify-full` and `cert` authentication).

mod common;
mod pg;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Env, one_line, openssl, p, snapshot, snapshot_diff};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A CA directory path and a SoftHSM2 token of its own.
struct Hsm {
    env: Env,
    conf: PathBuf,
    pin: PathBuf,
}

impl Hsm {
    /// A fresh token labelled `pgca` (user PIN 1234, SO PIN 5678) in `<tmp>/tokens`.
    fn new() -> Hsm {
        Hsm::with_label("pgca")
    }

    fn with_label(label: &str) -> Hsm {
        assert!(
            Path::new(MODULE).exists(),
            "{MODULE} is missing: install softhsm2 (scripts/install-deps.sh)"
        );
        let env = Env::new();
        let tokens = env.tmp.path().join("tokens");
        fs::create_dir(&tokens).unwrap();
        let conf = env.tmp.path().join("softhsm2.conf");
        fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        let pin = env.tmp.path().join("pin");
        common::write_secret(&pin, "1234\n");
        let out = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", label])
            .args(["--pin", "1234", "--so-pin", "5678"])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("softhsm2-util is installed (scripts/install-deps.sh)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Hsm { env, conf, pin }
    }

    /// Runs `pgca --dir <ca> ARGS` with the token's config and `pin_file` as the PIN source.
    fn run_with(&self, pin_file: Option<&Path>, args: &[&str]) -> Output {
        let mut c = Command::new(common::pgca_bin());
        c.arg("--dir")
            .arg(&self.env.ca)
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .env_remove("PGCA_DIR")
            .env_remove("PGCA_PASSPHRASE")
            .env_remove("PGCA_PASSPHRASE_FILE")
            .stdin(Stdio::null());
        if let Some(f) = pin_file {
            c.env("PGCA_PASSPHRASE_FILE", f);
        }
        c.output().expect("run pgca")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run_with(Some(&self.pin), args);
        assert!(
            out.status.success(),
            "pgca {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs with `pin_file`; asserts exit status 1 and one line on stderr, which it returns.
    fn fails_with(&self, pin_file: Option<&Path>, args: &[&str]) -> String {
        let out = self.run_with(pin_file, args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "pgca {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        one_line(&out.stderr)
    }

    /// `pgca init` with both CA keys in the token.
    fn init(&self, extra: &[&str]) {
        let mut args = vec!["init", "--pkcs11-token", "pgca", "--pkcs11-module", MODULE];
        args.extend_from_slice(extra);
        self.ok(&args);
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.env.path(rel)
    }

    fn wrong_pin(&self) -> PathBuf {
        let f = self.env.tmp.path().join("wrong-pin");
        common::write_secret(&f, "9999\n");
        f
    }
}

fn verify(ca: &Path, cert: &Path) {
    let (ok, out) = openssl(&["verify", "-CAfile", p(ca), p(cert)]);
    assert!(ok, "openssl verify {}: {out}", cert.display());
}

fn crl_verifies(ca: &Path, crl: &Path) {
    let (ok, out) = openssl(&["crl", "-in", p(crl), "-noout", "-verify", "-CAfile", p(ca)]);
    assert!(ok && out.contains("verify OK"), "{}: {out}", crl.display());
}

/// Every file in the CA directory that holds a private key is a leaf key under servers/ or
/// clients/; no `*-ca.key` exists; the CA references are URIs with no secret.
fn no_ca_key_on_disk(h: &Hsm) {
    for side in ["server", "client"] {
        assert!(!h.path(&format!("{side}-ca.key")).exists());
        let uri = fs::read_to_string(h.path(&format!("{side}-ca.pkcs11"))).unwrap();
        assert!(uri.starts_with("pkcs11:token=pgca;serial="), "{uri}");
        assert!(uri.contains(&format!(";object=pgca-{side}-ca-")), "{uri}");
        assert!(
            uri.trim_end().ends_with(&format!("?module-path={MODULE}")),
            "{uri}"
        );
        assert!(!uri.contains("pin"), "{uri}");
    }
    let out = Command::new("grep")
        .args(["-rl", "PRIVATE KEY"])
        .arg(&h.env.ca)
        .output()
        .unwrap();
    for f in String::from_utf8(out.stdout).unwrap().lines() {
        let rel = Path::new(f).strip_prefix(&h.env.ca).unwrap();
        assert!(
            (rel.starts_with("servers") || rel.starts_with("clients"))
                && !rel.to_string_lossy().contains("-ca"),
            "a private key outside the leaf directories: {f}"
        );
    }
}

#[test]
fn init_issue_renew_revoke_and_crl_sign_through_the_token() {
    let h = Hsm::new();
    h.init(&["--server-host", "db.example.com"]);
    h.ok(&["issue-client", "alice", "bob"]);
    h.ok(&["issue-server", "db2.example.com"]);
    let (server_ca, client_ca) = (h.path("server-ca.crt"), h.path("client-ca.crt"));
    verify(&server_ca, &server_ca);
    verify(&client_ca, &client_ca);
    verify(&server_ca, &h.path("servers/db.example.com.crt"));
    verify(&server_ca, &h.path("servers/db2.example.com.crt"));
    verify(&client_ca, &h.path("clients/alice.crt"));
    verify(&client_ca, &h.path("clients/bob.crt"));
    // A client certificate does not verify against the server CA: two independent roots.
    let (ok, _) = openssl(&[
        "verify",
        "-CAfile",
        p(&server_ca),
        p(&h.path("clients/alice.crt")),
    ]);
    assert!(!ok);

    // sign: a request made on its host (no CA directory there), signed by the token.
    let host = h.env.tmp.path().join("host");
    let out = Command::new(common::pgca_bin())
        .args(["request", "--client", "carol", "--out"])
        .arg(&host)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let carol = h.env.tmp.path().join("carol.crt");
    h.ok(&[
        "sign",
        p(&host.join("carol.csr")),
        "--client",
        "--out",
        p(&carol),
    ]);
    verify(&client_ca, &carol);
    let (ok, out) = openssl(&["x509", "-in", p(&carol), "-noout", "-subject"]);
    assert!(ok && out.contains("CN = carol"), "{out}");
    // A wrong PIN signs nothing from a request either.
    let line = h.fails_with(
        Some(&h.wrong_pin()),
        &["sign", p(&host.join("carol.csr")), "--client", "--force"],
    );
    assert!(line.contains("wrong PIN"), "{line}");

    // renew: new serials, signed by the token.
    let before = fs::read(h.path("clients/alice.crt")).unwrap();
    let out = h.ok(&["renew", "--force", "alice", "db.example.com"]);
    assert!(out.contains("renewed client alice"), "{out}");
    assert!(out.contains("renewed server db.example.com"), "{out}");
    assert_ne!(fs::read(h.path("clients/alice.crt")).unwrap(), before);
    verify(&client_ca, &h.path("clients/alice.crt"));
    verify(&server_ca, &h.path("servers/db.example.com.crt"));

    // revoke and crl: both CRLs signed by the token; openssl honours them.
    h.ok(&["revoke", "bob"]);
    h.ok(&["crl"]);
    crl_verifies(&server_ca, &h.path("server-ca.crl"));
    crl_verifies(&client_ca, &h.path("client-ca.crl"));
    let crl_check = |cert: &str| {
        openssl(&[
            "verify",
            "-crl_check",
            "-CAfile",
            p(&client_ca),
            "-CRLfile",
            p(&h.path("client-ca.crl")),
            p(&h.path(cert)),
        ])
    };
    let (ok, out) = crl_check("clients/bob.crt");
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = crl_check("clients/alice.crt");
    assert!(ok, "{out}");

    // The doctor and the monitor understand a token-held CA key.
    let out = h.ok(&["verify"]);
    assert!(out.starts_with("PGCA OK"), "{out}");
    let out = h.run_with(None, &["verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = h.run_with(None, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.starts_with("PGCA OK"),
        "{text}"
    );
    let out = h.run_with(None, &["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("unencrypted"), "{text}");

    no_ca_key_on_disk(&h);
}

#[test]
fn a_wrong_or_missing_pin_is_one_line_and_writes_nothing() {
    let h = Hsm::new();
    h.init(&["--server-host", "db.example.com"]);
    h.ok(&["issue-client", "alice"]);
    let wrong = h.wrong_pin();
    let before = snapshot(&h.env.ca);
    for args in [
        &["issue-client", "bob"][..],
        &["issue-server", "db2.example.com"],
        &["renew", "--force"],
        &["revoke", "alice"],
        &["crl"],
    ] {
        let line = h.fails_with(Some(&wrong), args);
        assert_eq!(
            line, "pgca: pkcs11 login to token \"pgca\" failed: wrong PIN",
            "{args:?}"
        );
        let line = h.fails_with(None, args);
        assert!(
            line.starts_with("pgca: no PIN given for pkcs11 token \"pgca\": "),
            "{args:?}: {line}"
        );
        assert!(line.contains("--passphrase-file"), "{line}");
        let diff = snapshot_diff(&before, &snapshot(&h.env.ca));
        assert!(
            diff.is_empty(),
            "{args:?} changed the CA directory:\n{diff}"
        );
    }

    // verify reports it (CRITICAL), changes nothing.
    let out = h.run_with(Some(&wrong), &["verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrong PIN"));

    // A wrong PIN at init: no directory, no key left in the token.
    let fresh = Hsm::new();
    let line = fresh.fails_with(
        Some(&wrong),
        &["init", "--pkcs11-token", "pgca", "--pkcs11-module", MODULE],
    );
    assert_eq!(
        line,
        "pgca: pkcs11 login to token \"pgca\" failed: wrong PIN"
    );
    assert!(!fresh.env.ca.exists());
    fresh.init(&[]);
}

#[test]
fn key_types_token_uris_and_refusals() {
    // P-384 and RSA keys in the token; the token named by an RFC 7512 URI.
    for kt in ["ecdsa-p384", "rsa2048"] {
        let h = Hsm::new();
        let uri = format!("pkcs11:token=pgca?module-path={MODULE}");
        h.ok(&["init", "--pkcs11-token", &uri, "--key-type", kt]);
        h.ok(&["issue-client", "alice"]);
        h.ok(&["crl"]);
        verify(&h.path("client-ca.crt"), &h.path("clients/alice.crt"));
        crl_verifies(&h.path("client-ca.crt"), &h.path("client-ca.crl"));
        let (ok, text) = openssl(&[
            "x509",
            "-in",
            p(&h.path("client-ca.crt")),
            "-noout",
            "-text",
        ]);
        let want = if kt == "rsa2048" {
            "Public-Key: (2048 bit)"
        } else {
            "NIST CURVE: P-384"
        };
        assert!(ok && text.contains(want), "{kt}: {text}");
        no_ca_key_on_disk(&h);
    }

    let h = Hsm::new();
    let init = |extra: &[&str]| {
        let mut args = vec!["init", "--pkcs11-module", MODULE];
        args.extend_from_slice(extra);
        h.fails_with(Some(&h.pin), &args)
    };
    assert_eq!(
        init(&["--pkcs11-token", "pgca", "--key-type", "ed25519"]),
        "pgca: ed25519 CA keys cannot be kept in a pkcs11 token (ecdsa-p256, ecdsa-p384 and rsa can)"
    );
    let line = init(&["--pkcs11-token", "nosuch"]);
    assert!(
        line.starts_with(&format!(
            "pgca: no pkcs11 token labelled \"nosuch\" in module {MODULE}: "
        )),
        "{line}"
    );
    let line = init(&["--pkcs11-token", "pkcs11:token=pgca?pin-value=1234"]);
    assert!(line.contains("a PIN in the URI is refused"), "{line}");
    let out = h.run_with(Some(&h.pin), &["init", "--pkcs11-token", "pgca"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(one_line(&out.stderr).contains("no module-path"));
    assert!(!h.env.ca.exists());

    // The token's PIN is not pgca's to change.
    h.init(&[]);
    let line = h.fails_with(Some(&h.pin), &["passwd", "--no-passphrase"]);
    assert!(
        line.contains("names a CA key in a pkcs11 token: its PIN belongs to the token"),
        "{line}"
    );

    // A reference naming the other CA's key: the challenge signature does not verify against
    // the certificate, so nothing is signed.
    let (server, client) = (h.path("server-ca.pkcs11"), h.path("client-ca.pkcs11"));
    let s = fs::read(&server).unwrap();
    fs::write(&server, fs::read(&client).unwrap()).unwrap();
    let before = snapshot(&h.env.ca);
    let line = h.fails_with(Some(&h.pin), &["issue-server", "db.example.com"]);
    assert!(line.contains("does not match certificate"), "{line}");
    assert!(snapshot_diff(&before, &snapshot(&h.env.ca)).is_empty());
    fs::write(&server, s).unwrap();

    // A reference others can read is refused like a CA key file, and verify says so.
    assert_eq!(common::mode(&server), 0o600);
    assert_eq!(common::mode(&client), 0o600);
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&server, fs::Permissions::from_mode(0o644)).unwrap();
    let out = h.run_with(None, &["verify"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("the key reference is mode 644: readable by others"),
        "{text}"
    );
    let line = h.fails_with(Some(&h.pin), &["issue-server", "db.example.com"]);
    assert!(
        line.starts_with(&format!("pgca: refusing to sign with {}", server.display())),
        "{line}"
    );
    fs::set_permissions(&server, fs::Permissions::from_mode(0o600)).unwrap();
    h.ok(&["issue-server", "db.example.com"]);
}

/// A module another user could have changed is never loaded by root: a copy of SoftHSM2 that
/// `nobody` placed in a directory of theirs is refused before anything is created.
#[test]
fn a_module_another_user_controls_is_refused() {
    if !pg::is_root() {
        eprintln!("skipped: runs as root (needs a second user)");
        return;
    }
    let h = Hsm::new();
    let evil = tempfile::Builder::new()
        .prefix("pgca-module")
        .tempdir_in("/tmp")
        .unwrap();
    let dir = evil.path().join("lib");
    fs::create_dir(&dir).unwrap();
    let chown = Command::new("chown")
        .args(["nobody", p(&dir)])
        .status()
        .unwrap();
    assert!(chown.success());
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(evil.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.join("libsofthsm2.so");
    let out = Command::new("runuser")
        .args(["-u", "nobody", "--", "cp", MODULE, p(&copy)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let line = h.fails_with(
        Some(&h.pin),
        &[
            "init",
            "--pkcs11-token",
            "pgca",
            "--pkcs11-module",
            p(&copy),
        ],
    );
    assert!(
        line.starts_with(&format!("pgca: refusing {}", dir.display())),
        "{line}"
    );
    assert!(!h.env.ca.exists());

    // The same file in a directory only root controls, but owned by nobody: refused too.
    let owned = evil.path().join("root-dir");
    fs::create_dir(&owned).unwrap();
    fs::copy(MODULE, owned.join("libsofthsm2.so")).unwrap();
    let chown = Command::new("chown")
        .args(["nobody", p(&owned.join("libsofthsm2.so"))])
        .status()
        .unwrap();
    assert!(chown.success());
    let line = h.fails_with(
        Some(&h.pin),
        &[
            "init",
            "--pkcs11-token",
            "pgca",
            "--pkcs11-module",
            p(&owned.join("libsofthsm2.so")),
        ],
    );
    assert!(
        line.contains("refusing pkcs11 module") && line.contains("owned by another user"),
        "{line}"
    );
    assert!(!h.env.ca.exists());
}

/// The module path is walked like every path root reads, never `canonicalize()`d: a link
/// `nobody` owns to the real SoftHSM2 module is refused (its constructor never runs as root),
/// also when a URI names it, and a FIFO at the path is refused at once instead of hanging the
/// open; root's own link and the real path still work.
#[test]
fn a_foreign_link_or_a_fifo_at_the_module_path_is_refused_at_once() {
    if !pg::is_root() {
        eprintln!("skipped: runs as root (needs a second user)");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let h = Hsm::new();
    let place = tempfile::Builder::new()
        .prefix("pgca-module")
        .tempdir_in("/tmp")
        .unwrap();
    fs::set_permissions(place.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let shared = place.path().join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let link = shared.join("libsofthsm2.so");
    let fifo = shared.join("fifo.so");
    common::as_user(
        "nobody",
        &format!(
            "ln -s {MODULE} '{}' && mkfifo -m 644 '{}'",
            p(&link),
            p(&fifo)
        ),
    );
    let own_link = place.path().join("root-link.so");
    std::os::unix::fs::symlink(MODULE, &own_link).unwrap();
    let init = |token: &str, module: Option<&Path>| {
        let mut c = Command::new("timeout");
        c.args(["10", common::pgca_bin(), "--dir", p(&h.env.ca)])
            .args(["init", "--pkcs11-token", token]);
        if let Some(m) = module {
            c.args(["--pkcs11-module", p(m)]);
        }
        c.env("SOFTHSM2_CONF", &h.conf)
            .env_remove("PGCA_DIR")
            .env_remove("PGCA_PASSPHRASE")
            .env("PGCA_PASSPHRASE_FILE", &h.pin)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let uri = format!("pkcs11:token=pgca?module-path={}", p(&link));
    for (what, out, want) in [
        (
            "nobody's link",
            init("pgca", Some(&link)),
            format!(
                "pgca: refusing {}: a symbolic link owned by nobody",
                p(&link)
            ),
        ),
        (
            "nobody's link in a URI",
            init(&uri, None),
            format!(
                "pgca: refusing {}: a symbolic link owned by nobody",
                p(&link)
            ),
        ),
        (
            "a FIFO",
            init("pgca", Some(&fifo)),
            format!(
                "pgca: refusing pkcs11 module {}: not a regular file",
                p(&fifo)
            ),
        ),
    ] {
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: {} (124: timed out) {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let line = one_line(&out.stderr);
        assert!(line.starts_with(&want), "{what}: {line}");
        assert!(!line.contains("/proc/self/fd"), "{what}: {line}");
        assert!(!h.env.ca.exists(), "{what}: the CA directory was created");
    }
    // Root's own link is followed; the real module is loaded through the handle.
    let out = init("pgca", Some(&own_link));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    h.ok(&["issue-client", "alice"]);
}

/// PostgreSQL 15 serves the token-signed server certificate; a token-signed client
/// certificate logs in with sslmode=verify-full and `cert` authentication; after revoking it
/// and serving the token-signed CRL, the server refuses it.
#[test]
fn postgres_accepts_token_signed_certificates_verify_full() {
    let h = Hsm::new();
    h.init(&["--server-host", "localhost"]);
    h.ok(&["issue-client", "alice", "bob"]);
    let mut cluster = pg::Cluster::new();
    cluster.install_tls(
        &h.path("servers/localhost.crt"),
        &h.path("servers/localhost.key"),
        &h.path("client-ca.crt"),
    );
    cluster.enable_tls();
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN");
    let conn = |role: &str| {
        format!(
            "host=localhost user={role} dbname=postgres sslmode=verify-full sslrootcert='{}' \
             sslcert='{}' sslkey='{}'",
            h.path("server-ca.crt").display(),
            h.path(&format!("clients/{role}.crt")).display(),
            h.path(&format!("clients/{role}.key")).display(),
        )
    };
    let who = "SELECT current_user || ' ' || version FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    for role in ["alice", "bob"] {
        let (ok, out, err) = cluster.psql(&conn(role), who);
        assert!(ok, "{role}: {err}\n{}", cluster.log_text());
        assert_eq!(out, format!("{role} TLSv1.3"));
    }
    assert_eq!(
        cluster.served_serial(),
        pgca::CertInfo::from_file(&h.path("servers/localhost.crt"))
            .unwrap()
            .serial
            .to_string()
    );

    // The token-signed CRL, served as ssl_crl_file: bob is refused, alice still gets in.
    h.ok(&["revoke", "bob"]);
    let crl = cluster.data.join("client-ca.crl");
    fs::copy(h.path("client-ca.crl"), &crl).unwrap();
    pg::give_to_owner(&crl);
    cluster.append_conf("ssl_crl_file = 'client-ca.crl'\n");
    cluster.restart();
    let (ok, _, err) = cluster.psql(&conn("bob"), "SELECT 1");
    assert!(!ok && err.contains("revoked"), "{err}");
    let (ok, out, err) = cluster.psql(&conn("alice"), "SELECT current_user");
    assert!(ok && out == "alice", "{err}");
}

/// docs/hsm.md, run as written: its ```sh blocks in order, in a scratch directory, with
/// `PGCA_DIR` naming a fresh CA directory and the built pgca first on `PATH`.
#[test]
fn the_hsm_guide_runs_as_written() {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/hsm.md")).unwrap();
    let blocks = common::sh_blocks(&text);
    assert!(
        blocks.len() >= 4,
        "docs/hsm.md has {} sh blocks",
        blocks.len()
    );
    let work = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(common::pgca_bin())
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let mut transcript = String::new();
    for (i, block) in blocks.iter().enumerate() {
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", block])
            .current_dir(work.path())
            .env("PATH", &path)
            .env("HOME", work.path())
            .env("PGCA_DIR", work.path().join("pgca"))
            .env_remove("PGCA_PASSPHRASE")
            .env_remove("PGCA_PASSPHRASE_FILE")
            .env_remove("SOFTHSM2_CONF")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        transcript.push_str(&stdout);
        assert!(
            out.status.success(),
            "docs/hsm.md block {} failed:\n{block}\n--- stdout\n{stdout}\n--- stderr\n{}",
            i + 1,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for want in [
        "server-ca.pkcs11",
        "pkcs11:token=pgca;serial=",
        "clients/alice.crt: OK",
        "verify OK",
        "pgca: pkcs11 login to token \"pgca\" failed: wrong PIN",
    ] {
        assert!(transcript.contains(want), "{want:?} not in:\n{transcript}");
    }
}

/// The CA private keys are inside the token, sensitive and never extractable: the token refuses
/// their value. Checked with cryptoki in a child of this test binary (`token_probe`), which needs
/// `SOFTHSM2_CONF` in its own environment.
#[test]
fn the_ca_keys_never_leave_the_token() {
    let h = Hsm::new();
    h.init(&["--key-type", "ecdsa-p384"]);
    let stdout = in_child(&h, "token_probe");
    for side in ["server", "client"] {
        let uri = fs::read_to_string(h.path(&format!("{side}-ca.pkcs11"))).unwrap();
        let label = uri
            .split(';')
            .find_map(|a| a.strip_prefix("object="))
            .unwrap();
        assert!(
            stdout.contains(&format!(
                "probe: {label} sensitive, never extractable, no value"
            )),
            "{stdout}"
        );
    }
}

/// Runs the ignored test `name` of this binary in a child whose environment names `h`'s token;
/// returns its output, asserting it passed.
fn in_child(h: &Hsm, name: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SOFTHSM2_CONF", &h.conf)
        .env("PGCA_TOKEN_PROBE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A logged-in read-write session on the token `pgca` of `SOFTHSM2_CONF`, for the helpers run by
/// [`in_child`]; `None` when run on their own.
fn child_session() -> Option<cryptoki::session::Session> {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::session::UserType;
    if std::env::var_os("PGCA_TOKEN_PROBE").is_none() {
        eprintln!("skipped: another test runs this with its token");
        return None;
    }
    let ctx = Pkcs11::new(MODULE).unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = ctx
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|&s| ctx.get_token_info(s).unwrap().label() == "pgca")
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&"1234".to_string().into()))
        .unwrap();
    Some(session)
}

#[test]
#[ignore = "run by the_ca_keys_never_leave_the_token, in a child with SOFTHSM2_CONF set"]
fn token_probe() {
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};
    let Some(session) = child_session() else {
        return;
    };
    let keys = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
        .unwrap();
    assert_eq!(keys.len(), 2, "two CA keys in the token");
    for key in keys {
        let attrs = session
            .get_attributes(
                key,
                &[
                    AttributeType::Label,
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::AlwaysSensitive,
                    AttributeType::NeverExtractable,
                    AttributeType::Value,
                ],
            )
            .unwrap();
        let mut label = String::new();
        let mut flags = Vec::new();
        for a in &attrs {
            match a {
                Attribute::Label(l) => label = String::from_utf8(l.clone()).unwrap(),
                Attribute::Sensitive(b) => flags.push(("sensitive", *b)),
                Attribute::Extractable(b) => flags.push(("extractable", *b)),
                Attribute::AlwaysSensitive(b) => flags.push(("always sensitive", *b)),
                Attribute::NeverExtractable(b) => flags.push(("never extractable", *b)),
                Attribute::Value(_) => panic!("the token gave out the value of {label}"),
                _ => {}
            }
        }
        assert_eq!(
            flags,
            vec![
                ("sensitive", true),
                ("extractable", false),
                ("always sensitive", true),
                ("never extractable", true)
            ],
            "{label}"
        );
        println!("probe: {label} sensitive, never extractable, no value");
    }
}

/// A key the token will not sign with (CKA_SIGN false): the token's own reason reaches the one
/// line, not rcgen's "remote key error".
#[test]
fn the_tokens_reason_for_refusing_to_sign_is_reported() {
    let h = Hsm::new();
    h.init(&[]);
    in_child(&h, "token_make_nosign_key");
    let reference = h.path("client-ca.pkcs11");
    let uri = fs::read_to_string(&reference).unwrap();
    let (path, query) = uri.trim_end().split_once('?').unwrap();
    let token: Vec<&str> = path
        .split(';')
        .filter(|a| a.starts_with("pkcs11:") || a.starts_with("serial="))
        .collect();
    fs::write(
        &reference,
        format!("{};object=nosign;type=private?{query}\n", token.join(";")),
    )
    .unwrap();
    let before = snapshot(&h.env.ca);
    let line = h.fails_with(Some(&h.pin), &["issue-client", "alice"]);
    assert_eq!(
        line,
        "pgca: pkcs11 signing failed on token \"pgca\": KeyFunctionNotPermitted"
    );
    assert!(snapshot_diff(&before, &snapshot(&h.env.ca)).is_empty());
}

#[test]
#[ignore = "run by the_tokens_reason_for_refusing_to_sign_is_reported, with SOFTHSM2_CONF set"]
fn token_make_nosign_key() {
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::Attribute;
    let Some(session) = child_session() else {
        return;
    };
    let p256 = vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let label = Attribute::Label(b"nosign".to_vec());
    session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::EcParams(p256),
                label.clone(),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sign(false),
                label,
            ],
        )
        .unwrap();
}

/// `init` into a directory `nobody` can change is refused before any key is generated: the
/// token holds no private key afterwards, and nothing is created.
#[test]
fn init_under_a_directory_another_user_controls_generates_no_key() {
    if !pg::is_root() {
        eprintln!("skipped: runs as root (needs a second user)");
        return;
    }
    let h = Hsm::new();
    let theirs = tempfile::Builder::new()
        .prefix("pgca-theirs")
        .tempdir_in("/tmp")
        .unwrap();
    let chown = Command::new("chown")
        .args(["nobody", p(theirs.path())])
        .status()
        .unwrap();
    assert!(chown.success());
    let target = theirs.path().join("ca");
    let out = Command::new(common::pgca_bin())
        .arg("--dir")
        .arg(&target)
        .args(["init", "--pkcs11-token", "pgca", "--pkcs11-module", MODULE])
        .env("SOFTHSM2_CONF", &h.conf)
        .env("PGCA_PASSPHRASE_FILE", &h.pin)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out.stderr);
    assert!(
        line.starts_with(&format!("pgca: refusing {}", theirs.path().display())),
        "{line}"
    );
    assert!(!target.exists());
    let stdout = in_child(&h, "token_count_keys");
    assert!(stdout.contains("private keys: 0"), "{stdout}");
}

#[test]
#[ignore = "run by init_under_a_directory_another_user_controls_generates_no_key"]
fn token_count_keys() {
    use cryptoki::object::{Attribute, ObjectClass};
    let Some(session) = child_session() else {
        return;
    };
    let keys = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
        .unwrap();
    println!("private keys: {}", keys.len());
}

/// `init --intermediate` with the roots in the token: the intermediates are signed by the
/// token, their keys are files encrypted with the PIN's sources, and leaves hang off them.
#[test]
fn a_hierarchy_with_its_roots_in_the_token() {
    let h = Hsm::new();
    h.init(&["--intermediate", "--server-host", "db.example.com"]);
    assert!(h.env.path("server-ca.pkcs11").exists());
    assert!(!h.env.path("server-ca.key").exists());
    for side in ["server", "client"] {
        let key = fs::read_to_string(h.env.path(&format!("{side}-issuing.key"))).unwrap();
        assert!(key.contains("ENCRYPTED"), "{side}");
    }
    h.ok(&["issue-client", "alice"]);
    let leaf = fs::read_to_string(h.env.path("clients/alice.crt")).unwrap();
    assert_eq!(leaf.matches("BEGIN CERTIFICATE").count(), 2);
    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        p(&h.env.path("client-ca.crt")),
        "-untrusted",
        p(&h.env.path("client-issuing.crt")),
        p(&h.env.path("clients/alice.crt")),
    ]);
    assert!(ok, "{out}");
    h.ok(&["revoke", "alice"]);
    h.ok(&["rollover", "start", "client", "--intermediate"]);
    h.ok(&["verify"]);
}

/// A rollover of a CA whose key is in the token: the new key is made in the same token (a
/// `.next.pkcs11` reference, no key file), it signs after `switch`, the CRL bundle is signed by
/// both keys, and `finish` archives the old reference and says the old key stays in the token.
#[test]
fn a_rollover_makes_the_new_ca_key_in_the_token() {
    let h = Hsm::new();
    h.init(&[]);
    h.ok(&["issue-client", "alice"]);
    h.ok(&["crl"]);
    assert!(in_child(&h, "token_count_keys").contains("private keys: 2"));
    h.ok(&["rollover", "start", "client"]);
    assert!(h.path("client-ca.next.pkcs11").exists());
    assert!(!h.path("client-ca.next.key").exists());
    no_ca_key_on_disk(&h);
    // Generated inside the token, beside the two CA keys.
    assert!(in_child(&h, "token_count_keys").contains("private keys: 3"));
    // Both CRLs of the bundle, each signed by its own CA's key in the token.
    let crls = fs::read_to_string(h.path("client-ca.crl")).unwrap();
    assert_eq!(crls.matches("BEGIN X509 CRL").count(), 2);
    h.ok(&["rollover", "switch", "client"]);
    h.ok(&["renew"]);
    verify(&h.path("client-ca.next.crt"), &h.path("clients/alice.crt"));
    let out = h.ok(&["rollover", "finish", "client"]);
    assert!(out.contains("stays in its PKCS#11 token"), "{out}");
    assert!(h.path("client-ca.pkcs11").exists());
    assert!(!h.path("client-ca.next.pkcs11").exists());
    let archived: Vec<String> = fs::read_dir(h.path("ca-archive"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        archived.iter().any(|n| n.ends_with(".pkcs11")),
        "{archived:?}"
    );
    // The new CA (now the CA in use) signs through the token.
    h.ok(&["issue-client", "bob"]);
    verify(&h.path("client-ca.crt"), &h.path("clients/bob.crt"));
    h.ok(&["revoke", "bob"]);
    crl_verifies(&h.path("client-ca.crt"), &h.path("client-ca.crl"));
    h.ok(&["verify"]);
}

/// `pgca serve` with both CA keys in the token: the PIN read once at start (the file, as for
/// the CLI), an enrollment by token and a renewal over mutual TLS signed through it. No
/// PostgreSQL: once, in the first pass.
#[test]
fn serve_enrolls_and_renews_through_the_token() {
    if std::env::var_os("PGCA_TEST_PG").is_some() {
        return;
    }
    let hsm = Hsm::new();
    hsm.init(&["--server-host", "localhost"]);
    let server = common::serve::Server::start_with(
        &hsm.env,
        &[],
        &[
            ("SOFTHSM2_CONF", hsm.conf.as_path()),
            ("PGCA_PASSPHRASE_FILE", hsm.pin.as_path()),
        ],
    );
    let ca = server.url("");
    let fp: serde_json::Value =
        serde_json::from_str(&hsm.ok(&["inspect", "--json", p(&hsm.path("server-ca.crt"))]))
            .unwrap();
    let fp = fp["sha256_fingerprint"].as_str().unwrap().to_string();
    let token = hsm.env.tmp.path().join("alice.token");
    common::write_secret(&token, hsm.ok(&["token", "alice", "--client"]).trim());
    let dir = hsm.env.tmp.path().join("alice/.postgresql");
    fs::create_dir(hsm.env.tmp.path().join("alice")).unwrap();
    let host = |args: &[&str]| {
        let out = Command::new(common::pgca_bin())
            .args(args)
            .env_remove("PGCA_DIR")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pgca {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            server.log_text()
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let ca_arg = ca.trim_end_matches('/');
    host(&[
        "enroll",
        "--ca",
        ca_arg,
        "--fingerprint",
        &fp,
        "--token-file",
        p(&token),
        "--client",
        "alice",
        "--to",
        p(&dir),
    ]);
    let crt = dir.join("postgresql.crt");
    let enrolled = pgca::CertInfo::from_file(&crt).unwrap().serial;
    verify(&hsm.path("client-ca.crt"), &crt);
    let out = host(&[
        "agent",
        "--ca",
        ca_arg,
        "--to",
        p(&dir),
        "--once",
        "--force",
    ]);
    assert!(out.contains("renewed"), "{out}");
    let renewed = pgca::CertInfo::from_file(&crt).unwrap().serial;
    assert_ne!(renewed, enrolled);
    verify(&hsm.path("client-ca.crt"), &crt);
    // Both are in the inventory, the renewal authorised by the certificate it replaced.
    let ledger = pgca::CaDir::open(&hsm.env.ca).unwrap().inventory().unwrap();
    let record = ledger.current(pgca::CertKind::Client, "alice").unwrap();
    assert_eq!(record.serial, renewed);
    let from = record.authorized.as_ref().unwrap().renewed_from.as_ref();
    assert_eq!(from, Some(&enrolled));
    // The CA keys stayed in the token: the CA directory holds no key file of a CA.
    no_ca_key_on_disk(&hsm);
}
