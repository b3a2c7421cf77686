//! The CA directory's probes list, `DIR/probes`: one `HOST:PORT` a line, that `pgca check`
//! probes when present and `deploy-server --probe` appends to (replaced atomically, under the
//! CA directory's lock). Blank lines and `#` comments are ignored.

use std::path::PathBuf;

use crate::error::Result;
use crate::probe::wire::Target;
use crate::storage;
use crate::store::layout::CaDir;

impl CaDir {
    /// Where the probes list lives.
    pub fn probes_path(&self) -> PathBuf {
        self.root().join("probes")
    }

    /// The probes list; empty when there is none.
    pub fn probe_list(&self) -> Result<Vec<Target>> {
        let path = self.probes_path();
        if !path.exists() {
            return Ok(Vec::new());
        }
        let text = storage::read(&path, "read probes list")?;
        parse(&String::from_utf8_lossy(&text))
    }

    /// Adds `target` to the probes list unless it is there already; `true` when added.
    pub fn add_probe(&self, target: &Target) -> Result<bool> {
        let _lock = self.write_lock()?;
        let path = self.probes_path();
        let mut text = if path.exists() {
            String::from_utf8_lossy(&storage::read(&path, "read probes list")?).into_owned()
        } else {
            String::new()
        };
        if parse(&text)?.contains(target) {
            return Ok(false);
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!("{target}\n"));
        storage::replace_file(
            &path,
            text.as_bytes(),
            storage::PUBLIC_MODE,
            "write probes list",
        )?;
        Ok(true)
    }
}

/// The targets of a probes list, in order.
fn parse(text: &str) -> Result<Vec<Target>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse() {
        let t = parse("# servers\ndb1:5432\n\n  [::1]:6432 \n").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].to_string(), "[::1]:6432");
        assert!(parse("a b\n").is_err());
    }
}
