//! What an audit finds: a [`Check`] (a stable id with a documented severity), where it applies
//! and one sentence on what to change.
//!
//! The ids are a contract, like the exit codes: scripts, SARIF consumers and dashboards key on
//! them. A check's severity is fixed by its id ([`Check::severity`]); a finding carries it, or
//! [`Severity::Unknown`] when what the check needs could not be read.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::model::status::Status;

/// How much a finding matters. `Info` does not change the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// Worth knowing; the exit status stays OK.
    Info,
    /// What the check needs could not be read: its state is not known (exit 3).
    Unknown,
    /// A weakness to fix (exit 1).
    Warning,
    /// A hole: fix it first (exit 2).
    Critical,
}

impl Severity {
    /// The Nagios status this severity gives the audit.
    pub fn status(self) -> Status {
        match self {
            Severity::Info => Status::Ok,
            Severity::Unknown => Status::Unknown,
            Severity::Warning => Status::Warning,
            Severity::Critical => Status::Critical,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "INFO",
            Severity::Unknown => "UNKNOWN",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        })
    }
}

/// Where a finding is: a file and a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    /// The file (as the server or the target names it).
    pub file: PathBuf,
    /// The line, 1-based; `None` when only the file is known.
    pub line: Option<usize>,
}

/// One finding of an audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditFinding {
    /// The check, by its stable id.
    pub check: Check,
    /// The check's severity, or [`Severity::Unknown`] when it could not be judged.
    pub severity: Severity,
    /// What it concerns: a setting's name, a `pg_hba.conf` rule as written (type, databases,
    /// users, address, method), a certificate or a role.
    pub subject: String,
    /// Where it is written, when that is known.
    pub location: Option<Location>,
    /// What was found.
    pub message: String,
    /// One sentence on what to change.
    pub fix: &'static str,
}

impl AuditFinding {
    /// A finding of `check` at its own severity.
    pub fn new(
        check: Check,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) -> AuditFinding {
        AuditFinding {
            check,
            severity: check.severity(),
            subject: subject.into(),
            location: None,
            message: message.into(),
            fix: check.fix(),
        }
    }

    /// A finding of `check` that could not be judged: `message` names what could not be read.
    pub fn unknown(
        check: Check,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) -> AuditFinding {
        AuditFinding {
            severity: Severity::Unknown,
            ..AuditFinding::new(check, subject, message)
        }
    }

    /// The same finding, located.
    pub fn at(mut self, location: Option<Location>) -> AuditFinding {
        self.location = location;
        self
    }
}

macro_rules! checks {
    ($($(#[$doc:meta])* $variant:ident = $id:literal, $severity:ident, $area:literal, $title:literal, $fix:literal;)*) => {
        /// Every check of `pgca audit` and `pgca roles`. The id ([`Check::id`]) is stable; the
        /// severity ([`Check::severity`]) is the one docs/audit.md gives.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Check {
            $($(#[$doc])* $variant,)*
        }

        impl Check {
            /// Every check, in the order of docs/audit.md.
            pub const ALL: &'static [Check] = &[$(Check::$variant,)*];

            /// The stable id, e.g. `hba-trust-network`.
            pub fn id(self) -> &'static str {
                match self { $(Check::$variant => $id,)* }
            }

            /// The severity of a finding of this check.
            pub fn severity(self) -> Severity {
                match self { $(Check::$variant => Severity::$severity,)* }
            }

            /// What it is about: `settings`, `tls`, `hba`, `ident`, `certificates` or `roles`.
            pub fn area(self) -> &'static str {
                match self { $(Check::$variant => $area,)* }
            }

            /// A short title.
            pub fn title(self) -> &'static str {
                match self { $(Check::$variant => $title,)* }
            }

            /// One sentence on what to change.
            pub fn fix(self) -> &'static str {
                match self { $(Check::$variant => $fix,)* }
            }

            /// The check of an id.
            pub fn from_id(id: &str) -> Option<Check> {
                Check::ALL.iter().copied().find(|c| c.id() == id)
            }
        }
    };
}

checks! {
    /// `listen_addresses` is `*`, `0.0.0.0` or `::`: the server listens on every interface.
    ListenAll = "listen-addresses-all", Warning, "settings",
        "the server listens on every interface",
        "Set listen_addresses to the addresses clients connect to (or 'localhost').";
    /// `ssl` is off while the server listens on TCP.
    SslOff = "ssl-off", Critical, "settings",
        "TLS is off while the server listens on TCP",
        "Set ssl = on with a certificate from pgca (pgca deploy-server).";
    /// `ssl_min_protocol_version` allows TLS 1.2 or older.
    SslMinProtocol = "ssl-min-protocol", Warning, "settings",
        "TLS older than 1.3 is accepted",
        "Set ssl_min_protocol_version = 'TLSv1.3'.";
    /// `ssl_ciphers` allows weak TLS 1.2 ciphers, with TLS 1.2 allowed.
    SslCiphers = "ssl-ciphers-weak", Warning, "settings",
        "weak TLS 1.2 cipher suites are allowed",
        "Set ssl_min_protocol_version = 'TLSv1.3' (its suites are all strong), or ssl_ciphers = 'HIGH:!aNULL:!MD5:!3DES:!CAMELLIA'.";
    /// `password_encryption` is not `scram-sha-256`.
    PasswordEncryption = "password-encryption", Warning, "settings",
        "new passwords are not stored as SCRAM",
        "Set password_encryption = 'scram-sha-256' and set the passwords again.";
    /// `log_connections` is off.
    LogConnections = "log-connections", Warning, "settings",
        "connections are not logged",
        "Set log_connections = on.";
    /// `log_disconnections` is off.
    LogDisconnections = "log-disconnections", Warning, "settings",
        "disconnections are not logged",
        "Set log_disconnections = on.";
    /// `log_statement` is `none`.
    LogStatement = "log-statement", Warning, "settings",
        "no statements are logged",
        "Set log_statement = 'ddl' (or 'mod' or 'all').";
    /// pgaudit is not in `shared_preload_libraries`.
    Pgaudit = "pgaudit-missing", Info, "settings",
        "pgaudit is not loaded",
        "For session and object audit logging, install pgaudit and add it to shared_preload_libraries.";
    /// `ssl_ca_file` is not set, so no client certificate can be verified.
    SslCaMissing = "ssl-ca-file-missing", Critical, "tls",
        "no CA for client certificates",
        "Set ssl_ca_file to pgca's client CA (pgca deploy-server writes it).";
    /// `ssl_ca_file` holds the server CA: any server certificate logs in as the role in its CN.
    SslCaIsServerCa = "ssl-ca-file-server-ca", Critical, "tls",
        "the server CA is trusted for client logins",
        "Point ssl_ca_file at pgca's client CA, never the server CA (pgca deploy-server).";
    /// `ssl_ca_file` holds no CA of this CA directory.
    SslCaForeign = "ssl-ca-file-foreign", Warning, "tls",
        "the client CA is not this CA directory's",
        "Point ssl_ca_file at this CA directory's client CA (pgca deploy-server).";
    /// The server certificate does not chain to the server CA, or cannot be read.
    SslCertChain = "ssl-cert-chain", Critical, "tls",
        "the server certificate does not chain to the server CA",
        "Deploy a server certificate from pgca (pgca deploy-server NAME --data-dir DATA).";
    /// The server certificate has expired or is due for renewal.
    SslCertExpiry = "ssl-cert-expiry", Warning, "tls",
        "the server certificate expires soon",
        "Renew it (pgca renew), which redeploys it; then reload PostgreSQL.";
    /// The server key's owner or mode breaks PostgreSQL's rule.
    SslKeyPermissions = "ssl-key-permissions", Critical, "tls",
        "the server key's owner or mode is wrong",
        "Make the key owned by the database user with mode 0600, or by root with mode 0640 and the database user's group.";
    /// No CRL is configured while client certificates are accepted.
    SslCrlMissing = "ssl-crl-missing", Warning, "tls",
        "revoked client certificates are accepted",
        "Set ssl_crl_file to pgca's client CRL (pgca crl, then pgca deploy-server).";
    /// The CRL the server reads is past its next update or older than the CA directory's.
    SslCrlStale = "ssl-crl-stale", Critical, "tls",
        "the server's CRL is not current",
        "Deploy the current CRL (pgca renew or pgca deploy-server) and reload PostgreSQL.";
    /// The served chain does not verify, names the wrong host or has expired.
    ServedChain = "served-chain", Critical, "certificates",
        "the served certificate is wrong",
        "Deploy the current certificate (pgca deploy-server) and reload PostgreSQL.";
    /// The server serves a certificate older than the inventory's current one.
    ServedStale = "served-not-reloaded", Warning, "certificates",
        "a renewed certificate is not served yet",
        "Reload PostgreSQL (pg_ctl reload, or SELECT pg_reload_conf()).";
    /// A deployment recorded in the CA directory holds an old certificate or CA.
    DeploymentStale = "deployment-stale", Warning, "certificates",
        "a recorded deployment is not current",
        "Deploy again (pgca renew redeploys; or pgca deploy-server NAME --data-dir DATA).";
    /// A `pg_hba.conf` line the server could not load.
    HbaError = "hba-error", Critical, "hba",
        "a pg_hba.conf line is invalid",
        "Fix the line: the server refuses to reload a pg_hba.conf with an invalid line.";
    /// `trust` over TCP.
    HbaTrustNetwork = "hba-trust-network", Critical, "hba",
        "anyone on the network logs in without a credential",
        "Replace trust with cert on a hostssl line (or scram-sha-256).";
    /// `trust` on the Unix socket.
    HbaTrustLocal = "hba-trust-local", Warning, "hba",
        "any local user logs in as any role",
        "Replace trust with peer on local lines.";
    /// `password` (the password in the clear) on a line that also matches connections without TLS.
    HbaPasswordNoTls = "hba-password-no-tls", Critical, "hba",
        "passwords cross the network in the clear",
        "Use hostssl with cert (or scram-sha-256), never password on host lines.";
    /// `password` over TLS: the server sees the password itself.
    HbaPassword = "hba-password", Warning, "hba",
        "the password is sent to the server itself",
        "Use cert or scram-sha-256 instead of password.";
    /// `md5`.
    HbaMd5 = "hba-md5", Warning, "hba",
        "MD5 password authentication",
        "Use cert or scram-sha-256 instead of md5 (and password_encryption = 'scram-sha-256').";
    /// `ident` over TCP: the client's host says who it is.
    HbaIdentNetwork = "hba-ident-network", Critical, "hba",
        "the client host's identd decides who logs in",
        "Use cert on a hostssl line instead of ident.";
    /// A `host` or `hostnossl` line that lets a login in without TLS.
    HbaNoTls = "hba-host-not-hostssl", Warning, "hba",
        "logins without TLS are allowed",
        "Use hostssl instead of host (and drop hostnossl lines that do not reject).";
    /// An address range wider than the threshold, with a method that is not a certificate.
    HbaWideRange = "hba-wide-range", Warning, "hba",
        "a password-type login is open to a wide address range",
        "Narrow the address to the clients' networks, or require a certificate (cert, or clientcert=verify-full).";
    /// `all` databases and `all` users with a method that is not a certificate.
    HbaAllAll = "hba-all-all", Warning, "hba",
        "every role may log in to every database with a password-type method",
        "Name the databases and roles the line is for, or require a certificate.";
    /// A superuser may log in from the network with a method that is not a certificate.
    HbaSuperuserNetwork = "hba-superuser-network", Critical, "hba",
        "a superuser may log in from the network without a certificate",
        "Add a reject line for superusers from the network before it, or require a certificate.";
    /// A line that can never match: an earlier line matches every connection it would.
    HbaShadowed = "hba-shadowed", Warning, "hba",
        "a line can never match",
        "Remove the line or move it before the line that shadows it (the first matching line wins).";
    /// A `cert` line with `clientname=DN` and no `map`: the whole DN would have to be the role.
    HbaCertDnNoMap = "hba-cert-dn-no-map", Warning, "hba",
        "clientname=DN without a map never matches a role",
        "Add map=NAME and a pg_ident.conf map from the DN to the role.";
    /// A line names a user name map that `pg_ident.conf` does not define.
    HbaMapUndefined = "hba-map-undefined", Critical, "ident",
        "a line names a map that does not exist",
        "Define the map in pg_ident.conf or correct the name.";
    /// A `pg_ident.conf` map names a role that does not exist.
    IdentUnknownRole = "ident-map-unknown-role", Warning, "ident",
        "a map names a role that does not exist",
        "Remove the map line or create the role.";
    /// A current client certificate of a role that does not exist.
    RoleCertOrphan = "role-cert-orphan", Critical, "roles",
        "a certificate of a role that does not exist",
        "Revoke it (pgca roles TARGET --revoke-orphans): a role created later with that name would accept it.";
    /// A current client certificate of a NOLOGIN role.
    RoleCertNologin = "role-cert-nologin", Warning, "roles",
        "a certificate of a role that cannot log in",
        "Revoke the certificate (pgca revoke), or ALTER ROLE ... LOGIN if it is meant to.";
    /// A current client certificate of a superuser.
    RoleCertSuperuser = "role-cert-superuser", Warning, "roles",
        "a certificate of a superuser",
        "Keep superuser certificates short-lived and few; prefer a role with only the grants it needs.";
    /// A current client certificate of a replication role.
    RoleCertReplication = "role-cert-replication", Info, "roles",
        "a certificate of a replication role",
        "Make sure the certificate is only on the standby that needs it.";
    /// A current client certificate of a role whose password has expired (`VALID UNTIL`).
    RoleCertExpiredRole = "role-cert-expired-role", Warning, "roles",
        "a certificate of a role whose VALID UNTIL has passed",
        "Revoke the certificate (pgca revoke), or extend the role's VALID UNTIL.";
    /// A LOGIN role that the hba rules let in only by certificate, with no current certificate.
    RoleCertMissing = "role-cert-missing", Warning, "roles",
        "a role that logs in only by certificate has none",
        "Issue one (pgca issue-client ROLE, or pgca roles TARGET --issue-missing PATTERN), or make it NOLOGIN.";
    /// A client certificate whose CN reaches a role only through a `pg_ident.conf` map.
    RoleCertViaMap = "role-cert-via-map", Info, "roles",
        "a certificate reaches its role through a map",
        "Nothing to do if the map is meant to; otherwise issue the certificate for the role itself.";
    /// The CA directory's side of the audit could not run.
    CaDirectory = "ca-directory", Info, "certificates",
        "the certificate checks did not run",
        "Give the CA directory (--dir or PGCA_DIR) for the certificate and role checks.";
    /// A part of the server's state could not be read.
    Unreadable = "unreadable", Unknown, "settings",
        "a part of the server's state could not be read",
        "Grant the audit role pg_read_all_settings and SELECT on pg_hba_file_rules and pg_ident_file_mappings, or run it as a superuser.";
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Check {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Check::ALL {
            assert!(seen.insert(c.id()), "duplicate id {}", c.id());
            assert_eq!(Check::from_id(c.id()), Some(*c));
            assert!(c.fix().ends_with('.'), "{}: fix is a sentence", c.id());
            assert!(
                c.id()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                c.id()
            );
        }
    }

    #[test]
    fn info_does_not_change_the_status() {
        assert_eq!(Severity::Info.status(), Status::Ok);
        assert!(Severity::Critical > Severity::Warning);
    }
}
