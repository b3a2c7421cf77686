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

/// What `pgca enroll` did, in a line.
pub fn enrolled_text(r: &pgca::EnrollReport) -> String {
    let verb = match r.issued.kind {
        CertKind::Server => "deployed",
        _ => "installed",
    };
    let place = format!(
        "{verb} into {}",
        pgca::model::text::escape_path(r.installed.dir())
    );
    format!(
        "enrolled {} {} (serial {}, until {}), {place}\n",
        r.issued.kind,
        pgca::model::text::escape(&r.issued.name),
        r.issued.serial,
        pgca::timefmt::human(r.issued.not_after)
    )
}

#[derive(Serialize)]
struct EnrolledJson<'a> {
    kind: CertKind,
    name: &'a str,
    serial: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    not_after: OffsetDateTime,
    dir: &'a std::path::Path,
}

/// `pgca enroll --json`.
pub fn enrolled_json(r: &pgca::EnrollReport) -> serde_json::Value {
    let dir = r.installed.dir();
    serde_json::to_value(EnrolledJson {
        kind: r.issued.kind,
        name: &r.issued.name,
        serial: &r.issued.serial,
        not_after: r.issued.not_after,
        dir,
    })
    .expect("enrollment serialises")
}

/// One agent round, as a Nagios line.
pub fn agent_text(r: &pgca::AgentReport) -> String {
    format!(
        "PGCA AGENT {} - {}\n",
        r.status,
        pgca::model::text::escape(&r.summary)
    )
}

#[derive(Serialize)]
struct AgentJson<'a> {
    status: pgca::Status,
    serial: String,
    renewed: bool,
    refreshed: bool,
    #[serde(with = "time::serde::rfc3339")]
    due_at: OffsetDateTime,
    summary: &'a str,
}

/// `pgca agent --json`: one object per round.
pub fn agent_json(r: &pgca::AgentReport) -> serde_json::Value {
    serde_json::to_value(AgentJson {
        status: r.status,
        serial: r.serial.to_string(),
        renewed: r.renewed.is_some(),
        refreshed: r.refreshed,
        due_at: r.due_at,
        summary: &r.summary,
    })
    .expect("agent round serialises")
}
