//! `pgca conninfo`: what a client pastes to connect with verify-full.

use clap::Args;

use super::Quiet;

/// `pgca conninfo`.
#[derive(Debug, Args)]
pub struct ConninfoArgs {
    /// The role
    #[arg(value_name = "ROLE")]
    pub role: String,

    /// The server's host name (must be one of its certificate's names)
    #[arg(long, value_name = "HOST", required = true)]
    pub host: String,

    /// The server's port
    #[arg(long, value_name = "PORT", default_value = "5432")]
    pub port: String,

    /// The database [default: the role name]
    #[arg(long, value_name = "DB")]
    pub dbname: Option<String>,

    /// The client library
    #[arg(long, value_name = "DRIVER", required = true, value_parser = clap::builder::PossibleValuesParser::new(pgca::pg::conninfo::Driver::ALL.map(|d| d.name())))]
    pub driver: String,

    /// Print {"driver": ..., "text": ...} instead of the text
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    #[command(flatten)]
    pub out: Quiet,
}
