//! What pgca refuses to write into a service file: keys outside [`WRITABLE_KEYS`], and any name
//! or value libpq would read differently from what was meant (see the [service
//! module](super) documentation). Also the keywords libpq itself accepts.

use super::lines::MAX_LINE_BYTES;
use crate::error::{Error, Result};

/// The keys pgca writes into a service section: libpq connection keywords (PostgreSQL 15), all
/// taken by libpq as they are.
pub const WRITABLE_KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "sslcrldir",
    "sslpassword",
    "application_name",
    "connect_timeout",
    "target_session_attrs",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
];

/// Every keyword libpq 15 accepts in a service section (`PQconninfoOptions` in fe-connect.c,
/// without `service`, which is refused there), then those libpq 16 and 17 added: an older libpq
/// refuses the newer ones, which this module does not report.
pub(crate) const LIBPQ_KEYWORDS: &[&str] = &[
    "user",
    "password",
    "passfile",
    "channel_binding",
    "connect_timeout",
    "dbname",
    "host",
    "hostaddr",
    "port",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslmode",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "replication",
    "target_session_attrs",
    // libpq 16
    "sslcertmode",
    "require_auth",
    "gssdelegation",
    "load_balance_hosts",
    // libpq 17
    "sslnegotiation",
];

/// The longest line pgca writes with the line ending `eol`, without the ending.
fn max_line(eol: &str) -> usize {
    MAX_LINE_BYTES + 1 - eol.len()
}

/// Why libpq, reading the file line by line and trimming each, would not read `text` (a name or
/// a value) as it is, if it would not.
fn line_problem(text: &str) -> Option<&'static str> {
    if text.chars().any(char::is_control) {
        return Some(
            "control characters (newline, carriage return, tab…) are not allowed: \
             libpq reads the file line by line",
        );
    }
    if text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace) {
        return Some("white space at either end is not allowed: libpq trims lines");
    }
    None
}

/// Refuses a service name libpq would read differently from what was meant.
pub(super) fn check_name(name: &str, eol: &str) -> Result<()> {
    let bad = |reason: String| {
        Err(Error::InvalidServiceName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty".into());
    }
    if let Some(reason) = line_problem(name) {
        return bad(reason.into());
    }
    if name.contains(['[', ']']) {
        return bad("'[' and ']' are not allowed: libpq ends the name at the first ']'".into());
    }
    let len = name.len() + 2;
    if len > max_line(eol) {
        return bad(format!(
            "too long: the line [NAME] would be {len} bytes, libpq reads at most {}",
            max_line(eol)
        ));
    }
    Ok(())
}

/// Refuses a key pgca does not write, and a value libpq would read differently.
pub(super) fn check_entry(key: &str, value: &str, eol: &str) -> Result<()> {
    if !WRITABLE_KEYS.contains(&key) {
        return Err(Error::UnknownServiceKey {
            key: key.to_string(),
            expected: WRITABLE_KEYS,
        });
    }
    let bad = |reason: String| {
        Err(Error::InvalidServiceValue {
            key: key.to_string(),
            value: (key != "sslpassword").then(|| value.to_string()),
            reason,
        })
    };
    if value.is_empty() {
        return bad("empty: leave the key out instead".into());
    }
    if let Some(reason) = line_problem(value) {
        return bad(reason.into());
    }
    if key == "sslkey" && value.contains(':') {
        return bad(
            "libpq reads \"engine:key\" in sslkey as an OpenSSL engine key, not a file: \
             use a path without ':'"
                .into(),
        );
    }
    let len = key.len() + 1 + value.len();
    if len > max_line(eol) {
        return bad(format!(
            "the line {key}=… would be {len} bytes, libpq reads at most {}",
            max_line(eol)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use proptest::collection::vec;
    use proptest::sample::select;
    use proptest::strategy::Strategy;
    use proptest::{prop_assert, prop_assert_eq, prop_oneof};

    use super::super::edit::{ServiceFile, Upserted};
    use super::super::testing::{
        Bytes, PATH, POOL, VALUES, check, file, owned, pairs, plain_get, plain_headers,
        service_file,
    };
    use super::*;

    // ---- refusals ----

    #[test]
    fn a_role_name_cannot_inject_a_section() {
        let evil = "x\n[evil]\nhost=attacker";
        let before = "[a]\nhost=1\n";
        let mut f = file(before);
        for r in [
            f.clone().upsert("a", &[("user", evil)], true),
            f.clone().upsert(evil, &[("user", "x")], true),
            f.clone()
                .upsert("b", &[("sslcert", &format!("/certs/{evil}.crt"))], true),
            f.upsert("x\r[evil]", &[("host", "h")], true),
        ] {
            let e = r.unwrap_err().to_string();
            assert!(e.contains("control characters"), "{e}");
            assert!(!e.contains('\n') && !e.contains('\r'), "{e:?}");
        }
        assert_eq!(f.to_bytes(), before.as_bytes());
        assert!(f.get("evil").is_none());
    }

    #[test]
    fn every_dangerous_service_name_is_refused_and_nothing_changes() {
        let long_ok = "n".repeat(MAX_LINE_BYTES - 2);
        let long_bad = "n".repeat(MAX_LINE_BYTES - 1);
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("a\nb", "control characters"),
            ("a\rb", "control characters"),
            ("a\tb", "control characters"),
            ("a\0b", "control characters"),
            ("a\u{7f}", "control characters"),
            ("a\u{85}b", "control characters"),
            ("a\u{1b}[0m", "control characters"),
            (" a", "white space"),
            ("a ", "white space"),
            ("a\u{a0}", "white space"),
            ("\u{3000}a", "white space"),
            ("[a", "'[' and ']'"),
            ("a]", "'[' and ']'"),
            ("a]b", "'[' and ']'"),
            ("[a]", "'[' and ']'"),
            (&long_bad, "too long"),
        ];
        let before = "[z]\nhost=1\n";
        let mut f = file(before);
        for (name, reason) in cases {
            let e = f.upsert(name, &[("host", "h")], true).unwrap_err();
            assert!(
                matches!(e, Error::InvalidServiceName { .. }),
                "{name:?}: {e}"
            );
            let msg = e.to_string();
            assert!(msg.contains(reason), "{name:?}: {msg}");
            assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
            assert_eq!(f.to_bytes(), before.as_bytes(), "{name:?}");
        }
        // At the limit: the header line is exactly 1021 bytes.
        f.upsert(&long_ok, &[("host", "h")], false).unwrap();
        assert!(f.get(&long_ok).unwrap().problems.is_empty());
        // With CRLF the \r counts.
        let mut f = file("[z]\r\n");
        assert!(f.upsert(&long_ok, &[("host", "h")], false).is_err());
        f.upsert(&long_ok[1..], &[("host", "h")], false).unwrap();
    }

    #[test]
    fn every_dangerous_key_or_value_is_refused_and_nothing_changes() {
        let cases: &[(&str, &str, &str)] = &[
            ("host", "", "empty"),
            ("host", "x\ny", "control characters"),
            ("host", "x\r", "control characters"),
            ("host", "a\tb", "control characters"),
            ("host", "x\0", "control characters"),
            ("host", "x\u{1b}[31m", "control characters"),
            ("host", "x\u{9b}", "control characters"),
            ("host", " x", "white space"),
            ("host", "x ", "white space"),
            ("host", "x\u{2028}", "white space"),
            ("sslkey", "pkcs11:token", "engine"),
            ("sslkey", "/keys/a:b.key", "engine"),
        ];
        let before = "[z]\nhost=1\n";
        let mut f = file(before);
        for (key, value, reason) in cases {
            let e = f
                .upsert("a", &[("port", "1"), (key, value)], false)
                .unwrap_err();
            assert!(
                matches!(e, Error::InvalidServiceValue { .. }),
                "{value:?}: {e}"
            );
            let msg = e.to_string();
            assert!(msg.contains(reason), "{value:?}: {msg}");
            assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
            assert_eq!(f.to_bytes(), before.as_bytes());
        }
        for key in [
            "password", "service", "Host", "host ", "", "ldap", "options", "x\ny",
        ] {
            let e = f.upsert("a", &[(key, "v")], false).unwrap_err();
            assert!(matches!(e, Error::UnknownServiceKey { .. }), "{key:?}: {e}");
            assert!(
                e.to_string().contains("expected one of host, hostaddr"),
                "{e}"
            );
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        let e = f
            .upsert("a", &[("host", "1"), ("port", "2"), ("host", "3")], false)
            .unwrap_err();
        assert_eq!(e.to_string(), "\"host\" is given twice");
        assert_eq!(f.to_bytes(), before.as_bytes());
    }

    #[test]
    fn secrets_never_appear_in_messages() {
        let mut f = ServiceFile::new(PATH);
        let e = f
            .upsert("a", &[("sslpassword", "hunter2\n")], false)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("(hidden)"), "{e}");
        let e = f
            .upsert("a", &[("user", "bob\n")], false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"bob\\n\""), "{e}");
    }

    #[test]
    fn values_libpq_takes_verbatim_are_written_verbatim() {
        let entries: &[(&str, &str)] = &[
            ("application_name", "#not a comment"),
            ("dbname", "k=v=w"),
            ("user", "two words"),
            ("host", "Zürich-東京"),
            ("sslcert", "C:/certs/a.crt"),
            ("sslkey", "/keys/[a].key"),
            ("sslpassword", "p@ss;w=rd#1"),
            ("target_session_attrs", "read-write"),
        ];
        let mut f = file("[z]\nhost=1\n");
        f.upsert("My Service é", entries, false).unwrap();
        assert_eq!(pairs(&f, "My Service é").unwrap(), owned(entries));
        assert!(f.get("My Service é").unwrap().problems.is_empty());
    }

    #[test]
    fn value_lines_may_be_1021_bytes_and_no_more() {
        let mut f = ServiceFile::new(PATH);
        let ok = "v".repeat(MAX_LINE_BYTES - "host=".len());
        let bad = format!("{ok}v");
        let e = f.upsert("a", &[("host", &bad)], false).unwrap_err();
        assert!(
            e.to_string()
                .contains("would be 1022 bytes, libpq reads at most 1021"),
            "{e}"
        );
        assert!(e.to_string().len() < 200, "{e}");
        f.upsert("a", &[("host", &ok)], false).unwrap();
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("host", &ok)]));
        // In a CRLF file the \r counts.
        let mut f = file("[z]\r\n");
        let e = f.upsert("a", &[("host", &ok)], false).unwrap_err();
        assert!(e.to_string().contains("at most 1020"), "{e}");
        f.upsert("a", &[("host", &ok[1..])], false).unwrap();
        assert_eq!(pairs(&f, "a").unwrap(), owned(&[("host", &ok[1..])]));
    }

    /// Pieces of hostile names, keys and values.
    const HOSTILE: &[&str] = &[
        "a", "b", "x", "host", "\n", "\r", "\r\n", "[", "]", "=", "#", " ", "\t", "\0", "é",
        "\u{85}", "\u{a0}", "\u{2028}", "\u{7f}", ":", "\u{1b}", "evil", "[evil]",
    ];

    fn hostile() -> impl Strategy<Value = String> {
        vec(select(HOSTILE), 0..6).prop_map(|pieces| pieces.concat())
    }

    /// The rules of the module documentation, restated.
    fn acceptable(name: &str, entries: &[(String, String)]) -> bool {
        let clean = |s: &str| {
            !s.is_empty()
                && !s.chars().any(char::is_control)
                && !s.starts_with(char::is_whitespace)
                && !s.ends_with(char::is_whitespace)
        };
        clean(name)
            && !name.contains(['[', ']'])
            && entries.iter().enumerate().all(|(i, (k, v))| {
                WRITABLE_KEYS.contains(&k.as_str())
                    && clean(v)
                    && !(k == "sslkey" && v.contains(':'))
                    && !entries[..i].iter().any(|(e, _)| e == k)
            })
    }

    #[test]
    fn property_hostile_input_is_refused_or_read_back_exactly() {
        // The plain choices first: proptest shrinks toward the first.
        let name = prop_oneof![
            6 => select(POOL).prop_map(str::to_string),
            4 => hostile(),
        ];
        let key = prop_oneof![
            9 => select(WRITABLE_KEYS).prop_map(str::to_string),
            1 => hostile(),
        ];
        let value = prop_oneof![
            6 => select(VALUES).prop_map(str::to_string),
            4 => hostile(),
        ];
        let written = Cell::new(0);
        check(
            20_000,
            (service_file(), name, vec((key, value), 1..4)),
            |(Bytes(original), name, entries)| {
                let refs: Vec<(&str, &str)> = entries
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let mut f = file(original.clone());
                let before_names: Vec<String> = f.sections().into_iter().map(|s| s.name).collect();
                let result = f.upsert(&name, &refs, true);
                let duplicated = plain_headers(&original, &name).len() > 1;
                match result {
                    Ok(outcome) => {
                        prop_assert!(acceptable(&name, &entries) && !duplicated, "accepted");
                        prop_assert_eq!(pairs(&f, &name), Some(entries.clone()));
                        prop_assert_eq!(plain_get(f.as_bytes(), &name), Some(entries.clone()));
                        let mut names: Vec<String> =
                            f.sections().into_iter().map(|s| s.name).collect();
                        let mut expected = before_names;
                        if outcome == Upserted::Added {
                            expected.push(name.clone());
                        }
                        names.sort();
                        expected.sort();
                        prop_assert_eq!(names, expected, "sections appeared or vanished");
                        written.set(written.get() + 1);
                    }
                    Err(e) => {
                        prop_assert!(!acceptable(&name, &entries) || duplicated, "{e}");
                        prop_assert_eq!(Bytes(f.to_bytes()), Bytes(original), "changed on refusal");
                        prop_assert!(!e.to_string().contains(['\n', '\r']), "{e:?}");
                    }
                }
                Ok(())
            },
        );
        assert!(written.get() > 3000, "{}", written.get());
    }
}
