//! PEM, in one place: every block pgca reads or writes goes through here.
//!
//! Three decoders, each for a reason: certificates (public data) are read with the fast
//! `base64` crate, keys with the strict, constant-time RFC 7468 decoder of `pkcs8`'s `der`,
//! and anything either refuses falls back to the lenient `pem` crate, whose messages name the
//! problem. Callers name the label and get DER.

use zeroize::Zeroize;

use crate::error::Malformed;

/// The DER of the first `CERTIFICATE` block in PEM text.
pub(crate) fn first_cert_der(pem_bytes: &[u8]) -> std::result::Result<Vec<u8>, Malformed> {
    if let Some(der) = first_public_block(pem_bytes, "CERTIFICATE") {
        return Ok(der);
    }
    first_block_lenient(pem_bytes, "CERTIFICATE")
}

/// Every `CERTIFICATE` block of PEM text, in order, as DER (a CA bundle: the old and the new CA
/// of a rollover).
pub(crate) fn all_cert_ders(pem_bytes: &[u8]) -> std::result::Result<Vec<Vec<u8>>, Malformed> {
    all_blocks(pem_bytes, "CERTIFICATE")
}

/// Every `label` block of PEM text (public data: certificates, CRLs), in order, as DER.
pub(crate) fn all_blocks(
    pem_bytes: &[u8],
    label: &'static str,
) -> std::result::Result<Vec<Vec<u8>>, Malformed> {
    let blocks = pem::parse_many(pem_bytes).map_err(|_| Malformed::NotPem)?;
    let found: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|b| b.tag() == label)
        .map(|b| b.into_contents())
        .collect();
    if found.is_empty() {
        return Err(Malformed::NoBlock(label));
    }
    Ok(found)
}

/// The first `label` block of PEM text holding public data (a certificate), without headers:
/// the lines between the boundaries, base64-decoded by the (not constant-time) `base64` crate.
/// `None` for anything else; callers then fall back to the lenient parser and its messages.
fn first_public_block(pem_bytes: &[u8], label: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let (_, body) = pem_block(pem_bytes, label)?;
    let mut b64 = Vec::with_capacity(body.len());
    for line in body.split(|&b| b == b'\n') {
        b64.extend_from_slice(line.trim_ascii());
    }
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// The first `label` block of PEM text, decoded by the strict RFC 7468 decoder (constant-time
/// base64, for keys), which is several times faster than the `pem` crate (`check` decodes two
/// blocks per certificate). `None` for anything it does not take; callers then fall back to the
/// lenient parser and its messages.
pub(crate) fn first_block_fast(pem_bytes: &[u8], label: &str) -> Option<Vec<u8>> {
    let (block, _) = pem_block(pem_bytes, label)?;
    let (found, der) = pkcs8::der::pem::decode_vec(block).ok()?;
    (found == label).then_some(der)
}

/// The first `-----BEGIN label-----` … `-----END label-----` block of PEM text, whole and as
/// the text between its boundary lines. Quick for files that start with the block, as every
/// file pgca writes does.
fn pem_block<'a>(pem: &'a [u8], label: &str) -> Option<(&'a [u8], &'a [u8])> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = if pem.starts_with(begin.as_bytes()) {
        0
    } else {
        pem.windows(begin.len())
            .position(|w| w == begin.as_bytes())?
    };
    let body_start = start + begin.len();
    // Base64 text holds no '-': the first one after the BEGIN line starts the END line.
    let body_len = memchr::memchr(b'-', &pem[body_start..])?;
    let end_start = body_start + body_len;
    if !pem[end_start..].starts_with(end.as_bytes()) {
        return None;
    }
    Some((
        &pem[start..end_start + end.len()],
        &pem[body_start..end_start],
    ))
}

/// The first `label` block of PEM text by the lenient parser (headers, odd line lengths): the
/// fallback, and what foreign files (CRLs) are read with.
pub(crate) fn first_block_lenient(
    pem_bytes: &[u8],
    label: &'static str,
) -> std::result::Result<Vec<u8>, Malformed> {
    let blocks = pem::parse_many(pem_bytes).map_err(|_| Malformed::NotPem)?;
    if blocks.is_empty() {
        return Err(Malformed::NotPem);
    }
    let mut found = None;
    for b in blocks {
        if found.is_none() && b.tag() == label {
            found = Some(b.into_contents());
        } else {
            b.into_contents().zeroize();
        }
    }
    found.ok_or(Malformed::NoBlock(label))
}

/// The one PEM block of `text` (its label and DER), by the lenient parser; `None` if it is not
/// PEM. The DER of keys is the caller's to wipe.
pub(crate) fn parse_one(text: &[u8]) -> Option<(String, Vec<u8>)> {
    let block = pem::parse(text).ok()?;
    Some((block.tag().to_string(), block.into_contents()))
}

/// Whether PEM text holds a `label` block anywhere.
pub(crate) fn has_block(pem_bytes: &[u8], label: &str) -> bool {
    let begin = format!("-----BEGIN {label}-----");
    memchr::memmem::find(pem_bytes, begin.as_bytes()).is_some()
}

/// `der` as a PEM block with `label`, LF line endings.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let block = pem::Pem::new(label, der.to_vec());
    let text = pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    block.into_contents().zeroize();
    text
}
