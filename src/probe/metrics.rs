//! Probe results as Prometheus metrics (node_exporter's textfile format): `pgca probe
//! --prometheus FILE` writes them alone, `pgca check --prometheus FILE` with its certificates.

use crate::probe::report::{ProbeReport, ProbeResult};

/// A Prometheus label value: `\`, `"` and newlines escaped.
pub(crate) fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics of probed servers: each one's status, whether it serves the inventory's current
/// certificate, and when the certificate it serves expires. Empty for no results.
pub(crate) fn probe_metrics(results: &[ProbeResult]) -> String {
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
    /// A node_exporter textfile of this probe: [`probe_metrics`] and the overall status
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
