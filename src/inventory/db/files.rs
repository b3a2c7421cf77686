//! `pgca.files`: the files that go with the records, kept in the database beside them, so that a
//! `pgca serve` host needs no copy of another host's CA directory. Each issued certificate is
//! kept under its record's `cert` path (`clients/archive/SERIAL/alice.crt`), inserted in the
//! transaction that commits its `issued` record; each CA's CRL under its file name
//! (`client-ca.crl`), replaced in the transaction that commits its `crl-issued` record. A private
//! key is never one of them: the name is refused here and by the table's constraint.

/// A file kept in the database with the batch it belongs to.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PublishedFile {
    /// Its path relative to a CA directory.
    pub(crate) name: String,
    /// Its bytes (a certificate's or CRL's PEM).
    pub(crate) content: Vec<u8>,
}

impl std::fmt::Debug for PublishedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PublishedFile({}, {} bytes)",
            self.name,
            self.content.len()
        )
    }
}

impl PublishedFile {
    /// `content` to keep as `name`; `None` unless `name` is a relative path inside a CA
    /// directory ([`is_publishable`]).
    pub(crate) fn new(name: impl Into<String>, content: impl Into<Vec<u8>>) -> Option<Self> {
        let name = name.into();
        is_publishable(&name).then(|| PublishedFile {
            name,
            content: content.into(),
        })
    }

    /// SHA-256 of the content, hex.
    pub(crate) fn sha256(&self) -> String {
        crate::model::hex::sha256(&self.content)
    }
}

/// Whether `name` may be kept: a relative path of plain components, not a key's (`.key`, `.pk8`,
/// `.p12`).
pub(crate) fn is_publishable(name: &str) -> bool {
    let keyish = [".key", ".pk8", ".p12"].iter().any(|e| name.ends_with(e));
    let outside = name.is_empty()
        || name
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..");
    !keyish && !outside
}

/// Inserts `files` as part of batch `batch` (a certificate's path is new; a CRL's replaces the
/// one before).
pub(super) fn upsert(
    tx: &mut postgres::Transaction<'_>,
    batch: &str,
    files: &[PublishedFile],
) -> std::result::Result<(), postgres::Error> {
    if files.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let contents: Vec<&[u8]> = files.iter().map(|f| f.content.as_slice()).collect();
    let digests: Vec<String> = files.iter().map(PublishedFile::sha256).collect();
    tx.execute(
        "INSERT INTO pgca.files (name, content, sha256, batch)
         SELECT n, c, d, $1 FROM unnest($2::text[], $3::bytea[], $4::text[]) AS u(n, c, d)
         ON CONFLICT (name) DO UPDATE
             SET content = EXCLUDED.content, sha256 = EXCLUDED.sha256, batch = EXCLUDED.batch",
        &[&batch, &names, &contents, &digests],
    )?;
    Ok(())
}

/// The file kept as `name`, if any, its digest checked.
pub(super) fn read(
    client: &mut postgres::Client,
    name: &str,
) -> std::result::Result<Option<(Vec<u8>, String)>, postgres::Error> {
    let row = client.query_opt(
        "SELECT content, sha256 FROM pgca.files WHERE name = $1",
        &[&name],
    )?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_certificate_and_crl_paths_inside_the_directory_are_kept() {
        for ok in ["clients/archive/01/alice.crt", "client-ca.crl"] {
            assert!(PublishedFile::new(ok, b"x".to_vec()).is_some(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x.crt",
            "clients/../x.crt",
            "clients//x.crt",
            "clients/archive/01/alice.key",
            "clients/alice.pk8",
            "server-ca.p12",
        ] {
            assert!(PublishedFile::new(bad, b"x".to_vec()).is_none(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_the_name_and_size_only() {
        let f = PublishedFile::new("client-ca.crl", b"secret-ish".to_vec()).unwrap();
        assert_eq!(format!("{f:?}"), "PublishedFile(client-ca.crl, 10 bytes)");
    }
}
