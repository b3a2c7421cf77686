//! The inventory in PostgreSQL (`--inventory`), against a real server (Debian's 15, or
//! `$PGCA_TEST_PG`): a CA directory's inventory exported and imported into a database reached
//! with TLS verify-full and a pgca client certificate, then every command answered from it; the
//! refusals (a newer schema, a changed export, a non-empty target, a password in argv); a
//! 100,000-record inventory through export, import and export again, byte for byte; two
//! `pgca serve` processes sharing one inventory while one is killed with SIGKILL under load; a
//! `serve` host whose directory holds only its CA keys and TLS pair, answering from the database
//! what the CA host issued, renewed and revoked, taking its CA certificates from there and
//! following a client CA rollover under load (refused in a directory another user can change);
//! and a failover of the database to a synchronous standby under load.

mod common;
mod pg;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::serve::{free_port, loadgen, serve_in, serve_on};
use common::{Env, p, pgca_bin};
use pg::Cluster;

/// A cluster serving TLS with the CA directory's `localhost` certificate, with the role `pgca`
/// (client certificate login, allowed to create the `pgca` schema in the database `postgres`).
fn inventory_cluster(env: &Env) -> Cluster {
    let mut cluster = Cluster::new();
    cluster.enable_tls();
    cluster.install_tls(
        &env.path("servers/localhost.crt"),
        &env.path("servers/localhost.key"),
        &env.path("client-ca.crt"),
    );
    cluster.start();
    cluster.sql("CREATE ROLE pgca LOGIN");
    cluster.sql("GRANT CREATE ON DATABASE postgres TO pgca");
    cluster
}

/// The inventory's connection string: verify-full with the CA directory's client certificate
/// for the role `pgca`.
fn conninfo(env: &Env, cluster: &Cluster) -> String {
    format!(
        "host=localhost hostaddr=127.0.0.1 port={} user=pgca dbname=postgres sslmode=verify-full \
         sslrootcert={} sslcert={} sslkey={}",
        cluster.port,
        p(&env.path("server-ca.crt")),
        p(&env.path("clients/pgca.crt")),
        p(&env.path("clients/pgca.key")),
    )
}

/// A CA directory with a server certificate for localhost and the client `pgca`, its inventory
/// moved into a fresh cluster; the directory's own inventory file moved aside.
fn moved_into_postgres() -> (Env, Cluster, String) {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "pgca", "alice"]);
    let cluster = inventory_cluster(&env);
    let db = conninfo(&env, &cluster);
    let export = env.tmp.path().join("inventory.export");
    env.ok(&["inventory", "export", p(&export)]);
    env.ok(&["--inventory", &db, "inventory", "import", p(&export)]);
    move_aside(&env);
    (env, cluster, db)
}

/// Moves the CA directory's inventory file and seal out of it, as after an import.
fn move_aside(env: &Env) {
    for f in ["inventory.jsonl", "inventory.seal"] {
        fs::rename(env.ca.join(f), env.tmp.path().join(format!("{f}.moved"))).unwrap();
    }
}

/// `pgca --inventory DB ARGS` in `env`'s CA directory; stdout, which must be a success.
fn ok_in(env: &Env, db: &str, args: &[&str]) -> String {
    let mut all = vec!["--inventory", db];
    all.extend_from_slice(args);
    env.ok(&all)
}

/// `pgca --inventory DB ARGS`, which must fail; its one-line error.
fn fails_in(env: &Env, db: &str, args: &[&str]) -> String {
    let mut all = vec!["--inventory", db];
    all.extend_from_slice(args);
    env.fails(&all)
}

#[test]
fn a_ca_directory_moved_into_postgresql_answers_every_command_from_it() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "pgca", "alice"]);
    let cluster = inventory_cluster(&env);
    let db = conninfo(&env, &cluster);
    let export = env.tmp.path().join("inventory.export");
    let exported = env.ok(&["inventory", "export", p(&export)]);
    let records = exported.split_whitespace().nth(1).unwrap().to_string();

    let imported = ok_in(&env, &db, &["inventory", "import", p(&export)]);
    assert!(
        imported.starts_with(&format!("imported {records} records into host=localhost")),
        "{imported}"
    );
    // Out of the database, the same bytes.
    let again = env.tmp.path().join("again.export");
    ok_in(&env, &db, &["inventory", "export", p(&again)]);
    assert_eq!(fs::read(&export).unwrap(), fs::read(&again).unwrap());
    // An import never merges.
    let err = fails_in(&env, &db, &["inventory", "import", p(&export)]);
    assert!(
        err.contains(&format!("already holds {records} inventory records")),
        "{err}"
    );

    // Left in the directory, the file is a stale copy, and verify says so.
    let verify = env.run(&["--inventory", &db, "verify"]);
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(
        text.contains("inventory.jsonl: not read: the inventory is in the database host=localhost"),
        "{text}"
    );
    // From here on the database alone: the directory's file is gone.
    move_aside(&env);
    let err = env.fails(&["list"]);
    assert!(
        err.contains("but no inventory: if its inventory is in a database, give --inventory"),
        "{err}"
    );

    let list = ok_in(&env, &db, &["list"]);
    assert!(list.contains("alice"), "{list}");
    ok_in(&env, &db, &["issue-client", "bob"]);
    ok_in(&env, &db, &["renew", "--force", "alice"]);
    ok_in(&env, &db, &["revoke", "bob", "--reason", "keyCompromise"]);
    ok_in(&env, &db, &["crl"]);
    let check = ok_in(&env, &db, &["check"]);
    assert!(check.starts_with("PGCA OK"), "{check}");
    let verify = env.run(&["--inventory", &db, "verify"]);
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(text.starts_with("PGCA OK"), "{text}");
    let list = ok_in(&env, &db, &["list", "--json"]);
    assert!(list.contains("\"bob\""), "{list}");

    // Each write is in the database, in order, and nowhere else.
    assert!(!env.ca.join("inventory.jsonl").exists());
    let count = |sql: &str| cluster.sql(sql).trim().parse::<u64>().unwrap();
    let alice = count(
        "SELECT count(*) FROM pgca.events WHERE event = 'issued' AND line LIKE '%\"name\":\"alice\"%'",
    );
    assert_eq!(alice, 2, "alice issued, then renewed");
    assert_eq!(
        count("SELECT count(*) FROM pgca.events WHERE event = 'revoked'"),
        1
    );
    // A serial is recorded once, whoever tries to add it again.
    let dup = cluster.sql(
        "DO $$ BEGIN INSERT INTO pgca.events (batch, event, key, line) \
         SELECT 'again', event, key, line FROM pgca.events WHERE event = 'issued' LIMIT 1; \
         EXCEPTION WHEN unique_violation THEN RAISE NOTICE 'refused'; END $$; SELECT 'done'",
    );
    assert!(dup.trim().ends_with("done"), "{dup}");
    assert_eq!(
        count("SELECT count(*) FROM pgca.events WHERE batch = 'again'"),
        0
    );
    // audit's CA side: the client certificates the database records, against the server's
    // roles. alice has no role here: an orphan, revoked through the database.
    let target = format!(
        "host={} port={} user=postgres",
        p(cluster.base.path()),
        cluster.port
    );
    let orphans = |args: &[&str]| {
        let mut all = vec!["--inventory", db.as_str(), "roles", &target, "--json"];
        all.extend_from_slice(args);
        let out = env.run(&all);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let names: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == "role-cert-orphan")
            .map(|f| f["subject"].as_str().unwrap().to_string())
            .collect();
        names
    };
    let found = orphans(&[]);
    assert!(found.iter().any(|s| s.contains("alice")), "{found:?}");
    assert!(!found.iter().any(|s| s.contains("pgca")), "{found:?}");
    orphans(&["--revoke-orphans"]);
    assert_eq!(
        count(
            "SELECT count(*) FROM pgca.events WHERE event = 'revoked' AND line LIKE '%\"name\":\"alice\"%'"
        ),
        1
    );
    let found = orphans(&[]);
    assert!(!found.iter().any(|s| s.contains("alice")), "{found:?}");

    // The export now holds what was done since.
    let now = env.tmp.path().join("now.export");
    let out = ok_in(&env, &db, &["inventory", "export", p(&now)]);
    let total = count("SELECT count(*) FROM pgca.events");
    assert!(
        out.starts_with(&format!("exported {total} records")),
        "{out}"
    );
}

/// `env`'s inventory moved into a new cluster reached over its Unix socket (a rollover replaces
/// the CAs a TLS login to the inventory would be checked by), its file moved aside.
fn moved_over_the_socket(env: &Env) -> (Cluster, String) {
    let mut cluster = Cluster::new();
    cluster.start();
    let db = format!(
        "host={} port={} user=postgres dbname=postgres",
        p(cluster.base.path()),
        cluster.port
    );
    let export = env.tmp.path().join("inventory.export");
    env.ok(&["inventory", "export", p(&export)]);
    ok_in(env, &db, &["inventory", "import", p(&export)]);
    move_aside(env);
    (cluster, db)
}

#[test]
fn a_rollover_of_both_cas_runs_against_the_database_inventory() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "alice"]);
    let (cluster, db) = moved_over_the_socket(&env);
    for side in ["server", "client"] {
        ok_in(&env, &db, &["rollover", "start", side]);
    }
    ok_in(&env, &db, &["renew"]);
    for side in ["server", "client"] {
        ok_in(&env, &db, &["rollover", "switch", side]);
    }
    let renewed = ok_in(&env, &db, &["renew"]);
    assert!(
        renewed.contains("alice") && renewed.contains("localhost"),
        "{renewed}"
    );
    for side in ["server", "client"] {
        ok_in(&env, &db, &["rollover", "finish", side]);
    }
    let status = ok_in(&env, &db, &["rollover", "status"]);
    assert!(status.contains("server CA: no rollover"), "{status}");
    let verify = ok_in(&env, &db, &["verify"]);
    assert!(verify.starts_with("PGCA OK"), "{verify}");
    let steps = cluster.sql(
        "SELECT event, count(*) FROM pgca.events WHERE event LIKE 'rollover-%' \
         GROUP BY event ORDER BY event",
    );
    assert_eq!(
        steps.trim(),
        "rollover-finished|2\nrollover-started|2\nrollover-switched|2",
        "{steps}"
    );
    // The directory after its rollovers moves into another database with its files: the CA
    // certificates as they are now (the new CAs under the old ones' names), held to the records.
    let after = env.tmp.path().join("after.export");
    ok_in(&env, &db, &["inventory", "export", p(&after)]);
    cluster.sql("CREATE DATABASE moved");
    let moved = db.replace("dbname=postgres", "dbname=moved");
    ok_in(&env, &moved, &["inventory", "import", p(&after)]);
    let kept = cluster.sql_in(
        "moved",
        "SELECT encode(content, 'escape') FROM pgca.files WHERE name = 'client-ca.crt'",
    );
    assert_eq!(
        kept.trim(),
        fs::read_to_string(env.path("client-ca.crt"))
            .unwrap()
            .trim()
    );
}

#[test]
fn the_database_inventory_refuses_what_it_must_and_writes_nothing() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "pgca"]);
    let mut cluster = inventory_cluster(&env);
    let db = conninfo(&env, &cluster);
    let export = env.tmp.path().join("inventory.export");
    env.ok(&["inventory", "export", p(&export)]);

    // A password in the connection string would be in argv (or the environment) for all to see.
    let err = fails_in(&env, &format!("{db} password=hunter2"), &["list"]);
    assert!(err.contains("readable by other users"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    // A changed export is refused before anything is written.
    let changed = env.tmp.path().join("changed.export");
    let text = fs::read_to_string(&export).unwrap();
    fs::write(
        &changed,
        text.replacen("\"kind\":\"client\"", "\"kind\":\"server\"", 1),
    )
    .unwrap();
    let err = fails_in(&env, &db, &["inventory", "import", p(&changed)]);
    assert!(err.contains("the file was changed"), "{err}");
    let cut = env.tmp.path().join("cut.export");
    fs::write(&cut, &text[..text.len() - 10]).unwrap();
    let err = fails_in(&env, &db, &["inventory", "import", p(&cut)]);
    assert!(err.contains("cut short"), "{err}");
    assert_eq!(cluster.sql("SELECT count(*) FROM pgca.events").trim(), "0");

    // init writes a file inventory; the database is loaded by import.
    let out = Command::new(pgca_bin())
        .args([
            "--dir",
            p(&env.tmp.path().join("new")),
            "--inventory",
            &db,
            "init",
        ])
        .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("inventory import"));

    // The directory's certificates go in with the records, each read through no link and
    // held to its record: a link in the archive, or another certificate there, refuses the
    // import whole.
    let live = fs::read_link(env.path("clients/pgca.live")).unwrap();
    let archived = env.path("clients").join(&live).join("pgca.crt");
    let kept = env.tmp.path().join("pgca.crt.kept");
    fs::rename(&archived, &kept).unwrap();
    std::os::unix::fs::symlink(&kept, &archived).unwrap();
    let err = fails_in(&env, &db, &["inventory", "import", p(&export)]);
    assert!(err.contains("pgca.crt"), "{err}");
    fs::remove_file(&archived).unwrap();
    fs::copy(env.path("server-ca.crt"), &archived).unwrap();
    let err = fails_in(&env, &db, &["inventory", "import", p(&export)]);
    assert!(err.contains("pgca.crt"), "{err}");
    assert_eq!(cluster.sql("SELECT count(*) FROM pgca.events").trim(), "0");
    assert_eq!(cluster.sql("SELECT count(*) FROM pgca.files").trim(), "0");
    fs::rename(&kept, &archived).unwrap();

    // repair mends files; the database has its own keepers.
    ok_in(&env, &db, &["inventory", "import", p(&export)]);
    let err = fails_in(&env, &db, &["repair"]);
    assert!(err.contains("repair mends DIR/inventory.jsonl"), "{err}");

    // A schema a newer pgca migrated is neither read nor written.
    cluster.sql("INSERT INTO pgca.schema_version (version) VALUES (99)");
    let before = cluster.sql("SELECT count(*) FROM pgca.events");
    let err = fails_in(&env, &db, &["issue-client", "carol"]);
    assert!(
        err.contains(&format!(
            "schema is at version 99, newer than this pgca's {}",
            pgca::SCHEMA_VERSION
        )),
        "{err}"
    );
    assert_eq!(cluster.sql("SELECT count(*) FROM pgca.events"), before);
    assert!(!env.ca.join("clients/carol.crt").exists());

    // The database away: one line naming it, and nothing written in the directory.
    cluster.stop();
    let before = common::snapshot(&env.ca);
    let err = fails_in(&env, &db, &["issue-client", "carol"]);
    assert!(
        err.starts_with("pgca: inventory database host=localhost hostaddr=127.0.0.1 port="),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
    assert_eq!(common::snapshot(&env.ca), before);
}

/// An export of `real` (record lines) followed by synthetic `issued` records up to `n` in all,
/// each a copy of `template` (a client's line as pgca writes it) with its own serial and name.
fn synthetic_export(real: &[&str], template: &str, n: usize) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_str(template).unwrap();
    let serial = v["serial"].as_str().unwrap().to_string();
    let name = format!("\"name\":\"{}\"", v["name"].as_str().unwrap());
    let mut lines = String::with_capacity(n * (template.len() + 16));
    for line in real {
        lines.push_str(line);
        lines.push('\n');
    }
    for i in real.len()..n {
        // The serial's hex digits but the first 16, and those from `i`: still a serial, as
        // pgca writes one.
        let mine = format!("{:016x}{}", i as u64 | 1 << 62, &serial[16..]);
        lines.push_str(
            &template
                .replace(&serial, &mine)
                .replace(&name, &format!("\"name\":\"r{i}\"")),
        );
        lines.push('\n');
    }
    let sha = {
        let out = Command::new("sha256sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        out.stdin
            .as_ref()
            .unwrap()
            .write_all(lines.as_bytes())
            .unwrap();
        let done = out.wait_with_output().unwrap();
        String::from_utf8(done.stdout).unwrap()[..64].to_string()
    };
    let mut file = format!(
        "{{\"format\":\"pgca-inventory\",\"version\":1,\"events\":{n},\"sha256\":\"{sha}\"}}\n"
    )
    .into_bytes();
    file.extend_from_slice(lines.as_bytes());
    file
}

#[test]
fn a_100000_record_inventory_round_trips_through_the_database_and_a_directory() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "pgca"]);
    let cluster = inventory_cluster(&env);
    let db = conninfo(&env, &cluster);
    // The directory's records, then synthetic clients up to 100,000.
    let real = env.tmp.path().join("real.export");
    env.ok(&["inventory", "export", p(&real)]);
    let real = fs::read_to_string(&real).unwrap();
    let real: Vec<&str> = real.lines().skip(1).collect();
    let template = real
        .iter()
        .find(|l| l.contains("\"kind\":\"client\""))
        .unwrap();
    let big = env.tmp.path().join("big.export");
    fs::write(&big, synthetic_export(&real, template, 100_000)).unwrap();

    let out = ok_in(&env, &db, &["inventory", "import", p(&big)]);
    assert!(out.starts_with("imported 100000 records"), "{out}");
    let from_db = env.tmp.path().join("from-db.export");
    ok_in(&env, &db, &["inventory", "export", p(&from_db)]);
    assert!(
        fs::read(&big).unwrap() == fs::read(&from_db).unwrap(),
        "the database's export differs from the one imported"
    );

    // And into a CA directory's file, and out of it: the same bytes again.
    let copy = env.tmp.path().join("copy");
    let status = Command::new("cp")
        .args(["-a", p(&env.ca), p(&copy)])
        .status()
        .unwrap();
    assert!(status.success());
    for f in ["inventory.jsonl", "inventory.seal"] {
        fs::remove_file(copy.join(f)).unwrap();
    }
    let run = |args: &[&str]| {
        Command::new(pgca_bin())
            .arg("--dir")
            .arg(&copy)
            .args(args)
            .env_remove("PGCA_INVENTORY")
            .output()
            .unwrap()
    };
    let out = run(&["inventory", "import", p(&from_db)]);
    assert!(out.status.success(), "{out:?}");
    let from_dir = env.tmp.path().join("from-dir.export");
    // The synthetic records have no archived files: export reads the records, not the archive.
    let out = run(&["inventory", "export", p(&from_dir)]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        fs::read(&big).unwrap() == fs::read(&from_dir).unwrap(),
        "the directory's export differs from the one imported"
    );
    let out = run(&["inventory", "import", p(&from_db)]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already holds 100000 inventory records"),
        "{out:?}"
    );
}

/// `pgca --inventory DB serve` on 127.0.0.1:`port`.
fn serve(env: &Env, db: &str, port: u16) -> Child {
    serve_on(env, &["--inventory", db], port)
}

/// The load generator against `ports` (each a `serve`), the tokens' clients renewing back to
/// back until they made `renewals` in all; every certificate received appended to `received`.
fn load(env: &Env, ports: &[u16], tokens: &Path, received: &Path, renewals: u32) -> Child {
    load_with(env, ports, tokens, received, renewals, &[])
}

/// [`load`], with `extra` arguments for the load generator (`--rate R`).
fn load_with(
    env: &Env,
    ports: &[u16],
    tokens: &Path,
    received: &Path,
    renewals: u32,
    extra: &[&str],
) -> Child {
    let mut cmd = Command::new(loadgen());
    for port in ports {
        cmd.args(["--ca", &format!("https://localhost:{port}")]);
    }
    cmd.args(["--server-ca", p(&env.path("server-ca.crt"))])
        .args(["--tokens", p(tokens), "--seconds", "300"])
        .args(["--renewals", &renewals.to_string(), "--out", p(received)])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most 120 s) until the clients received `n` certificates.
fn wait_for_renewals(received: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while received_count(received) < n {
        assert!(
            Instant::now() < deadline,
            "the load made under {n} renewals in 120 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn received_count(received: &Path) -> usize {
    fs::read_to_string(received).map_or(0, |t| t.lines().count())
}

/// `count` tokens for clients `load0`…, in a file for the load generator.
fn tokens(env: &Env, db: &str, count: usize) -> PathBuf {
    let tokens: Vec<String> = (0..count)
        .map(|i| {
            ok_in(
                env,
                db,
                &["token", &format!("load{i}"), "--client", "--validity", "1h"],
            )
            .trim()
            .to_string()
        })
        .collect();
    let file = env.tmp.path().join("tokens");
    fs::write(&file, tokens.join("\n")).unwrap();
    file
}

/// Every issued serial the database records, with how many rows it has.
fn recorded(cluster: &Cluster) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for serial in cluster
        .sql("SELECT line::json->>'serial' FROM pgca.events WHERE event = 'issued'")
        .lines()
    {
        *seen.entry(serial.to_string()).or_insert(0) += 1;
    }
    seen
}

/// The load generator's report and the serials its clients received.
fn finish_load(load: Child, received: &Path) -> (serde_json::Value, Vec<String>) {
    let out = load.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let got = fs::read_to_string(received)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    (report, got)
}

/// Every serial received is recorded once, none is recorded twice, and verify passes.
fn assert_every_renewal_recorded_once(env: &Env, db: &str, cluster: &Cluster, got: &[String]) {
    let recorded = recorded(cluster);
    let twice: Vec<_> = recorded.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "serials recorded twice: {twice:?}");
    let distinct: HashSet<&String> = got.iter().collect();
    let missing: Vec<_> = distinct
        .iter()
        .filter(|s| !recorded.contains_key(s.as_str()))
        .collect();
    assert!(missing.is_empty(), "received but not recorded: {missing:?}");
    let verify = env.run(&["--inventory", db, "verify"]);
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && text.starts_with("PGCA OK"),
        "{text}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn two_serves_share_one_inventory_and_a_kill_loses_and_duplicates_no_renewal() {
    let (env, cluster, db) = moved_into_postgres();
    let token_file = tokens(&env, &db, 8);
    let received = env.tmp.path().join("received");
    let ports = [free_port(), free_port()];
    let mut first = serve(&env, &db, ports[0]);
    let mut second = serve(&env, &db, ports[1]);
    let load = load(&env, &ports, &token_file, &received, 5000);
    // Part-way, the first is killed: its clients go on with the second.
    wait_for_renewals(&received, 1500);
    first.kill().unwrap();
    first.wait().unwrap();
    let (report, got) = finish_load(load, &received);
    second.kill().unwrap();
    second.wait().unwrap();
    eprintln!("load over two serves, the first killed: {report}");

    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["renewals"].as_u64().unwrap() >= 5000, "{report}");
    assert!(
        report["retries"].as_u64().unwrap() > 0,
        "no request met the kill: {report}"
    );
    assert_every_renewal_recorded_once(&env, &db, &cluster, &got);
}

#[test]
fn the_inventory_fails_over_to_a_synchronous_standby_under_load_and_loses_no_record() {
    if pg::basebackup_for(pg::major()).is_none() {
        // npm's PostgreSQL 18 has no pg_basebackup, and Debian's 15 cannot copy an 18 server.
        eprintln!(
            "no pg_basebackup for PostgreSQL {}: failover not tested",
            pg::major()
        );
        return;
    }
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "pgca"]);
    let mut primary = Cluster::new();
    primary.enable_tls();
    primary.install_tls(
        &env.path("servers/localhost.crt"),
        &env.path("servers/localhost.key"),
        &env.path("client-ca.crt"),
    );
    primary.write_hba(
        "local all all trust\nlocal replication all trust\nhostssl all all 127.0.0.1/32 cert\n",
    );
    primary.start();
    primary.sql("CREATE ROLE pgca LOGIN");
    primary.sql("GRANT CREATE ON DATABASE postgres TO pgca");
    let mut standby = primary.standby_of("standby1");
    standby.start();
    // A commit is acknowledged once the standby has it: what a failover must not lose.
    primary.sql("ALTER SYSTEM SET synchronous_standby_names = 'standby1'");
    primary.sql("ALTER SYSTEM SET synchronous_commit = on");
    primary.sql("SELECT pg_reload_conf()");
    let deadline = Instant::now() + Duration::from_secs(30);
    while primary
        .sql("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")
        .trim()
        != "sync"
    {
        assert!(
            Instant::now() < deadline,
            "the standby never became synchronous"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Both hosts, the writable one wanted: libpq's multi-host failover.
    let db = format!(
        "host=localhost,localhost hostaddr=127.0.0.1,127.0.0.1 port={},{} \
         target_session_attrs=read-write user=pgca dbname=postgres sslmode=verify-full \
         sslrootcert={} sslcert={} sslkey={}",
        primary.port,
        standby.port,
        p(&env.path("server-ca.crt")),
        p(&env.path("clients/pgca.crt")),
        p(&env.path("clients/pgca.key")),
    );
    let export = env.tmp.path().join("inventory.export");
    env.ok(&["inventory", "export", p(&export)]);
    ok_in(&env, &db, &["inventory", "import", p(&export)]);
    move_aside(&env);

    let token_file = tokens(&env, &db, 8);
    let received = env.tmp.path().join("received");
    let port = free_port();
    let mut server = serve(&env, &db, port);
    let load = load(&env, &[port], &token_file, &received, 2500);
    wait_for_renewals(&received, 800);
    primary.stop_immediately();
    standby.promote();
    let at_failover = received_count(&received);
    let (report, got) = finish_load(load, &received);
    server.kill().unwrap();
    server.wait().unwrap();
    eprintln!("load across the failover (at {at_failover} renewals): {report}");

    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["renewals"].as_u64().unwrap() >= 2500, "{report}");
    assert!(
        got.len() > at_failover + 500,
        "the renewals did not carry on after the failover: {at_failover} then {}",
        got.len()
    );
    assert_eq!(standby.sql("SELECT pg_is_in_recovery()").trim(), "f");
    assert_every_renewal_recorded_once(&env, &db, &standby, &got);
}

/// A `serve` host's CA directory as a fleet sets one up, `name` under `env`'s temporary
/// directory: the CA keys and its own TLS pair (`servers/localhost`), copied from `env`'s;
/// nothing else (the CA certificates come from the database).
fn serve_host_dir(env: &Env, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let thin = env.tmp.path().join(name);
    fs::create_dir_all(thin.join("servers/archive")).unwrap();
    for d in ["", "servers", "servers/archive"] {
        fs::set_permissions(thin.join(d), fs::Permissions::from_mode(0o700)).unwrap();
    }
    let live = fs::read_link(env.path("servers/localhost.live")).unwrap();
    copy_into(
        &[env.path("server-ca.key"), env.path("client-ca.key")],
        &thin,
    );
    copy_into(
        &[env.path("servers").join(&live)],
        &thin.join("servers/archive"),
    );
    let pair = ["localhost.live", "localhost.crt", "localhost.key"];
    copy_into(
        &pair.map(|f| env.path("servers").join(f)),
        &thin.join("servers"),
    );
    thin
}

/// `cp -a FILES... DIR`.
fn copy_into(files: &[PathBuf], dir: &Path) {
    let mut copy = Command::new("cp");
    copy.arg("-a").args(files);
    assert!(copy.arg(dir).status().unwrap().success());
}

/// Polls `done` every 50 ms for at most `secs` seconds; panics with `what` if it never holds.
fn wait_until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The CA directory `dir` with the inventory `db`, through the library, its keys' passphrase
/// given.
fn open_lib(env: &Env, dir: &Path, db: &str) -> pgca::CaDir {
    let inventory = pgca::InventoryDb::connect(db).unwrap();
    pgca::CaDir::open_with_inventory_db(dir, inventory)
        .unwrap()
        .with_passphrase(pgca::Passphrase::from_file(&env.passphrase_file()).unwrap())
}

/// A client's request for `role`, for a key made here.
fn client_csr(role: &str) -> pgca::CsrRequest {
    let key = pgca::PrivateKey::generate(pgca::KeyType::EcdsaP256).unwrap();
    let pem =
        pgca::x509::csr::make_request(pgca::CertKind::Client, &[role.to_string()], &key).unwrap();
    pgca::CsrRequest::parse(pem.as_bytes(), Path::new("req.csr")).unwrap()
}

/// The serials a side's CRL, as `ca` serves it, lists.
fn crl_serials(ca: &pgca::CaDir) -> Vec<String> {
    let pem = ca
        .crl_pem(pgca::Side::Client)
        .unwrap()
        .expect("a client CRL");
    pgca::CrlInfo::from_pem(&pem)
        .unwrap()
        .revoked
        .iter()
        .map(|e| e.serial.to_string())
        .collect()
}

#[test]
fn a_serve_host_with_only_its_ca_keys_and_tls_pair_answers_from_the_database() {
    let env = Env::init(&["--server-host", "localhost"]);
    env.ok(&["issue-client", "pgca", "alice", "mallory"]);
    env.ok(&["revoke", "mallory"]);
    let serial_of = |role: &str| {
        env.ok(&[
            "inspect",
            p(&env.path(&format!("clients/{role}.crt"))),
            "--json",
        ])
    };
    let mallory: serde_json::Value = serde_json::from_str(&serial_of("mallory")).unwrap();
    let mallory = mallory["serial"].as_str().unwrap().to_string();
    let cluster = inventory_cluster(&env);
    let db = conninfo(&env, &cluster);
    let export = env.tmp.path().join("inventory.export");
    env.ok(&["inventory", "export", p(&export)]);
    // The directory's certificates and CRL go into the database with the records.
    let imported = ok_in(&env, &db, &["inventory", "import", p(&export)]);
    let kept = cluster.sql("SELECT name FROM pgca.files ORDER BY name");
    assert!(
        imported.contains(&format!(
            ", with {} certificate and CRL files",
            kept.lines().count()
        )),
        "{imported}\n{kept}"
    );
    assert!(kept.lines().any(|l| l == "client-ca.crl"), "{kept}");
    assert!(
        kept.lines()
            .any(|l| l.starts_with("clients/archive/") && l.ends_with("/alice.crt")),
        "{kept}"
    );
    assert!(
        !kept.contains(".key"),
        "a key went into the database: {kept}"
    );
    move_aside(&env);

    let host = serve_host_dir(&env, "serve-host");
    let ca_host = open_lib(&env, &env.ca, &db);
    // The CA certificates, from the database, held to their records.
    assert!(!host.join("client-ca.crt").exists());
    let serve_host = open_lib(&env, &host, &db);
    for f in ["server-ca.crt", "client-ca.crt"] {
        assert_eq!(
            fs::read(host.join(f)).unwrap(),
            fs::read(env.path(f)).unwrap()
        );
        assert_eq!(common::mode(&host.join(f)), 0o644, "{f}");
    }
    // The CRL the CA host wrote, served where no copy of it is.
    assert!(!host.join("client-ca.crl").exists());
    assert_eq!(crl_serials(&serve_host), vec![mallory.clone()]);

    // Enrolled and renewed on the CA host; the same renewal sent again (its answer lost) to the
    // serve host, which has no copy of the certificate: answered again from the database.
    let mut req = pgca::TokenRequest::new(pgca::CertKind::Client, vec!["lib0".into()]);
    req.validity = "1h".parse().unwrap();
    let token = ca_host.mint_token(&req).unwrap().token;
    let enrolled = ca_host
        .enroll(&pgca::EnrollRequest::new(token, client_csr("lib0")))
        .unwrap();
    let der = pem::parse(enrolled.cert_pem.as_bytes())
        .unwrap()
        .into_contents();
    let csr = client_csr("lib0");
    let policy = pgca::RenewPolicy::default();
    let renewed = ca_host
        .renew_online(
            &pgca::OnlineRenewRequest::new(der.clone(), csr.clone()),
            &policy,
        )
        .unwrap();
    let again = serve_host
        .renew_online(&pgca::OnlineRenewRequest::new(der, csr), &policy)
        .unwrap();
    assert!(again.repeated);
    assert_eq!(again.cert_pem, renewed.cert_pem);
    assert!(!host.join("clients/lib0.crt").exists());

    // Under load, clients enrolled and renewed through both hosts, each renewal landing on
    // either: none fails, each is recorded once.
    let token_file = tokens(&env, &db, 6);
    let received = env.tmp.path().join("received");
    let ports = [free_port(), free_port()];
    let mut first = serve(&env, &db, ports[0]);
    let mut second = serve_in(&env, &host, &["--inventory", &db], ports[1]);
    let load = load(&env, &ports, &token_file, &received, 1200);
    let (report, got) = finish_load(load, &received);
    for s in [&mut first, &mut second] {
        s.kill().unwrap();
        s.wait().unwrap();
    }
    eprintln!("load over the CA host and a serve host: {report}");
    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["renewals"].as_u64().unwrap() >= 1200, "{report}");

    // A revocation on the CA host reaches the serve host's CRL with its record.
    ok_in(&env, &db, &["revoke", "alice"]);
    let listed = crl_serials(&serve_host);
    assert_eq!(listed.len(), 2, "{listed:?}");
    // The serve host wrote only what it issued, and no key but its TLS pair's.
    let keys = Command::new("find")
        .arg(&host)
        .args(["-name", "*.key", "-type", "f"])
        .output()
        .unwrap();
    let keys = String::from_utf8_lossy(&keys.stdout);
    assert_eq!(keys.lines().count(), 3, "{keys}");
    // The CA host's verify judges the certificates the serve host issued from the database.
    assert_every_renewal_recorded_once(&env, &db, &cluster, &got);
}

/// The certificates in a PEM file.
fn certs_in(path: &Path) -> usize {
    fs::read_to_string(path)
        .unwrap_or_default()
        .matches("BEGIN CERTIFICATE")
        .count()
}

#[test]
fn a_serve_host_takes_a_client_ca_rollover_from_the_database_and_no_renewal_fails() {
    let env = Env::init(&["--server-host", "localhost"]);
    let (cluster, db) = moved_over_the_socket(&env);
    let host = serve_host_dir(&env, "serve-host");
    // A second serve host whose admin never copies the new CA's key.
    let keyless_dir = serve_host_dir(&env, "keyless-host");
    let keyless = open_lib(&env, &keyless_dir, &db);
    let mint = |ca: &pgca::CaDir| {
        let mut req = pgca::TokenRequest::new(pgca::CertKind::Client, vec!["x".into()]);
        req.validity = "1h".parse().unwrap();
        ca.mint_token(&req).map(drop)
    };

    let token_file = tokens(&env, &db, 4);
    let received = env.tmp.path().join("received");
    let port = free_port();
    let mut serve = serve_in(&env, &host, &["--inventory", &db], port);
    assert_eq!(certs_in(&host.join("client-ca.crt")), 1);
    let load = load_with(
        &env,
        &[port],
        &token_file,
        &received,
        3000,
        &["--rate", "60"],
    );
    wait_for_renewals(&received, 120);

    // Phase 1 on the CA host. The serve host takes the new CA's certificate from the database
    // and trusts both within seconds, with or without a request; its key is copied by hand.
    ok_in(&env, &db, &["rollover", "start", "client"]);
    let new_ca = pgca::CertInfo::from_file(&env.path("client-ca.next.crt"))
        .unwrap()
        .serial
        .to_string();
    copy_into(&[env.path("client-ca.next.key")], &host);
    wait_until(30, "the serve host trusts both client CAs", || {
        certs_in(&host.join("client-ca.crt")) == 2
    });
    assert_eq!(
        fs::read(host.join("client-ca.next.crt")).unwrap(),
        fs::read(env.path("client-ca.next.crt")).unwrap()
    );
    mint(&keyless).unwrap();
    assert_eq!(certs_in(&keyless_dir.join("client-ca.crt")), 2);
    let n = received_count(&received);
    wait_for_renewals(&received, n + 120);

    // Phase 2: the serve host signs with the new CA from its next renewal on.
    ok_in(&env, &db, &["rollover", "switch", "client"]);
    let by_new = || {
        cluster
            .sql(&format!(
                "SELECT count(*) FROM pgca.events WHERE event = 'issued' \
                 AND line::json->>'ca_serial' = '{new_ca}'"
            ))
            .trim()
            .parse::<usize>()
            .unwrap()
    };
    wait_until(60, "40 renewals signed by the new client CA", || {
        by_new() >= 40
    });

    // Phase 3: the old CA retired on the CA host, then on the serve host, which follows.
    wait_until(
        60,
        "rollover finish (blocked while a load client holds an old leaf)",
        || {
            env.run(&["--inventory", &db, "rollover", "finish", "client"])
                .status
                .success()
        },
    );
    wait_until(30, "the serve host holds the new client CA alone", || {
        !host.join("client-ca.next.crt").exists() && certs_in(&host.join("client-ca.crt")) == 1
    });
    for f in ["client-ca.crt", "client-ca.key"] {
        assert_eq!(
            fs::read(host.join(f)).unwrap(),
            fs::read(env.path(f)).unwrap(),
            "{f}"
        );
    }
    let n = received_count(&received);
    wait_for_renewals(&received, n + 120);
    let (report, got) = finish_load(load, &received);
    serve.kill().unwrap();
    serve.wait().unwrap();
    eprintln!("load through a client CA rollover on a serve host: {report}");
    assert_eq!(report["errors"], 0, "{report}");

    // The host without the new key refuses to retire the old CA under the new certificate, and
    // keeps trusting both.
    let refused = mint(&keyless).unwrap_err();
    assert!(
        matches!(&refused, pgca::Error::MissingCaFile(p) if p.ends_with("client-ca.next.key")),
        "{refused}"
    );
    assert_eq!(certs_in(&keyless_dir.join("client-ca.crt")), 2);

    // A serve host set up now gets the new CA's certificate from the database.
    let fresh = serve_host_dir(&env, "fresh-host");
    open_lib(&env, &fresh, &db);
    assert_eq!(
        fs::read(fresh.join("client-ca.crt")).unwrap(),
        fs::read(env.path("client-ca.crt")).unwrap()
    );
    assert_every_renewal_recorded_once(&env, &db, &cluster, &got);
}

#[test]
fn a_serve_host_directory_another_user_can_change_gets_no_ca_file_from_the_database() {
    use std::os::unix::fs::PermissionsExt;
    let (env, _cluster, db) = moved_into_postgres();
    fs::set_permissions(env.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let list = |dir: &Path| {
        Command::new(pgca_bin())
            .arg("--dir")
            .arg(dir)
            .args(["--inventory", &db, "list"])
            .env("PGCA_PASSPHRASE_FILE", env.passphrase_file())
            .output()
            .unwrap()
    };
    let victim = env.tmp.path().join("victim");
    fs::write(&victim, b"root's own").unwrap();
    let (uid, gid) = common::ids("nobody");
    let no_ca_file = |dir: &Path| {
        for f in ["server-ca.crt", "client-ca.crt"] {
            assert!(dir.join(f).symlink_metadata().is_err() || dir.join(f).is_symlink());
        }
    };

    // A directory nobody owns: refused, nothing written into it.
    let theirs = serve_host_dir(&env, "theirs");
    std::os::unix::fs::chown(&theirs, Some(uid), Some(gid)).unwrap();
    let out = list(&theirs);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(p(&theirs)) && err.contains("nobody"), "{err}");
    no_ca_file(&theirs);

    // A shared sticky directory where nobody planted a link at a CA certificate's name: refused
    // (as signing with its keys would be), the link neither followed nor replaced.
    let shared = serve_host_dir(&env, "shared");
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = shared.join("client-ca.crt");
    common::as_user(
        "nobody",
        &format!("ln -s '{}' '{}'", p(&victim), p(&planted)),
    );
    let out = list(&shared);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(p(&shared)) && err.contains("writable by other users"),
        "{err}"
    );
    assert_eq!(fs::read(&victim).unwrap(), b"root's own");
    assert!(planted.is_symlink());
    no_ca_file(&shared);

    // The control: the same directory made root's own again, the link gone, gets both.
    fs::remove_file(&planted).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o700)).unwrap();
    let out = list(&shared);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["server-ca.crt", "client-ca.crt"] {
        assert_eq!(
            fs::read(shared.join(f)).unwrap(),
            fs::read(env.path(f)).unwrap()
        );
    }
}
