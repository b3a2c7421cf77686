//! `pgca completions`: a shell completion script.

use clap::Args;

/// `pgca completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}
