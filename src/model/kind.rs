//! What a certificate is and where it stands: the kinds, the two CAs, and the state the
//! inventory and the clock give a certificate, with the one rule for when it is due.

use serde::{Deserialize, Serialize};

/// What a certificate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertKind {
    /// The self-signed CA that signs server certificates (clients trust it: `sslrootcert`).
    ServerCa,
    /// The self-signed CA that signs client certificates (the server trusts it: `ssl_ca_file`).
    ClientCa,
    /// A server certificate (`ssl_cert_file`), EKU serverAuth.
    Server,
    /// A client certificate whose CN is a PostgreSQL role, EKU clientAuth.
    Client,
}

impl CertKind {
    /// `server-ca`, `client-ca`, `server` or `client`.
    pub fn name(self) -> &'static str {
        match self {
            CertKind::ServerCa => "server-ca",
            CertKind::ClientCa => "client-ca",
            CertKind::Server => "server",
            CertKind::Client => "client",
        }
    }

    /// Whether this is one of the two CAs.
    pub fn is_ca(self) -> bool {
        matches!(self, CertKind::ServerCa | CertKind::ClientCa)
    }

    /// The CA this kind belongs to: the server CA for itself and server certificates, the
    /// client CA for itself and client certificates.
    pub fn side(self) -> Side {
        match self {
            CertKind::ServerCa | CertKind::Server => Side::Server,
            CertKind::ClientCa | CertKind::Client => Side::Client,
        }
    }
}

impl std::fmt::Display for CertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which of the two CAs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The server CA.
    Server,
    /// The client CA.
    Client,
}

impl Side {
    /// `server` or `client`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }

    /// The CA certificate's file name: `server-ca.crt` or `client-ca.crt`.
    pub fn ca_cert_file(self) -> &'static str {
        match self {
            Side::Server => "server-ca.crt",
            Side::Client => "client-ca.crt",
        }
    }

    /// The CA key's file name: `server-ca.key` or `client-ca.key`.
    pub fn ca_key_file(self) -> &'static str {
        match self {
            Side::Server => "server-ca.key",
            Side::Client => "client-ca.key",
        }
    }

    /// The file naming this CA's key when it is held in a PKCS#11 token (`server-ca.pkcs11`),
    /// in place of the key file.
    pub fn ca_token_file(self) -> &'static str {
        match self {
            Side::Server => "server-ca.pkcs11",
            Side::Client => "client-ca.pkcs11",
        }
    }

    /// During a rollover, the new CA's certificate: `server-ca.next.crt` or `client-ca.next.crt`.
    pub fn next_ca_cert_file(self) -> &'static str {
        match self {
            Side::Server => "server-ca.next.crt",
            Side::Client => "client-ca.next.crt",
        }
    }

    /// During a rollover, the new CA's key file: `server-ca.next.key` or `client-ca.next.key`.
    pub fn next_ca_key_file(self) -> &'static str {
        match self {
            Side::Server => "server-ca.next.key",
            Side::Client => "client-ca.next.key",
        }
    }

    /// During a rollover, the file naming the new CA's key in a PKCS#11 token.
    pub fn next_ca_token_file(self) -> &'static str {
        match self {
            Side::Server => "server-ca.next.pkcs11",
            Side::Client => "client-ca.next.pkcs11",
        }
    }

    /// The issuing intermediate's certificate of a hierarchy (`init --intermediate`):
    /// `server-issuing.crt` or `client-issuing.crt`.
    pub fn issuing_cert_file(self) -> &'static str {
        match self {
            Side::Server => "server-issuing.crt",
            Side::Client => "client-issuing.crt",
        }
    }

    /// The issuing intermediate's key file: `server-issuing.key` or `client-issuing.key`.
    pub fn issuing_key_file(self) -> &'static str {
        match self {
            Side::Server => "server-issuing.key",
            Side::Client => "client-issuing.key",
        }
    }

    /// During an intermediate rollover, the new intermediate's certificate:
    /// `server-issuing.next.crt` or `client-issuing.next.crt`.
    pub fn next_issuing_cert_file(self) -> &'static str {
        match self {
            Side::Server => "server-issuing.next.crt",
            Side::Client => "client-issuing.next.crt",
        }
    }

    /// During an intermediate rollover, the new intermediate's key file.
    pub fn next_issuing_key_file(self) -> &'static str {
        match self {
            Side::Server => "server-issuing.next.key",
            Side::Client => "client-issuing.next.key",
        }
    }

    /// The inventory name of the issuing intermediate: `server-issuing` or `client-issuing`.
    pub fn issuing_name(self) -> &'static str {
        match self {
            Side::Server => "server-issuing",
            Side::Client => "client-issuing",
        }
    }

    /// `server` or `client` as given on the command line (`pgca rollover start server`).
    pub fn parse(s: &str) -> Option<Side> {
        match s {
            "server" => Some(Side::Server),
            "client" => Some(Side::Client),
            _ => None,
        }
    }

    /// The directory of the certificates this CA signs: `servers` or `clients`.
    pub fn leaf_dir(self) -> &'static str {
        match self {
            Side::Server => "servers",
            Side::Client => "clients",
        }
    }

    /// The kind of the CA certificate itself.
    pub fn ca_kind(self) -> CertKind {
        match self {
            Side::Server => CertKind::ServerCa,
            Side::Client => CertKind::ClientCa,
        }
    }

    /// The kind of the certificates this CA signs.
    pub fn leaf_kind(self) -> CertKind {
        match self {
            Side::Server => CertKind::Server,
            Side::Client => CertKind::Client,
        }
    }

    /// Both CAs.
    pub const BOTH: [Side; 2] = [Side::Server, Side::Client];
}

/// The state of a certificate, derived from the inventory and the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CertState {
    /// Current and valid, with more than a third of its lifetime left.
    Valid,
    /// Current and valid, but less than a third of its lifetime is left: renew it.
    Due,
    /// Past its not-after.
    Expired,
    /// Before its not-before (a clock problem, or issued for later).
    NotYetValid,
    /// A later certificate was issued for the same name.
    Superseded,
    /// Revoked with `pgca revoke`.
    Revoked,
}

impl CertState {
    /// `valid`, `due`, `expired`, `not-yet-valid` or `superseded`.
    pub fn name(self) -> &'static str {
        match self {
            CertState::Valid => "valid",
            CertState::Due => "due",
            CertState::Expired => "expired",
            CertState::NotYetValid => "not-yet-valid",
            CertState::Superseded => "superseded",
            CertState::Revoked => "revoked",
        }
    }
}

impl std::fmt::Display for CertState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
