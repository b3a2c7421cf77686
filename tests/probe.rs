//! `pgca probe` against a real PostgreSQL server (15, or the major `$PGCA_TEST_PG` names: `make
//! test` runs this file on 14, 15 and 18), a closed port and a port that speaks
//! something else.

mod common;
mod pg;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::Env;
use pg::Cluster;

/// `pgca deploy-server localhost` into the cluster and the include line it prints.
fn deploy_and_include(env: &Env, cluster: &Cluster) {
    let data = cluster.data.to_str().unwrap();
    let deployed = env.ok(&["deploy-server", "localhost", "--data-dir", data]);
    cluster.include_deployed(&deployed);
}

/// A CA directory with a server certificate for localhost and 127.0.0.1, deployed into a
/// started cluster (with `conf` after pgca's include), and the cluster's `127.0.0.1:PORT`.
fn serving(conf: &str) -> (Env, Cluster, String) {
    let env = Env::init(&[
        "--no-passphrase",
        "--server-host",
        "localhost",
        "--server-host",
        "127.0.0.1",
    ]);
    let mut cluster = Cluster::new();
    deploy_and_include(&env, &cluster);
    cluster.append_conf(conf);
    cluster.start();
    let target = format!("127.0.0.1:{}", cluster.port);
    (env, cluster, target)
}

fn current_serial(env: &Env) -> String {
    pgca::CertInfo::from_file(&env.path("servers/localhost.crt"))
        .unwrap()
        .serial
        .to_string()
}

fn probe(env: &Env, args: &[&str]) -> (i32, String) {
    let mut all = vec!["probe"];
    all.extend_from_slice(args);
    let out: Output = env.run(&all);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// What `openssl s_client -starttls postgres` reports: (serial, protocol).
fn openssl_view(port: u16) -> (String, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -starttls postgres -connect 127.0.0.1:{port} </dev/null 2>/dev/null"
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let protocol = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Protocol  :")
                .or_else(|| l.split("New, ").nth(1).and_then(|r| r.split(',').next()))
        })
        .unwrap_or_default()
        .trim()
        .to_string();
    let pem_end = text.find("-----END CERTIFICATE-----").unwrap() + 25;
    let pem_start = text.find("-----BEGIN CERTIFICATE-----").unwrap();
    let info = pgca::CertInfo::from_pem(&text.as_bytes()[pem_start..pem_end]).unwrap();
    (info.serial.to_string(), protocol)
}

#[test]
fn a_renewal_without_reload_is_a_warning_until_the_reload() {
    let (env, cluster, target) = serving("");

    // A fresh server: OK, serving the inventory's serial, as openssl sees it.
    let first = current_serial(&env);
    let (code, out) = probe(&env, &[&target]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK: ") && out.contains(&first), "{out}");
    let (code, json) = probe(&env, &[&target, "--json"]);
    assert_eq!(code, 0, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let t = &v["targets"][0];
    assert_eq!(t["chain"][0]["serial"], first.as_str());
    assert_eq!(t["chains_to_ca"], true);
    assert_eq!(t["name_matches"], true);
    assert_eq!(t["is_current"], true);
    // The server asks for a client certificate from pgca's client CA.
    let names = t["client_ca_names"]
        .as_array()
        .expect("asked for a client cert");
    assert!(
        names
            .iter()
            .any(|n| n.as_str().unwrap().contains("client CA")),
        "{json}"
    );
    let (served, protocol) = openssl_view(cluster.port);
    assert_eq!(served, first);
    assert_eq!(
        t["tls_version"],
        protocol.as_str(),
        "openssl said {protocol:?}"
    );

    // Renewed and deployed, not reloaded: WARNING naming both serials.
    env.ok(&["issue-server", "localhost", "127.0.0.1", "--force"]);
    let data = cluster.data.to_str().unwrap().to_string();
    env.ok(&["deploy-server", "localhost", "--data-dir", &data]);
    let second = current_serial(&env);
    assert_ne!(first, second);
    let (code, out) = probe(&env, &[&target]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("renewed but not reloaded") && out.contains(&first) && out.contains(&second),
        "{out}"
    );

    // Reloaded: OK again, the new serial, as openssl sees it.
    cluster.sql("SELECT pg_reload_conf()");
    let deadline = Instant::now() + Duration::from_secs(10);
    let (code, out) = loop {
        let (code, out) = probe(&env, &[&target]);
        if code == 0 || Instant::now() > deadline {
            break (code, out);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&second), "{out}");
    assert_eq!(openssl_view(cluster.port).0, second);

    // Another name than the certificate's: CRITICAL.
    let (code, out) = probe(&env, &[&target, "--sni", "db.example.com"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("not valid for db.example.com"), "{out}");
}

#[test]
fn ssl_off_is_critical() {
    let env = Env::init(&["--no-passphrase", "--server-host", "localhost"]);
    let mut cluster = Cluster::new();
    cluster.append_conf("ssl = off\n");
    cluster.start();
    let (code, out) = probe(&env, &[&format!("127.0.0.1:{}", cluster.port)]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.starts_with("CRITICAL: ") && out.contains("does not offer TLS"),
        "{out}"
    );
}

#[test]
fn nothing_listening_is_unknown_at_once() {
    let env = Env::init(&["--no-passphrase", "--server-host", "localhost"]);
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let start = Instant::now();
    let (code, out) = probe(&env, &[&format!("127.0.0.1:{port}")]);
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("UNKNOWN: "), "{out}");
    assert!(start.elapsed() < Duration::from_secs(5));

    // check folds it in as UNKNOWN; its probe timeout is a duration of at least a second.
    let out = env.run(&[
        "check",
        "--probe",
        &format!("127.0.0.1:{port}"),
        "--probe-timeout",
        "2s",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let out = env.run(&["check", "--probe", "127.0.0.1", "--probe-timeout", "0s"]);
    assert_eq!(out.status.code(), Some(3));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("PGCA UNKNOWN - invalid duration \"0s\"") && said.lines().count() == 1,
        "{said}"
    );
}

#[test]
fn an_http_server_or_a_silent_one_is_unknown_within_the_timeout() {
    let env = Env::init(&["--no-passphrase", "--server-host", "localhost"]);
    // One answers HTTP garbage, one accepts and says nothing.
    let http = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let (hp, sp) = (
        http.local_addr().unwrap().port(),
        silent.local_addr().unwrap().port(),
    );
    std::thread::spawn(move || {
        for mut s in http.incoming().flatten() {
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().flatten() {
            held.push(s);
        }
    });
    let start = Instant::now();
    let (code, out) = probe(
        &env,
        &[
            &format!("127.0.0.1:{hp}"),
            &format!("127.0.0.1:{sp}"),
            "--timeout",
            "1s",
        ],
    );
    assert_eq!(code, 3, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("UNKNOWN: ") && lines[0].contains("not PostgreSQL"),
        "{out}"
    );
    assert!(
        lines[1]
            == format!(
                "UNKNOWN: 127.0.0.1:{sp}: no answer within 1s (SSLRequest was not answered)"
            ),
        "{out}"
    );
    // Both at once, each within its 1 s.
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_role_is_accepted_or_refused_with_the_servers_words() {
    let env = Env::init(&[
        "--no-passphrase",
        "--server-host",
        "localhost",
        "--server-host",
        "127.0.0.1",
    ]);
    env.ok(&["issue-client", "alice", "bob"]);
    let other = Env::init(&["--no-passphrase", "--server-host", "localhost"]);
    other.ok(&["issue-client", "alice"]);
    let mut cluster = Cluster::new();
    deploy_and_include(&env, &cluster);
    cluster.start();
    cluster.sql("CREATE ROLE alice LOGIN");
    let target = format!("127.0.0.1:{}", cluster.port);

    // An existing role, `hostssl all all 127.0.0.1/32 cert`: accepted.
    let (code, out) = probe(&env, &[&target, "--role", "alice"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("OK: ") && out.contains("role alice accepted"),
        "{out}"
    );
    let (code, json) = probe(&env, &[&target, "--role", "alice", "--json"]);
    assert_eq!(code, 0, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["targets"][0]["login"]["accepted"], true, "{json}");
    assert_eq!(v["targets"][0]["login"]["dbname"], "postgres", "{json}");

    // No such role: the server's own words.
    let (code, out) = probe(&env, &[&target, "--role", "bob"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.starts_with("CRITICAL: ")
            && out.contains("role bob refused")
            && out.contains("does not exist"),
        "{out}"
    );

    // A certificate of another CA directory's client CA: refused at the TLS level, one line.
    let (code, out) = probe(&other, &[&target, "--role", "alice"]);
    assert_eq!(code, 2, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("role alice refused"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("TLS"), "{out}");

    // A role without a certificate: UNKNOWN before any connection.
    let (code, out) = probe(&env, &[&target, "--role", "carol"]);
    assert_eq!(code, 3, "{out}");
}

#[test]
fn check_probe_folds_the_live_server_into_checks_status_json_and_textfile() {
    let (env, cluster, target) = serving("");
    let check = |args: &[&str]| {
        let mut all = vec!["check", "--probe", &target];
        all.extend_from_slice(args);
        let out = env.run(&all);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };

    // A fresh server: OK, its line in the text, the probe in the JSON.
    let first = current_serial(&env);
    let (code, out) = check(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("PGCA OK") && out.contains(&format!("OK: {target} serves serial {first}")),
        "{out}"
    );
    let (code, json) = check(&["--json"]);
    assert_eq!(code, 0, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["probes"][0]["target"], target.as_str(), "{json}");
    assert_eq!(v["probes"][0]["is_current"], true, "{json}");
    assert_eq!(
        v["probes"][0]["chain"][0]["serial"],
        first.as_str(),
        "{json}"
    );

    // Re-issued and deployed, not reloaded: WARNING naming both serials, in the textfile too.
    env.ok(&["issue-server", "localhost", "127.0.0.1", "--force"]);
    let data = cluster.data.to_str().unwrap().to_string();
    env.ok(&["deploy-server", "localhost", "--data-dir", &data]);
    let second = current_serial(&env);
    let prom = env.tmp.path().join("pgca.prom"); // beside the CA directory: verify reports any file in it pgca does not make
    let (code, out) = check(&["--prometheus", prom.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("PGCA WARNING")
            && out.contains("renewed but not reloaded")
            && out.contains(&first)
            && out.contains(&second),
        "{out}"
    );
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.contains(&format!("pgca_probe_status{{target=\"{target}\"}} 1")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "pgca_probe_served_serial_current{{target=\"{target}\",serial=\"{first}\"}} 0"
        )),
        "{text}"
    );
    assert!(text.contains("pgca_check_status 1"), "{text}");
    let samples = common::prometheus_samples(&prom);
    assert!(
        samples.contains(&format!("pgca_probe_status{{target=\"{target}\"}} 1.0")),
        "{samples:?}"
    );

    // deploy-server --probe fills the CA directory's probes list (once), which check probes.
    for _ in 0..2 {
        env.ok(&[
            "deploy-server",
            "localhost",
            "--data-dir",
            &data,
            "--probe",
            &target,
        ]);
    }
    let list = std::fs::read_to_string(env.path("probes")).unwrap();
    assert_eq!(list, format!("{target}\n"));
    let plain = env.run(&["check"]);
    let out = String::from_utf8_lossy(&plain.stdout).into_owned();
    assert_eq!(plain.status.code(), Some(1), "{out}");
    assert!(
        out.contains("renewed but not reloaded") && out.contains(&second),
        "{out}"
    );
    cluster.sql("SELECT pg_reload_conf()");
    let deadline = Instant::now() + Duration::from_secs(10);
    let (code, out) = loop {
        let o = env.run(&["check"]);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let code = o.status.code().unwrap_or(-1);
        if code == 0 || Instant::now() > deadline {
            break (code, out);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("OK: {target} serves serial {second}")),
        "{out}"
    );
    // The list is no stray file to the doctor.
    let v = env.run(&["verify"]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
}

/// `--direct`: TLS at once with ALPN `postgresql`, which PostgreSQL 17 and later accept (the same
/// certificate as after SSLRequest, and as openssl sees with `-alpn postgresql`); an older server
/// takes the ClientHello for a broken startup packet, which is a failed handshake (CRITICAL), said
/// in one line, not a hang. And `--prometheus FILE`, read back by the Prometheus parser.
#[test]
fn direct_tls_on_17_and_later_and_the_prometheus_textfile() {
    let (env, cluster, target) = serving("");
    let serial = current_serial(&env);
    let prom = env.path("probe.prom");

    let start = Instant::now();
    let (code, json) = probe(
        &env,
        &[
            &target,
            "--direct",
            "--json",
            "--timeout",
            "3s",
            "--prometheus",
            prom.to_str().unwrap(),
        ],
    );
    assert!(start.elapsed() < Duration::from_secs(5), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let t = &v["targets"][0];
    let samples = common::prometheus_samples(&prom);
    let status = format!("pgca_probe_status{{target=\"{target}\"}} {code}.0");
    assert!(samples.contains(&status), "{samples:?}");
    assert!(
        samples.contains(&format!("pgca_probe_run_status{{}} {code}.0")),
        "{samples:?}"
    );
    if cluster.major >= 17 {
        assert_eq!(code, 0, "{json}");
        assert_eq!(t["alpn"], "postgresql", "{json}");
        assert_eq!(t["chain"][0]["serial"], serial.as_str(), "{json}");
        assert_eq!(t["tls_version"], "TLSv1.3", "{json}");
        // openssl's view of a direct start.
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl s_client -connect {target} -alpn postgresql </dev/null 2>/dev/null | openssl x509 -noout -serial"
            ))
            .output()
            .unwrap();
        let seen = String::from_utf8_lossy(&out.stdout).trim().to_lowercase();
        assert_eq!(seen.strip_prefix("serial=").unwrap_or(&seen), serial);
        let not_after = pgca::CertInfo::from_file(&env.path("servers/localhost.crt"))
            .unwrap()
            .not_after
            .unix_timestamp();
        let expiry = format!(
            "pgca_probe_served_expiry_timestamp_seconds{{serial=\"{serial}\",target=\"{target}\"}} {not_after}.0"
        );
        assert!(samples.contains(&expiry), "{samples:?}");
        assert!(
            samples.contains(&format!(
                "pgca_probe_served_serial_current{{serial=\"{serial}\",target=\"{target}\"}} 1.0"
            )),
            "{samples:?}"
        );
        // The text names the negotiation.
        let (code, out) = probe(&env, &[&target, "--direct"]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.starts_with(&format!(
                "OK: {target} serves serial {serial} (TLSv1.3, ALPN postgresql, "
            )),
            "{out}"
        );
    } else {
        assert_eq!(code, 2, "{json}");
        let problem = t["problems"][0].as_str().unwrap();
        assert!(problem.contains("direct TLS start"), "{json}");
        // Without --direct the same server is fine.
        let (code, out) = probe(&env, &[&target]);
        assert_eq!(code, 0, "{out}");
    }
}

/// A server that only speaks TLS 1.2 (rustls offers 1.3 and 1.2): the handshake completes and
/// the certificate is judged, but the version is a WARNING, as PostgreSQL's guides ask for 1.3.
#[test]
fn a_tls12_only_server_is_a_warning() {
    let (env, cluster, target) =
        serving("ssl_min_protocol_version = 'TLSv1.2'\nssl_max_protocol_version = 'TLSv1.2'\n");
    let (code, out) = probe(&env, &[&target]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!("WARNING: {target}: negotiated TLSv1.2 only")),
        "{out}"
    );
    let (served, protocol) = openssl_view(cluster.port);
    assert_eq!(protocol, "TLSv1.2");
    assert_eq!(served, current_serial(&env));
}

/// Servers that say `S` to SSLRequest and then break the handshake: one closes after the
/// ClientHello, one answers it with bytes that are not TLS. Each is one line, CRITICAL (the TLS
/// handshake failed), at once.
#[test]
fn a_server_that_breaks_the_handshake_is_critical_at_once() {
    let env = Env::init(&["--no-passphrase", "--server-host", "localhost"]);
    let mut ports = Vec::new();
    for answer in [&b""[..], &b"E\0\0\0\x08garbage!"[..]] {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        ports.push(l.local_addr().unwrap().port());
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                let mut req = [0u8; 8];
                if s.read_exact(&mut req).is_err() {
                    continue;
                }
                let _ = s.write_all(b"S");
                let mut hello = [0u8; 512];
                let _ = s.read(&mut hello);
                let _ = s.write_all(answer);
                // dropped: closed
            }
        });
    }
    for port in ports {
        let start = Instant::now();
        let (code, out) = probe(&env, &[&format!("127.0.0.1:{port}"), "--timeout", "3s"]);
        assert_eq!(code, 2, "{out}");
        assert!(
            out.starts_with(&format!(
                "CRITICAL: 127.0.0.1:{port}: TLS handshake failed: "
            )) && out.lines().count() == 1,
            "{out}"
        );
        assert!(start.elapsed() < Duration::from_secs(2), "{out}");
    }
}

/// How long a trickling server keeps sending: 60 bytes, one every 200 ms, 12 s in all.
const TRICKLE: (usize, Duration) = (60, Duration::from_millis(200));

/// A server that keeps a probe's every read short and never finishes: it answers SSLRequest
/// with `S` after `before_s` (a direct TLS start gets no `S`), then sends a TLS record header
/// promising 16384 bytes and trickles them one at a time ([`TRICKLE`]), until the client goes
/// away. Every connection gets its own thread; the port is returned.
fn trickler(before_s: Duration) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut first = [0u8; 8];
                if s.read_exact(&mut first).is_err() {
                    return;
                }
                if first == [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f] {
                    std::thread::sleep(before_s);
                    if s.write_all(b"S").is_err() {
                        return;
                    }
                }
                // A handshake record, TLS 1.2, 16384 bytes long.
                if s.write_all(&[0x16, 0x03, 0x03, 0x40, 0x00]).is_err() {
                    return;
                }
                let (bytes, every) = TRICKLE;
                for _ in 0..bytes {
                    std::thread::sleep(every);
                    if s.write_all(&[0]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// The line of a target whose deadline passed in the handshake.
fn handshake_timeout(port: u16, timeout: &str) -> String {
    format!(
        "UNKNOWN: 127.0.0.1:{port}: no answer within {timeout} (the TLS handshake was not finished)"
    )
}

#[test]
fn a_trickling_server_is_unknown_by_the_timeout_not_hours_later() {
    let env = Env::init(&["--no-passphrase", "--server-host", "localhost"]);
    // `S` at once; `S` after 700 ms, which leaves the handshake 300 ms of the same second.
    let (at_once, late) = (
        trickler(Duration::ZERO),
        trickler(Duration::from_millis(700)),
    );
    let trickle_lasts = TRICKLE.1 * TRICKLE.0 as u32;
    let start = Instant::now();
    let (code, out) = probe(
        &env,
        &[
            &format!("127.0.0.1:{at_once}"),
            &format!("127.0.0.1:{late}"),
            "--timeout",
            "1s",
        ],
    );
    let took = start.elapsed();
    assert_eq!(code, 3, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            handshake_timeout(at_once, "1s"),
            handshake_timeout(late, "1s")
        ],
        "{out}"
    );
    // Long before the trickle would have ended (a loaded machine gets slack).
    assert!(
        took < Duration::from_secs(8) && took < trickle_lasts,
        "{took:?}"
    );

    // A direct TLS start: the same deadline, no SSLRequest.
    let start = Instant::now();
    let (code, out) = probe(
        &env,
        &[
            &format!("127.0.0.1:{at_once}"),
            "--direct",
            "--timeout",
            "1s",
        ],
    );
    assert_eq!(code, 3, "{out}");
    assert_eq!(out.trim_end(), handshake_timeout(at_once, "1s"), "{out}");
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );

    // The JSON names the kind and says the same line.
    let (code, json) = probe(
        &env,
        &[&format!("127.0.0.1:{late}"), "--timeout", "1s", "--json"],
    );
    assert_eq!(code, 3, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let failure = &v["targets"][0]["failure"];
    assert_eq!(failure["kind"], "timeout", "{json}");
    assert_eq!(
        failure["detail"], "no answer within 1s (the TLS handshake was not finished)",
        "{json}"
    );
}

#[test]
fn check_probe_against_a_trickling_server_ends_by_its_probe_timeout() {
    let env = Env::init(&["--no-passphrase", "--server-host", "localhost"]);
    let (at_once, late) = (
        trickler(Duration::ZERO),
        trickler(Duration::from_millis(700)),
    );
    let start = Instant::now();
    let out = env.run(&[
        "check",
        "--probe",
        &format!("127.0.0.1:{at_once}"),
        "--probe",
        &format!("127.0.0.1:{late}"),
        "--probe-timeout",
        "1s",
    ]);
    let took = start.elapsed();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.starts_with("PGCA UNKNOWN - "), "{said}");
    for port in [at_once, late] {
        assert!(
            said.lines().any(|l| l == handshake_timeout(port, "1s")),
            "{said}"
        );
    }
    assert!(took < Duration::from_secs(8), "{took:?}");
}

/// A TLS server with the CA directory's certificate for localhost that answers SSLRequest after
/// `before_s`, finishes the handshake, reads the StartupMessage and then trickles an
/// authentication request promising 16384 bytes, one byte a TLS record ([`TRICKLE`]).
fn trickling_login(env: &Env, before_s: Duration) -> u16 {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_file(env.path("servers/localhost.crt")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(env.path("servers/localhost.key")).unwrap();
    let config = std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let mut s = s;
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut req = [0u8; 8];
                if s.read_exact(&mut req).is_err() {
                    return;
                }
                std::thread::sleep(before_s);
                if s.write_all(b"S").is_err() {
                    return;
                }
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                while conn.is_handshaking() {
                    if conn.complete_io(&mut s).is_err() {
                        return;
                    }
                }
                let mut tls = rustls::Stream::new(&mut conn, &mut s);
                let mut startup = [0u8; 512];
                if tls.read(&mut startup).is_err() {
                    return;
                }
                // AuthenticationRequest, 16384 bytes long.
                if tls.write_all(&[b'R', 0, 0, 0x40, 0]).is_err() {
                    return;
                }
                let (bytes, every) = TRICKLE;
                for _ in 0..bytes {
                    std::thread::sleep(every);
                    if tls.write_all(&[0]).and_then(|()| tls.flush()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_login_that_trickles_ends_by_the_same_deadline() {
    let env = Env::init(&[
        "--no-passphrase",
        "--server-host",
        "localhost",
        "--server-host",
        "127.0.0.1",
    ]);
    env.ok(&["issue-client", "alice"]);
    // Half the second goes to SSLRequest, the rest to the handshake and the login.
    let port = trickling_login(&env, Duration::from_millis(500));
    let start = Instant::now();
    let (code, out) = probe(
        &env,
        &[
            &format!("127.0.0.1:{port}"),
            "--role",
            "alice",
            "--timeout",
            "1s",
        ],
    );
    let took = start.elapsed();
    // A login that does not finish is a refusal, CRITICAL, as before.
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out.lines().next().unwrap_or_default(),
        format!(
            "CRITICAL: 127.0.0.1:{port}: role alice refused: \
             no answer within 1s (the login was not answered)"
        ),
        "{out}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
}
