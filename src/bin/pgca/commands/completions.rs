//! `pgca completions SHELL`: a completion script made from [`crate::args::command`], so it
//! offers exactly the commands and flags `--help` lists. (The man pages come from the same
//! definitions: `make man`, `examples/man.rs`.)

use pgca::Result;

use crate::args::{self, CompletionsArgs};
use crate::render::emit;

/// `pgca completions SHELL`: the script on stdout.
pub fn completions(a: &CompletionsArgs) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut args::command(), "pgca", &mut script);
    emit(&String::from_utf8_lossy(&script));
    Ok(())
}
