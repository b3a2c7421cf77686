//! `pgca export`: a certificate and key as PEM files, PKCS#8 DER, PKCS#12, a Kubernetes
//! Secret or CloudNativePG's Secrets.

use pgca::export::{ExportFormat, ExportRequest};
use pgca::{CertKind, Error, Result, Side};

use super::Context;
use crate::args::ExportArgs;
use crate::render::{self, Format};

/// `pgca export`.
pub fn export(ctx: &Context, a: &ExportArgs) -> Result<()> {
    let format: ExportFormat = a.format.parse()?;
    let mut req = ExportRequest::new(a.name.clone(), format, a.out.clone());
    req.kind = match a.kind.as_deref() {
        None => None,
        Some("server") => Some(CertKind::Server),
        Some("client") => Some(CertKind::Client),
        Some(other) => {
            return Err(Error::InvalidValue {
                what: "kind",
                value: other.to_string(),
                reason: "expected server or client",
            });
        }
    };
    req.force = a.force;
    req.namespace = a.namespace.clone();
    req.secret_name = a.secret_name.clone();
    if format == ExportFormat::P12 {
        // Asked before anything is read or written; never from argv or the CA's sources.
        let password = crate::passphrase::export_password(a.key_passphrase_file.as_deref())?;
        req.password = Some(password.ok_or(Error::NoExportPassword)?);
    }
    let ca = ctx.open()?;
    // Only a cnpg export that must issue streaming_replica's certificate signs.
    let ca = if ca.export_needs_signing(&req)? {
        ctx.signing(&[Side::Client])?
    } else {
        ca
    };
    let done = ca.export(&req)?;
    render::print(
        Format::of(&a.out_format),
        || render::exported_text(&done),
        || render::exported_json(&done),
    );
    Ok(())
}
