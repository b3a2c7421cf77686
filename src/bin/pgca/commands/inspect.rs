//! `pgca inspect FILE`: a certificate or a CRL, as text or JSON.

use pgca::x509::inspect::Inspected;
use pgca::{Result, timefmt};

use crate::args::InspectArgs;
use crate::render::{self, emit};

/// `pgca inspect`.
pub fn inspect(a: &InspectArgs) -> Result<()> {
    match Inspected::from_file(&a.file)? {
        Inspected::Crl(crl) => {
            if a.json {
                emit(&render::json(&crl));
            } else {
                emit(&render::crl_text(&a.file, &crl));
            }
        }
        Inspected::Certificate(info) => {
            let now = timefmt::now();
            if a.json {
                emit(&render::json(&render::inspect_json(&a.file, &info, now)));
            } else {
                emit(&render::inspect_text(&a.file, &info, now));
            }
        }
        _ => unreachable!("pgca reads every kind it knows"),
    }
    Ok(())
}
