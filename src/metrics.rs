//! pgca's Prometheus metrics, node_exporter's textfile format, all in one place: what `pgca check
//! --prometheus FILE` writes (each certificate's expiry, due and expired flags, the overall
//! status, and with `--probe` what each server serves), what `pgca probe --prometheus FILE`
//! writes (the probe's lines alone), and the one writer of the file ([`write_textfile`]).
//!
//! It sits above both reports it renders ([`CheckReport`] in `ops/check.rs`, [`ProbeReport`] in
//! `probe/report.rs`), so the import direction stays one way: `metrics` → `ops` → `probe`.

use std::path::Path;

use crate::error::Result;
use crate::model::status::Status;
use crate::ops::check::{CheckReport, Finding, FindingState};
use crate::probe::report::{ProbeReport, ProbeResult};
use crate::storage;

/// Writes a Prometheus textfile atomically (node_exporter never reads half a file).
pub fn write_textfile(path: &Path, text: &str) -> Result<()> {
    storage::replace_file(
        path,
        text.as_bytes(),
        storage::PUBLIC_MODE,
        "write metrics file",
    )
}

impl CheckReport {
    /// A node_exporter textfile: expiry time, due and expired flags per certificate, and the
    /// overall status.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        type Metric = (&'static str, &'static str, fn(&Finding) -> Option<String>);
        let metrics: [Metric; 3] = [
            (
                "pgca_certificate_expiry_timestamp_seconds",
                "When the certificate expires, in Unix time.",
                |f| f.not_after.map(|t| t.unix_timestamp().to_string()),
            ),
            (
                "pgca_certificate_due",
                "1 when the certificate (or CRL) is due for renewal, or its CA for rollover.",
                |f| {
                    f.not_after
                        .map(|_| u8::from(f.status == Status::Warning).to_string())
                },
            ),
            (
                "pgca_certificate_expired",
                "1 when the certificate (or CRL) has expired, or is not yet valid.",
                |f| {
                    f.not_after.map(|_| {
                        u8::from(matches!(
                            f.state,
                            FindingState::Expired | FindingState::NotYetValid
                        ))
                        .to_string()
                    })
                },
            ),
        ];
        for (metric, help, value) in metrics {
            out.push_str(&format!("# HELP {metric} {help}\n# TYPE {metric} gauge\n"));
            for f in &self.certificates {
                if let Some(v) = value(f) {
                    out.push_str(&format!(
                        "{metric}{{kind=\"{}\",name=\"{}\",serial=\"{}\"}} {v}\n",
                        f.kind,
                        label(&f.name),
                        f.serial
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    ));
                }
            }
        }
        out.push_str(&probe_metrics(&self.probes));
        out.push_str(
            "# HELP pgca_check_status Overall status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n",
        );
        out.push_str("# TYPE pgca_check_status gauge\n");
        out.push_str(&format!("pgca_check_status {}\n", self.status.exit_code()));
        out
    }
}

/// A Prometheus label value: `\`, `"` and newlines escaped.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics of probed servers: each one's status, whether it serves the inventory's current
/// certificate, and when the certificate it serves expires. Empty for no results.
fn probe_metrics(results: &[ProbeResult]) -> String {
    let mut out = String::new();
    if results.is_empty() {
        return out;
    }
    out.push_str(
        "# HELP pgca_probe_status A probed server's status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n# TYPE pgca_probe_status gauge\n",
    );
    for p in results {
        out.push_str(&format!(
            "pgca_probe_status{{target=\"{}\"}} {}\n",
            label(&p.target),
            p.status.exit_code()
        ));
    }
    out.push_str(
        "# HELP pgca_probe_served_serial_current 1 when the server serves the inventory's current certificate.\n# TYPE pgca_probe_served_serial_current gauge\n",
    );
    for p in results {
        if let Some(current) = p.is_current {
            out.push_str(&format!(
                "pgca_probe_served_serial_current{{target=\"{}\",serial=\"{}\"}} {}\n",
                label(&p.target),
                served_serial(p),
                u8::from(current)
            ));
        }
    }
    out.push_str(
        "# HELP pgca_probe_served_expiry_timestamp_seconds When the certificate the server serves expires, in Unix time.\n# TYPE pgca_probe_served_expiry_timestamp_seconds gauge\n",
    );
    for p in results {
        if let Some(served) = p.chain.first() {
            out.push_str(&format!(
                "pgca_probe_served_expiry_timestamp_seconds{{target=\"{}\",serial=\"{}\"}} {}\n",
                label(&p.target),
                served.serial,
                served.not_after.unix_timestamp()
            ));
        }
    }
    out
}

fn served_serial(p: &ProbeResult) -> String {
    p.chain
        .first()
        .map(|c| c.serial.to_string())
        .unwrap_or_default()
}

impl ProbeReport {
    /// A node_exporter textfile of this probe: each target's lines and the overall status
    /// (`pgca_probe_run_status`, the probe's exit status).
    pub fn prometheus(&self) -> String {
        let mut out = probe_metrics(&self.targets);
        out.push_str(
            "# HELP pgca_probe_run_status The worst status of the probe run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n# TYPE pgca_probe_run_status gauge\n",
        );
        out.push_str(&format!(
            "pgca_probe_run_status {}\n",
            self.status.exit_code()
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
