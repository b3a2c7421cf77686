//! `pgca audit`'s live reader against a real PostgreSQL (Debian's 15, or the major
//! `$PGCA_TEST_PG` names; `make test` runs this file on 14, 15 and 18): one cluster with weak
//! settings, read over its Unix socket (peer), over TCP with SCRAM and md5 passwords from a
//! password file, over TLS verify-full with a pgca client certificate, and as a role that may
//! read the settings but not the rules; then the refusals (a wrong password, a closed port, a
//! server that never answers, a certificate for another host). What it reads must be what the
//! offline reader reads from the same data directory.

mod common;
mod pg;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Env, p, write_secret};
use pg::Cluster;
use pgca::audit::check_hba::rule_text;
use pgca::audit::live::{LiveOptions, read_live};
use pgca::audit::offline::read_offline;
use pgca::audit::{Read, ServerFacts, Source};
use pgca::error::Error;

/// The OS user these tests run as (the peer name of a Unix-socket login).
fn os_user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Options with only `vars` for environment (and an empty home, so that no `~/.postgresql`
/// or `~/.pgpass` of the machine's is read).
fn opts(home: &Path, vars: &[(&str, &str)]) -> LiveOptions {
    let mut env = vec![("HOME".to_string(), p(home).to_string())];
    env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    LiveOptions {
        timeout: Duration::from_secs(10),
        probe: None,
        env: Some(env),
    }
}

fn rules(facts: &ServerFacts) -> Vec<String> {
    facts
        .hba
        .as_ref()
        .expect("pg_hba.conf rules")
        .iter()
        .map(|r| format!("{}:{} {}", r.file.display(), r.line, rule_text(r)))
        .collect()
}

fn idents(facts: &ServerFacts) -> Vec<String> {
    facts
        .ident
        .as_ref()
        .expect("pg_ident.conf maps")
        .iter()
        .map(|m| {
            format!(
                "{}:{} {} {} {}",
                m.file.display(),
                m.line,
                m.map,
                m.system_user.text(),
                m.pg_user
            )
        })
        .collect()
}

fn value<'a>(facts: &'a ServerFacts, name: &str) -> &'a str {
    facts
        .value(name)
        .unwrap_or_else(|| panic!("{name} not read"))
}

fn live_user(read: &Read) -> (&str, u32) {
    match &read.facts.source {
        Source::Live {
            user, version_num, ..
        } => (user.as_str(), *version_num),
        other => panic!("{other:?}"),
    }
}

/// The error of a read that must fail: `AuditConnect`, one line, no secret in it.
fn refused(conninfo: &str, opts: &LiveOptions, secret: &str) -> String {
    let e = match read_live(conninfo, opts) {
        Err(e) => e,
        Ok(_) => panic!("{conninfo}: read"),
    };
    assert!(matches!(e, Error::AuditConnect { .. }), "{e:?}");
    let text = e.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(!text.contains(secret), "{text}");
    assert!(!format!("{e:?}").contains(secret), "{e:?}");
    text
}

#[test]
fn a_live_read_gives_what_the_files_say_over_every_login() {
    let env = Env::init(&["--no-passphrase"]);
    env.ok(&["issue-server", "localhost", "127.0.0.1"]);
    env.ok(&["issue-client", "auditor"]);
    let mut cluster = Cluster::new();
    let deployed = env.ok(&["deploy-server", "localhost", "--data-dir", p(&cluster.data)]);
    cluster.include_deployed(&deployed);
    // Weak settings after pgca's include: TLS 1.2 allowed, md5 stored, no connection logging.
    cluster.append_conf(
        "ssl_min_protocol_version = 'TLSv1.2'\npassword_encryption = 'md5'\nlog_connections = off\n",
    );
    let me = os_user();
    cluster.write_hba(
        "local all all peer map=admins\n\
         host all scram_user,reader 127.0.0.1/32 scram-sha-256\n\
         host all md5_user 127.0.0.1/32 md5\n\
         hostssl all auditor 127.0.0.1/32 cert\n\
         host sameuser,replication +admins,bob 10.1.0.0/16 password\n\
         host all all 10.0.0.0 255.0.0.0 md5\n\
         hostnossl all all samenet reject\n\
         host all all ::1/128 trust\n",
    );
    std::fs::write(
        cluster.data.join("pg_ident.conf"),
        format!(
            "admins {me} postgres\nadmins postgres postgres\ncerts /^(.*)@example\\.com$ \\1\n"
        ),
    )
    .unwrap();
    cluster.start();
    cluster.sql(
        "SET password_encryption = 'scram-sha-256'; \
         CREATE ROLE scram_user LOGIN PASSWORD 'scram-secret'; \
         CREATE ROLE reader LOGIN PASSWORD 'reader-secret'; \
         GRANT pg_read_all_settings TO reader; \
         SET password_encryption = 'md5'; \
         CREATE ROLE md5_user LOGIN PASSWORD 'md5-secret'; \
         CREATE ROLE auditor LOGIN; GRANT pg_read_all_settings TO auditor; \
         CREATE ROLE admins NOLOGIN; CREATE ROLE bob LOGIN VALID UNTIL '2031-01-01 00:00:00+00';",
    );
    cluster.sql("GRANT SELECT ON pg_hba_file_rules TO auditor; GRANT EXECUTE ON FUNCTION pg_hba_file_rules TO auditor");
    if cluster.major >= 15 {
        cluster.sql("GRANT SELECT ON pg_ident_file_mappings TO auditor; GRANT EXECUTE ON FUNCTION pg_ident_file_mappings TO auditor");
    }
    let port = cluster.port;
    let socket = p(cluster.base.path()).to_string();
    let home = tempfile::tempdir().unwrap();
    let none = opts(home.path(), &[]);
    let offline = read_offline(&cluster.data).unwrap().facts;
    let postgres_uid = std::fs::metadata(&cluster.data).map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    });

    // (1) The superuser over the Unix socket, by peer (the OS user mapped to postgres).
    let conninfo = format!("host={socket} port={port} user=postgres dbname=postgres");
    let read = read_live(&conninfo, &none).unwrap();
    let (user, version) = live_user(&read);
    assert_eq!(user, "postgres");
    assert_eq!(version / 10000, cluster.major);
    let facts = &read.facts;
    for name in [
        "ssl",
        "listen_addresses",
        "ssl_min_protocol_version",
        "password_encryption",
    ] {
        assert_eq!(value(facts, name), value(&offline, name), "{name}");
    }
    assert_eq!(value(facts, "ssl"), "on");
    assert_eq!(value(facts, "listen_addresses"), "127.0.0.1");
    assert_eq!(value(facts, "log_connections"), "off");
    // Where a setting is set, as the server says and as the files say.
    let at = facts.location("ssl_min_protocol_version").unwrap();
    assert_eq!(Some(at), offline.location("ssl_min_protocol_version"));
    assert_eq!(rules(facts), rules(&offline));
    assert_eq!(facts.hba.as_ref().unwrap().len(), 8);
    assert!(facts.hba_errors.is_empty(), "{:?}", facts.hba_errors);
    if cluster.major >= 15 {
        assert_eq!(idents(facts), idents(&offline));
        assert!(facts.unreadable.is_empty(), "{:?}", facts.unreadable);
    } else {
        assert_eq!(facts.ident, None);
        assert_eq!(facts.unreadable.len(), 1, "{:?}", facts.unreadable);
        assert!(facts.unreadable[0].contains("pg_ident_file_mappings"));
    }
    let roles = facts.roles.as_ref().unwrap();
    let role = |n: &str| roles.iter().find(|r| r.name == n).unwrap();
    assert!(role("postgres").superuser);
    assert!(!role("admins").login);
    assert_eq!(
        role("bob").valid_until.unwrap().unix_timestamp(),
        1_924_992_000
    );
    assert!(read.files_here);
    assert_eq!(read.owner, postgres_uid.ok());
    assert_eq!(
        read.probe.as_ref().unwrap().to_string(),
        format!("127.0.0.1:{port}")
    );
    assert_eq!(facts.data_dir().as_deref(), Some(cluster.data.as_path()));

    // The same target through `pgca audit`, with the CA directory: the checks run on what was
    // read (md5, TLS 1.2, no connection logging, a cleartext password line), the served chain
    // is probed where the server listens.
    let mut cmd = Command::new(common::pgca_bin());
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .arg("--dir")
        .arg(&env.ca)
        .args(["audit", &conninfo, "--json"])
        .env("HOME", home.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{report}");
    for id in [
        "hba-md5",
        "log-connections",
        "ssl-min-protocol",
        "hba-password-no-tls",
    ] {
        assert!(report.contains(&format!("\"{id}\"")), "{id}: {report}");
    }
    assert!(report.contains(&format!("127.0.0.1:{port}")), "{report}");
    assert!(
        !report.contains("served-chain"),
        "the served chain is pgca's: {report}"
    );

    // (2) Over TCP with a SCRAM password from a 0600 password file (TLS without verification,
    // prefer's default, so SCRAM binds to the channel); md5 by URI; a service.
    let pgpass = home.path().join("pgpass");
    write_secret(
        &pgpass,
        format!(
            "127.0.0.1:{port}:*:scram_user:scram-secret\n\
             127.0.0.1:{port}:postgres:md5_user:md5-secret\n\
             *:*:*:reader:reader-secret\n"
        ),
    );
    let with_pass = opts(home.path(), &[("PGPASSFILE", p(&pgpass))]);
    let read = read_live(
        &format!("host=127.0.0.1 port={port} user=scram_user dbname=postgres"),
        &with_pass,
    )
    .unwrap();
    assert_eq!(live_user(&read).0, "scram_user");
    assert_eq!(value(&read.facts, "ssl"), "on");
    assert_eq!(
        read.facts.hba, None,
        "scram_user may not read pg_hba_file_rules"
    );
    assert!(!read.files_here, "data_directory is hidden from scram_user");
    assert_eq!(
        read.probe.as_ref().unwrap().to_string(),
        format!("127.0.0.1:{port}")
    );
    let read = read_live(
        &format!("postgresql://md5_user@127.0.0.1:{port}/postgres?sslmode=disable"),
        &with_pass,
    )
    .unwrap();
    assert_eq!(live_user(&read).0, "md5_user");
    let services = home.path().join("pg_service.conf");
    std::fs::write(
        &services,
        format!("[audit]\nhost=127.0.0.1\nport={port}\nuser=scram_user\ndbname=postgres\n"),
    )
    .unwrap();
    let with_service = opts(
        home.path(),
        &[("PGPASSFILE", p(&pgpass)), ("PGSERVICEFILE", p(&services))],
    );
    let read = read_live("service=audit sslmode=require", &with_service).unwrap();
    assert_eq!(live_user(&read).0, "scram_user");
    // A password file others can read is not used, and the error says so.
    let open_pgpass = home.path().join("pgpass-open");
    std::fs::write(&open_pgpass, "*:*:*:*:scram-secret\n").unwrap();
    std::fs::set_permissions(
        &open_pgpass,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let e = refused(
        &format!("host=127.0.0.1 port={port} user=scram_user dbname=postgres"),
        &opts(home.path(), &[("PGPASSFILE", p(&open_pgpass))]),
        "scram-secret",
    );
    assert!(
        e.contains("none was given") && e.contains("the password file was not used"),
        "{e}"
    );

    // (3) TLS verify-full with pgca's client certificate (cert login).
    let tls = |host: &str, root: &str| {
        format!(
            "host={host} hostaddr=127.0.0.1 port={port} user=auditor dbname=postgres sslmode=verify-full \
             sslrootcert='{}' sslcert='{}' sslkey='{}'",
            p(&env.path(root)),
            p(&env.path("clients/auditor.crt")),
            p(&env.path("clients/auditor.key")),
        )
    };
    let read = read_live(&tls("localhost", "server-ca.crt"), &none).unwrap();
    assert_eq!(live_user(&read).0, "auditor");
    assert_eq!(rules(&read.facts), rules(&offline));
    if cluster.major >= 15 {
        assert_eq!(idents(&read.facts), idents(&offline));
    }
    assert!(
        read.files_here,
        "loopback, data_directory shown to pg_read_all_settings"
    );
    assert_eq!(
        read.probe.as_ref().unwrap().to_string(),
        format!("localhost:{port}")
    );
    // The same from libpq's default files: ~/.postgresql/root.crt, postgresql.crt and .key.
    let installed = tempfile::tempdir().unwrap();
    env.ok(&[
        "client-install",
        "auditor",
        "--to",
        p(&installed.path().join(".postgresql")),
    ]);
    for mode in ["verify-full", "require"] {
        let read = read_live(
            &format!("host=localhost hostaddr=127.0.0.1 port={port} user=auditor dbname=postgres sslmode={mode}"),
            &opts(installed.path(), &[]),
        )
        .unwrap();
        assert_eq!(live_user(&read).0, "auditor", "{mode}");
    }
    // A root certificate file in the home makes libpq check the chain even for require (and
    // prefer, which then goes on without TLS).
    let wrong_root = tempfile::tempdir().unwrap();
    std::fs::create_dir(wrong_root.path().join(".postgresql")).unwrap();
    std::fs::copy(
        env.path("client-ca.crt"),
        wrong_root.path().join(".postgresql/root.crt"),
    )
    .unwrap();
    let wrong = |vars: &[(&str, &str)]| opts(wrong_root.path(), vars);
    let scram = format!("host=127.0.0.1 port={port} user=scram_user dbname=postgres");
    let read = read_live(&scram, &wrong(&[("PGPASSFILE", p(&pgpass))])).unwrap();
    assert_eq!(live_user(&read).0, "scram_user");
    let e = refused(
        &format!("{scram} sslmode=require"),
        &wrong(&[("PGPASSFILE", p(&pgpass))]),
        "scram-secret",
    );
    assert!(
        e.contains("tls: the server certificate does not chain to a CA of sslrootcert"),
        "{e}"
    );
    let e = refused(
        &format!("host=127.0.0.1 port={port} user=auditor dbname=postgres"),
        &wrong(&[]),
        "\0",
    );
    assert!(
        e.contains("with TLS: tls: the server certificate does not chain")
            && e.contains(
                "; without TLS: pg_hba.conf rejects connection for host \"127.0.0.1\", user \"auditor\""
            ),
        "{e}"
    );
    let e = refused(&tls("db.invalid", "server-ca.crt"), &none, "\0");
    assert!(e.contains("does not match host name \"db.invalid\""), "{e}");
    let e = refused(&tls("localhost", "client-ca.crt"), &none, "\0");
    assert!(e.contains("does not chain to a CA of sslrootcert"), "{e}");

    // (4) A role with pg_read_all_settings and no grant on the rules: the settings with where
    // they are set, no rules, and a sentence saying so.
    let read = read_live(
        &format!("host=127.0.0.1 port={port} user=reader dbname=postgres sslmode=disable"),
        &with_pass,
    )
    .unwrap();
    let facts = &read.facts;
    assert_eq!(facts.hba, None);
    assert!(
        facts
            .unreadable
            .iter()
            .any(|u| u.starts_with("pg_hba_file_rules: permission denied")),
        "{:?}",
        facts.unreadable
    );
    assert_eq!(facts.ident, None);
    assert_eq!(
        facts.location("ssl_min_protocol_version"),
        offline.location("ssl_min_protocol_version")
    );
    assert!(facts.roles.is_some());

    // (5) Refusals: one line each, no password in it.
    let e = refused(
        &format!(
            "host=127.0.0.1 port={port} user=scram_user dbname=postgres password=wrong-secret"
        ),
        &none,
        "wrong-secret",
    );
    assert!(e.contains("password=***"), "{e}");
    assert!(
        e.ends_with("password authentication failed for user \"scram_user\""),
        "{e}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let e = refused(
        &format!("postgresql://scram_user:wrong-secret@127.0.0.1:{closed_port}/postgres"),
        &none,
        "wrong-secret",
    );
    assert_eq!(
        e,
        format!("postgresql://scram_user:***@127.0.0.1:{closed_port}/postgres: connection refused")
    );
    // A server that accepts and never answers: the read ends by the timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let e = refused(
        &format!("host=127.0.0.1 port={silent_port} user=x sslmode=disable"),
        &LiveOptions {
            timeout: Duration::from_secs(2),
            ..none.clone()
        },
        "\0",
    );
    assert!(e.ends_with("no answer within 2s"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(silent);

    // A line the server would refuse, not loaded yet: the view shows it as an error, where it is.
    let hba = cluster.data.join("pg_hba.conf");
    let mut text = std::fs::read_to_string(&hba).unwrap();
    text.push_str("hostt all all all trust\n");
    std::fs::write(&hba, text).unwrap();
    let read = read_live(&conninfo, &none).unwrap();
    assert_eq!(read.facts.hba.as_ref().unwrap().len(), 8);
    let [(at, why)] = &read.facts.hba_errors[..] else {
        panic!("{:?}", read.facts.hba_errors);
    };
    let at = at.as_ref().unwrap();
    assert_eq!((at.file.as_path(), at.line), (hba.as_path(), Some(9)));
    assert!(why.contains("invalid connection type \"hostt\""), "{why}");
    let offline = read_offline(&cluster.data).err().unwrap().to_string();
    assert!(
        offline.contains("line 9: invalid connection type \"hostt\""),
        "{offline}"
    );
}
