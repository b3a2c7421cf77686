//! `pgca request`: a key and a certificate signing request made on the host that will use them
//! (a database server, a client machine), with no CA directory. The key never leaves the host;
//! the request goes to the CA host, where `pgca sign` makes the certificate.
//!
//! `DIR/NAME.key` (PKCS#8 PEM, mode 0600 from the first byte, optionally encrypted) and
//! `DIR/NAME.csr` (PKCS#10 PEM), NAME being the role or the first host name. `DIR` is reached by
//! the trust walk (every directory on the way owned by root or the user pgca runs as and not
//! writable by others), created mode 0700 when missing; both files are created with
//! `O_EXCL|O_NOFOLLOW`, or with `force` replaced atomically (a link at the name is replaced,
//! never followed). If the request cannot be written the new key is removed again.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::kind::CertKind;
use crate::model::names::{HostName, RoleName};
use crate::model::passphrase::Passphrase;
use crate::storage::{self, DIR_MODE, KEY_MODE, NewDir, PUBLIC_MODE, Trust};
use crate::x509::keys::{KeyType, PrivateKey};

/// What to request.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Server (host names) or client (one role).
    pub kind: CertKind,
    /// The key type of the new key.
    pub key_type: KeyType,
    /// Encrypt the key file with this passphrase (PKCS#8, scrypt + AES-256-CBC).
    pub key_passphrase: Option<Passphrase>,
    /// Replace an existing key and request of the same name.
    pub force: bool,
    /// Accept an unusual role name ([`RoleName::parse_unusual`], `--allow-unusual-role`).
    pub allow_unusual_role: bool,
}

impl RequestOptions {
    /// A request of `kind` with a new ECDSA P-256 key, unencrypted, refusing to replace files.
    pub fn new(kind: CertKind) -> RequestOptions {
        RequestOptions {
            kind,
            key_type: KeyType::default(),
            key_passphrase: None,
            force: false,
            allow_unusual_role: false,
        }
    }
}

/// A key and request just written.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Requested {
    /// Server or client.
    pub kind: CertKind,
    /// The role or first host name: the files' name.
    pub name: String,
    /// Every name asked for (a client: the role).
    pub names: Vec<String>,
    /// The key type.
    pub key_type: KeyType,
    /// `DIR/NAME.key`.
    pub key_path: PathBuf,
    /// `DIR/NAME.csr`.
    pub csr_path: PathBuf,
    /// Whether the key file is encrypted.
    pub encrypted_key: bool,
}

/// The names a request is for, validated as `issue-server` and `issue-client` validate theirs:
/// a client's one role (an unusual one only if `allow_unusual_role`), a server's host names
/// (each once).
pub fn validate_names(
    kind: CertKind,
    names: &[String],
    allow_unusual_role: bool,
) -> Result<Vec<String>> {
    match kind {
        CertKind::Client => {
            let given = names.first().map(String::as_str).unwrap_or("");
            let role: RoleName = if allow_unusual_role {
                RoleName::parse_unusual(given)?
            } else {
                given.parse()?
            };
            if names.len() > 1 {
                return Err(Error::InvalidRole {
                    name: names[1].clone(),
                    reason: "a client request is for one role",
                });
            }
            Ok(vec![role.as_str().to_string()])
        }
        CertKind::Server => {
            if names.is_empty() {
                return Err(Error::InvalidHost {
                    name: String::new(),
                    reason: "no host name given",
                });
            }
            // What `pgca sign` would refuse, refused before a key is made for it.
            const _: () = assert!(crate::x509::csr::MAX_NAMES == 100, "the message says 100");
            if let Some(extra) = names.get(crate::x509::csr::MAX_NAMES) {
                return Err(Error::InvalidHost {
                    name: extra.clone(),
                    reason: "one name more than the 100 pgca signs in a certificate",
                });
            }
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for n in names {
                let host: HostName = n.parse()?;
                if !seen.insert(host.clone()) {
                    return Err(Error::DuplicateName(host.to_string()));
                }
                out.push(host.to_string());
            }
            if out[0].len() > 240 {
                return Err(Error::InvalidHost {
                    name: out[0].clone(),
                    reason: "too long to be a file name",
                });
            }
            Ok(out)
        }
        _ => Err(Error::InvalidHost {
            name: kind.to_string(),
            reason: "only server and client certificates are requested",
        }),
    }
}

/// Makes a new key and a request for `names` and writes them into `out_dir` (see the module
/// docs). Bad input, an existing file without `force` or an untrusted directory writes nothing.
pub fn write_request(out_dir: &Path, names: &[String], opts: &RequestOptions) -> Result<Requested> {
    let names = validate_names(opts.kind, names, opts.allow_unusual_role)?;
    let name = names[0].clone();
    let (key_name, csr_name) = (format!("{name}.key"), format!("{name}.csr"));
    let dir = storage::open_dir(
        out_dir,
        &Trust::invoker(),
        Some(NewDir {
            mode: DIR_MODE,
            owner: None,
        }),
    )?;
    if !opts.force {
        for n in [&key_name, &csr_name] {
            if dir.stat_at(n)?.is_some() {
                return Err(Error::CertExists(out_dir.join(n)));
            }
        }
    }
    let key = PrivateKey::generate(opts.key_type)?;
    let csr = crate::x509::csr::make_request(opts.kind, &names, &key)?;
    let key_pem = match &opts.key_passphrase {
        Some(p) => key.to_encrypted_pem(p)?,
        None => key.to_pem(),
    };
    if opts.force {
        dir.replace_file(&key_name, key_pem.as_bytes(), KEY_MODE, None, "write key")?;
        let written = dir.replace_file(
            &csr_name,
            csr.as_bytes(),
            PUBLIC_MODE,
            None,
            "write certificate request",
        );
        if let Err(e) = written {
            // The old request names the key just replaced: never leave it beside the new key,
            // where it could be signed for a key that no longer exists.
            let _ = dir.remove_tree(&csr_name);
            return Err(e);
        }
    } else {
        dir.create_file(
            &key_name,
            key_pem.as_bytes(),
            KEY_MODE,
            None,
            true,
            "write key",
        )?;
        let written = dir
            .create_file(
                &csr_name,
                csr.as_bytes(),
                PUBLIC_MODE,
                None,
                true,
                "write certificate request",
            )
            .and_then(|()| dir.sync());
        if let Err(e) = written {
            let _ = dir.remove_tree(&key_name);
            return Err(e);
        }
    }
    Ok(Requested {
        kind: opts.kind,
        name,
        names,
        key_type: opts.key_type,
        key_path: out_dir.join(key_name),
        csr_path: out_dir.join(csr_name),
        encrypted_key: opts.key_passphrase.is_some(),
    })
}
