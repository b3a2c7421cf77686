//! libpq's connection service file, `pg_service.conf`: read, edit and write it exactly as libpq
//! reads it, so that `psql service=prod` finds the certificates pgca issued.
//!
//! # How libpq reads the file
//!
//! The rules of `parseServiceFile` in libpq's `fe-connect.c` (PostgreSQL 15), all modelled here:
//!
//! - Lines are read with `fgets` into a 1024-byte buffer. A line of 1022 bytes or more, its `\n`
//!   included, fails with `line N too long`: at most [`MAX_LINE_BYTES`] (1021) bytes before the
//!   `\n`, and the `\r` of a CRLF line counts. libpq sees a C string, so a NUL byte ends the line
//!   early, and a 1023-byte piece holding a NUL is not an error: the rest of that line is then
//!   read as a line of its own. This module splits a file exactly as `fgets` does.
//! - White space is trimmed at both ends of each line (so CRLF files work). Blank lines and lines
//!   starting with `#` are skipped. There is no quoting and no inline comment: the value is
//!   everything after the first `=`, so `dbname=x # c` sets `x # c`, and `dbname = x` is a syntax
//!   error because the key is `dbname ` (with its space).
//! - A line starting with `[` starts a section. `[name]` matches the service `name` exactly (case
//!   matters); whatever follows the `]` is ignored. Lines before the first section are ignored.
//! - In the section libpq wants, every other line must be `keyword=value` with an exact libpq
//!   keyword (`service=` is refused too), else libpq fails with `syntax error in service file`;
//!   a line starting with `ldap` is an LDAP URL in libpq builds with LDAP. Other sections are not
//!   checked. The section ends at the next line starting with `[`.
//! - When a file holds a service twice, the first section wins; within a section, the first
//!   occurrence of a key wins.
//!
//! # What pgca writes
//!
//! [`ServiceFile`] keeps the file's bytes as they are; parsing and serialising without an edit
//! gives back the same bytes, whatever they are (comments, CRLF, odd spacing, foreign sections,
//! unknown keys, non-UTF-8). An edit touches one section and leaves every other byte alone.
//!
//! **The section** that [`ServiceFile::upsert`] replaces and [`ServiceFile::remove`] removes is
//! its header line and every line after it up to its last setting line (any line that is neither
//! blank nor a comment) before the next header or the end of the file. Comments and blank lines
//! between its last setting and the next header stay where they are: they usually introduce the
//! next section. `remove` also drops the blank lines right after the section, and when nothing
//! but blank lines follows it, the blank lines right before its header, so that adding and then
//! removing a service gives back the original file.
//!
//! Every name and value is checked before anything is written: anything libpq would read
//! differently from what was meant (a newline, any control character, white space at either
//! end, `[` or `]` in a name, a line longer than libpq reads, a key outside [`WRITABLE_KEYS`], a
//! `:` in `sslkey`) is refused. As a last line of defence every edit is re-parsed, and kept only
//! if libpq would read exactly the intended settings for that service.
//!
//! # Which file
//!
//! [`resolve_path`] follows libpq: `PGSERVICEFILE`, else `~/.pg_service.conf`. libpq reads the
//! system-wide `$PGSYSCONFDIR/pg_service.conf` only for a service that is not in the user's
//! file; the two files are never merged, and pgca edits only the user's.
//!
//! # Layout
//!
//! One file per concern: [`lines`] splits a file as libpq's `fgets` loop does, [`section`] is a
//! service as read, [`rules`] is what pgca refuses to write, [`edit`] is [`ServiceFile`] (read,
//! upsert, remove), [`path`] finds the file and [`io`] reads it and writes it through the
//! storage layer's one atomic writer.

pub mod edit;
pub mod io;
pub mod lines;
pub mod path;
pub mod rules;
pub mod section;
#[cfg(test)]
mod testing;

pub use edit::{ServiceFile, Upserted};
pub use io::{SERVICE_FILE_MODE, read_file, write_file, write_file_for};
pub use lines::MAX_LINE_BYTES;
pub use path::resolve_path;
pub(crate) use rules::LIBPQ_KEYWORDS;
pub use rules::WRITABLE_KEYS;
pub use section::{Entry, Problem, ProblemKind, Section};
