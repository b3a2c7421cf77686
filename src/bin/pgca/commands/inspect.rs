//! `pgca inspect FILE`: a certificate or a CRL, as text or JSON.

use pgca::x509::inspect::Inspected;
use pgca::{Result, timefmt};

use crate::args::InspectArgs;
use crate::render::{self, Format};

/// `pgca inspect`.
pub fn inspect(a: &InspectArgs) -> Result<()> {
    let format = Format::new(a.out.quiet, a.json);
    match Inspected::from_file(&a.file)? {
        Inspected::Crl(crl) => {
            render::print(format, || render::crl_text(&a.file, &crl), || &crl);
        }
        Inspected::Certificate(info) => {
            let now = timefmt::now();
            render::print(
                format,
                || render::inspect_text(&a.file, &info, now),
                || render::inspect_json(&a.file, &info, now),
            );
        }
        _ => unreachable!("pgca reads every kind it knows"),
    }
    Ok(())
}
