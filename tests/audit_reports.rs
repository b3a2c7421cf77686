//! The two file formats of `pgca audit`, on reports the real library makes of an offline
//! target (a `postgresql.conf` with `ssl = off`, `listen_addresses = '*'`, `password_encryption
//! = md5`; a `pg_hba.conf` with `trust`, `md5` from everywhere and `cert` lines; an empty
//! `pg_ident.conf`), once without a CA directory and once with one (`CaDir::init`, a client and
//! a server certificate: the timeline has entries) beside a target that cannot be read; and on
//! a report with no findings and one with no targets.
//!
//! SARIF ([`pgca::to_sarif`]) is read back by Microsoft's sarif-tools, which
//! `scripts/sarif-venv.sh` installs from PyPI into `target/sarif-venv` the first time (pinned),
//! with the SARIF 2.1.0 JSON schema from the npm package `@microsoft/jest-sarif` (nothing is
//! fetched at test time). Each log is valid against the schema, its `uri` and `date-time`
//! formats checked too (and a log with a level SARIF lacks is not: the check is no formality);
//! `sarif summary` counts by level what the report counts by severity and names every rule
//! with a finding; `sarif --check error` fails exactly when there is a CRITICAL finding; `sarif
//! csv` lists each finding with its rule, level, `file://` URI (percent-encoded: the target's
//! directory name holds a space, `#` and `%`) and line, or its logical location. The tools run
//! side by side: each takes two seconds to start (it loads matplotlib).
//!
//! HTML ([`pgca::to_html`]) is first read as text (no script, image, link, `url(` or URL in any
//! case), then opened in Debian's headless Chromium (`/usr/bin/chromium`;
//! `scripts/install-deps.sh` installs it), started as the machine documents (no sandbox, no GPU,
//! no background networking, a new user data directory; also every host name resolving to
//! nothing) with `--remote-debugging-port=0`. Logs (`--enable-logging`) would have to be
//! grepped for lines whose wording changes between versions; the DevTools protocol reports
//! requests, console calls, exceptions and CSP refusals as typed events, so the test speaks it
//! over a WebSocket client of its own (a few dozen lines on `std::net`: no browser-driving
//! crate). Per page it enables the Page, Runtime, Log and Network domains, navigates, waits
//! (bounded) for the load event and then for a quiet half second, and fails on any request but
//! the page's own file, any failed load, any console call, any exception and any browser log
//! entry (a Content-Security-Policy refusal is one). Then it asks the page for facts (no script
//! or fetching element in the DOM, no link but to its own sections, every target, error,
//! finding, fix, location and TLS setting shown, one bar per timeline entry, nothing wider than
//! the window) and takes a screenshot. The screenshot is decoded in a canvas on `about:blank`
//! (a PNG decoder in pure Python took seconds per screenshot): it must hold many colours and
//! the status colours (a blank or unstyled page has neither). A report whose every text is
//! markup (`<script>`, `<img onerror>`, quotes, `</style>`, a bidirectional override, an escape
//! sequence) is shown as that text, and makes no element.
//!
//! The check can fail, and the test proves it on every run: the real page with an
//! `<img src="http://127.0.0.1:9/…">` added (the CSP refuses it: reported), a page without the
//! CSP loading that image (the request: reported), a page with a failing script (the
//! exception: reported), the real page with an inline script (the CSP refuses it: reported).
//! Port 9 of loopback only, which Chromium refuses itself (`ERR_UNSAFE_PORT`): nothing leaves
//! the machine. Every wait is bounded (30 s); Chromium's process group is ended when the test
//! ends, also when an assertion fails.
//!
//! `PGCA_AUDIT_REPORTS_KEEP=DIR` copies the SARIF logs, the pages and the screenshots there.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use pgca::audit::{
    AuditOptions, AuditReport, AuditTarget, Check, Expiry, Severity, TargetReport, audit,
};
use pgca::{CaDir, HostName, InitOptions, IssueOptions, RoleName, Status};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The reports.

/// A configuration directory the offline reader accepts: owned by the user running the test
/// (tempfile makes it 0700), its files 0644.
fn write_target(base: &Path) -> PathBuf {
    // A space, `#` and `%` in the name: the SARIF file URIs must percent-encode them.
    let dir = base.join("pg conf #1 %");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("postgresql.conf"),
        "# tests/audit_reports.rs\nssl = off\nlisten_addresses = '*'\npassword_encryption = md5\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("pg_hba.conf"),
        "local all all trust\nhost all all 0.0.0.0/0 md5\nhostssl all all 0.0.0.0/0 cert\n",
    )
    .unwrap();
    std::fs::write(dir.join("pg_ident.conf"), "").unwrap();
    dir
}

struct Reports {
    _tmp: tempfile::TempDir,
    /// The offline target, no CA directory.
    plain: AuditReport,
    /// The same target, a missing one beside it, and a CA directory.
    with_ca: AuditReport,
}

fn reports() -> Reports {
    let tmp = tempfile::Builder::new()
        .prefix("pgca-reports-")
        .tempdir()
        .unwrap();
    let dir = write_target(tmp.path());
    let plain = audit(
        None,
        &[AuditTarget::Offline(dir.clone())],
        &AuditOptions::default(),
    )
    .unwrap();

    let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default()).unwrap();
    let alice: RoleName = "alice".parse().unwrap();
    ca.issue_client(&alice, &IssueOptions::default()).unwrap();
    let db: HostName = "db.example.com".parse().unwrap();
    ca.issue_server(&[db], &IssueOptions::default()).unwrap();
    let with_ca = audit(
        Some(&ca),
        &[
            AuditTarget::Offline(dir),
            AuditTarget::Offline(tmp.path().join("no such cluster")),
        ],
        &AuditOptions::default(),
    )
    .unwrap();

    // What the rest relies on: real findings, a failed target, a timeline.
    let t = &plain.targets[0];
    assert_eq!(t.status, Status::Critical, "{t:#?}");
    for id in [
        "ssl-off",
        "listen-addresses-all",
        "password-encryption",
        "ca-directory",
    ] {
        assert!(
            t.findings.iter().any(|f| f.check.id() == id),
            "no {id} finding: {t:#?}"
        );
    }
    assert!(t.findings.iter().any(|f| f.location.is_some()));
    assert!(t.findings.iter().any(|f| f.location.is_none()));
    assert!(
        with_ca.targets[1].error.is_some(),
        "{:#?}",
        with_ca.targets[1]
    );
    let kinds: Vec<&str> = with_ca.targets[0]
        .timeline
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    for k in [
        "server CA",
        "client CA",
        "client certificate",
        "server certificate",
    ] {
        assert!(kinds.contains(&k), "no {k} in the timeline: {kinds:?}");
    }
    Reports {
        _tmp: tmp,
        plain,
        with_ca,
    }
}

/// A report of one target with the given findings and timeline, at the real report's time.
fn report_of(at: &AuditReport, mut t: TargetReport) -> AuditReport {
    t.settle();
    AuditReport::new(at.at, vec![t])
}

/// Copies `file` into `$PGCA_AUDIT_REPORTS_KEEP`, when set.
fn keep(file: &Path) {
    if let Some(dir) = std::env::var_os("PGCA_AUDIT_REPORTS_KEEP") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(file, dir.join(file.file_name().unwrap())).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// SARIF.

/// The bin directory of the venv holding sarif-tools (and the schema beside it).
fn sarif_bin() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/sarif-venv.sh");
    let out = Command::new(&script)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs every command at once (sarif-tools takes two seconds to start: it loads matplotlib);
/// returns each one's (success, stdout, stderr), in order.
fn run_all(cmds: Vec<Command>) -> Vec<(bool, String, String)> {
    let children: Vec<_> = cmds
        .into_iter()
        .map(|mut c| {
            c.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .collect()
}

/// `sarif ARGS`.
fn sarif(bin: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin.join("sarif"));
    c.args(args);
    c
}

/// The rows of a CSV file (RFC 4180: quoted fields, doubled quotes, line breaks inside quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// `%XX` decoded.
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// The checks of the SARIF log of `report` that need no tool: its shape, rules, results,
/// locations and notifications, against the report itself.
fn check_shape(report: &AuditReport, log: &Value) {
    assert_eq!(
        log["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "pgca");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        driver["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), Check::ALL.len());
    for (r, c) in rules.iter().zip(Check::ALL) {
        let level = match c.severity() {
            Severity::Critical => "error",
            Severity::Warning => "warning",
            _ => "note",
        };
        assert_eq!(r["id"], c.id());
        assert_eq!(r["shortDescription"]["text"], c.title());
        assert_eq!(r["help"]["text"], c.fix());
        assert_eq!(r["defaultConfiguration"]["level"], level, "{}", c.id());
        assert_eq!(r["properties"]["severity"], c.severity().to_string());
        assert!(
            r["name"]
                .as_str()
                .unwrap()
                .chars()
                .all(char::is_alphanumeric)
        );
    }

    let results = run["results"].as_array().unwrap();
    let findings: Vec<(&TargetReport, &pgca::audit::AuditFinding)> = report
        .targets
        .iter()
        .flat_map(|t| t.findings.iter().map(move |f| (t, f)))
        .collect();
    assert_eq!(results.len(), findings.len());
    for (r, (t, f)) in results.iter().zip(&findings) {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
        assert_eq!(r["ruleId"], f.check.id());
        assert_eq!(r["properties"]["severity"], f.severity.to_string());
        let text = r["message"]["text"].as_str().unwrap();
        assert!(
            text.contains(&f.message) && text.contains(&t.target),
            "{text}"
        );
        let loc = &r["locations"][0];
        let logical = &loc["logicalLocations"][0];
        assert_eq!(logical["name"], f.subject.as_str());
        assert!(
            logical["fullyQualifiedName"]
                .as_str()
                .unwrap()
                .contains(&t.target)
        );
        match &f.location {
            Some(l) => {
                let uri = loc["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap();
                let path = uri.strip_prefix("file:///").unwrap();
                assert!(
                    path.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/-._~%".contains(&b)),
                    "{uri}"
                );
                assert_eq!(
                    percent_decode(&format!("/{path}")),
                    l.file.as_os_str().as_encoded_bytes(),
                    "{uri}"
                );
                assert_eq!(
                    loc["physicalLocation"]["region"]["startLine"].as_u64(),
                    l.line.map(|n| n as u64)
                );
            }
            None => assert!(loc.get("physicalLocation").is_none(), "{loc}"),
        }
    }

    let inv = &run["invocations"][0];
    let failed: Vec<&TargetReport> = report
        .targets
        .iter()
        .filter(|t| t.error.is_some())
        .collect();
    assert_eq!(inv["executionSuccessful"], failed.is_empty());
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), failed.len());
    for (n, t) in notes.iter().zip(failed) {
        assert_eq!(n["level"], "error");
        assert_eq!(n["descriptor"]["id"], "target-failed");
        let text = n["message"]["text"].as_str().unwrap();
        assert!(text.contains(&t.target) && text.contains(t.error.as_deref().unwrap()));
    }
}

/// Validates each of `files` against the SARIF 2.1.0 schema, formats included, in one Python:
/// the command. It prints `ok FILE` or `invalid FILE` and the errors under it.
fn schema_check(bin: &Path, files: &[&Path]) -> Command {
    let schema = bin.parent().unwrap().join("sarif-schema-2.1.0.json");
    let mut c = Command::new(bin.join("python"));
    c.args([
        "-c",
        "import json, sys, jsonschema\n\
         schema = json.load(open(sys.argv[1]))\n\
         v = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)\n\
         for f in ('uri', 'date-time'):\n\
         \x20   assert f in v.format_checker.checkers, 'format ' + f + ' is not checked'\n\
         for file in sys.argv[2:]:\n\
         \x20   errs = sorted(v.iter_errors(json.load(open(file))), key=lambda e: list(e.absolute_path))\n\
         \x20   print(('invalid ' if errs else 'ok ') + file)\n\
         \x20   for e in errs: print('  /' + '/'.join(map(str, e.absolute_path)), e.message)\n",
    ])
    .arg(schema)
    .args(files);
    c
}

/// What [`schema_check`] said of `file`: `None` when valid, else the errors.
fn schema_verdict(output: &str, file: &Path) -> Option<String> {
    let f = file.display().to_string();
    let mut lines = output.lines().skip_while(|l| !l.ends_with(&f)).peekable();
    match lines.next() {
        Some(l) if l == format!("ok {f}") => None,
        Some(_) => Some(
            lines
                .take_while(|l| l.starts_with("  "))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        None => Some(format!("{f} was not checked:\n{output}")),
    }
}

/// SARIF's level of each finding of `report`, counted.
fn levels_of(report: &AuditReport) -> BTreeMap<&'static str, usize> {
    let mut n = BTreeMap::new();
    for f in report.targets.iter().flat_map(|t| &t.findings) {
        let level = match f.severity {
            Severity::Critical => "error",
            Severity::Warning => "warning",
            _ => "note",
        };
        *n.entry(level).or_default() += 1;
    }
    n
}

/// `sarif summary`'s counts: `error: 3` lines.
fn summary_counts(text: &str) -> BTreeMap<String, usize> {
    text.lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_once(": "))
        .filter_map(|(k, v)| Some((k.trim().to_string(), v.trim().parse().ok()?)))
        .collect()
}

#[test]
fn sarif_is_valid_and_sarif_tools_list_every_finding() {
    let r = reports();
    let bin = sarif_bin();
    let out = tempfile::tempdir().unwrap();
    // The offline target with no CA directory; with one and a failed target; no findings at all.
    let empty = report_of(
        &r.plain,
        TargetReport {
            findings: Vec::new(),
            ..r.plain.targets[0].clone()
        },
    );
    let cases = [
        ("plain", &r.plain),
        ("with-ca", &r.with_ca),
        ("empty", &empty),
    ];
    let mut cmds = Vec::new();
    let mut logs = Vec::new();
    for (name, report) in cases {
        let log = pgca::to_sarif(report);
        check_shape(report, &log);
        let file = out.path().join(format!("audit-{name}.sarif"));
        std::fs::write(&file, serde_json::to_string_pretty(&log).unwrap()).unwrap();
        keep(&file);
        let f = file.to_str().unwrap();
        let csv = out.path().join(format!("audit-{name}.csv"));
        // `--check error`: the exit status says whether there is an error-level result.
        cmds.push(sarif(&bin, &["--check", "error", "summary", f]));
        cmds.push(sarif(&bin, &["csv", f, "--output", csv.to_str().unwrap()]));
        logs.push((name, report, log, file, csv));
    }
    // The schema check is not a formality: a level SARIF does not have is refused.
    let mut bad = pgca::to_sarif(&r.plain);
    bad["runs"][0]["results"][0]["level"] = json!("critical");
    let bad_file = out.path().join("bad.sarif");
    std::fs::write(&bad_file, bad.to_string()).unwrap();
    let files: Vec<&Path> = logs.iter().map(|l| l.3.as_path()).collect();
    cmds.push(schema_check(
        &bin,
        &[files.as_slice(), &[bad_file.as_path()]].concat(),
    ));
    let mut outputs = run_all(cmds).into_iter();

    let (ok, schema, err) = outputs.next_back().unwrap();
    assert!(ok, "the schema check failed: {schema}{err}");
    for (name, report, log, file, csv) in logs {
        let verdict = schema_verdict(&schema, &file);
        assert!(
            verdict.is_none(),
            "{name}: not valid SARIF 2.1.0:\n{verdict:?}"
        );

        // `sarif summary`: the counts by level, and every rule id with a finding.
        let (ok, summary, err) = outputs.next().unwrap();
        let want = levels_of(report);
        assert_eq!(
            ok,
            !want.contains_key("error"),
            "{name}: --check error: {err}"
        );
        let counts = summary_counts(&summary);
        for level in ["error", "warning", "note"] {
            assert_eq!(
                counts.get(level).copied(),
                Some(want.get(level).copied().unwrap_or(0)),
                "{name}: {level}s in:\n{summary}{err}"
            );
        }
        for fi in report.targets.iter().flat_map(|t| &t.findings) {
            assert!(
                summary.contains(&format!(" - {} ", fi.check.id())),
                "{name}: {} not in:\n{summary}",
                fi.check.id()
            );
        }

        // `sarif csv`: one row per finding, with its rule, level, file and line.
        let (ok, _, err) = outputs.next().unwrap();
        assert!(ok, "{name}: sarif csv failed: {err}");
        let rows = parse_csv(&std::fs::read_to_string(&csv).unwrap());
        let head = &rows[0];
        let col = |h: &str| {
            head.iter()
                .position(|c| c == h)
                .unwrap_or_else(|| panic!("no {h} column in {head:?}"))
        };
        let cols = [col("Code"), col("Severity"), col("Location"), col("Line")];
        let mut got: Vec<[String; 4]> = rows[1..]
            .iter()
            .map(|r| cols.map(|c| r[c].clone()))
            .collect();
        let mut want: Vec<[String; 4]> = log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|res| {
                let l = &res["locations"][0];
                let (file, line) = match l.get("physicalLocation") {
                    Some(p) => (
                        p["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                        p["region"]["startLine"].as_u64().unwrap_or(1).to_string(),
                    ),
                    // Without a file, sarif-tools shows the logical location (and line 1).
                    None => (
                        l["logicalLocations"][0]["fullyQualifiedName"]
                            .as_str()
                            .unwrap()
                            .to_string(),
                        "1".to_string(),
                    ),
                };
                [
                    res["ruleId"].as_str().unwrap().to_string(),
                    res["level"].as_str().unwrap().to_string(),
                    file,
                    line,
                ]
            })
            .collect();
        assert_eq!(
            got.len(),
            report
                .targets
                .iter()
                .map(|t| t.findings.len())
                .sum::<usize>()
        );
        got.sort();
        want.sort();
        assert_eq!(got, want, "{name}: sarif csv");
    }
    let verdict = schema_verdict(&schema, &bad_file).expect("a level SARIF lacks was taken");
    assert!(verdict.contains("critical"), "{verdict}");

    // The failed target is a notification, and the run says so.
    let log = pgca::to_sarif(&r.with_ca);
    let inv = &log["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert!(
        inv["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("no such cluster")
    );
}

// ---------------------------------------------------------------------------------------------
// HTML in headless Chromium, over the DevTools protocol.

/// The longest any one wait on Chromium may take.
const WAIT: Duration = Duration::from_secs(30);

/// A WebSocket client (RFC 6455), text frames only: enough for the DevTools protocol.
struct Ws {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Ws {
    fn connect(port: u16, path: &str) -> Ws {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        stream.set_write_timeout(Some(WAIT)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: cGdjYSBhdWRpdCByZXBvcnQ=\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut ws = Ws {
            stream,
            buf: Vec::new(),
        };
        let deadline = Instant::now() + WAIT;
        let end = loop {
            if let Some(i) = ws.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(ws.fill(deadline), "no WebSocket handshake from Chromium");
        };
        let head = String::from_utf8_lossy(&ws.buf[..end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        ws.buf.drain(..end);
        ws
    }

    /// Reads what is there into the buffer; false once `deadline` has passed.
    fn fill(&mut self, deadline: Instant) -> bool {
        if Instant::now() >= deadline {
            return false;
        }
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => panic!("Chromium closed the DevTools connection"),
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("DevTools connection: {e}"),
        }
        true
    }

    /// Sends one text message (masked, as a client must).
    fn send(&mut self, text: &str) {
        let data = text.as_bytes();
        let mut frame = vec![0x81];
        match data.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x70, 0x67, 0x63, 0x61];
        frame.extend_from_slice(&mask);
        frame.extend(data.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).unwrap();
    }

    /// The next whole text message, or `None` when none came before `deadline`.
    fn recv(&mut self, deadline: Instant) -> Option<String> {
        let mut message = Vec::new();
        loop {
            // One frame: FIN and opcode, length (7 bits, 16 or 64), the payload (servers do
            // not mask).
            let frame = loop {
                if self.buf.len() >= 2 {
                    let (len, at) = match self.buf[1] & 0x7f {
                        126 if self.buf.len() >= 4 => {
                            (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                        }
                        127 if self.buf.len() >= 10 => (
                            u64::from_be_bytes(self.buf[2..10].try_into().unwrap()) as usize,
                            10,
                        ),
                        126 | 127 => (usize::MAX, 0),
                        n => (n as usize, 2),
                    };
                    if len != usize::MAX && self.buf.len() >= at + len {
                        let head = self.buf[0];
                        let payload = self.buf[at..at + len].to_vec();
                        self.buf.drain(..at + len);
                        break (head, payload);
                    }
                }
                if !self.fill(deadline) {
                    return None;
                }
            };
            match frame.0 & 0x0f {
                0x0..=0x2 => message.extend_from_slice(&frame.1),
                0x8 => panic!("Chromium closed the DevTools connection"),
                _ => continue, // ping or pong: Chromium does not ping a client that is reading
            }
            if frame.0 & 0x80 != 0 {
                return Some(String::from_utf8(message).unwrap());
            }
        }
    }
}

/// A process group of ours (the child made its leader), ended when this is dropped: also when
/// an assertion fails, from the moment it is started.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        // TERM first, so that Chromium ends its zygote, renderers and helpers itself; KILL
        // whatever is left of the group after that (or after 5 s).
        let group = format!("-{}", self.0.id());
        let kill = |signal: &str| {
            let _ = Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        kill("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.0.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        kill("-KILL");
        let _ = self.0.wait();
    }
}

/// Headless Chromium with its DevTools endpoint, in a process group of its own.
struct Browser {
    /// Declared first: dropped (the browser ended) before its profile directory is removed.
    _group: Group,
    _profile: tempfile::TempDir,
    log: PathBuf,
    ws: Ws,
    next: u64,
    /// The page's session (a flattened `Target.attachToTarget`).
    session: String,
    /// Events received while waiting for a reply.
    events: Vec<Value>,
}

/// What loading a page gave: the problems (requests, failed loads, console calls, exceptions,
/// browser log entries), and the facts the page reported.
struct Loaded {
    problems: Vec<String>,
    facts: Value,
    /// The screenshot, a PNG, and as base64.
    screenshot: Vec<u8>,
    png: String,
}

impl Browser {
    fn start() -> Browser {
        let chromium = Path::new("/usr/bin/chromium");
        assert!(
            chromium.exists(),
            "no /usr/bin/chromium: scripts/install-deps.sh installs Debian's chromium"
        );
        let profile = tempfile::Builder::new()
            .prefix("pgca-chromium-")
            .tempdir()
            .unwrap();
        let log = profile.path().join("chromium.log");
        let child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                // No name resolves: nothing could leave the machine even if something tried.
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .process_group(0)
            .spawn()
            .map(Group)
            .expect("start chromium");
        // Chromium writes the port it chose and the browser's path (a UUID at the end, no
        // newline after it) into DevToolsActivePort.
        let active = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + WAIT;
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&active)
                && let Some((port, path)) = text.split_once('\n')
                && let Some(uuid) = path.strip_prefix("/devtools/browser/")
                && uuid.len() == 36
            {
                break (port.trim().parse().unwrap(), path.to_string());
            }
            assert!(
                Instant::now() < deadline,
                "Chromium did not open its DevTools port:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let ws = Ws::connect(port, &path);
        let mut b = Browser {
            _group: child,
            _profile: profile,
            log,
            ws,
            next: 0,
            session: String::new(),
            events: Vec::new(),
        };
        let target = b.call("Target.createTarget", json!({ "url": "about:blank" }));
        let attached = b.call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Page", "Runtime", "Log", "Network"] {
            b.call(&format!("{domain}.enable"), json!({}));
        }
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1200, "height": 2000, "deviceScaleFactor": 1, "mobile": false }),
        );
        b
    }

    /// Calls `method` (in the page's session once there is one) and returns its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws.send(&msg.to_string());
        let deadline = Instant::now() + WAIT;
        loop {
            let Some(text) = self.ws.recv(deadline) else {
                panic!(
                    "no answer to {method} within {WAIT:?}; the browser's log:\n{}",
                    self.log_text()
                );
            };
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Loads `file` and reports what happened: waits (bounded) for the load event, then until
    /// nothing has happened for half a second.
    fn load(&mut self, file: &Path) -> Loaded {
        let url = format!("file://{}", file.display());
        self.navigate(&url);
        let quiet = Instant::now() + Duration::from_secs(5);
        while let Some(t) = self
            .ws
            .recv((Instant::now() + Duration::from_millis(500)).min(quiet))
        {
            self.events.push(serde_json::from_str(&t).unwrap());
        }
        let mut problems = Vec::new();
        for e in &self.events {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Network.requestWillBeSent" if p["request"]["url"] != url.as_str() => {
                    problems.push(format!("request: {}", p["request"]["url"]));
                }
                "Network.loadingFailed" => problems.push(format!(
                    "failed load: {} {}",
                    p["errorText"], p["blockedReason"]
                )),
                "Runtime.consoleAPICalled" => {
                    problems.push(format!("console.{}: {}", p["type"], p["args"]));
                }
                "Runtime.exceptionThrown" => {
                    problems.push(format!("exception: {}", p["exceptionDetails"]));
                }
                "Log.entryAdded" => problems.push(format!(
                    "log {} {}: {}",
                    p["entry"]["source"], p["entry"]["level"], p["entry"]["text"]
                )),
                _ => {}
            }
        }
        // DevTools' own evaluation: the page's CSP forbids scripts, not the inspector.
        let facts = self.call(
            "Runtime.evaluate",
            json!({
                "expression": "JSON.stringify({\
                    title: document.title,\
                    text: document.body ? document.body.innerText : '',\
                    fetchers: document.querySelectorAll('script,img,link,iframe,frame,object,\
                        embed,video,audio,source,track,picture,image,use,foreignObject').length,\
                    hrefs: [...document.querySelectorAll('[href],[src],[srcset],[action],\
                        [poster],[data]')].map(e => e.getAttribute('href') || 'not a link'),\
                    inline: document.querySelectorAll('[style],[onload],[onerror],\
                        [onclick]').length,\
                    targets: document.querySelectorAll('section.target').length,\
                    findings: document.querySelectorAll('table.findings tbody tr').length,\
                    bars: document.querySelectorAll('svg.timeline g.entry rect').length,\
                    svgs: [...document.querySelectorAll('svg.timeline')].map(s => {\
                        const r = s.getBoundingClientRect(); return [r.width, r.height]; }),\
                    wide: document.documentElement.scrollWidth > window.innerWidth,\
                    badge: (() => { const b = document.querySelector('.badge');\
                        return b ? getComputedStyle(b).backgroundColor : null; })(),\
                })",
                "returnByValue": true,
            }),
        );
        let facts: Value = serde_json::from_str(facts["result"]["value"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{e}: {facts}"));
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let png = shot["data"].as_str().unwrap().to_string();
        Loaded {
            problems,
            facts,
            screenshot: base64::engine::general_purpose::STANDARD
                .decode(&png)
                .unwrap(),
            png,
        }
    }

    /// Goes to `url` and waits (bounded) for its load event; the events from the navigation on
    /// are in `self.events`.
    fn navigate(&mut self, url: &str) {
        self.events.clear();
        self.call("Page.navigate", json!({ "url": url }));
        let deadline = Instant::now() + WAIT;
        while !self
            .events
            .iter()
            .any(|e| e["method"] == "Page.loadEventFired")
        {
            match self.ws.recv(deadline) {
                Some(t) => self.events.push(serde_json::from_str(&t).unwrap()),
                None => panic!("{url} did not load within {WAIT:?}"),
            }
        }
    }

    /// How many colours the PNG (base64) holds, and which of `wanted` (`#rrggbb`) it holds:
    /// decoded into a canvas on a blank page (no CSP there; one tab, the one Chromium paints).
    fn colours(&mut self, png: &str, wanted: &[&str]) -> (usize, Vec<String>) {
        self.navigate("about:blank");
        let expression = format!(
            "(async () => {{\
                const img = new Image();\
                img.src = 'data:image/png;base64,{png}';\
                await img.decode();\
                const c = new OffscreenCanvas(img.width, img.height);\
                const g = c.getContext('2d');\
                g.drawImage(img, 0, 0);\
                const d = g.getImageData(0, 0, img.width, img.height).data;\
                const seen = new Set();\
                for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);\
                const wanted = {};\
                return JSON.stringify({{ n: seen.size, w: img.width, h: img.height,\
                    found: wanted.filter(h => seen.has(parseInt(h.slice(1), 16))) }});\
            }})()",
            json!(wanted)
        );
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
        );
        self.events.clear();
        let v: Value = serde_json::from_str(r["result"]["value"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{e}: {r}"));
        assert_eq!(
            (v["w"].as_u64(), v["h"].as_u64()),
            (Some(1200), Some(2000)),
            "{v}"
        );
        let found = v["found"].as_array().unwrap();
        (
            v["n"].as_u64().unwrap() as usize,
            found
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .collect(),
        )
    }
}

/// A report whose every text holds markup, quotes, a bidirectional override and a control
/// character: the page must show them, not obey them.
fn hostile(r: &AuditReport) -> AuditReport {
    let evil = "<script>document.title='owned'</script><img src=\"http://127.0.0.1:9/x\" \
                onerror=alert(1)>\"'&amp;\u{202e}\u{1b}[2J</style></svg>";
    let mut t = r.targets[0].clone();
    t.target = format!("/srv/{evil}");
    for f in &mut t.findings {
        f.subject = format!("{}{evil}", f.subject);
        f.message = format!("{}{evil}", f.message);
    }
    if let Some(l) = t.findings.iter_mut().find_map(|f| f.location.as_mut()) {
        l.file = PathBuf::from(format!("/srv/{evil}/pg_hba.conf"));
    }
    t.tls.settings.push((evil.to_string(), evil.to_string()));
    let mut e = t.timeline[0].clone();
    e.kind = evil.to_string();
    e.name = evil.to_string();
    e.serial = evil.to_string();
    t.timeline.push(e);
    let mut failed = TargetReport::failed(format!("host={evil}"), evil.to_string());
    failed.settle();
    AuditReport::new(r.at, vec![t, failed])
}

#[test]
fn html_loads_in_chromium_with_no_error_and_no_request() {
    let r = reports();
    let out = tempfile::tempdir().unwrap();
    let empty = AuditReport::new(r.plain.at, Vec::new());
    // No findings, and a timeline with every state: expired (a served certificate, its start
    // not known), due, not yet valid, beside the CA directory's valid ones.
    let at = r.plain.at;
    let day = time::Duration::days(1);
    let mut timeline = r.with_ca.targets[0].timeline.clone();
    for (kind, name, not_before, not_after, seen) in [
        (
            "served certificate",
            "CN=old.example.com",
            None,
            at - 3 * day,
            "server",
        ),
        (
            "client certificate",
            "bob",
            Some(at - 300 * day),
            at + 20 * day,
            "ca-directory",
        ),
        (
            "client certificate",
            "carol",
            Some(at + 10 * day),
            at + 400 * day,
            "ca-directory",
        ),
    ] {
        timeline.push(Expiry {
            kind: kind.into(),
            name: name.into(),
            serial: "0a1b2c".into(),
            not_before,
            not_after,
            seen,
        });
    }
    let clean = report_of(
        &r.plain,
        TargetReport {
            findings: Vec::new(),
            timeline,
            ..r.with_ca.targets[0].clone()
        },
    );
    let pages = [
        ("plain", r.plain.clone()),
        ("with-ca", r.with_ca.clone()),
        ("no-findings", clean),
        ("no-targets", empty),
        ("hostile", hostile(&r.with_ca)),
    ];
    let mut files = Vec::new();
    for (name, report) in &pages {
        let html = pgca::to_html(report);
        // What the page says it loads: nothing.
        assert!(html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; img-src data:\">"
        ));
        // In any case (`<IMG SRC="HTTP://…">` loads as well).
        let lower = html.to_ascii_lowercase();
        for bad in [
            "<script", "<img", "<link", "url(", "@import", "<iframe", "<use",
        ] {
            assert!(!lower.contains(bad), "{name}: {bad} in the page");
        }
        if *name != "hostile" {
            for bad in ["src=", "http:", "https:"] {
                assert!(!lower.contains(bad), "{name}: {bad} in the page");
            }
        }
        let file = out.path().join(format!("audit-{name}.html"));
        std::fs::write(&file, &html).unwrap();
        keep(&file);
        files.push(file);
    }

    let mut browser = Browser::start();
    for ((name, report), file) in pages.iter().zip(&files) {
        let loaded = browser.load(file);
        assert!(
            loaded.problems.is_empty(),
            "{name}: {:#?}\n{}",
            loaded.problems,
            browser.log_text()
        );
        let f = &loaded.facts;
        assert_eq!(f["fetchers"], 0, "{name}: {f}");
        assert_eq!(f["inline"], 0, "{name}: {f}");
        assert_eq!(f["wide"], false, "{name}: wider than the window: {f}");
        for h in f["hrefs"].as_array().unwrap() {
            let h = h.as_str().unwrap();
            assert!(
                h.starts_with("#t") && h[2..].bytes().all(|b| b.is_ascii_digit()),
                "{name}: {h}"
            );
        }
        assert!(
            f["title"].as_str().unwrap().starts_with("pgca audit: "),
            "{f}"
        );
        let text = f["text"].as_str().unwrap();
        let shown = |s: &str| pgca::model::text::escape(s).into_owned();
        assert_eq!(
            f["targets"].as_u64().unwrap() as usize,
            report.targets.len(),
            "{name}"
        );
        assert_eq!(
            f["findings"].as_u64().unwrap() as usize,
            report
                .targets
                .iter()
                .map(|t| t.findings.len())
                .sum::<usize>(),
            "{name}"
        );
        for t in &report.targets {
            assert!(text.contains(&shown(&t.target)), "{name}: {}", t.target);
            assert!(text.contains(&t.status.to_string()), "{name}");
            if let Some(e) = &t.error {
                assert!(text.contains(&shown(e)), "{name}: {e}");
            }
            for fi in &t.findings {
                for s in [fi.check.id(), fi.fix, &fi.message, &fi.subject] {
                    assert!(text.contains(&shown(s)), "{name}: {s:?} not shown");
                }
                if let Some(l) = &fi.location {
                    let file = l.file.file_name().unwrap().to_str().unwrap();
                    let at = format!("{file}:{}", l.line.unwrap());
                    let dir = l.file.parent().unwrap().to_str().unwrap();
                    assert!(text.contains(&shown(&at)), "{name}: {at}");
                    assert!(text.contains(&shown(dir)), "{name}: {dir}");
                }
            }
            for (k, v) in &t.tls.settings {
                assert!(
                    text.contains(&shown(k)) && text.contains(&shown(v)),
                    "{name}"
                );
            }
        }
        let bars: usize = report.targets.iter().map(|t| t.timeline.len()).sum();
        assert_eq!(f["bars"].as_u64().unwrap() as usize, bars, "{name}");
        for wh in f["svgs"].as_array().unwrap() {
            assert!(
                wh[0].as_f64().unwrap() > 600.0 && wh[1].as_f64().unwrap() > 80.0,
                "{wh}"
            );
        }

        // Not blank, and styled: the status colours are on the screen.
        let png = out.path().join(format!("audit-{name}.png"));
        std::fs::write(&png, &loaded.screenshot).unwrap();
        keep(&png);
        // Critical, warning, OK (and valid), not yet valid.
        let colours = ["#c4302b", "#b86a00", "#1f7f4c", "#7a8699"];
        let (n, found) = browser.colours(&loaded.png, &colours);
        assert!(n > 50, "{name}: only {n} colours in the screenshot");
        let want: &[&str] = match *name {
            "plain" | "with-ca" | "hostile" => &["#c4302b", "#b86a00"],
            // OK, and the timeline's bars: expired, due, valid, not yet valid.
            "no-findings" => &colours,
            _ => &[],
        };
        for c in want {
            assert!(
                found.iter().any(|f| f == c),
                "{name}: no {c} in the screenshot"
            );
        }
    }
    // The hostile text stayed text: no element came of it, and the title is the page's.
    let loaded = browser.load(&files[4]);
    assert!(
        loaded.facts["text"]
            .as_str()
            .unwrap()
            .contains("<script>document.title")
    );

    // And the check can fail. The real page with an image from loopback's discard port added:
    // the CSP refuses it, and the refusal is a problem.
    let html = pgca::to_html(&r.with_ca).replace(
        "</main>",
        "<img src=\"http://127.0.0.1:9/pixel.png\" alt=\"\"></main>",
    );
    let injected = out.path().join("injected-img.html");
    std::fs::write(&injected, html).unwrap();
    let loaded = browser.load(&injected);
    assert!(
        loaded
            .problems
            .iter()
            .any(|p| p.contains("127.0.0.1:9") && p.contains("Content Security Policy")),
        "an image the CSP refused was not reported: {:?}",
        loaded.problems
    );
    // Without the CSP, the request itself is seen.
    let bare = out.path().join("bare-img.html");
    std::fs::write(
        &bare,
        "<!DOCTYPE html><title>x</title><img src=\"http://127.0.0.1:9/pixel.png\" alt=\"\">",
    )
    .unwrap();
    let loaded = browser.load(&bare);
    assert!(
        loaded.problems.iter().any(|p| p.starts_with("request: ")),
        "a request was not reported: {:?}",
        loaded.problems
    );
    // A script that fails (no CSP to stop it), and one the CSP stops.
    let script = out.path().join("script-error.html");
    std::fs::write(
        &script,
        "<!DOCTYPE html><title>x</title><script>no_such_function()</script>",
    )
    .unwrap();
    let loaded = browser.load(&script);
    assert!(
        loaded.problems.iter().any(|p| p.starts_with("exception: ")),
        "a script error was not reported: {:?}",
        loaded.problems
    );
    let html = pgca::to_html(&r.plain).replace("</main>", "<script>1</script></main>");
    let inline = out.path().join("injected-script.html");
    std::fs::write(&inline, html).unwrap();
    let loaded = browser.load(&inline);
    assert!(
        loaded
            .problems
            .iter()
            .any(|p| p.contains("inline script") && p.contains("Content Security Policy")),
        "a script the CSP refused was not reported: {:?}",
        loaded.problems
    );
    drop(browser);
}
