//! `pgca serve` end to end on 127.0.0.1, with clients nobody here wrote: curl (OpenSSL) for
//! the API, openssl for keys and requests and to check what comes back, raw sockets for the
//! hostile clients. Enrollment with a token, renewal over mutual TLS, every refusal the API
//! documents, and clients that are slow, oversized or not TLS at all, dropped within the
//! timeout while others are served.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::serve::Server;
use common::{Env, openssl, p};

/// What curl got: its exit status, the HTTP status (0 when there was none) and the body.
struct Reply {
    curl_ok: bool,
    status: u16,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// curl against `server`, trusting the server CA, with `--cert`/`--key` if given and `body`
/// (JSON) POSTed if given.
fn curl(
    env: &Env,
    server: &Server,
    path: &str,
    cert: Option<(&Path, &Path)>,
    body: Option<&str>,
) -> Reply {
    curl_impl(env, server, path, cert, &[], body)
}

/// [`curl`] with extra arguments, no client certificate.
fn curl_with(env: &Env, server: &Server, path: &str, extra: &[&str], body: Option<&str>) -> Reply {
    curl_impl(env, server, path, None, extra, body)
}

fn curl_impl(
    env: &Env,
    server: &Server,
    path: &str,
    cert: Option<(&Path, &Path)>,
    extra: &[&str],
    body: Option<&str>,
) -> Reply {
    let mut cmd = Command::new("curl");
    cmd.args(extra);
    cmd.args([
        "-s",
        "-S",
        "--max-time",
        "20",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
    ])
    .arg("--cacert")
    .arg(env.path("server-ca.crt"));
    if let Some((crt, key)) = cert {
        cmd.arg("--cert").arg(crt).arg("--key").arg(key);
    }
    if let Some(body) = body {
        let file = env.tmp.path().join("body.json");
        std::fs::write(&file, body).unwrap();
        cmd.args(["-H", "content-type: application/json", "--data-binary"])
            .arg(format!("@{}", file.display()));
    }
    let out = cmd.arg(server.url(path)).output().expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    Reply {
        curl_ok: out.status.success(),
        status: code.trim().parse().unwrap_or(0),
        body: body.to_string(),
    }
}

/// A new P-256 key and a request for `names` (CN the first, every name a DNS SAN for a
/// server), made by openssl.
fn openssl_csr(dir: &Path, stem: &str, names: &[&str]) -> (PathBuf, String) {
    let key = dir.join(format!("{stem}.key"));
    let csr = dir.join(format!("{stem}.csr"));
    let mut args = vec![
        "req".to_string(),
        "-new".into(),
        "-newkey".into(),
        "ec".into(),
        "-pkeyopt".into(),
        "ec_paramgen_curve:prime256v1".into(),
        "-nodes".into(),
        "-subj".into(),
        format!("/CN={}", names[0]),
        "-keyout".into(),
        p(&key).into(),
        "-out".into(),
        p(&csr).into(),
    ];
    if names.len() > 1 {
        let sans: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
        args.push("-addext".into());
        args.push(format!("subjectAltName={}", sans.join(",")));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, err) = openssl(&args);
    assert!(ok, "{err}");
    (key, std::fs::read_to_string(&csr).unwrap())
}

fn sign_body(token: &str, csr: &str) -> String {
    serde_json::json!({ "token": token, "csr": csr }).to_string()
}

fn renew_body(csr: &str) -> String {
    serde_json::json!({ "csr": csr }).to_string()
}

/// Writes the certificate of a reply beside its key; returns its path.
fn save_cert(dir: &Path, stem: &str, reply: &Reply) -> PathBuf {
    let path = dir.join(format!("{stem}.crt"));
    std::fs::write(&path, reply.json()["certificate"].as_str().unwrap()).unwrap();
    path
}

fn token(env: &Env, args: &[&str]) -> String {
    let mut all = vec!["token"];
    all.extend_from_slice(args);
    env.ok(&all).trim().to_string()
}

#[test]
fn a_client_enrolls_with_a_token_and_renews_with_its_certificate() {
    let env = Env::init(&["--server-host", "localhost"]);
    let server = Server::start(&env, &[]);
    let dir = env.tmp.path();

    // Enrolled with a token, by a key and request openssl made.
    let t = token(&env, &["alice", "--client", "--validity", "1h"]);
    let (key1, csr1) = openssl_csr(dir, "alice1", &["alice"]);
    let r = curl(&env, &server, "/v1/sign", None, Some(&sign_body(&t, &csr1)));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["name"], "alice");
    let crt1 = save_cert(dir, "alice1", &r);
    let (ok, out) = openssl(&["verify", "-CAfile", p(&env.path("client-ca.crt")), p(&crt1)]);
    assert!(ok, "{out}");

    // The token again: refused. A token for bob, used for alice: refused.
    let r = curl(&env, &server, "/v1/sign", None, Some(&sign_body(&t, &csr1)));
    assert_eq!(
        (
            r.status,
            r.json()["error"]
                .as_str()
                .unwrap()
                .ends_with("already used")
        ),
        (403, true),
        "{}",
        r.body
    );
    let bob = token(&env, &["bob", "--client"]);
    let r = curl(
        &env,
        &server,
        "/v1/sign",
        None,
        Some(&sign_body(&bob, &csr1)),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("a role the token does not carry"),
        "{}",
        r.body
    );

    // A token for the service's own name: refused, the certificate it serves stays current.
    let own = token(&env, &["localhost", "--server"]);
    let (_, csr_own) = openssl_csr(dir, "own", &["localhost"]);
    let r = curl(
        &env,
        &server,
        "/v1/sign",
        None,
        Some(&sign_body(&own, &csr_own)),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("the CA service's own name"), "{}", r.body);
    let served = pgca::CertInfo::from_file(&env.path("servers/localhost.crt")).unwrap();
    let ledger = pgca::CaDir::open(&env.ca).unwrap().inventory().unwrap();
    let current = ledger.current(pgca::CertKind::Server, "localhost").unwrap();
    assert_eq!(current.serial, served.serial);

    // Renewed over mutual TLS with the current certificate, for a new key.
    let (key2, csr2) = openssl_csr(dir, "alice2", &["alice"]);
    let r = curl(
        &env,
        &server,
        "/v1/renew",
        Some((&crt1, &key1)),
        Some(&renew_body(&csr2)),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let serial2 = r.json()["serial"].as_str().unwrap().to_string();
    let crt2 = save_cert(dir, "alice2", &r);
    // The reply was lost: the same request again gets the same certificate.
    let again = curl(
        &env,
        &server,
        "/v1/renew",
        Some((&crt1, &key1)),
        Some(&renew_body(&csr2)),
    );
    assert_eq!(
        (again.status, again.json()["serial"].as_str().unwrap()),
        (200, serial2.as_str())
    );
    assert_eq!(again.json()["repeated"], true);
    // The old certificate with another key: superseded, refused.
    let (_, csr3) = openssl_csr(dir, "alice3", &["alice"]);
    let r = curl(
        &env,
        &server,
        "/v1/renew",
        Some((&crt1, &key1)),
        Some(&renew_body(&csr3)),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // The new one renews in its turn; without a certificate, renewal is refused.
    let r = curl(
        &env,
        &server,
        "/v1/renew",
        Some((&crt2, &key2)),
        Some(&renew_body(&csr3)),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = curl(&env, &server, "/v1/renew", None, Some(&renew_body(&csr3)));
    assert_eq!(r.status, 401, "{}", r.body);

    // The log has a line per request, with the token's id and never its secret.
    let log = server.log_text();
    assert_eq!(log.lines().count(), 9, "{log}");
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            v["status"].as_u64().is_some() && v["peer"].as_str().unwrap().starts_with("127.0.0.1:")
        );
    }
    assert!(log.contains(&t[6..22]) && !log.contains(&t[23..]), "{log}");
    let report = env.ok(&["verify"]);
    assert!(report.starts_with("PGCA OK"), "{report}");
}

#[test]
fn servers_renew_with_the_certificate_they_serve_and_refusals_hold() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-server", "db1.example.com"]);
    env.ok(&["issue-client", "carol", "dave"]);
    env.ok(&["issue-client", "erin", "--validity", "1s"]);
    let other = Env::init(&["--server-host", "localhost"]);
    other.ok(&["issue-client", "mallory"]);
    let server = Server::start(&env, &[]);
    let dir = env.tmp.path();
    let pair = |e: &Env, kind: &str, name: &str| {
        (
            e.path(&format!("{kind}/{name}.crt")),
            e.path(&format!("{kind}/{name}.key")),
        )
    };

    // A database server renews with its server certificate (serverAuth, the server CA).
    let (_, csr) = openssl_csr(dir, "db1", &["db1.example.com"]);
    let (crt, key) = pair(&env, "servers", "db1.example.com");
    let r = curl(
        &env,
        &server,
        "/v1/renew",
        Some((&crt, &key)),
        Some(&renew_body(&csr)),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.json()["kind"].as_str(), r.json()["name"].as_str()),
        (Some("server"), Some("db1.example.com"))
    );

    // Revoked: refused by the API.
    env.ok(&["revoke", "carol"]);
    let (_, csr) = openssl_csr(dir, "carol", &["carol"]);
    let (crt, key) = pair(&env, "clients", "carol");
    let r = curl(
        &env,
        &server,
        "/v1/renew",
        Some((&crt, &key)),
        Some(&renew_body(&csr)),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("it is revoked"), "{}", r.body);

    // Superseded on the CA host (issue-client --force): the old certificate no longer renews.
    let old = env.tmp.path().join("dave-old.crt");
    std::fs::copy(env.path("clients/dave.crt"), &old).unwrap();
    let old_key = env.tmp.path().join("dave-old.key");
    std::fs::copy(env.path("clients/dave.key"), &old_key).unwrap();
    env.ok(&["issue-client", "dave", "--force"]);
    let (_, csr) = openssl_csr(dir, "dave", &["dave"]);
    let r = curl(
        &env,
        &server,
        "/v1/renew",
        Some((&old, &old_key)),
        Some(&renew_body(&csr)),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("superseded"), "{}", r.body);

    // Expired, and another CA's certificate: refused at the TLS layer, no HTTP status at all.
    std::thread::sleep(Duration::from_millis(1500));
    let (_, csr) = openssl_csr(dir, "erin", &["erin"]);
    for (what, (crt, key)) in [
        ("expired", pair(&env, "clients", "erin")),
        ("another CA's", pair(&other, "clients", "mallory")),
    ] {
        let r = curl(
            &env,
            &server,
            "/v1/renew",
            Some((&crt, &key)),
            Some(&renew_body(&csr)),
        );
        assert!(
            !r.curl_ok && r.status == 0,
            "{what}: {} {}",
            r.status,
            r.body
        );
    }
    // And the server is still there.
    assert_eq!(curl(&env, &server, "/v1/health", None, None).status, 200);
    let r = curl(&env, &server, "/v1/openapi.json", None, None);
    assert_eq!(
        r.body,
        std::fs::read_to_string("docs/openapi.json").unwrap()
    );
}

/// Reads from `s` until the server closes it (or resets it); returns how long after `since`
/// that was.
fn closed_within(mut s: TcpStream, since: Instant, limit: Duration) -> Duration {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while since.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return since.elapsed(),
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return since.elapsed(),
        }
    }
    panic!("the server did not close the connection within {limit:?}");
}

#[test]
fn slow_oversized_and_garbage_clients_are_dropped_while_others_are_served() {
    let env = Env::init(&["--server-host", "localhost"]);
    let server = Server::start(&env, &["--max-body", "4096"]);
    let addr = ("127.0.0.1", server.port);

    // A body over the limit: 413, and the server goes on.
    let big = format!("{{\"csr\": \"{}\"}}", "A".repeat(100_000));
    // (Expect: 100-continue: the body is sent only if the server asks for it, so the refusal
    // is read without racing a client still sending.)
    let r = curl_with(
        &env,
        &server,
        "/v1/sign",
        &["-H", "Expect: 100-continue"],
        Some(&big),
    );
    assert_eq!(r.status, 413, "{}", r.body);

    // Garbage instead of TLS: closed at once.
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let t0 = Instant::now();
    assert!(closed_within(garbage, t0, Duration::from_secs(5)) < Duration::from_secs(1));

    // A TLS client that never finishes its handshake (it says nothing), and one that sends
    // its ClientHello one byte a second: both dropped at the 2-second timeout, while a
    // well-behaved client is served meanwhile.
    let opened = Instant::now();
    let silent = TcpStream::connect(addr).unwrap();
    let dribbler = TcpStream::connect(addr).unwrap();
    let drip = {
        let mut d = dribbler.try_clone().unwrap();
        std::thread::spawn(move || {
            // A TLS record header of a handshake message, then more bytes, slowly.
            for b in [
                0x16u8, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
            ] {
                if d.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let watch =
        |s: TcpStream| std::thread::spawn(move || closed_within(s, opened, Duration::from_secs(6)));
    let (silent, dribbler) = (watch(silent), watch(dribbler));
    let t0 = Instant::now();
    let r = curl(&env, &server, "/v1/health", None, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "served in {:?}",
        t0.elapsed()
    );
    for (what, took) in [
        ("silent", silent.join().unwrap()),
        ("one byte a second", dribbler.join().unwrap()),
    ] {
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(4),
            "{what}: {took:?}"
        );
    }
    drip.join().unwrap();

    // A client that finishes TLS and then sends its request one byte a second: dropped at the
    // header timeout (openssl s_client is the TLS client).
    let mut sc = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect"])
        .arg(format!("127.0.0.1:{}", server.port))
        .arg("-CAfile")
        .arg(env.path("server-ca.crt"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = sc.stdin.take().unwrap();
    let t0 = Instant::now();
    let mut exited = None;
    for b in b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n"
        .iter()
        .cycle()
        .take(12)
    {
        let _ = stdin.write_all(&[*b]);
        let _ = stdin.flush();
        std::thread::sleep(Duration::from_millis(500));
        if let Some(status) = sc.try_wait().unwrap() {
            exited = Some((status, t0.elapsed()));
            break;
        }
    }
    let _ = sc.kill();
    let (_, took) = exited.expect("the slow HTTP client was not dropped within 6 s");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(curl(&env, &server, "/v1/health", None, None).status, 200);
}

#[test]
fn the_request_log_is_never_opened_through_another_users_link_or_file() {
    common::root_only!();
    let env = Env::init(&["--server-host", "localhost"]);
    let base = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        base.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let victim = base.path().join("victim");
    std::fs::write(&victim, "root's file\n").unwrap();
    // A directory nobody owns, and a shared sticky one (as /tmp), each with what nobody left.
    let theirs = base.path().join("theirs");
    let shared = base.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::create_dir(&theirs).unwrap();
    let (uid, gid) = common::ids("nobody");
    std::os::unix::fs::chown(&theirs, Some(uid), Some(gid)).unwrap();
    std::fs::set_permissions(
        &shared,
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    let v = p(&victim);
    common::as_user(
        "nobody",
        &format!(
            "ln -s {v} {t}/serve.log && ln -s {v} {s}/link.log && echo x > {s}/own.log",
            t = p(&theirs),
            s = p(&shared)
        ),
    );
    for log in [
        theirs.join("serve.log"),
        shared.join("link.log"),
        shared.join("own.log"),
    ] {
        let out = env.run(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-name",
            "localhost",
            "--log",
            p(&log),
        ]);
        let err = common::one_line(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", log.display());
        assert!(
            err.contains("refusing") || err.contains("permission denied"),
            "{}: {err}",
            log.display()
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root's file\n");
    assert_eq!(
        std::fs::read_to_string(shared.join("own.log")).unwrap(),
        "x\n"
    );
}

/// `pgca ARGS` on the host's side (no CA directory), with its exit code and stdout.
fn host(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(common::pgca_bin())
        .args(args)
        .env_remove("PGCA_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The subject key identifier of `der`'s first certificate and its authority key identifier.
fn key_ids(path: &Path) -> (Option<String>, Option<String>) {
    let info = pgca::CertInfo::from_file(path).unwrap();
    (info.subject_key_id, info.authority_key_id)
}

/// `pgca enroll --client ROLE --to DIR` against `server` (DIR's parent made first), and the
/// CA's URL.
fn enroll_client(env: &Env, server: &Server, role: &str, dir: &Path, extra: &[&str]) -> String {
    let ca = format!("https://localhost:{}", server.port);
    let fp = {
        let out = env.ok(&["inspect", "--json", p(&env.path("server-ca.crt"))]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let v = if v.is_array() { v[0].clone() } else { v };
        v["sha256_fingerprint"].as_str().unwrap().to_string()
    };
    let token_file = env.tmp.path().join(format!("{role}.token"));
    common::write_secret(&token_file, token(env, &[role, "--client"]));
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let mut args = vec![
        "enroll",
        "--ca",
        &ca,
        "--fingerprint",
        &fp,
        "--token-file",
        p(&token_file),
        "--client",
        role,
        "--to",
        p(dir),
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = host(&args);
    assert_eq!(code, 0, "{err}");
    ca
}

#[test]
fn an_agent_follows_a_rollover_of_both_cas_while_serve_runs_on() {
    let env = Env::init(&["--server-host", "localhost"]);
    let server = Server::start(&env, &[]);
    let dir = env.tmp.path().join("carol/.postgresql");
    let ca = enroll_client(&env, &server, "carol", &dir, &[]);
    let crt = dir.join("postgresql.crt");
    let (_, old_authority) = key_ids(&crt);
    let (old_ca, _) = key_ids(&env.path("client-ca.crt"));
    assert_eq!(old_authority, old_ca);
    let agent = |extra: &[&str]| {
        let mut args = vec!["agent", "--ca", &ca, "--to", p(&dir), "--once"];
        args.extend_from_slice(extra);
        host(&args)
    };
    let certs_in = |path: &Path| {
        std::fs::read_to_string(path)
            .unwrap()
            .matches("BEGIN CERTIFICATE")
            .count()
    };

    // Phase 1 of both: the agent takes the server CA bundle of both CAs, keeps its
    // certificate (the old client CA still signs).
    env.ok(&["rollover", "start", "server"]);
    env.ok(&["rollover", "start", "client"]);
    let serial = pgca::CertInfo::from_file(&crt).unwrap().serial;
    let (code, out, err) = agent(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("not due") && out.contains("refreshed"),
        "{out}"
    );
    assert_eq!(certs_in(&dir.join("root.crt")), 2);
    assert_eq!(pgca::CertInfo::from_file(&crt).unwrap().serial, serial);
    // serve took the new bundles too, and said so.
    assert!(!log_events(&server, "tls-reloaded").is_empty());
    assert!(log_events(&server, "tls-reload-failed").is_empty());

    // Phase 2: the agent renews at once, untold, and gets a leaf of the new client CA.
    env.ok(&["rollover", "switch", "client"]);
    let (code, out, err) = agent(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("the CA now signs with its new CA"), "{out}");
    let (new_ca, _) = key_ids(&env.path("client-ca.next.crt"));
    let (_, authority) = key_ids(&crt);
    assert_eq!(authority, new_ca);
    assert_ne!(authority, old_authority);
    let (ok, v) = openssl(&[
        "verify",
        "-CAfile",
        p(&env.path("client-ca.next.crt")),
        p(&crt),
    ]);
    assert!(ok, "{v}");

    // The next round is not due; a forced one renews over mutual TLS with the new CA's leaf,
    // which the serve started before the rollover accepts.
    let (code, out, err) = agent(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("not due"), "{out}");
    let before = pgca::CertInfo::from_file(&crt).unwrap().serial;
    let (code, out, err) = agent(&["--force"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("renewed"), "{out}");
    assert_ne!(pgca::CertInfo::from_file(&crt).unwrap().serial, before);
    assert_eq!(key_ids(&crt).1, new_ca);
}

/// The serials of the inventory's certificates renewed from `serial`.
fn renewals_of(env: &Env, serial: &pgca::Serial) -> Vec<String> {
    let ledger = pgca::CaDir::open(&env.ca).unwrap().inventory().unwrap();
    ledger
        .issued()
        .iter()
        .filter(|i| i.authorized.as_ref().and_then(|a| a.renewed_from.as_ref()) == Some(serial))
        .map(|i| i.serial.to_string())
        .collect()
}

#[test]
fn an_agent_stopped_between_issue_and_install_gets_the_same_certificate_again() {
    let env = Env::init(&["--server-host", "localhost"]);
    let server = Server::start(&env, &[]);
    let dir = env.tmp.path().join("dave/.postgresql");
    let ca = enroll_client(&env, &server, "dave", &dir, &[]);
    let crt = dir.join("postgresql.crt");
    let enrolled = pgca::CertInfo::from_file(&crt).unwrap().serial;
    let agent = |extra: &[&str]| {
        let mut args = vec!["agent", "--ca", &ca, "--to", p(&dir), "--once", "--force"];
        args.extend_from_slice(extra);
        host(&args)
    };

    // The CA issues, the install fails (the directory is not nobody's): the renewal's key
    // stays behind as pending, 0600.
    let (code, out, err) = agent(&["--owner", "nobody"]);
    assert_ne!(code, 0, "{out}{err}");
    let issued = renewals_of(&env, &enrolled);
    assert_eq!(issued.len(), 1, "{issued:?}");
    let pending = dir.join(format!("pgca-pending-{enrolled}.key"));
    assert_eq!(common::mode(&pending), 0o600);
    assert_eq!(pgca::CertInfo::from_file(&crt).unwrap().serial, enrolled);

    // The next round asks again with that key and gets the certificate already issued, not a
    // refusal as a second renewal.
    let (code, out, err) = agent(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("an earlier round did not finish"), "{out}");
    assert_eq!(
        pgca::CertInfo::from_file(&crt).unwrap().serial.to_string(),
        issued[0]
    );
    assert_eq!(renewals_of(&env, &enrolled), issued);
    assert!(!pending.exists());
    let (ok, v) = openssl(&["x509", "-in", p(&crt), "-noout", "-pubkey"]);
    let (ok2, k) = openssl(&["pkey", "-in", p(&dir.join("postgresql.key")), "-pubout"]);
    assert!(ok && ok2 && v == k, "{v}\n{k}");
}

#[test]
fn a_pending_key_the_directory_owner_plants_is_never_followed_nor_used() {
    common::root_only!();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = Env::init(&["--server-host", "localhost"]);
    let server = Server::start(&env, &[]);
    std::fs::set_permissions(env.tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // The client directory is nobody's (as ~/.postgresql is its user's), in root's directory.
    let dir = env.tmp.path().join("erin/.postgresql");
    let ca = enroll_client(&env, &server, "erin", &dir, &["--owner", "nobody"]);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().uid(),
        common::ids("nobody").0
    );
    let crt = dir.join("postgresql.crt");
    let victim = env.tmp.path().join("victim");
    std::fs::write(&victim, "root's file\n").unwrap();

    // nobody plants the pending key as a link to root's file: the agent neither reads nor
    // writes through it.
    let serial = pgca::CertInfo::from_file(&crt).unwrap().serial;
    common::as_user(
        "nobody",
        &format!(
            "ln -s '{}' '{}/pgca-pending-{serial}.key'",
            p(&victim),
            p(&dir)
        ),
    );
    let agent = || host(&["agent", "--ca", &ca, "--to", p(&dir), "--once", "--force"]);
    let (code, out, err) = agent();
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("an earlier round"), "{out}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root's file\n");
    assert_eq!(common::mode(&victim) & 0o777, 0o644);

    // nobody plants a key of their own: not used (the new certificate is for another key).
    let serial = pgca::CertInfo::from_file(&crt).unwrap().serial;
    let planted = dir.join(format!("pgca-pending-{serial}.key"));
    common::as_user(
        "nobody",
        &format!(
            "umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '{}'",
            p(&planted)
        ),
    );
    let (_, planted_pub) = openssl(&["pkey", "-in", p(&planted), "-pubout"]);
    let (code, out, err) = agent();
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("an earlier round"), "{out}");
    let (_, used) = openssl(&["x509", "-in", p(&crt), "-noout", "-pubkey"]);
    assert_ne!(used, planted_pub);
    assert!(!planted.exists());
}

#[test]
fn cron_renew_on_the_ca_host_leaves_an_online_certificate_to_its_agent() {
    let env = Env::init(&["--server-host", "localhost"]);
    let server = Server::start(&env, &[]);
    let dir = env.tmp.path().join("frank/.postgresql");
    let ca = enroll_client(&env, &server, "frank", &dir, &[]);
    let crt = dir.join("postgresql.crt");
    let enrolled = pgca::CertInfo::from_file(&crt).unwrap().serial;
    env.ok(&["issue-client", "offline"]);

    // Everything forced: the CA directory's own certificate is renewed, the online one is
    // reported and left alone.
    let out = env.ok(&["renew", "--force"]);
    assert!(out.contains("renewed client offline"), "{out}");
    assert!(
        out.contains(&format!(
            "left client frank (serial {enrolled}) to its host's pgca agent"
        )),
        "{out}"
    );
    let ledger = pgca::CaDir::open(&env.ca).unwrap().inventory().unwrap();
    assert_eq!(
        ledger
            .current(pgca::CertKind::Client, "frank")
            .unwrap()
            .serial,
        enrolled
    );

    // Asked for by name: refused, with where to renew it instead.
    let out = env.run(&["renew", "--force", "frank"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("was issued online: its host's pgca agent renews it"),
        "{err}"
    );

    // The agent's certificate is still the current one, so its renewal is granted.
    let (code, out, err) = host(&["agent", "--ca", &ca, "--to", p(&dir), "--once", "--force"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("renewed"), "{out}");
    assert_eq!(renewals_of(&env, &enrolled).len(), 1);
}

/// The lines of the request log with this `event`.
fn log_events(server: &Server, event: &str) -> Vec<serde_json::Value> {
    server
        .log_text()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == event)
        .collect()
}

#[test]
fn a_serving_certificate_that_cannot_be_loaded_is_logged_once_and_the_old_one_served() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-server", "db1.example.com"]);
    let server = Server::start(&env, &[]);
    let served = pgca::CertInfo::from_file(&env.path("servers/localhost.crt"))
        .unwrap()
        .serial
        .to_string();

    // The serving certificate's name replaced by another certificate: every rebuild fails,
    // the configuration in use stays, and the log says so once, naming the serial served.
    let link = env.path("servers/localhost.crt");
    let target = std::fs::read_link(&link).unwrap();
    std::fs::remove_file(&link).unwrap();
    std::fs::copy(env.path("servers/db1.example.com.crt"), &link).unwrap();
    for _ in 0..3 {
        let r = curl(&env, &server, "/v1/health", None, None);
        assert_eq!(r.status, 200, "{}", r.body);
        std::thread::sleep(Duration::from_millis(1100));
    }
    let failed = log_events(&server, "tls-reload-failed");
    assert_eq!(failed.len(), 1, "{}", server.log_text());
    assert_eq!(failed[0]["serial"], served.as_str());
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("servers/localhost.crt"),
        "{}",
        failed[0]
    );
    assert!(log_events(&server, "tls-reloaded").is_empty());

    // Put back: the next handshake rebuilds, and the log says what is served now.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let r = curl(&env, &server, "/v1/health", None, None);
    assert_eq!(r.status, 200, "{}", r.body);
    let reloaded = log_events(&server, "tls-reloaded");
    assert_eq!(reloaded.len(), 1, "{}", server.log_text());
    assert_eq!(reloaded[0]["serial"], served.as_str());
}
