//! Signing a certificate signing request (`pgca sign`): a certificate for a key the CA
//! directory never sees.
//!
//! The request gives only its public key and its names (see [`crate::x509::csr`]); the kind
//! (server or client) is the caller's, never guessed. The names are validated as `issue-server`
//! and `issue-client` validate theirs, and the certificate goes through the one write path,
//! `issue_batch`, recorded as one with an external key: its public key in the record, no key
//! file in the archive, no `NAME.key` link.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::kind::{CertKind, Side};
use crate::model::names::{HostName, RoleName};
use crate::model::timefmt;
use crate::storage::{self, PUBLIC_MODE};
use crate::store::issue::LeafRequest;
use crate::store::layout::CaDir;
use crate::store::options::{IssueOptions, IssuedCert};
use crate::x509::csr::CsrRequest;
use crate::x509::profile::LeafProfile;

/// The names a request gets signed for, once validated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedNames {
    /// A server's host names: the CN first, then the requested dNSName and iPAddress entries,
    /// each once.
    Server(Vec<HostName>),
    /// A client's role: the CN.
    Client(RoleName),
}

impl SignedNames {
    /// What a request of `kind` is signed for: a server's CN and DNS/IP alternative names, each
    /// a valid host name; a client's CN, a valid role (its alternative names are ignored), an
    /// unusual one only if `allow_unusual_role` ([`RoleName::parse_unusual`]).
    pub fn of(csr: &CsrRequest, kind: CertKind, allow_unusual_role: bool) -> Result<SignedNames> {
        match kind {
            CertKind::Client => {
                let cn = csr.common_name.as_deref().ok_or(Error::InvalidRole {
                    name: String::new(),
                    reason: "the request's subject has no common name (CN = the role)",
                })?;
                Ok(SignedNames::Client(if allow_unusual_role {
                    RoleName::parse_unusual(cn)?
                } else {
                    cn.parse()?
                }))
            }
            CertKind::Server => {
                // Each once, in order; a set keeps it linear in the number of names.
                let mut hosts: Vec<HostName> = Vec::new();
                let mut seen = HashSet::new();
                for name in csr.common_name.iter().chain(&csr.alt_names) {
                    let host: HostName = name.parse()?;
                    if seen.insert(host.clone()) {
                        hosts.push(host);
                    }
                }
                if hosts.is_empty() {
                    return Err(Error::InvalidHost {
                        name: String::new(),
                        reason: "the request names no host (no CN, no DNS or IP alternative name)",
                    });
                }
                Ok(SignedNames::Server(hosts))
            }
            _ => Err(Error::InvalidHost {
                name: kind.to_string(),
                reason: "only server and client certificates are signed from requests",
            }),
        }
    }

    /// The side that signs them and the leaf profile they are signed with.
    pub(crate) fn profile(&self) -> (Side, LeafProfile) {
        match self {
            SignedNames::Server(hosts) => (Side::Server, LeafProfile::server(hosts)),
            SignedNames::Client(role) => (Side::Client, LeafProfile::client(role.as_str())),
        }
    }

    /// The file name: the role, or the first host name.
    pub fn name(&self) -> String {
        match self {
            SignedNames::Server(h) => h[0].to_string(),
            SignedNames::Client(r) => r.as_str().to_string(),
        }
    }
}

impl CaDir {
    /// Signs a verified request as a `kind` certificate (server or client) with `opts`'s
    /// validity, `force` and time (its key type and key passphrase are not used: the key is the
    /// request's). Records the certificate with an external key; the CA directory gets the
    /// certificate (`DIR/servers/NAME.crt`, `DIR/clients/ROLE.crt`) and never a private key. A key
    /// whose certificate was revoked is never certified again.
    pub fn sign_request(
        &self,
        csr: &CsrRequest,
        kind: CertKind,
        opts: &IssueOptions,
    ) -> Result<IssuedCert> {
        self.sign_request_to(csr, kind, opts, None)
    }

    /// [`CaDir::sign_request`], also writing the certificate (PEM) to `out`: its directory is
    /// reached by the trust walk and never created; an existing file is refused unless
    /// `opts.force`, and then replaced atomically (a link at the name is replaced, not followed).
    /// The output is checked before anything is signed, so bad input writes nothing.
    pub fn sign_request_to(
        &self,
        csr: &CsrRequest,
        kind: CertKind,
        opts: &IssueOptions,
        out: Option<&Path>,
    ) -> Result<IssuedCert> {
        let target = match out {
            Some(out) => {
                let (dir, name) = storage::parent_dir(out)?;
                if name == "." || name == ".." {
                    return Err(Error::io("write", out)(
                        std::io::ErrorKind::InvalidInput.into(),
                    ));
                }
                if !opts.force && dir.stat_at(&name)?.is_some() {
                    return Err(Error::CertExists(out.to_path_buf()));
                }
                Some((dir, name))
            }
            None => None,
        };
        let issued = self.sign_one(csr, kind, opts)?;
        if let Some((dir, name)) = target {
            let pem = {
                let _lock = self.read_lock()?;
                storage::read(&issued.cert_path, "read certificate")?
            };
            if opts.force {
                dir.replace_file(&name, &pem, PUBLIC_MODE, None, "write")?;
            } else {
                dir.create_file(&name, &pem, PUBLIC_MODE, None, true, "write")?;
                dir.sync()?;
            }
        }
        Ok(issued)
    }

    fn sign_one(
        &self,
        csr: &CsrRequest,
        kind: CertKind,
        opts: &IssueOptions,
    ) -> Result<IssuedCert> {
        let names = SignedNames::of(csr, kind, opts.allow_unusual_role)?;
        let (side, profile) = names.profile();
        let request = external_request(names.name(), profile, csr, opts.validity, None)?;
        Ok(self
            .issue_batch(
                side,
                vec![request],
                opts.force,
                opts.now.unwrap_or_else(timefmt::now),
                None,
            )?
            .remove(0))
    }
}

/// The batch request certifying a request's public key as `name`: no key made, none stored.
pub(crate) fn external_request(
    name: String,
    profile: LeafProfile,
    csr: &CsrRequest,
    validity: crate::model::validity::Validity,
    authorized: Option<crate::inventory::Authorization>,
) -> Result<LeafRequest> {
    if name.len() > 240 {
        return Err(Error::InvalidHost {
            name,
            reason: "too long to be a file name",
        });
    }
    Ok(LeafRequest {
        name,
        profile,
        key_type: csr.key_type,
        validity,
        key: None,
        public_key: Some(csr.spki_der.clone()),
        key_passphrase: None,
        authorized,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::keys::{KeyType, PrivateKey};

    #[test]
    fn a_servers_names_are_each_taken_once_in_order() {
        let key = PrivateKey::generate(KeyType::Ed25519).unwrap();
        let mut names: Vec<String> = (0..50).map(|i| format!("h{i}.example.com")).collect();
        names.extend((0..50).rev().map(|i| format!("h{i}.example.com")));
        let mut csr = CsrRequest::parse(
            crate::x509::csr::make_request(CertKind::Server, &names[..1], &key)
                .unwrap()
                .as_bytes(),
            Path::new("x.csr"),
        )
        .unwrap();
        // The CN is h0 too: it comes first, then each alternative name the first time it is seen.
        csr.alt_names = names;
        let SignedNames::Server(hosts) = SignedNames::of(&csr, CertKind::Server, false).unwrap()
        else {
            panic!("not a server's names");
        };
        let want: Vec<String> = (0..50).map(|i| format!("h{i}.example.com")).collect();
        let got: Vec<String> = hosts.iter().map(ToString::to_string).collect();
        assert_eq!(got, want);
    }
}
