//! The `pgca` schema and its versioned migrations. Each pgca knows the migrations up to
//! [`SCHEMA_VERSION`]; on connecting it applies those the database lacks, in order, in one
//! transaction under a lock of their own (two processes starting together migrate once), and
//! refuses a schema newer than it knows rather than write rows a newer pgca would misread.
//! `pgca.schema_version` holds one row per migration applied. Version 1 is `pgca.events`, the
//! records; version 2 adds `pgca.files`, the certificates and CRLs that go with them (see
//! [`crate::inventory::db::files`]).

use postgres::Client;

use crate::error::{Error, Result};
use crate::inventory::db::connect::Target;
use crate::inventory::db::retry;

/// The schema version this pgca writes.
pub const SCHEMA_VERSION: i32 = 2;

/// The advisory lock key migrations take ("pgca" and 0).
const MIGRATION_LOCK: i64 = 0x7067_6361_0000_0000;

/// Each migration: the version it brings the schema to, and its statements.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r#"
    CREATE TABLE pgca.events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        batch text NOT NULL,
        event text NOT NULL,
        key text,
        renewed_from text,
        line text NOT NULL,
        committed_at timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE pgca.events IS
        'pgca inventory records, one per row in commit order: line is the record as inventory.jsonl holds it';
    CREATE UNIQUE INDEX events_issued_once ON pgca.events (key) WHERE event = 'issued';
    CREATE UNIQUE INDEX events_token_used_once ON pgca.events (key) WHERE event = 'token-used';
    CREATE UNIQUE INDEX events_renewed_once ON pgca.events (renewed_from)
        WHERE renewed_from IS NOT NULL;
    CREATE INDEX events_batch ON pgca.events (batch);
    "#,
    ),
    (
        2,
        r#"
    CREATE TABLE pgca.files (
        name text PRIMARY KEY,
        content bytea NOT NULL,
        sha256 text NOT NULL,
        batch text NOT NULL,
        CHECK (name !~ '(^/|(^|/)\.\.(/|$)|\.(key|pk8|p12)$)')
    );
    COMMENT ON TABLE pgca.files IS
        'pgca published files, by their path in a CA directory: each issued certificate (the record''s cert path) and each CA''s latest CRL, written in the transaction of the records they go with; never a private key';
    "#,
    ),
];

/// Brings the schema to [`SCHEMA_VERSION`], creating it in an empty database.
pub(crate) fn migrate(client: &mut Client, target: &Target) -> Result<()> {
    let pg = |e: postgres::Error| target.error(retry::line(&e));
    let mut tx = client.transaction().map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(pg)?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('pgca.schema_version') IS NOT NULL", &[])
        .map_err(pg)?
        .get(0);
    if !exists {
        tx.batch_execute(
            "CREATE SCHEMA IF NOT EXISTS pgca;
             CREATE TABLE pgca.schema_version (
                 version integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );",
        )
        .map_err(pg)?;
    }
    let found: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM pgca.schema_version",
            &[],
        )
        .map_err(pg)?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(Error::InventorySchemaNewer {
            target: target.shown.clone(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        tx.batch_execute(sql).map_err(|e| {
            target.error(format!(
                "migration to schema version {version}: {}",
                retry::line(&e)
            ))
        })?;
        tx.execute(
            "INSERT INTO pgca.schema_version (version) VALUES ($1)",
            &[version],
        )
        .map_err(pg)?;
    }
    tx.commit().map_err(pg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_one_by_one_up_to_the_schema_version() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    }
}
