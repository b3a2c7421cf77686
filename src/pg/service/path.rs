//! Which service file libpq reads: [`resolve_path`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The service file libpq reads first: `explicit` if given, else `$PGSERVICEFILE`, else
/// `$HOME/.pg_service.conf`.
///
/// libpq falls back to the system-wide `$PGSYSCONFDIR/pg_service.conf` only for a service that
/// is not in this file (or when this file does not exist and `PGSERVICEFILE` is unset); the two
/// files are never merged. libpq up to 17 takes the home directory from the password database
/// rather than `HOME`; they agree unless `HOME` was changed.
pub fn resolve_path(explicit: Option<&Path>) -> Result<PathBuf> {
    resolve_from(
        explicit,
        std::env::var_os("PGSERVICEFILE"),
        std::env::var_os("HOME"),
    )
}

fn resolve_from(
    explicit: Option<&Path>,
    pgservicefile: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if p.as_os_str().is_empty() {
            return Err(Error::NoServiceFile("the path given is empty"));
        }
        return Ok(p.to_path_buf());
    }
    match pgservicefile {
        // libpq uses an empty PGSERVICEFILE as it is, and fails to open it.
        Some(f) if f.is_empty() => Err(Error::NoServiceFile(
            "PGSERVICEFILE is set but empty, so libpq reads no service file",
        )),
        Some(f) => Ok(PathBuf::from(f)),
        None => match home.filter(|h| !h.is_empty()) {
            Some(h) => Ok(PathBuf::from(h).join(".pg_service.conf")),
            None => Err(Error::NoServiceFile(
                "neither PGSERVICEFILE nor HOME is set",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- which file ----

    #[test]
    fn the_path_comes_from_the_caller_then_pgservicefile_then_home() {
        let os = |s: &str| Some(OsString::from(s));
        let given = Path::new("/given");
        assert_eq!(
            resolve_from(Some(given), os("/env"), os("/home/u")).unwrap(),
            given
        );
        assert_eq!(
            resolve_from(None, os("/env/pg_service.conf"), os("/home/u")).unwrap(),
            Path::new("/env/pg_service.conf")
        );
        assert_eq!(
            resolve_from(None, None, os("/home/u")).unwrap(),
            Path::new("/home/u/.pg_service.conf")
        );
        let e = resolve_from(None, None, None).unwrap_err().to_string();
        assert_eq!(e, "no service file: neither PGSERVICEFILE nor HOME is set");
        assert!(resolve_from(None, None, os("")).is_err());
        let e = resolve_from(None, os(""), os("/home/u")).unwrap_err();
        assert!(
            e.to_string().contains("PGSERVICEFILE is set but empty"),
            "{e}"
        );
        assert!(resolve_from(Some(Path::new("")), None, os("/h")).is_err());
        // The real environment: whatever it holds, an explicit path wins.
        assert_eq!(resolve_path(Some(given)).unwrap(), given);
    }
}
