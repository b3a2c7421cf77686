//! Kubernetes Secret manifests and the DNS-1123 names they need.

use base64::Engine;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Whether `s` is a DNS-1123 subdomain (what a Secret's name must be): at most 253 characters,
/// dot-separated labels of lowercase letters, digits and `-`, each starting and ending with a
/// letter or digit.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && !s.is_empty() && s.split('.').all(is_label_like)
}

/// Whether `s` is a DNS-1123 label (what a namespace must be): at most 63 characters.
pub fn is_dns1123_label(s: &str) -> bool {
    s.len() <= 63 && is_label_like(s)
}

fn is_label_like(s: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let b = s.as_bytes();
    !b.is_empty()
        && alnum(b[0])
        && alnum(b[b.len() - 1])
        && b.iter().all(|&c| alnum(c) || c == b'-')
}

/// `s` made a DNS-1123 subdomain of at most `max` characters: lowercased, every other
/// character `-`, each label trimmed of `-`, empty labels dropped. `pgca-client-Alice_B` →
/// `pgca-client-alice-b`.
pub fn sanitise(s: &str, max: usize) -> String {
    let lower: String = s
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '.') => c,
            _ => '-',
        })
        .collect();
    let mut out = lower
        .split('.')
        .map(|l| l.trim_matches('-'))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    out.truncate(max.min(253));
    while out.ends_with(['-', '.']) {
        out.pop();
    }
    out
}

/// Checks a Secret name given by the caller.
pub fn check_name(name: &str) -> Result<()> {
    if is_dns1123_subdomain(name) {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            what: "Secret name",
            value: name.to_string(),
            reason: "not a DNS-1123 name (lowercase letters, digits, '-' and '.', at most 253)",
        })
    }
}

/// Checks a namespace given by the caller.
pub fn check_namespace(ns: &str) -> Result<()> {
    if is_dns1123_label(ns) {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            what: "namespace",
            value: ns.to_string(),
            reason: "not a DNS-1123 label (lowercase letters, digits and '-', at most 63)",
        })
    }
}

/// One Secret manifest (a YAML document): `name` and `namespace` must already be checked
/// DNS-1123 names; `data` keys are fixed ASCII (`tls.crt`), the values are base64-encoded.
pub fn secret(
    name: &str,
    namespace: Option<&str>,
    secret_type: &str,
    data: &[(&str, &[u8])],
) -> Zeroizing<String> {
    let mut y = Zeroizing::new(String::new());
    y.push_str("apiVersion: v1\nkind: Secret\nmetadata:\n");
    y.push_str(&format!("  name: {name}\n"));
    if let Some(ns) = namespace {
        y.push_str(&format!("  namespace: {ns}\n"));
    }
    y.push_str("  labels:\n    app.kubernetes.io/managed-by: pgca\n");
    y.push_str(&format!("type: {secret_type}\ndata:\n"));
    for (key, value) in data {
        let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(value));
        y.push_str("  ");
        y.push_str(key);
        y.push_str(": ");
        y.push_str(&b64);
        y.push('\n');
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_dns1123() {
        assert_eq!(sanitise("pgca-client-Alice_B", 253), "pgca-client-alice-b");
        assert_eq!(
            sanitise("pgca-server-db.example.com", 253),
            "pgca-server-db.example.com"
        );
        assert_eq!(
            sanitise("pgca-server-*.example.com", 253),
            "pgca-server.example.com"
        );
        assert_eq!(sanitise("pgca-client-a..b-", 253), "pgca-client-a.b");
        for s in [
            "pgca-client-Alice_B",
            "pgca-server-*.x",
            "pgca-client-ü",
            "pgca-client-a--",
        ] {
            assert!(is_dns1123_subdomain(&sanitise(s, 253)), "{s}");
        }
        assert!(sanitise(&"a".repeat(400), 253).len() <= 253);
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("pgca-client-alice").is_ok());
        assert!(check_name("Bad").is_err());
        assert!(check_name("-a").is_err());
        assert!(check_namespace("prod").is_ok());
        assert!(check_namespace("a.b").is_err());
    }
}
