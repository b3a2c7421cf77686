//! Everything the commands print on stdout: tables, descriptions of what was done, `inspect`'s
//! rows, the Nagios lines of `check` and `verify`, the JSON of `--json`, and [`emit`], which
//! writes them.
//!
//! Every name, path and value from a certificate or file in a text line goes through
//! [`escape`] (the library's one escaping: control characters as `\x1b`, `\n`; invisible and
//! bidirectional format characters as `\u{200b}`): a foreign certificate's subject may hold
//! terminal escape sequences, and a role name may hide a zero-width character. What is meant to
//! be copied as it is (`conninfo`, `env`, `service show`, configuration text) is not escaped.
//! JSON is serde's, from the library's types or the small structs of `render/json.rs`: never
//! put together by hand, and its values are exact.

use std::io::Write;
use std::path::{Path, PathBuf};

use pgca::inventory::CrlRecord;
use pgca::model::text::{escape, escape_path as path, quoted};
use pgca::ops::check::CheckReport;
use pgca::ops::renew::RenewReport;
use pgca::ops::revoke::Revoked;
use pgca::ops::verify::VerifyReport;
use pgca::pg::server::Deployed;
use pgca::pg::service::Section;
use pgca::probe::ProbeReport;
use pgca::x509::inspect::CrlInfo;
use pgca::{CertInfo, HostName, IssuedCert, ListEntry, Reason, Side, Status, timefmt};
use serde::Serialize;
use time::OffsetDateTime;

use crate::args::Report;

mod json;
mod online;
mod rollover;
pub use json::{
    conninfo_json, crls_json, deployed_json, exported_json, init_json, inspect_json,
    installed_json, inventory_exported_json, inventory_imported_json, issue_json, passwd_json,
    renew_json, revoke_json, service_added_json,
};
pub use online::{agent_json, agent_text, enrolled_json, enrolled_text, tokens_json, tokens_text};
pub use rollover::{rollover_status_text, rollover_text};

/// How a command prints what it did: text, JSON (`--json`) or nothing (`-q`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// For scripts.
    Json,
    /// Nothing on success.
    Quiet,
}

impl Format {
    /// From `-q` and `--json` (clap refuses both at once).
    pub fn new(quiet: bool, json: bool) -> Format {
        match (quiet, json) {
            (true, _) => Format::Quiet,
            (false, true) => Format::Json,
            (false, false) => Format::Text,
        }
    }

    /// From the shared `-q`/`--json` options.
    pub fn of(out: &Report) -> Format {
        Format::new(out.quiet, out.json)
    }
}

/// Prints a command's result as `format` says: `text()`, the JSON of `value()`, or nothing.
pub fn print<T: Serialize>(
    format: Format,
    text: impl FnOnce() -> String,
    value: impl FnOnce() -> T,
) {
    match format {
        Format::Text => emit(&text()),
        Format::Json => emit(&json(&value())),
        Format::Quiet => {}
    }
}

/// The note `list` and `check` add when a CA key is stored unencrypted.
pub const UNENCRYPTED_NOTE: &str = "note: the CA keys are stored unencrypted (pgca init --no-passphrase); pgca passwd encrypts them\n";

/// Writes to stdout; a closed pipe (`pgca list | head`) is not an error.
pub fn emit(s: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("pgca: cannot write output: {e}");
        std::process::exit(1);
    }
}

/// Pretty JSON and a final newline.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("output serialises") + "\n"
}

/// `init`: the two CAs, then the server certificate or what to do next.
pub fn init_text(
    cas: &[(Side, PathBuf, OffsetDateTime)],
    server: Option<(&IssuedCert, &[HostName])>,
) -> String {
    let mut out = String::new();
    for (side, p, not_after) in cas {
        out.push_str(&format!(
            "created {} CA {} (expires {})\n",
            side.name(),
            self::path(p),
            timefmt::human(*not_after)
        ));
    }
    match server {
        Some((issued, hosts)) => out.push_str(&describe_server(issued, hosts)),
        None => out.push_str("next: pgca issue-server HOST..., then pgca issue-client ROLE...\n"),
    }
    out
}

/// A server certificate just issued: names, serial, key type, expiry, files.
pub fn describe_server(i: &IssuedCert, names: &[HostName]) -> String {
    let names: Vec<String> = names
        .iter()
        .map(|n| escape(&n.to_string()).into_owned())
        .collect();
    format!(
        "{} server certificate for {} (serial {}, {}, expires {})\n  certificate: {}\n  key:         {}\n",
        if i.replaced.is_some() {
            "replaced"
        } else {
            "issued"
        },
        names.join(", "),
        i.serial,
        i.key_type,
        timefmt::human(i.not_after),
        path(&i.cert_path),
        path(&i.key_path),
    )
}

/// A client certificate just issued, on one line.
pub fn describe_client(i: &IssuedCert) -> String {
    format!(
        "{} client certificate for role {}: {} (serial {}, expires {})\n",
        if i.replaced.is_some() {
            "replaced"
        } else {
            "issued"
        },
        quoted(&i.name),
        path(&i.cert_path),
        i.serial,
        timefmt::human(i.not_after),
    )
}

/// The line after a service entry written with `issue-client --service`.
pub fn service_written(name: &str, file: &Path) -> String {
    format!(
        "wrote service {} to {}: psql \"service={}\"\n",
        quoted(name),
        path(file),
        escape(name)
    )
}

/// `passwd`: each key file and how it is stored now.
pub fn passwd_text(keys: &[(PathBuf, bool)]) -> String {
    keys.iter()
        .map(|(path, encrypted)| {
            let how = if *encrypted {
                "encrypted with the new passphrase"
            } else {
                "stored unencrypted"
            };
            format!("{}: {how}\n", self::path(path))
        })
        .collect()
}

/// `list`: a table, one certificate a row.
pub fn list_table(rows: &[ListEntry]) -> String {
    let header = ["KIND", "NAME", "SERIAL", "NOT AFTER", "DAYS", "STATE"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.kind.to_string(),
                escape(&r.name).into_owned(),
                r.serial.to_string(),
                timefmt::human(r.not_after),
                r.days_left.to_string(),
                if r.external_key {
                    format!("{} (external key)", r.state)
                } else {
                    r.state.to_string()
                },
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: [&str; 6]| -> String {
        let mut s = String::new();
        for (i, (cell, w)) in c.iter().zip(width).enumerate() {
            if i == 4 {
                s.push_str(&format!("{cell:>w$}  "));
            } else if i == 5 {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(header);
    for c in &cells {
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]]));
    }
    out
}

/// `check`: the Nagios summary, a line per finding that is not OK, the unencrypted-key note.
pub fn check_text(report: &CheckReport) -> String {
    let mut out = report.summary() + "\n";
    for f in report
        .certificates
        .iter()
        .filter(|f| f.status != Status::Ok)
    {
        out.push_str(&format!("{}: {}\n", f.status, escape(&f.detail)));
    }
    for p in &report.probes {
        out.push_str(&escape(&p.summary()));
        out.push('\n');
        for more in p.problems.iter().skip(1) {
            out.push_str(&format!("  {}\n", escape(more)));
        }
    }
    if !report.ca_keys_encrypted {
        out.push_str(UNENCRYPTED_NOTE);
    }
    out
}

/// `verify`: the Nagios summary and a line per problem.
pub fn verify_text(report: &VerifyReport) -> String {
    let mut out = format!(
        "PGCA {} - {} certificates checked, {} problems\n",
        report.status,
        report.certificates,
        report.problems.len()
    );
    for p in &report.problems {
        out.push_str(&format!(
            "{}: {}: {}\n",
            p.status,
            path(&p.path),
            escape(&p.what)
        ));
    }
    out
}

/// What stopped `check` or `verify`: Nagios UNKNOWN, on stdout where Nagios reads it.
/// `probe`: a Nagios line per target (the worst first line is the exit status's reason), then
/// every further finding of a target that is not OK.
pub fn probe_text(report: &ProbeReport) -> String {
    let mut out = String::new();
    for r in &report.targets {
        out.push_str(&escape(&r.summary()));
        out.push('\n');
        for p in r.problems.iter().skip(1) {
            out.push_str(&format!("  {}\n", escape(p)));
        }
        if let Some(names) = &r.client_ca_names {
            out.push_str(&format!(
                "  asks for a client certificate from: {}\n",
                if names.is_empty() {
                    "any CA".to_string()
                } else {
                    escape(&names.join("; ")).into_owned()
                }
            ));
        }
    }
    out
}

pub fn unknown_text(status: pgca::Status, message: &str) -> String {
    format!("PGCA {status} - {}\n", escape(message))
}

/// `revoke`: what was revoked, the CRL, what stays valid, where the CRL went.
pub fn revoke_text(done: &Revoked, reason: Reason) -> String {
    let mut out = String::new();
    for (kind, name, serial) in &done.already {
        out.push_str(&format!(
            "{kind} {} (serial {serial}) was revoked already: nothing to do\n",
            escape(name)
        ));
    }
    for (kind, name, serial) in &done.revoked {
        out.push_str(&format!(
            "revoked {kind} {} (serial {serial}, {reason})\n",
            escape(name)
        ));
    }
    if let Some(crl) = &done.crl {
        out.push_str(&format!("  wrote {}\n", path(crl)));
    }
    for (kind, name, serial) in &done.still_valid {
        out.push_str(&format!(
            "  still valid: {kind} {} serial {serial} (revoke it by serial, or leave out --only-current)\n",
            escape(name)
        ));
    }
    if let Some(c) = &done.crl_record {
        out.push_str(&clamp_note(c));
    }
    for d in &done.redeployed {
        out.push_str(&format!(
            "  deployed to {}: reload PostgreSQL to enforce it\n",
            path(d)
        ));
    }
    out
}

/// `crl`: each CRL written in the CA directory `root`, with its number and next update.
pub fn crls_text(root: &Path, crls: &[CrlRecord]) -> String {
    crls.iter()
        .map(|c| {
            format!(
                "wrote {} (CRL number {}, next update {})\n{}",
                path(&root.join(format!("{}.crl", c.ca))),
                c.number,
                timefmt::human(c.next_update),
                clamp_note(c)
            )
        })
        .collect()
}

/// `client-install --forget`.
pub fn forgotten_text(role: &str, dir: &Path) -> String {
    format!(
        "forgot the install of {} in {}: renew no longer installs there (the files stay)\n",
        escape(role),
        path(dir)
    )
}

/// `repair`: the damage, each record added (or that would be), what was set aside.
pub fn repair_text(r: &pgca::RepairReport) -> String {
    if !r.needed() {
        return format!("{}: nothing to repair\n", path(&r.inventory));
    }
    let mut out = String::new();
    if let Some(d) = &r.damage {
        out.push_str(&format!("damaged: {}\n", escape(d)));
    }
    if r.cut_bytes > 0 {
        out.push_str(&format!(
            "{} bytes at the end do not read and are set aside\n",
            r.cut_bytes
        ));
    }
    let verb = if r.written {
        "recorded"
    } else {
        "would record"
    };
    for x in &r.restored {
        let what = match (x.event, &x.serial, x.number) {
            ("crl", _, Some(n)) => format!("CRL number {n} of {}", escape(&x.name)),
            ("rollover-started", Some(s), _) => format!(
                "a rollover of the {} to serial {s}, in phase trust-both (run `pgca rollover switch {}` again if it had switched)",
                x.kind,
                x.kind.side().name()
            ),
            ("revoked", Some(s), _) => {
                format!(
                    "the revocation of {} {} (serial {s})",
                    x.kind,
                    escape(&x.name)
                )
            }
            (_, Some(s), _) => format!("{} {} (serial {s})", x.kind, escape(&x.name)),
            _ => format!("{} {}", x.kind, escape(&x.name)),
        };
        out.push_str(&format!("{verb} {what}, from {}\n", path(&x.from)));
    }
    match &r.set_aside {
        Some(aside) => out.push_str(&format!(
            "wrote {} (the damaged file is kept as {}); deploy again what was deployed after the damage\n",
            path(&r.inventory),
            path(aside)
        )),
        None => out.push_str("nothing written: run `pgca repair --write` to record it\n"),
    }
    out
}

/// A line saying a CRL's nextUpdate was cut to its CA's expiry, or nothing.
pub fn clamp_note(c: &CrlRecord) -> String {
    if !c.clamped_to_ca_expiry {
        return String::new();
    }
    let side = c.ca.side();
    format!(
        "note: {}.crl's next update is clamped to the {} CA's expiry, {}: a CRL cannot outlive its CA\n",
        c.ca,
        side.name(),
        timefmt::human(c.next_update)
    )
}

/// `renew`: a line per renewed certificate (and where it was deployed), per CRL, per deployment
/// or install written again for its trust files alone; `nothing to renew` unless `quiet`.
pub fn renew_text(report: &RenewReport, quiet: bool) -> String {
    let mut out = String::new();
    for r in &report.renewed {
        let i = &r.issued;
        out.push_str(&format!(
            "renewed {} {}: serial {} -> {}, expires {}\n",
            i.kind,
            escape(&i.name),
            r.old_serial,
            i.serial,
            timefmt::human(i.not_after)
        ));
        if i.external_key {
            out.push_str(
                "  external key: re-signed the recorded public key; the host keeps its key, copy the new certificate to it\n",
            );
        }
        for d in &r.redeployed {
            out.push_str(&format!(
                "  deployed to {} (reload PostgreSQL to use it)\n",
                path(d)
            ));
        }
        for d in &r.reinstalled {
            out.push_str(&format!("  installed to {}\n", path(d)));
        }
    }
    for c in &report.crls {
        out.push_str(&format!(
            "renewed {}.crl: CRL number {}, next update {}\n",
            c.ca,
            c.number,
            timefmt::human(c.next_update)
        ));
        out.push_str(&clamp_note(c));
    }
    for (kind, name, serial) in &report.online {
        out.push_str(&format!(
            "left {kind} {} (serial {serial}) to its host's pgca agent: issued online, renewed through pgca serve\n",
            escape(name)
        ));
    }
    for d in &report.refreshed {
        out.push_str(&format!(
            "refreshed {}: its CA bundle or CRL differed from the CA directory's (a data directory: reload PostgreSQL to use it)\n",
            path(d)
        ));
    }
    if report.renewed.is_empty()
        && report.crls.is_empty()
        && report.refreshed.is_empty()
        && report.online.is_empty()
        && !quiet
    {
        out.push_str("nothing to renew\n");
    }
    out
}

/// `deploy-server`: where it went and how to switch PostgreSQL over.
pub fn deployed_text(name: &str, d: &Deployed) -> String {
    format!(
        "deployed server certificate {} (serial {}) to {}
  include it at the end of postgresql.conf:  include_if_exists = '{}'
  then reload PostgreSQL: pg_ctl reload, or SELECT pg_reload_conf()
",
        escape(name),
        d.serial,
        path(&d.data_dir),
        path(&d.include_file)
    )
}

/// `client-install`: where the files went and how to connect.
pub fn installed_text(role: &str, dir: &Path) -> String {
    format!(
        "installed role {}'s certificate in {}: postgresql.crt, postgresql.key, root.crt, postgresql.pk8
  connect with: psql \"host=HOST user={} sslmode=verify-full\"
",
        quoted(role),
        path(dir),
        escape(&pgca::pg::conninfo::libpq_value(role))
    )
}

/// `service add`.
pub fn service_added(replaced: bool, name: &str, file: &Path) -> String {
    let verb = if replaced { "replaced" } else { "added" };
    format!(
        "{verb} service {} in {}: psql \"service={}\"\n",
        quoted(name),
        path(file),
        escape(name)
    )
}

/// `service remove`.
pub fn service_removed(name: &str, file: &Path) -> String {
    format!("removed service {} from {}\n", quoted(name), path(file))
}

/// `service list`: a line per section, and whether libpq ever reads it.
pub fn service_list(sections: &[Section]) -> String {
    let mut out = String::new();
    for s in sections {
        let get = |k: &str| {
            s.entries
                .iter()
                .find(|e| e.key == k)
                .map_or("-", |e| e.value.as_str())
        };
        let note = match s.shadowed_by {
            Some(first) => format!("  (ignored by libpq: line {first} has the same name)"),
            None => String::new(),
        };
        out.push_str(&format!(
            "{}  line {}  user={} host={} sslmode={}{note}\n",
            escape(&s.name),
            s.line,
            escape(get("user")),
            escape(get("host")),
            escape(get("sslmode"))
        ));
    }
    out
}

/// `service show`: the section as libpq reads it, `sslpassword` hidden.
pub fn service_show(s: &Section) -> String {
    let mut out = format!("[{}]\n", s.name);
    for e in &s.entries {
        let v = if e.key == "sslpassword" {
            "(hidden)"
        } else {
            e.value.as_str()
        };
        out.push_str(&format!("{}={v}\n", e.key));
    }
    out
}

/// `inspect`'s rows. Every value is printed through [`escape`]: a foreign
/// certificate's names may hold terminal escape sequences and line breaks.
pub fn inspect_text(file: &Path, i: &CertInfo, now: OffsetDateTime) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut rows: Vec<(&str, String)> = vec![
        ("file", file.display().to_string()),
        (
            "subject",
            if i.subject.is_empty() {
                "-".to_string()
            } else {
                i.subject.clone()
            },
        ),
        ("issuer", i.issuer.clone()),
        ("serial", i.serial.to_string()),
        ("not before", timefmt::human(i.not_before)),
        (
            "not after",
            format!(
                "{} ({} days left)",
                timefmt::human(i.not_after),
                i.days_left(now)
            ),
        ),
        ("key type", i.key_type.clone()),
        ("signature", i.signature_algorithm.clone()),
        ("CA", yes_no(i.is_ca).to_string()),
    ];
    if let Some(p) = i.path_len {
        rows.push(("path length", p.to_string()));
    }
    rows.extend([
        ("SANs", list(&i.sans)),
        ("key usage", list(&i.key_usage)),
        ("extended key usage", list(&i.extended_key_usage)),
        (
            "subject key id",
            i.subject_key_id.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "authority key id",
            i.authority_key_id.clone().unwrap_or_else(|| "-".into()),
        ),
        ("SHA-256 fingerprint", i.sha256_fingerprint.clone()),
    ]);
    rows_text(rows)
}

/// `inspect`'s rows for a CRL, the issuer and file name escaped as in [`inspect_text`], then a
/// line per revoked certificate.
pub fn crl_text(file: &Path, c: &CrlInfo) -> String {
    let mut out = format!(
        "file:         {}\nissuer:       {}\nCRL number:   {}\nthis update:  {}\nnext update:  {}\nauthority key id: {}\nrevoked:      {}\n",
        path(file),
        escape(&c.issuer),
        c.number.map_or("-".to_string(), |n| n.to_string()),
        timefmt::human(c.this_update),
        c.next_update.map_or("-".to_string(), timefmt::human),
        c.authority_key_id.as_deref().unwrap_or("-"),
        c.revoked.len()
    );
    for r in &c.revoked {
        out.push_str(&format!(
            "  {}  {}  {}\n",
            r.serial,
            timefmt::human(r.at),
            r.reason.as_deref().unwrap_or("unspecified")
        ));
    }
    out
}

/// `key: value` rows, the values aligned and escaped.
fn rows_text(rows: Vec<(&str, String)>) -> String {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    rows.into_iter()
        .map(|(k, v)| format!("{:<w$} {}\n", format!("{k}:"), escape(&v)))
        .collect()
}

/// `export`.
pub fn exported_text(e: &pgca::Exported) -> String {
    let mut s = format!(
        "exported {} {} (serial {}) as {} to {}\n",
        e.kind.name(),
        quoted(&e.name),
        e.serial,
        e.format,
        path(&e.out)
    );
    for f in &e.files {
        s.push_str(&format!("  {}\n", path(f)));
    }
    if !e.secrets.is_empty() {
        s.push_str(&format!("  secrets: {}\n", escape(&e.secrets.join(", "))));
    }
    if let Some(r) = &e.replication {
        let how = if r.issued {
            "issued now"
        } else {
            "the current one"
        };
        s.push_str(&format!(
            "  replication: client streaming_replica, serial {} ({how})\n",
            r.serial
        ));
    }
    s
}

/// `request`: the key and request written, and what to do next.
pub fn requested_text(r: &pgca::request::Requested) -> String {
    let kind = if r.kind == pgca::CertKind::Server {
        "--server"
    } else {
        "--client"
    };
    format!(
        "wrote a key ({}) and a certificate request for {}\n  key:     {}{}\n  request: {}\nnext: copy the request to the CA host and run pgca sign {} {kind}; the key stays here\n",
        r.key_type,
        escape(&r.names.join(", ")),
        path(&r.key_path),
        if r.encrypted_key { " (encrypted)" } else { "" },
        path(&r.csr_path),
        r.csr_path
            .file_name()
            .map(|n| escape(&n.to_string_lossy()).into_owned())
            .unwrap_or_default(),
    )
}

/// `request --json`.
pub fn requested_json(r: &pgca::request::Requested) -> serde_json::Value {
    serde_json::json!({
        "kind": r.kind,
        "name": r.name,
        "names": r.names,
        "key_type": r.key_type,
        "key": r.key_path,
        "csr": r.csr_path,
        "encrypted_key": r.encrypted_key,
    })
}

/// `sign`: the certificate made for a request, and what of the request was ignored.
pub fn signed_text(
    i: &IssuedCert,
    csr: &pgca::x509::csr::CsrRequest,
    out: Option<&Path>,
) -> String {
    let mut s = format!(
        "{} {} certificate for {} (serial {}, {}, expires {}, external key)\n  certificate: {}\n",
        if i.replaced.is_some() {
            "replaced"
        } else {
            "signed"
        },
        i.kind,
        escape(&i.name),
        i.serial,
        i.key_type,
        timefmt::human(i.not_after),
        path(&i.cert_path),
    );
    if let Some(out) = out {
        s.push_str(&format!("  copied to:   {}\n", path(out)));
    }
    if csr.asked_ca {
        s.push_str("  note: the request asked for CA:TRUE; the certificate is a leaf (CA:FALSE)\n");
    }
    if csr.ignored_names > 0 {
        s.push_str(&format!(
            "  note: {} requested name(s) of other types (e-mail, URI, …) were not signed\n",
            csr.ignored_names
        ));
    }
    if i.kind == pgca::CertKind::Client && !csr.alt_names.is_empty() {
        s.push_str(&format!(
            "  note: the requested alternative name(s) {} were not signed: a client certificate names its role in the CN only\n",
            escape(&csr.alt_names.join(", "))
        ));
    }
    s
}

/// `sign --json`: `{"issued": [...]}` as `issue-* --json` gives it (`key` null, `external_key`
/// true), and `out`, the copy written (or null).
pub fn signed_json(i: &IssuedCert, out: Option<&Path>) -> serde_json::Value {
    serde_json::json!({
        "issued": [json::IssuedJson::from(i)],
        "out": out,
    })
}

/// `audit`: a Nagios summary line, then each target's findings grouped by severity, worst
/// first, each with where it is and what to change.
pub fn audit_text(report: &pgca::audit::AuditReport) -> String {
    let mut out = String::new();
    let (mut c, mut w, mut u, mut i) = (0, 0, 0, 0);
    for t in &report.targets {
        let (tc, tw, tu, ti) = t.counts();
        (c, w, u, i) = (c + tc, w + tw, u + tu, i + ti);
    }
    // One target that could not be read: one line, as any UNKNOWN.
    if let [t] = report.targets.as_slice()
        && let Some(e) = &t.error
    {
        return format!(
            "PGCA AUDIT UNKNOWN - {}: {}\n",
            escape(&t.target),
            escape(e)
        );
    }
    let failed = report.targets.iter().filter(|t| t.error.is_some()).count();
    out.push_str(&format!(
        "PGCA AUDIT {} - {} target(s): {c} critical, {w} warning, {u} unknown, {i} info{}\n",
        report.status,
        report.targets.len(),
        if failed > 0 {
            format!(", {failed} not read")
        } else {
            String::new()
        }
    ));
    for t in &report.targets {
        out.push_str(&format!("\n{}: {}\n", escape(&t.target), t.status));
        if let Some(e) = &t.error {
            out.push_str(&format!("  {}\n", escape(e)));
            continue;
        }
        findings_text(&t.findings, &mut out);
    }
    out
}

fn findings_text(findings: &[pgca::audit::AuditFinding], out: &mut String) {
    let mut last = None;
    for f in findings {
        if last != Some(f.severity) {
            out.push_str(&format!("  {}\n", f.severity));
            last = Some(f.severity);
        }
        let at = match &f.location {
            Some(l) => match l.line {
                Some(n) => format!(" ({}:{n})", l.file.display()),
                None => format!(" ({})", l.file.display()),
            },
            None => String::new(),
        };
        out.push_str(&format!(
            "    {}  {}{}\n      {}\n      fix: {}\n",
            f.check,
            escape(&f.subject),
            escape(&at),
            escape(&f.message),
            f.fix
        ));
    }
}

/// `roles`: the findings, then what --revoke-orphans and --issue-missing did.
pub fn roles_text(report: &pgca::audit::RolesReport) -> String {
    let mut out = format!(
        "PGCA ROLES {} - {}: {} finding(s), {} orphan certificate(s), {} role(s) without one\n",
        report.status,
        escape(&report.target),
        report.findings.len(),
        report.orphans.len(),
        report.missing.len()
    );
    findings_text(&report.findings, &mut out);
    for o in &report.revoked {
        out.push_str(&format!(
            "revoked {} ({}): the role does not exist\n",
            escape(&o.role),
            o.serial
        ));
    }
    if let Some(n) = report.crl_number {
        out.push_str(&format!("client CRL number {n} written\n"));
    }
    for d in &report.redeployed {
        out.push_str(&format!(
            "deployed the CRL to {}: reload PostgreSQL there\n",
            escape(&d.display().to_string())
        ));
    }
    for (role, serial) in &report.issued {
        out.push_str(&format!("issued {} ({serial})\n", escape(role)));
    }
    out
}
