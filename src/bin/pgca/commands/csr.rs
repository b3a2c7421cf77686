//! Certificates for keys made elsewhere: `request` (on the host, no CA directory) and `sign`
//! (on the CA host).

use pgca::request::{RequestOptions, write_request};
use pgca::x509::csr::CsrRequest;
use pgca::{CertKind, Error, IssueOptions, KeyType, Result, Side, Validity};

use super::{Context, parse_opt};
use crate::args::{KindArgs, RequestArgs, SignArgs};
use crate::passphrase;
use crate::render::{self, Format};

fn kind_of(k: &KindArgs) -> CertKind {
    if k.server {
        CertKind::Server
    } else {
        CertKind::Client
    }
}

/// `pgca request`.
pub fn request(a: &RequestArgs) -> Result<()> {
    let kind = kind_of(&a.kind);
    let mut opts = RequestOptions::new(kind);
    // Every value is checked before a passphrase is asked for or anything is written.
    opts.allow_unusual_role = a.allow_unusual_role;
    pgca::request::validate_names(kind, &a.names, a.allow_unusual_role)?;
    if let Some(k) = parse_opt::<KeyType>(&a.key_type)? {
        opts.key_type = k;
    }
    opts.force = a.force;
    if a.encrypt_key || a.key_passphrase_file.is_some() {
        let p = passphrase::key_passphrase(a.key_passphrase_file.as_deref(), true)?.ok_or(
            Error::BadPassphrase {
                from: "--key-passphrase-file or a terminal".into(),
                reason: "--encrypt-key needs a passphrase for the key",
            },
        )?;
        opts.key_passphrase = Some(p);
    }
    let done = write_request(&a.out, &a.names, &opts)?;
    render::print(
        Format::new(a.out_format.quiet, a.out_format.json),
        || render::requested_text(&done),
        || render::requested_json(&done),
    );
    Ok(())
}

/// `pgca sign`.
pub fn sign(ctx: &Context, a: &SignArgs) -> Result<()> {
    let kind = kind_of(&a.kind);
    let mut opts = IssueOptions::default();
    if let Some(v) = parse_opt::<Validity>(&a.validity)? {
        opts.validity = v;
    }
    opts.force = a.force;
    opts.allow_unusual_role = a.allow_unusual_role;
    let csr = CsrRequest::from_file(&a.file)?;
    let side = if kind == CertKind::Server {
        Side::Server
    } else {
        Side::Client
    };
    let ca = ctx.signing(&[side])?;
    let issued = ca.sign_request_to(&csr, kind, &opts, a.out.as_deref())?;
    render::print(
        Format::new(a.out_format.quiet, a.out_format.json),
        || render::signed_text(&issued, &csr, a.out.as_deref()),
        || render::signed_json(&issued, a.out.as_deref()),
    );
    Ok(())
}
