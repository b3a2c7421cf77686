//! The table harness of `tests/common` (`Table`), proved on rows that fail on purpose: every
//! row runs, and the one report names every failing row with its command, what it expected and
//! what happened.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{Table, expect, expect_eq};

/// Four rows: two pass, two fail (a mismatch, then a panic), one of each between passing rows,
/// so that a harness stopping at the first failure, or skipping a row after one, is caught.
fn two_failing_rows() -> Table {
    let mut ran = Vec::new();
    let mut table = Table::new("harness proof");
    table.row("passes first", "true", |_| {
        ran.push(1);
        expect(true, "nothing", "nothing")
    });
    table.row("exits 1 instead of 0", "false --quietly", |r| {
        ran.push(2);
        r.ran("false --loudly");
        expect_eq("exit status", Some(0), Some(1))?;
        unreachable!("a mismatch ends the row");
    });
    table.row("passes between", "true", |_| {
        ran.push(3);
        Ok(())
    });
    table.row("a setup that panics", "setup && run", |_| {
        ran.push(4);
        let empty: Vec<u8> = Vec::new();
        assert_eq!(empty.len(), 1, "the setup's own assertion");
        Ok(())
    });
    assert_eq!(ran, [1, 2, 3, 4], "every row runs, in order");
    table
}

#[test]
fn the_report_names_every_failing_row_and_counts_them() {
    let table = two_failing_rows();
    assert_eq!(table.rows(), 4);
    let labels: Vec<&str> = table.failures().iter().map(|f| f.label.as_str()).collect();
    assert_eq!(labels, ["exits 1 instead of 0", "a setup that panics"]);

    let report = table.into_report().expect("two rows failed");
    assert!(
        report.starts_with("harness proof: 2 of 4 rows failed:\n"),
        "{report}"
    );
    // The mismatch: its label, the command the row said it ran, what it expected and got.
    for want in [
        "row \"exits 1 instead of 0\"\n",
        "  command:  false --loudly\n",
        "  expected: exit status Some(0)\n",
        "  got:      exit status Some(1)\n",
        // The panic: its label, the command given, and the assertion's own message.
        "row \"a setup that panics\"\n",
        "  command:  setup && run\n",
        "  expected: the row to run to its end\n",
        "the setup's own assertion",
    ] {
        assert!(report.contains(want), "missing {want:?} in\n{report}");
    }
    assert!(!report.contains("passes"), "{report}");
    assert!(!report.contains("--quietly"), "{report}");
}

#[test]
fn finish_panics_once_with_the_whole_report() {
    let panic = catch_unwind(AssertUnwindSafe(|| two_failing_rows().finish()))
        .expect_err("finish() panics when a row failed");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(
        message.starts_with("harness proof: 2 of 4 rows failed:"),
        "{message}"
    );
    assert!(
        message.contains("row \"exits 1 instead of 0\"")
            && message.contains("row \"a setup that panics\""),
        "{message}"
    );
}

#[test]
fn passing_rows_pass_and_an_empty_or_ambiguous_table_does_not() {
    let mut table = Table::new("all pass");
    for n in 0..3 {
        table.row(format!("row {n}"), "true", |_| Ok(()));
    }
    assert!(table.failures().is_empty());
    table.finish();

    assert_eq!(
        Table::new("empty").into_report().as_deref(),
        Some("empty: the table ran no rows")
    );

    let mut table = Table::new("twice");
    table.row("same", "a", |_| Ok(()));
    table.row("same", "b", |_| Ok(()));
    let report = table.into_report().expect("a repeated label fails");
    assert!(
        report.starts_with("twice: 1 of 2 rows failed:")
            && report.contains("a label no other row of the table has"),
        "{report}"
    );
}

#[test]
fn a_table_dropped_unfinished_panics() {
    let panic = catch_unwind(|| {
        let mut table = Table::new("forgotten");
        table.row("fails", "x", |_| expect(false, "something", "nothing"));
    })
    .expect_err("dropping an unfinished table panics");
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("dropped without finish()"), "{message}");
}

#[test]
fn snapshot_diff_names_what_was_added_removed_and_changed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("kept"), "same").unwrap();
    std::fs::write(root.join("changed"), "before").unwrap();
    std::fs::write(root.join("removed"), "x").unwrap();
    let before = common::snapshot(root);
    assert_eq!(common::snapshot_diff(&before, &before), "");
    std::fs::write(root.join("changed"), "after").unwrap();
    std::fs::remove_file(root.join("removed")).unwrap();
    std::fs::write(root.join("added"), "new").unwrap();
    let after = common::snapshot(root);
    assert_eq!(
        common::snapshot_diff(&before, &after),
        "~ changed\n- removed\n+ added\n"
    );
}

#[test]
fn command_lines_quote_what_a_shell_would_split() {
    assert_eq!(
        common::command_line(
            "pgca",
            &["issue-client", "a b", "", "x\n[evil]", "@/../svc"]
        ),
        r#"pgca issue-client "a b" "" "x\n[evil]" @/../svc"#
    );
}
