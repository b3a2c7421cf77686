//! The settings checks: where the server listens, TLS on and at 1.3, SCRAM for new passwords,
//! the audit trail in the log.

use super::facts::{ServerFacts, pg_bool};
use super::finding::{AuditFinding, Check};

/// Every settings finding of `facts`.
pub fn check_settings(facts: &ServerFacts) -> Vec<AuditFinding> {
    let mut out = Vec::new();
    listen(facts, &mut out);
    tls(facts, &mut out);
    passwords(facts, &mut out);
    logging(facts, &mut out);
    out
}

fn finding(facts: &ServerFacts, check: Check, name: &str, message: String) -> AuditFinding {
    AuditFinding::new(check, name, message).at(facts.location(name))
}

/// A setting the check needs that the server did not show: UNKNOWN, not a pass.
fn unknown(check: Check, name: &str) -> AuditFinding {
    AuditFinding::unknown(check, name, format!("{name} could not be read"))
}

fn listen(facts: &ServerFacts, out: &mut Vec<AuditFinding>) {
    let Some(v) = facts.value("listen_addresses") else {
        return out.push(unknown(Check::ListenAll, "listen_addresses"));
    };
    let every = v
        .split(',')
        .map(str::trim)
        .any(|a| matches!(a, "*" | "0.0.0.0" | "::"));
    if every {
        out.push(finding(
            facts,
            Check::ListenAll,
            "listen_addresses",
            format!("listen_addresses = '{v}'"),
        ));
    }
}

/// The TLS protocol versions PostgreSQL names, oldest first.
const TLS_VERSIONS: &[&str] = &["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// Cipher-string words that let weak TLS 1.2 suites in unless negated.
const WEAK_CIPHERS: &[&str] = &[
    "MEDIUM",
    "LOW",
    "3DES",
    "DES",
    "RC4",
    "MD5",
    "NULL",
    "eNULL",
    "aNULL",
    "EXPORT",
    "ALL",
    "DEFAULT",
    "COMPLEMENTOFALL",
    "SEED",
    "IDEA",
    "CAMELLIA",
];

fn tls(facts: &ServerFacts, out: &mut Vec<AuditFinding>) {
    let Some(ssl) = facts.value("ssl") else {
        return out.push(unknown(Check::SslOff, "ssl"));
    };
    if pg_bool(ssl) != Some(true) {
        if facts.listens_on_tcp() {
            out.push(finding(
                facts,
                Check::SslOff,
                "ssl",
                format!(
                    "ssl = {ssl} with listen_addresses = '{}'",
                    facts.value("listen_addresses").unwrap_or("")
                ),
            ));
        }
        return;
    }
    let Some(min) = facts.value("ssl_min_protocol_version") else {
        return out.push(unknown(Check::SslMinProtocol, "ssl_min_protocol_version"));
    };
    let rank = TLS_VERSIONS
        .iter()
        .position(|v| v.eq_ignore_ascii_case(min.trim()))
        .unwrap_or(0);
    if rank >= 3 {
        return;
    }
    let shown = if min.is_empty() { "'' (any)" } else { min };
    out.push(finding(
        facts,
        Check::SslMinProtocol,
        "ssl_min_protocol_version",
        format!("ssl_min_protocol_version = {shown}"),
    ));
    match facts.value("ssl_ciphers") {
        None => out.push(unknown(Check::SslCiphers, "ssl_ciphers")),
        Some(c) => {
            let weak = weak_ciphers(c);
            if !weak.is_empty() {
                out.push(finding(
                    facts,
                    Check::SslCiphers,
                    "ssl_ciphers",
                    format!("ssl_ciphers = '{c}' allows {}", weak.join(", ")),
                ));
            }
        }
    }
}

/// The words of an OpenSSL cipher string that allow weak suites: not negated with `!` or `-`
/// anywhere in the string.
fn weak_ciphers(list: &str) -> Vec<&'static str> {
    let words: Vec<&str> = list
        .split([':', ',', ' '])
        .filter(|w| !w.is_empty())
        .collect();
    let negated = |w: &str| {
        words.iter().any(|x| {
            x.strip_prefix(['!', '-'])
                .is_some_and(|n| n.eq_ignore_ascii_case(w))
        })
    };
    WEAK_CIPHERS
        .iter()
        .copied()
        .filter(|weak| {
            words.iter().any(|w| {
                let w = w.strip_prefix('+').unwrap_or(w);
                w.split('+').any(|part| part.eq_ignore_ascii_case(weak))
            }) && !negated(weak)
        })
        .collect()
}

fn passwords(facts: &ServerFacts, out: &mut Vec<AuditFinding>) {
    match facts.value("password_encryption") {
        None => out.push(unknown(Check::PasswordEncryption, "password_encryption")),
        // Before PostgreSQL 14, `on` meant md5.
        Some(v) if !v.trim().eq_ignore_ascii_case("scram-sha-256") => out.push(finding(
            facts,
            Check::PasswordEncryption,
            "password_encryption",
            format!("password_encryption = '{v}'"),
        )),
        Some(_) => {}
    }
}

fn logging(facts: &ServerFacts, out: &mut Vec<AuditFinding>) {
    // PostgreSQL 18's log_connections is also a list of aspects (`receipt,authentication,...`);
    // only an empty list or a false boolean is off.
    for (check, name) in [
        (Check::LogConnections, "log_connections"),
        (Check::LogDisconnections, "log_disconnections"),
    ] {
        match facts.value(name) {
            None => out.push(unknown(check, name)),
            Some(v) if v.trim().is_empty() || pg_bool(v) == Some(false) => {
                out.push(finding(
                    facts,
                    check,
                    name,
                    format!("{name} = {}", shown(v)),
                ));
            }
            Some(_) => {}
        }
    }
    match facts.value("log_statement") {
        None => out.push(unknown(Check::LogStatement, "log_statement")),
        Some(v) if v.trim().eq_ignore_ascii_case("none") => out.push(finding(
            facts,
            Check::LogStatement,
            "log_statement",
            "log_statement = none".into(),
        )),
        Some(_) => {}
    }
    match facts.value("shared_preload_libraries") {
        None => out.push(unknown(Check::Pgaudit, "shared_preload_libraries")),
        Some(v) => {
            let loaded = v
                .split(',')
                .map(|l| l.trim().trim_matches('"'))
                .any(|l| l == "pgaudit");
            if !loaded {
                out.push(finding(
                    facts,
                    Check::Pgaudit,
                    "shared_preload_libraries",
                    format!("shared_preload_libraries = '{v}'"),
                ));
            }
        }
    }
}

fn shown(v: &str) -> String {
    if v.is_empty() { "''".into() } else { v.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_cipher_words_unless_negated() {
        assert_eq!(
            weak_ciphers("HIGH:MEDIUM:+3DES:!aNULL"),
            vec!["MEDIUM", "3DES"]
        );
        assert!(weak_ciphers("HIGH:!aNULL:!MD5:!3DES:!CAMELLIA").is_empty());
        assert_eq!(weak_ciphers("ALL:!LOW"), vec!["ALL"]);
        assert_eq!(weak_ciphers("HIGH:RC4-SHA"), Vec::<&str>::new());
        assert_eq!(weak_ciphers("HIGH:RC4+SHA"), vec!["RC4"]);
    }
}
