//! `pgca audit --format html`: the report as one self-contained page an admin opens in a
//! browser, prints or attaches to a ticket.
//!
//! The page loads nothing: the style is inline, the timeline is inline SVG, there is no script,
//! no font, no image and no link but to its own sections (`#t1`). Its
//! `Content-Security-Policy` ([`CSP`]) makes a browser refuse any fetch all the same. Every
//! piece of text from the report is shown as text output shows it
//! ([`crate::model::text::escape`]: control, invisible and bidirectional characters as escapes),
//! then HTML-escaped (`markup`); attributes hold only what this file writes (classes, numbers,
//! ids).
//!
//! Per target: a header with its status (the colour and the word), the findings grouped by
//! severity (check, subject, where it is written, what was found, the fix), the TLS settings and
//! what a probe saw (version, cipher, the served chain), and a timeline of every certificate's
//! and CA's validity (drawn by `timeline`).

use time::OffsetDateTime;

use super::facts::Source;
use super::finding::{AuditFinding, Location, Severity};
use super::markup::{date, escape, relative};
use super::report::{AuditReport, TargetReport, TlsFacts};
use super::timeline::timeline_svg;
use crate::model::status::Status;
use crate::model::timefmt;
use crate::probe::ProbeResult;

/// The page's `Content-Security-Policy`: nothing may be fetched; inline style and `data:` images
/// only.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// The CSS class of a status: `s-ok`, `s-unknown`, `s-warning`, `s-critical`.
fn status_class(s: Status) -> &'static str {
    match s {
        Status::Ok => "s-ok",
        Status::Unknown => "s-unknown",
        Status::Warning => "s-warning",
        Status::Critical => "s-critical",
    }
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "s-critical",
        Severity::Warning => "s-warning",
        Severity::Unknown => "s-unknown",
        Severity::Info => "s-info",
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::Warning => "Warning",
        Severity::Unknown => "Unknown",
        Severity::Info => "Info",
    }
}

const STYLE: &str = r#"
:root{--fg:#1b2230;--muted:#5b6678;--bg:#f3f5f8;--card:#fff;--line:#dfe4eb;--head:#f7f9fb;
--crit:#c4302b;--warn:#b86a00;--unk:#6a5cc0;--info:#2c6cb8;--ok:#1f7f4c;--future:#7a8699;
--crit-bg:#fdeceb;--warn-bg:#fff3df;--unk-bg:#efedfb;--info-bg:#e9f1fb;--ok-bg:#e7f4ec}
@media (prefers-color-scheme:dark){:root{--fg:#e3e7ee;--muted:#9ca6b6;--bg:#12161c;--card:#1b2129;
--line:#2d3540;--head:#212832;--crit-bg:#3b1e1c;--warn-bg:#382a10;--unk-bg:#29243f;--info-bg:#172a40;
--ok-bg:#15301f}}
*{box-sizing:border-box}
html{background:var(--bg)}
body{margin:0;color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:0 20px 32px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.9em}
.s-ok{--c:var(--ok);--cb:var(--ok-bg)}.s-warning{--c:var(--warn);--cb:var(--warn-bg)}
.s-critical{--c:var(--crit);--cb:var(--crit-bg)}.s-unknown{--c:var(--unk);--cb:var(--unk-bg)}
.s-info{--c:var(--info);--cb:var(--info-bg)}
header.page{background:var(--card);border-top:8px solid var(--c);border-bottom:1px solid var(--line);padding:18px 0 14px;margin-bottom:18px}
header.page .inner{max-width:1240px;margin:0 auto;padding:0 20px}
.brand{font-size:.8em;font-weight:700;letter-spacing:.12em;text-transform:uppercase;color:var(--muted)}
h1{margin:4px 0 6px;font-size:1.6em}
h2{margin:0 0 4px;font-size:1.25em;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
h3{margin:22px 0 8px;font-size:1em;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
h4{margin:0 0 6px;font-size:1em;display:flex;align-items:center;gap:8px}
.meta{color:var(--muted);margin:0}
.badge{display:inline-block;white-space:nowrap;padding:2px 9px;border-radius:4px;background:var(--c);color:#fff;font-weight:700;font-size:.78rem;letter-spacing:.05em;line-height:1.6}
.count{display:inline-block;min-width:1.8em;padding:0 6px;border-radius:10px;background:var(--c);color:#fff;font-size:.8em;font-weight:700;text-align:center}
.count.zero{background:transparent;color:var(--muted);border:1px solid var(--line)}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:0 0 18px}
section.target{border-left:6px solid var(--c)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:6px 9px;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
th{background:var(--head);font-size:.75em;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
tr:last-child td{border-bottom:0}
table.findings{table-layout:fixed}
table.findings col.c1{width:19%}table.findings col.c2{width:15%}table.findings col.c3{width:17%}
table.findings col.c4{width:24%}table.findings col.c5{width:25%}
.title{color:var(--muted);font-size:.88em;margin-top:2px}
.fix{color:var(--muted)}
.group{border:1px solid var(--line);border-left:5px solid var(--c);border-radius:6px;background:var(--cb);padding:8px 10px 10px;margin:10px 0}
.group table{background:var(--card);border-radius:4px}
.dot{width:11px;height:11px;border-radius:50%;background:var(--c);display:inline-block}
.none{padding:10px 12px;border-radius:6px;background:var(--ok-bg);border-left:5px solid var(--ok)}
.error{padding:10px 12px;border-radius:6px;background:var(--crit-bg);border-left:5px solid var(--crit);margin:10px 0}
.tls{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,3fr);gap:16px}
@media (max-width:800px){.tls{grid-template-columns:1fr}}
.tls table{border:1px solid var(--line)}
table.kv th{width:40%;text-transform:none;letter-spacing:0;font-size:1em;color:var(--fg);font-weight:600}
table.kv thead th{font-size:.75em;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
table.overview .n{white-space:nowrap;width:1%}
.muted{color:var(--muted)}
.yes{color:var(--ok);font-weight:600}.no{color:var(--crit);font-weight:600}
ul.problems{margin:6px 0 0;padding-left:20px}
svg.timeline{width:100%;height:auto;display:block;background:var(--card)}
svg.timeline text{fill:var(--fg);font-size:12px;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
svg.timeline text.tick{fill:var(--muted);font-size:11px}
svg.timeline .kind{font-weight:700}
svg.timeline .grid{stroke:var(--line);stroke-width:1}
svg.timeline .lane{fill:var(--head)}
svg.timeline .now{stroke:var(--fg);stroke-width:2;stroke-dasharray:5 3}
svg.timeline .b-valid{fill:var(--ok)}svg.timeline .b-due{fill:var(--warn)}
svg.timeline .b-expired{fill:var(--crit)}svg.timeline .b-future{fill:var(--future)}
svg.timeline .open{stroke:var(--fg);stroke-width:1.5;stroke-dasharray:3 2}
footer{color:var(--muted);font-size:.85em;text-align:center;margin-top:24px}
a{color:inherit}
@media print{html,body{background:#fff}.card{break-inside:avoid-page}}
"#;

/// The report as one self-contained HTML page.
pub fn to_html(report: &AuditReport) -> String {
    let mut o = String::with_capacity(32 * 1024);
    let status = report.status;
    let n = report.targets.len();
    let targets = if n == 1 { "target" } else { "targets" };
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
    ));
    o.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    o.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
    o.push_str(&format!(
        "<title>pgca audit: {status} ({n} {targets}, {})</title>\n",
        timefmt::human(report.at)
    ));
    o.push_str("<style>");
    o.push_str(STYLE);
    o.push_str("</style>\n</head>\n<body>\n");

    let totals = report.targets.iter().fold([0; 4], |mut acc, t| {
        let (c, w, u, i) = t.counts();
        for (a, x) in acc.iter_mut().zip([c, w, u, i]) {
            *a += x;
        }
        acc
    });
    o.push_str(&format!(
        "<header class=\"page {}\"><div class=\"inner\">\n<div class=\"brand\">pgca audit</div>\n",
        status_class(status)
    ));
    o.push_str(&format!(
        "<h1><span class=\"badge\">{status}</span> {n} {targets} audited</h1>\n"
    ));
    o.push_str(&format!(
        "<p class=\"meta\">{} · pgca {} · {} critical · {} warning · {} unknown · {} info</p>\n",
        timefmt::human(report.at),
        env!("CARGO_PKG_VERSION"),
        totals[0],
        totals[1],
        totals[2],
        totals[3],
    ));
    o.push_str("</div></header>\n<main>\n");

    if report.targets.is_empty() {
        o.push_str("<div class=\"card\"><p class=\"none\">No target was audited.</p></div>\n");
    } else {
        overview(&mut o, report);
    }
    for (i, t) in report.targets.iter().enumerate() {
        target(&mut o, i + 1, t, report.at);
    }
    o.push_str(&format!(
        "<footer>Made by pgca {} at {}. This page loads nothing: no script, font, image or \
         link leaves it.</footer>\n",
        env!("CARGO_PKG_VERSION"),
        timefmt::human(report.at)
    ));
    o.push_str("</main>\n</body>\n</html>\n");
    o
}

fn count(o: &mut String, s: Severity, n: usize) {
    let zero = if n == 0 { " zero" } else { "" };
    o.push_str(&format!(
        "<span class=\"count {}{zero}\">{n}</span>",
        severity_class(s)
    ));
}

/// The table of targets at the top: status, counts, the next expiry.
fn overview(o: &mut String, report: &AuditReport) {
    o.push_str(
        "<div class=\"card\"><table class=\"overview\">\n<thead><tr><th class=\"n\">Status\
         </th><th>Target</th><th class=\"n\">Critical</th><th class=\"n\">Warning</th><th \
         class=\"n\">Unknown</th><th class=\"n\">Info</th><th>Next expiry</th></tr></thead>\n\
         <tbody>\n",
    );
    for (i, t) in report.targets.iter().enumerate() {
        let (c, w, u, inf) = t.counts();
        o.push_str(&format!(
            "<tr><td class=\"n\"><span class=\"badge {}\">{}</span></td><td><a class=\"mono\" \
             href=\"#t{}\">{}</a></td>",
            status_class(t.status),
            t.status,
            i + 1,
            escape(&t.target)
        ));
        for (s, n) in [
            (Severity::Critical, c),
            (Severity::Warning, w),
            (Severity::Unknown, u),
            (Severity::Info, inf),
        ] {
            o.push_str("<td class=\"n\">");
            count(o, s, n);
            o.push_str("</td>");
        }
        match t.timeline.iter().min_by_key(|e| e.not_after) {
            Some(e) => o.push_str(&format!(
                "<td>{} {} <span class=\"muted\">({}, {})</span></td>",
                escape(&e.kind),
                escape(&e.name),
                date(e.not_after),
                relative(e.not_after, report.at)
            )),
            None => o.push_str("<td class=\"muted\">none seen</td>"),
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table></div>\n");
}

fn target(o: &mut String, i: usize, t: &TargetReport, at: OffsetDateTime) {
    o.push_str(&format!(
        "<section class=\"card target {}\" id=\"t{i}\">\n<h2><span class=\"badge\">{}</span> \
         <span class=\"mono\">{}</span></h2>\n",
        status_class(t.status),
        t.status,
        escape(&t.target)
    ));
    match &t.source {
        Some(Source::Offline { conf, data_dir }) => {
            o.push_str(&format!(
                "<p class=\"meta\">Read from its files: <code>{}</code>",
                escape(&conf.display().to_string())
            ));
            if let Some(d) = data_dir {
                o.push_str(&format!(
                    ", data directory <code>{}</code>",
                    escape(&d.display().to_string())
                ));
            }
            o.push_str("</p>\n");
        }
        Some(Source::Live {
            version_num, user, ..
        }) => o.push_str(&format!(
            "<p class=\"meta\">Asked the running server: PostgreSQL {}, as role <code>{}</code></p>\n",
            pg_version(*version_num),
            escape(user)
        )),
        None => {}
    }
    if let Some(e) = &t.error {
        o.push_str(&format!(
            "<div class=\"error\"><strong>Could not be audited:</strong> {}</div>\n",
            escape(e)
        ));
    }
    if t.error.is_none() || !t.findings.is_empty() {
        findings(o, t);
    }
    if t.error.is_none() {
        tls(o, &t.tls, at);
        o.push_str("<h3>Certificates and CAs</h3>\n");
        if t.timeline.is_empty() {
            o.push_str(
                "<p class=\"muted\">No certificate or CA was seen (the CA directory and the \
                 server's certificate file give them).</p>\n",
            );
        } else {
            o.push_str(&timeline_svg(&t.timeline, at));
        }
    }
    o.push_str("</section>\n");
}

fn findings(o: &mut String, t: &TargetReport) {
    o.push_str("<h3>Findings</h3>\n");
    if t.findings.is_empty() {
        o.push_str("<p class=\"none\">No findings: nothing to change.</p>\n");
        return;
    }
    for s in [
        Severity::Critical,
        Severity::Warning,
        Severity::Unknown,
        Severity::Info,
    ] {
        let group: Vec<&AuditFinding> = t.findings.iter().filter(|f| f.severity == s).collect();
        if group.is_empty() {
            continue;
        }
        o.push_str(&format!(
            "<div class=\"group {}\">\n<h4><span class=\"dot\"></span>{} ",
            severity_class(s),
            severity_name(s)
        ));
        count(o, s, group.len());
        o.push_str(
            "</h4>\n<table class=\"findings\"><colgroup><col class=\"c1\"><col class=\"c2\">\
             <col class=\"c3\"><col class=\"c4\"><col class=\"c5\"></colgroup>\n<thead><tr>\
             <th>Check</th><th>Subject</th><th>Where</th><th>Found</th><th>Fix</th></tr>\
             </thead>\n<tbody>\n",
        );
        for f in group {
            o.push_str(&format!(
                "<tr><td><code>{}</code><div class=\"title\">{}</div></td><td><code>{}</code>\
                 </td><td>{}</td><td>{}</td><td class=\"fix\">{}</td></tr>\n",
                escape(f.check.id()),
                escape(f.check.title()),
                escape(&f.subject),
                location(f.location.as_ref()),
                escape(&f.message),
                escape(f.fix)
            ));
        }
        o.push_str("</tbody></table>\n</div>\n");
    }
}

fn location(l: Option<&Location>) -> String {
    match l {
        None => "<span class=\"muted\">—</span>".into(),
        // The file's name and line first, its directory under it.
        Some(l) => {
            let name = l.file.file_name().map_or_else(
                || l.file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let line = l.line.map(|n| format!(":{n}")).unwrap_or_default();
            let dir = match l.file.parent() {
                Some(d) if !d.as_os_str().is_empty() => format!(
                    "<div class=\"title\"><code>{}</code></div>",
                    escape(&d.display().to_string())
                ),
                _ => String::new(),
            };
            format!("<code>{}{line}</code>{dir}", escape(&name))
        }
    }
}

/// `150018` as `15.18`, `90624` as `9.6.24`.
fn pg_version(n: u32) -> String {
    if n >= 100_000 {
        format!("{}.{}", n / 10_000, n % 10_000)
    } else {
        format!("{}.{}.{}", n / 10_000, n / 100 % 100, n % 100)
    }
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "<span class=\"yes\">yes</span>",
        Some(false) => "<span class=\"no\">no</span>",
        None => "<span class=\"muted\">not known</span>",
    }
}

fn tls(o: &mut String, tls: &TlsFacts, at: OffsetDateTime) {
    o.push_str(
        "<h3>TLS</h3>\n<div class=\"tls\">\n<div><table class=\"kv\"><thead><tr>\
                <th>Setting</th><th>Value</th></tr></thead><tbody>\n",
    );
    if tls.settings.is_empty() {
        o.push_str("<tr><td colspan=\"2\" class=\"muted\">none read</td></tr>\n");
    }
    for (name, value) in &tls.settings {
        let value = if value.is_empty() {
            "<span class=\"muted\">(empty)</span>".to_string()
        } else {
            format!("<code>{}</code>", escape(value))
        };
        o.push_str(&format!(
            "<tr><th><code>{}</code></th><td>{value}</td></tr>\n",
            escape(name)
        ));
    }
    o.push_str("</tbody></table></div>\n<div>");
    match &tls.probe {
        None => o.push_str(
            "<p class=\"muted\">Not probed: the served chain is probed on a live target, or \
             with a probe address, when the CA directory is given.</p>",
        ),
        Some(p) => probe(o, p, at),
    }
    o.push_str("</div>\n</div>\n");
}

fn probe(o: &mut String, p: &ProbeResult, at: OffsetDateTime) {
    let text = |v: &Option<String>| match v {
        Some(v) => format!("<code>{}</code>", escape(v)),
        None => "<span class=\"muted\">—</span>".into(),
    };
    o.push_str(&format!(
        "<table class=\"kv\"><thead><tr><th>Probe of <code>{}</code></th><th><span \
         class=\"badge {}\">{}</span></th></tr></thead><tbody>\n",
        escape(&p.target),
        status_class(p.status),
        p.status
    ));
    let mut rows = vec![
        ("TLS version", text(&p.tls_version)),
        ("Cipher suite", text(&p.cipher_suite)),
    ];
    if p.alpn.is_some() {
        rows.push(("ALPN", text(&p.alpn)));
    }
    rows.push(("Chains to the server CA", yes_no(p.chains_to_ca).into()));
    rows.push(("Valid for the host name", yes_no(p.name_matches).into()));
    rows.push(("The current certificate", yes_no(p.is_current).into()));
    if let Some(names) = &p.client_ca_names {
        let shown: Vec<String> = names.iter().map(|n| escape(n)).collect();
        rows.push((
            "Client CAs asked for",
            if shown.is_empty() {
                "<span class=\"muted\">none named</span>".into()
            } else {
                shown.join("<br>")
            },
        ));
    }
    if let Some(l) = &p.login {
        let verdict = match (&l.refusal, l.accepted) {
            (_, true) => "<span class=\"yes\">accepted</span>".to_string(),
            (Some(why), false) => format!("<span class=\"no\">refused</span>: {}", escape(why)),
            (None, false) => "<span class=\"no\">refused</span>".to_string(),
        };
        rows.push((
            "Login",
            format!("<code>{}</code> {verdict}", escape(&l.role)),
        ));
    }
    for (k, v) in rows {
        o.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>\n"));
    }
    o.push_str("</tbody></table>\n");
    if !p.problems.is_empty() {
        o.push_str("<ul class=\"problems\">");
        for pr in &p.problems {
            o.push_str(&format!("<li>{}</li>", escape(pr)));
        }
        o.push_str("</ul>\n");
    }
    if !p.chain.is_empty() {
        o.push_str(
            "<table class=\"chain\"><thead><tr><th>#</th><th>Served subject</th><th>Serial</th>\
             <th>Not after</th></tr></thead><tbody>\n",
        );
        for (i, c) in p.chain.iter().enumerate() {
            o.push_str(&format!(
                "<tr><td>{i}</td><td><code>{}</code>{}</td><td><code>{}</code></td><td>{} \
                 <span class=\"muted\">({})</span></td></tr>\n",
                escape(&c.subject),
                if c.sans.is_empty() {
                    String::new()
                } else {
                    format!("<div class=\"title\">{}</div>", escape(&c.sans.join(", ")))
                },
                escape(&c.serial.to_string()),
                date(c.not_after),
                relative(c.not_after, at)
            ));
        }
        o.push_str("</tbody></table>\n");
    }
}
