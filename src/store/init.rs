//! `init`: both CAs and the inventory, staged and renamed into place.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::inventory::{self, Event, Issued};
use crate::model::kind::Side;
use crate::model::timefmt;
use crate::storage::{self, DIR_MODE, Lock, LockKind, Wait};
use crate::store::layout::{CaDir, INIT_STAGING, LOCK_FILE, refuse_partial_ca};
use crate::store::options::{
    BACKDATE_SECONDS, DEFAULT_CA_VALIDITY, DEFAULT_LEAF_VALIDITY, InitOptions, IssueOptions,
    IssuedCert,
};
use crate::x509::ca::{self};
use crate::x509::token::{Token, TokenKey};

pub(crate) use crate::store::made::{Made, Span};

impl CaDir {
    /// Creates both CAs in `root` (created with mode 0700 if missing; an existing directory must
    /// hold no CA). The four CA files and the inventory are written to a staging directory first
    /// and renamed into place, the inventory last: it marks the directory as initialised.
    ///
    /// With [`InitOptions::server_hosts`], a server certificate is issued too (see
    /// [`CaDir::init_with_server`]).
    pub fn init(root: impl AsRef<Path>, opts: &InitOptions) -> Result<CaDir> {
        CaDir::init_with_server(root, opts).map(|(ca, _)| ca)
    }

    /// [`CaDir::init`], returning the server certificate issued for
    /// [`InitOptions::server_hosts`]. Every value is checked before anything is created: a
    /// server certificate that would outlive the CAs is refused.
    pub fn init_with_server(
        root: impl AsRef<Path>,
        opts: &InitOptions,
    ) -> Result<(CaDir, Option<IssuedCert>)> {
        let server_validity = opts.server_validity.unwrap_or(DEFAULT_LEAF_VALIDITY);
        let ca_validity = opts.ca_validity.unwrap_or(DEFAULT_CA_VALIDITY);
        if !opts.server_hosts.is_empty() && server_validity > ca_validity {
            return Err(Error::ServerOutlivesCas {
                server: server_validity.to_string(),
                server_default: opts.server_validity.is_none(),
                ca: ca_validity.to_string(),
                ca_default: opts.ca_validity.is_none(),
            });
        }
        let ca = CaDir::init_cas(root, opts)?;
        if opts.server_hosts.is_empty() {
            return Ok((ca, None));
        }
        let io = IssueOptions {
            validity: server_validity,
            key_type: opts.key_type,
            now: opts.now,
            ..IssueOptions::default()
        };
        let issued = ca.issue_server(&opts.server_hosts, &io)?;
        Ok((ca, Some(issued)))
    }

    fn init_cas(root: impl AsRef<Path>, opts: &InitOptions) -> Result<CaDir> {
        ca::check_org(&opts.org)?;
        let root = root.as_ref().to_path_buf();
        let now = opts.now.unwrap_or_else(timefmt::now);
        let not_before = now - time::Duration::seconds(BACKDATE_SECONDS);
        let not_after = now + opts.ca_validity.unwrap_or(DEFAULT_CA_VALIDITY).duration();

        // A token is found and logged in to before anything is created: a wrong PIN, or a
        // token that is not there, leaves no directory behind.
        let token = match &opts.token {
            Some(uri) => {
                crate::x509::token::check_key_type(opts.key_type)?;
                let pin = opts.passphrase.as_ref().ok_or_else(|| Error::NeedPin {
                    token: uri.token.clone(),
                })?;
                let token = Token::open(uri)?;
                let session = token.login(pin, true)?;
                Some((token, session))
            }
            None => None,
        };

        // The directory, and any missing parent, are made by a walk that refuses every directory
        // on the way another user could change (a directory pre-created by someone else could
        // later have its CA certificate swapped). Parents are 0755, the CA directory 0700.
        let trust = storage::Trust::invoker();
        let parent = storage::parent(&root);
        storage::open_dir(
            parent,
            &trust,
            Some(storage::NewDir {
                mode: 0o755,
                owner: None,
            }),
        )?;
        let handle = storage::open_dir(
            &root,
            &trust,
            Some(storage::NewDir {
                mode: DIR_MODE,
                owner: None,
            }),
        )?;
        check_no_ca(&root)?;
        handle.chmod(DIR_MODE)?;
        drop(handle);
        let _lock = Lock::file(&root, LOCK_FILE, LockKind::Exclusive, Wait::WRITER)?;
        check_no_ca(&root)?; // another `init` may have won the race for the lock
        remove_stale_staging(&root)?;

        // Each CA: the name of its key's file, that file's text (a key PEM, or the token URI
        // naming the key), its certificate and serial.
        let mut generated = Vec::new();
        let made = match token {
            Some((token, first)) => {
                let pin = opts.passphrase.as_ref().expect("checked with the token");
                let made = make_in_token(
                    &token,
                    [first, token.login(pin, true)?],
                    opts,
                    (not_before, not_after),
                    &mut generated,
                );
                if made.is_err() {
                    generated.drain(..).for_each(TokenKey::destroy);
                }
                made?
            }
            None => make_files(opts, (not_before, not_after))?,
        };

        let result = write_cas(&root, &made, opts, (not_before, not_after), now);
        if result.is_err() {
            generated.into_iter().for_each(TokenKey::destroy);
        }
        result?;
        Ok(CaDir {
            root,
            passphrase: opts.passphrase.clone(),
            wait: None,
            keys: None,
            ledger: None,
            db: None,
        })
    }
}

/// Two key files, two cores: an RSA-4096 init, or the two key derivations of encrypted keys,
/// take the time of one.
fn make_files(opts: &InitOptions, (not_before, not_after): Span) -> Result<Vec<Made>> {
    let make = |side: Side| -> Result<Made> {
        let ca = NewCaSpec {
            side,
            org: &opts.org,
            key_type: opts.key_type,
            span: (not_before, not_after),
            path_len: u8::from(opts.intermediate),
        };
        make_one_file(&ca, side.ca_key_file(), opts.passphrase.as_ref())
    };
    let (server, client) = std::thread::scope(|s| {
        let server = s.spawn(|| make(Side::Server));
        let client = make(Side::Client);
        (server.join().expect("CA generation does not panic"), client)
    });
    Ok(vec![server?, client?])
}

/// Both key pairs generated inside the token (one session each), the certificates signed by
/// the token; each key labelled `pgca-server-ca-<id>` with CKA_ID `<id>`, the random id in the
/// CA's CN. The keys made are pushed to `generated`, for the caller to remove on failure.
fn make_in_token(
    token: &Token,
    sessions: [cryptoki::session::Session; 2],
    opts: &InitOptions,
    span: Span,
    generated: &mut Vec<TokenKey>,
) -> Result<Vec<Made>> {
    let mut made = Vec::new();
    for (side, session) in Side::BOTH.into_iter().zip(sessions) {
        let ca = NewCaSpec {
            side,
            org: &opts.org,
            key_type: opts.key_type,
            span,
            path_len: u8::from(opts.intermediate),
        };
        made.push(make_one_in_token(
            token,
            session,
            &ca,
            side.ca_token_file(),
            generated,
        )?);
    }
    Ok(made)
}

/// What a new CA is to be: its side, organisation, key type and validity.
pub(crate) struct NewCaSpec<'a> {
    pub(crate) side: Side,
    pub(crate) org: &'a str,
    pub(crate) key_type: crate::x509::keys::KeyType,
    pub(crate) span: Span,
    /// basicConstraints' pathlen: 0, or 1 for the root of a hierarchy.
    pub(crate) path_len: u8,
}

/// One CA's key pair generated inside the token (labelled `pgca-server-ca-<id>`, CKA_ID
/// `<id>`, the random id in the CA's CN), its certificate signed by the token, and the URI
/// naming the key written as `key_name`. The key is pushed to `generated`, for the caller to
/// remove on failure.
pub(crate) fn make_one_in_token(
    token: &Token,
    session: cryptoki::session::Session,
    ca: &NewCaSpec<'_>,
    key_name: &'static str,
    generated: &mut Vec<TokenKey>,
) -> Result<Made> {
    let cn_id = crate::model::hex::random(4);
    let id = crate::model::hex::decode(&cn_id).unwrap_or_default();
    let label = format!("pgca-{}-ca-{cn_id}", ca.side.name());
    let key = TokenKey::generate(token, session, ca.key_type, &label, &id)?;
    let signed = ca::create_signed(ca.side, ca.org, &key, &cn_id, ca.span, ca.path_len)
        .map_err(|e| key.take_failure().unwrap_or(e));
    generated.push(key);
    let (cert_pem, serial) = signed?;
    let mut uri = token.uri.clone();
    uri.object = Some(label);
    uri.id = Some(id);
    Ok(Made {
        side: ca.side,
        key_name,
        key_text: zeroize::Zeroizing::new(format!("{uri}\n")),
        cert_pem,
        serial,
    })
}

/// One CA with a key file (encrypted with `passphrase` when given), written as `key_name`.
pub(crate) fn make_one_file(
    ca: &NewCaSpec<'_>,
    key_name: &'static str,
    passphrase: Option<&crate::model::passphrase::Passphrase>,
) -> Result<Made> {
    let new = ca::create(
        ca.side,
        ca.org,
        ca.key_type,
        ca.span.0,
        ca.span.1,
        ca.path_len,
    )?;
    let key_text = match passphrase {
        Some(p) => new.key.to_encrypted_pem(p)?,
        None => new.key.to_pem(),
    };
    Ok(Made {
        side: ca.side,
        key_name,
        key_text,
        cert_pem: new.cert_pem,
        serial: new.serial,
    })
}

/// The four CA files and the inventory, written to a staging directory and renamed into place,
/// the inventory last.
fn write_cas(
    root: &Path,
    made: &[Made],
    opts: &InitOptions,
    span: Span,
    now: time::OffsetDateTime,
) -> Result<()> {
    let staging = storage::temp_path(&root.join(INIT_STAGING));
    DirBuilder::new()
        .mode(DIR_MODE)
        .create(&staging)
        .map_err(Error::io("create directory", &staging))?;
    let result = (|| {
        let mut events = Vec::new();
        let mut files = Vec::new();
        for m in made {
            let (side, cert_name, key_name) = (m.side, m.side.ca_cert_file(), m.key_name);
            m.write_new(&staging, cert_name)?;
            files.push(key_name);
            files.push(cert_name);
            events.push(Event::Issued(Issued::new(
                m.serial.clone(),
                side.ca_kind(),
                side.ca_kind().name().to_string(),
                Vec::new(),
                opts.key_type,
                span,
                now,
                (cert_name.to_string(), key_name.to_string()),
            )));
        }
        if opts.intermediate {
            for (m, name) in make_intermediates(&staging, made, opts, span)? {
                let (cert_name, key_name) = (m.side.issuing_cert_file(), m.key_name);
                m.write_new(&staging, cert_name)?;
                files.push(key_name);
                files.push(cert_name);
                events.push(Event::Issued(crate::store::hierarchy::issuing_record(
                    &m,
                    &name,
                    opts.key_type,
                    cert_name,
                    now,
                )));
            }
        }
        inventory::log::create(&staging.join(inventory::log::INVENTORY_FILE), &events)?;
        files.push(inventory::log::INVENTORY_FILE);
        files.push(inventory::SEAL_FILE);
        for side in Side::BOTH {
            storage::ensure_private_dir(&root.join(side.leaf_dir()))?;
        }
        for f in files {
            fs::rename(staging.join(f), root.join(f))
                .map_err(Error::io("move into place", root.join(f)))?;
        }
        storage::sync_dir(root)
    })();
    let _ = fs::remove_dir_all(&staging);
    result
}

/// Each side's issuing intermediate (`init --intermediate`), signed by its root as written to
/// `staging` (both sides at once: each root is loaded, and each new key encrypted, with a key
/// derivation when there is a passphrase), with the root's serial.
fn make_intermediates(
    staging: &Path,
    made: &[Made],
    opts: &InitOptions,
    span: Span,
) -> Result<Vec<(Made, crate::model::serial::Serial)>> {
    let make = |root: &Made| -> Result<(Made, crate::model::serial::Serial)> {
        let signer = ca::CaSigner::load(staging, root.side, opts.passphrase.as_ref())?;
        let m = crate::store::hierarchy::make_issuing(
            &signer,
            &opts.org,
            opts.key_type,
            span,
            root.side.issuing_key_file(),
            opts.passphrase.as_ref(),
        )?;
        Ok((m, root.serial.clone()))
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = made.iter().map(|m| s.spawn(move || make(m))).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("CA generation does not panic"))
            .collect()
    })
}

/// Refuses a directory that already holds a CA, or pieces of one.
fn check_no_ca(root: &Path) -> Result<()> {
    if inventory::log::path_in(root).exists() {
        return Err(Error::CaExists(root.to_path_buf()));
    }
    refuse_partial_ca(root)
}

fn remove_stale_staging(root: &Path) -> Result<()> {
    let prefix = format!(".{INIT_STAGING}{}", storage::TEMP_MARK);
    for e in fs::read_dir(root)
        .map_err(Error::io("read directory", root))?
        .flatten()
    {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validity::Validity;

    #[test]
    fn a_server_certificate_outliving_the_cas_says_which_lifetime_is_the_default() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("ca");
        let mut opts = InitOptions {
            server_hosts: vec!["db".parse().unwrap()],
            ca_validity: Some(Validity::days(60)),
            ..InitOptions::default()
        };
        let e = CaDir::init_with_server(&root, &opts).expect_err("refused");
        assert!(
            matches!(&e, Error::ServerOutlivesCas { server, server_default: true, ca, ca_default: false }
                if server == "1y" && ca == "60d"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "the server certificate's validity (1y, the default) would outlive the CAs (60d)"
        );
        assert!(!root.exists(), "nothing is created");

        opts.ca_validity = None;
        opts.server_validity = Some(Validity::days(20 * 365));
        let e = CaDir::init_with_server(&root, &opts).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "the server certificate's validity (20y) would outlive the CAs (10y, the default)"
        );
    }
}
