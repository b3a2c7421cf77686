//! What `pgca rollover` prints.

use std::fmt::Write;

use pgca::model::text::escape_path as path;
use pgca::{RolloverOutcome, RolloverPhase, RolloverStatus, SideStatus, timefmt};

/// A step done, and what to do next.
pub fn rollover_text(o: &RolloverOutcome) -> String {
    let side = o.side.name();
    let mut out = String::new();
    if o.intermediate {
        intermediate_text(&mut out, o);
        return out;
    }
    match o.phase {
        Some(RolloverPhase::TrustBoth) => {
            let _ = writeln!(
                out,
                "{side} CA rollover started: new CA serial {} (until {}) beside the old serial {}",
                o.new_ca,
                timefmt::human(o.new_ca_not_after),
                o.old_ca
            );
            let _ = writeln!(
                out,
                "every trust file now carries both CAs: run pgca renew (it deploys and installs them), reload every peer, then pgca rollover switch {side}"
            );
        }
        Some(RolloverPhase::IssueNew) => {
            let _ = writeln!(
                out,
                "{side} CA rollover switched: the new CA serial {} signs from now on; {} current certificate(s) of the old CA are due",
                o.new_ca, o.leaves_on_old
            );
            let _ = writeln!(
                out,
                "run pgca renew (it re-issues, deploys and installs them), reload every peer, then pgca rollover finish {side}"
            );
        }
        None => {
            let _ = writeln!(
                out,
                "{side} CA rollover finished: serial {} retired, serial {} is the {side} CA",
                o.old_ca, o.new_ca
            );
            if let Some(a) = &o.archived {
                let _ = writeln!(out, "the old CA's files are in {}", path(a));
            }
            if o.key_left_in_token {
                let _ = writeln!(
                    out,
                    "the old CA's key stays in its PKCS#11 token: remove it with the token's tools once nothing needs it"
                );
            }
            let _ = writeln!(
                out,
                "run pgca renew: it deploys and installs the bundles without the old CA"
            );
        }
    }
    out
}

/// A step of an intermediate rollover (`start --intermediate`): no trust file changes.
fn intermediate_text(out: &mut String, o: &RolloverOutcome) {
    let side = o.side.name();
    let _ = match o.phase {
        Some(RolloverPhase::TrustBoth) => writeln!(
            out,
            "{side} issuing CA rollover started: new intermediate serial {} (until {}) beside the old serial {}, signed by the same root\n\
             no trust file changes; the CRL file carries the new intermediate's CRL: run pgca renew (it deploys it), reload every peer, then pgca rollover switch {side}",
            o.new_ca,
            timefmt::human(o.new_ca_not_after),
            o.old_ca
        ),
        Some(RolloverPhase::IssueNew) => writeln!(
            out,
            "{side} issuing CA rollover switched: the new intermediate serial {} signs from now on; {} current certificate(s) of the old one are due\n\
             run pgca renew (it re-issues, deploys and installs them), reload every peer, then pgca rollover finish {side}",
            o.new_ca, o.leaves_on_old
        ),
        None => writeln!(
            out,
            "{side} issuing CA rollover finished: intermediate serial {} retired, serial {} is the {side} issuing CA\n\
             the old intermediate's files are in {}\n\
             run pgca renew: it deploys the CRL file without the old intermediate's CRL",
            o.old_ca,
            o.new_ca,
            o.archived.as_deref().map_or_else(String::new, path)
        ),
    };
}

/// `pgca rollover status`.
pub fn rollover_status_text(s: &RolloverStatus) -> String {
    let mut out = String::new();
    for side in &s.sides {
        side_text(&mut out, side);
    }
    out
}

fn side_text(out: &mut String, s: &SideStatus) {
    let name = s.side.name();
    let issuing = match (&s.issuing_ca, s.issuing_ca_not_after) {
        (Some(serial), Some(until)) => {
            format!(
                "; issuing CA serial {serial}, until {}",
                timefmt::human(until)
            )
        }
        _ => String::new(),
    };
    let Some(phase) = s.phase else {
        let _ = writeln!(
            out,
            "{name} CA: no rollover (serial {}, until {}{issuing})",
            s.ca,
            timefmt::human(s.ca_not_after)
        );
        return;
    };
    let (what, old) = match &s.issuing_ca {
        Some(i) if s.intermediate => ("issuing CA", i),
        _ => ("CA", &s.ca),
    };
    let _ = writeln!(
        out,
        "{name} {what}: rollover in phase {}{} since {} (old serial {}, new serial {})",
        phase.name(),
        if s.compromised {
            ", compromised CA"
        } else {
            ""
        },
        s.started_at.map_or_else(String::new, timefmt::human),
        old,
        s.new_ca
            .as_ref()
            .map_or_else(String::new, ToString::to_string)
    );
    for (what, n) in [
        ("certificates", s.leaves),
        ("deployments", s.deployments),
        ("installs", s.installs),
    ] {
        let _ = writeln!(
            out,
            "  {what}: {} on the old CA, {} on the new",
            n.old, n.new
        );
    }
    if s.blockers.is_empty() {
        let _ = writeln!(
            out,
            "  nothing recorded keeps finish from passing (it also probes DIR/probes)"
        );
    }
    for b in &s.blockers {
        let _ = writeln!(out, "  blocks finish: {b}");
    }
}
