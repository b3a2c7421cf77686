//! Where the binary finds passphrases.
//!
//! Sources, in this order: `--passphrase-file FILE`, the file named by `PGCA_PASSPHRASE_FILE`,
//! the value of `PGCA_PASSPHRASE` (less safe: the environment of a process can be read by its
//! owner and root, and leaks into crash reports), and, when standard input is a terminal, a prompt
//! that does not echo. Never a command-line argument: those are visible to every user in `ps`.
//! Every file, also a client key's passphrase and a PKCS#12 password, is read by the library's
//! [`Passphrase::from_file`], which refuses a file another user owns, planted a link to, or could
//! read or write (mode at most 0600), and a FIFO, with one line naming it.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use pgca::{Error, Passphrase, Result};
use zeroize::Zeroizing;

/// Where to look for a passphrase: `--passphrase-file`, then the environment, then a prompt.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Sources {
    /// `--passphrase-file`.
    pub file: Option<PathBuf>,
}

impl Sources {
    /// Sources with a `--passphrase-file`.
    pub fn with_file(file: Option<PathBuf>) -> Sources {
        Sources { file }
    }

    /// Whether a file or the environment gives a passphrase (so that getting it asks nothing).
    pub fn given(&self) -> bool {
        self.file.is_some()
            || std::env::var_os("PGCA_PASSPHRASE_FILE").is_some()
            || std::env::var_os("PGCA_PASSPHRASE").is_some()
    }

    /// Finds the passphrase, or `None` if no source has one and standard input is not a
    /// terminal. `prompt` is what to ask; with `confirm` the prompt asks twice (new passphrases).
    pub fn get(&self, prompt: &str, confirm: bool) -> Result<Option<Passphrase>> {
        if let Some(f) = &self.file {
            return Passphrase::from_file(f).map(Some);
        }
        if let Some(f) = std::env::var_os("PGCA_PASSPHRASE_FILE").filter(|f| !f.is_empty()) {
            return Passphrase::from_file(Path::new(&f)).map(Some);
        }
        if let Ok(p) = std::env::var("PGCA_PASSPHRASE") {
            if p.is_empty() {
                return Err(Error::BadPassphrase {
                    from: "PGCA_PASSPHRASE".into(),
                    reason: "empty",
                });
            }
            return Ok(Some(Passphrase::new(p)));
        }
        ask(prompt, confirm)
    }
}

/// The passphrase of a client key (`issue-client --encrypt-key`, `renew`): from its own `file`,
/// else a prompt (asked twice with `confirm`). Never from the CA passphrase's sources: a client's
/// passphrase is the client's.
pub fn key_passphrase(file: Option<&Path>, confirm: bool) -> Result<Option<Passphrase>> {
    match file {
        Some(f) => Passphrase::from_file(f).map(Some),
        None => ask("passphrase for the new client key", confirm),
    }
}

/// The password of a PKCS#12 export: from `file`, else a prompt asked twice; `None` when there
/// is no file and standard input is not a terminal. Like a client key's, never the CA's.
pub fn export_password(file: Option<&Path>) -> Result<Option<Passphrase>> {
    match file {
        Some(f) => Passphrase::from_file(f).map(Some),
        None => ask("password for the PKCS#12 file", true),
    }
}

/// Asks for a new passphrase twice on the terminal; `None` when standard input is not one.
pub fn prompt_new() -> Result<Option<Passphrase>> {
    ask("new passphrase", true)
}

/// Asks on the terminal (twice with `confirm`); `None` when standard input is not a terminal.
fn ask(what: &str, confirm: bool) -> Result<Option<Passphrase>> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let first = prompt_no_echo(&format!("{what}: "))?;
    if confirm && first.as_bytes() != prompt_no_echo("the same again: ")?.as_bytes() {
        return Err(Error::BadPassphrase {
            from: "the prompt".into(),
            reason: "the two entries differ",
        });
    }
    Ok(Some(first))
}

/// Reads a line from the terminal with echo off (restored afterwards, also on error).
fn prompt_no_echo(prompt: &str) -> Result<Passphrase> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{prompt}");
    let _ = stderr.flush();
    let saved = tcgetattr(&stdin).ok();
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        let _ = tcsetattr(&stdin, OptionalActions::Now, &quiet);
    }
    let mut line = Zeroizing::new(String::new());
    let read = stdin.lock().read_line(&mut line);
    if let Some(t) = &saved {
        let _ = tcsetattr(&stdin, OptionalActions::Now, t);
    }
    let _ = writeln!(stderr);
    read.map_err(Error::io_at("read passphrase from", "the terminal"))?;
    let p = line.trim_end_matches(['\n', '\r']);
    if p.is_empty() {
        return Err(Error::BadPassphrase {
            from: "the prompt".into(),
            reason: "empty",
        });
    }
    Ok(Passphrase::new(p))
}
