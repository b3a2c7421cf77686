//! libpq's host name rules (`sslmode=verify-full`): DNS SANs, a `*` only as the whole leftmost
//! label, matching one label; IP SANs for an IP address; the common name only when the
//! certificate has no DNS SAN.

use std::net::IpAddr;

/// Whether a certificate with these SANs (DNS names and IP addresses, as
/// [`crate::CertInfo::sans`] lists them) and common name is valid for `host` by libpq's rules.
pub fn matches(host: &str, sans: &[String], common_name: Option<&str>) -> bool {
    let host_ip = host.parse::<IpAddr>().ok();
    let (ips, dns): (Vec<&String>, Vec<&String>) =
        sans.iter().partition(|s| s.parse::<IpAddr>().is_ok());
    if let Some(ip) = host_ip
        && ips.iter().any(|s| s.parse::<IpAddr>().ok() == Some(ip))
    {
        return true;
    }
    if dns.iter().any(|pattern| name_matches(pattern, host)) {
        return true;
    }
    // The CN is consulted only when there is no DNS SAN (and, for an IP address, no SAN at all).
    let cn_allowed = dns.is_empty() && (host_ip.is_none() || ips.is_empty());
    cn_allowed && common_name.is_some_and(|cn| name_matches(cn, host))
}

/// One name against a host, case-insensitively; `*.rest` matches exactly one label before
/// `.rest`.
fn name_matches(pattern: &str, host: &str) -> bool {
    let (pattern, host) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    match pattern.strip_prefix('*') {
        Some(suffix) if suffix.starts_with('.') => {
            host.len() > suffix.len()
                && host.ends_with(suffix)
                && !host[..host.len() - suffix.len()].contains('.')
                && host.parse::<IpAddr>().is_err()
        }
        _ => pattern == host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn libpq_rules() {
        assert!(matches("db.example.com", &s(&["db.example.com"]), None));
        assert!(matches("DB.example.com", &s(&["db.example.com"]), None));
        assert!(matches("a.example.com", &s(&["*.example.com"]), None));
        assert!(!matches("a.b.example.com", &s(&["*.example.com"]), None));
        assert!(!matches("example.com", &s(&["*.example.com"]), None));
        assert!(matches("127.0.0.1", &s(&["localhost", "127.0.0.1"]), None));
        assert!(!matches("127.0.0.2", &s(&["127.0.0.1"]), None));
        assert!(matches("::1", &s(&["::1"]), None));
        // The CN only without a DNS SAN.
        assert!(matches("db", &[], Some("db")));
        assert!(matches("db", &s(&["10.0.0.1"]), Some("db")));
        assert!(!matches("db", &s(&["other"]), Some("db")));
        assert!(!matches("db", &[], None));
    }
}
