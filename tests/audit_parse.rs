//! The audit readers on what a real `initdb` writes (Debian's PostgreSQL, or the major
//! `$PGCA_TEST_PG` names): `postgresql.conf`, `pg_hba.conf` and `pg_ident.conf` parse, and hold
//! the defaults PostgreSQL documents for them.

mod pg;

use pgca::{
    AuthMethod, ConnType, HbaAddress, HbaName, read_pg_hba, read_pg_ident, read_postgresql_conf,
    read_server_conf,
};

#[test]
fn initdbs_files_parse_and_hold_the_documented_defaults() {
    let bin = pg::bindir();
    let base = tempfile::Builder::new()
        .prefix("pgca-audit-")
        .tempdir()
        .unwrap();
    pg::give_to_owner(base.path());
    let data = base.path().join("data");
    let out = pg::as_owner(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth-local=peer",
            "--auth-host=scram-sha-256",
            "--no-sync",
            "--no-instructions",
            "-E",
            "UTF8",
            "--locale=C",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // As root, the data directory is the postgres user's: trusted as the cluster's owner.
    let owner = pg::is_root().then(|| pgca::lookup_user("postgres").unwrap().0);

    let conf = read_postgresql_conf(&data.join("postgresql.conf"), owner).unwrap();
    assert_eq!(conf.value("max_connections"), Some("100"));
    assert_eq!(conf.value("SHARED_BUFFERS"), Some("128MB"));
    assert_eq!(conf.value("lc_messages"), Some("C"));
    assert_eq!(
        conf.value("default_text_search_config"),
        Some("pg_catalog.english")
    );
    let max = conf.get("max_connections").unwrap();
    assert_eq!(max.file, data.join("postgresql.conf"));
    assert!(max.line > 1);
    // Everything else is commented out: ssl is not set.
    assert_eq!(conf.value("ssl"), None);

    let hba = read_pg_hba(&data.join("pg_hba.conf"), owner).unwrap();
    let all = |s: &str| vec![HbaName::Keyword(s.to_string())];
    let v4: HbaAddress = HbaAddress::Cidr {
        addr: "127.0.0.1".parse().unwrap(),
        prefix: 32,
    };
    let v6 = HbaAddress::Cidr {
        addr: "::1".parse().unwrap(),
        prefix: 128,
    };
    let got: Vec<_> = hba
        .iter()
        .map(|r| {
            (
                r.conn,
                r.databases.clone(),
                r.users.clone(),
                r.address.clone(),
                r.method,
            )
        })
        .collect();
    let scram = AuthMethod::ScramSha256;
    assert_eq!(
        got,
        [
            (
                ConnType::Local,
                all("all"),
                all("all"),
                None,
                AuthMethod::Peer
            ),
            (
                ConnType::Host,
                all("all"),
                all("all"),
                Some(v4.clone()),
                scram
            ),
            (
                ConnType::Host,
                all("all"),
                all("all"),
                Some(v6.clone()),
                scram
            ),
            (
                ConnType::Local,
                all("replication"),
                all("all"),
                None,
                AuthMethod::Peer
            ),
            (
                ConnType::Host,
                all("replication"),
                all("all"),
                Some(v4),
                scram
            ),
            (
                ConnType::Host,
                all("replication"),
                all("all"),
                Some(v6),
                scram
            ),
        ]
    );
    assert!(
        hba.iter()
            .all(|r| r.file == data.join("pg_hba.conf") && r.options.is_empty())
    );

    // pg_ident.conf holds only comments.
    assert_eq!(
        read_pg_ident(&data.join("pg_ident.conf"), owner).unwrap(),
        []
    );

    // With `-A trust` initdb writes `trust` everywhere (and says so).
    let data2 = base.path().join("data2");
    let out = pg::as_owner(&bin.join("initdb"))
        .arg("-D")
        .arg(&data2)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "--no-instructions",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hba = read_pg_hba(&data2.join("pg_hba.conf"), owner).unwrap();
    assert_eq!(hba.len(), 6);
    assert!(hba.iter().all(|r| r.method == AuthMethod::Trust), "{hba:?}");
    assert_eq!(hba[0].conn, ConnType::Local);

    // An included file in the cluster's own directory, as an admin adds one.
    let conf_d = data.join("conf.d");
    std::fs::create_dir(&conf_d).unwrap();
    std::fs::write(
        conf_d.join("ssl.conf"),
        "ssl = on\nssl_cert_file = 'server.crt'\n",
    )
    .unwrap();
    let mut text = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
    text.push_str("include_dir 'conf.d'\nmax_connections = 50\n");
    std::fs::write(data.join("postgresql.conf"), text).unwrap();
    for p in [conf_d.clone(), conf_d.join("ssl.conf")] {
        pg::give_to_owner(&p);
    }
    let conf = read_postgresql_conf(&data.join("postgresql.conf"), owner).unwrap();
    assert_eq!(conf.value("ssl"), Some("on"));
    assert_eq!(conf.get("ssl").unwrap().file, conf_d.join("ssl.conf"));
    assert_eq!(conf.value("max_connections"), Some("50"));
    // `ALTER SYSTEM`'s file, read last: its settings win.
    let auto = data.join("postgresql.auto.conf");
    let mut text = std::fs::read_to_string(&auto).unwrap();
    text.push_str("max_connections = '60'\n");
    std::fs::write(&auto, text).unwrap();
    let server = read_server_conf(&data.join("postgresql.conf"), &data, owner).unwrap();
    assert_eq!(server.value("max_connections"), Some("60"));
    assert_eq!(server.get("max_connections").unwrap().file, auto);
    assert_eq!(server.value("ssl"), Some("on"));
    // And PostgreSQL agrees the file is valid: `postgres -C` reads it.
    let out = pg::as_owner(&bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .args(["-C", "ssl_cert_file"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "server.crt");
    let out = pg::as_owner(&bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .args(["-C", "max_connections"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "60");
}
