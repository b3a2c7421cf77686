//! `pgca conninfo ROLE --host HOST --driver D`: what a client pastes to connect with verify-full.

use pgca::pg::client::Connection;
use pgca::pg::conninfo::Driver;
use pgca::{HostName, Result, RoleName};

use super::{Context, parse_port};
use crate::args::ConninfoArgs;
use crate::render::{self, Format};

/// `pgca conninfo`.
pub fn conninfo(ctx: &Context, a: &ConninfoArgs) -> Result<()> {
    let role = RoleName::parse_unusual(&a.role)?;
    let host: HostName = a.host.parse()?;
    let driver = Driver::from_name(&a.driver).expect("clap accepts only the drivers' names");
    let mut conn = Connection::new(role, host);
    conn.port = parse_port(&a.port)?;
    conn.dbname = a.dbname.clone();
    let text = ctx.open()?.conninfo(&conn, driver)?;
    render::print(
        Format::new(a.out.quiet, a.json),
        || text.clone(),
        || render::conninfo_json(driver.name(), &text),
    );
    Ok(())
}
