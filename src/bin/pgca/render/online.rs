//! What `pgca token` prints: the tokens alone, one a line (for scripts), or their JSON.

use pgca::{CertKind, MintedToken, Validity};
use serde::Serialize;
use time::OffsetDateTime;

/// One token a line, nothing else: `TOKEN=$(pgca token db1 --server)`.
pub fn tokens_text(minted: &[MintedToken]) -> String {
    minted
        .iter()
        .map(|m| format!("{}\n", m.token.expose()))
        .collect()
}

#[derive(Serialize)]
struct TokenJson<'a> {
    id: &'a str,
    token: &'a str,
    kind: CertKind,
    names: &'a [String],
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    validity: String,
}

/// `pgca token --json`: each token with its id, kind, names, expiry and certificate validity.
pub fn tokens_json(minted: &[MintedToken]) -> serde_json::Value {
    let v: Vec<TokenJson<'_>> = minted
        .iter()
        .map(|m| TokenJson {
            id: m.token.id(),
            token: m.token.expose(),
            kind: m.kind,
            names: &m.names,
            expires_at: m.expires_at,
            validity: Validity::to_string(&m.validity),
        })
        .collect();
    serde_json::to_value(v).expect("tokens serialise")
}
