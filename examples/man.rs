//! `make man`: writes `pgca.1` and a page per command (`pgca-init.1`, `pgca-service-add.1`, ...)
//! into DIR (default `target/man`), from the binary's own clap definitions: the pages say what
//! `--help` says, exit-status blocks included.
//!
//! An example rather than a hidden `pgca` command, so that the binary carries no man-page
//! generator and `pgca completions` offers no command a user cannot see.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap_mangen::Man;

// Through a directory module, so that args.rs's own submodules (`mod hsm;` → args/hsm.rs)
// resolve as they do in the binary.
#[allow(dead_code)]
#[path = "../src/bin/pgca"]
mod bin {
    pub mod args;
}
use bin::args;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/man"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    let mut cmd = args::command().disable_help_subcommand(true);
    cmd.build(); // gives each subcommand its display name: pgca-service-add
    let n = write_pages(&cmd, &dir)?;
    println!("wrote {n} man pages into {}", dir.display());
    Ok(())
}

/// A page for `cmd` and for each of its visible subcommands; how many.
fn write_pages(cmd: &clap::Command, dir: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        n += write_pages(sub, dir)?;
    }
    let man = Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut page)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut page)?;
    }
    if let Some(block) = cmd.get_after_help() {
        exit_status_section(&mut page, &block.to_string())?;
    }
    if cmd.get_version().is_some() {
        man.render_version_section(&mut page)?;
    }
    std::fs::write(dir.join(man.get_filename()), page)?;
    Ok(n + 1)
}

/// The exit-status block as written, not filled: its columns line up as in `--help`.
fn exit_status_section(page: &mut Vec<u8>, block: &str) -> std::io::Result<()> {
    writeln!(page, ".SH \"EXIT STATUS\"\n.nf")?;
    for line in block.lines() {
        // \& keeps a leading '.' or '\'' from being read as a request; \e is a backslash.
        writeln!(page, "\\&{}", line.replace('\\', "\\e").replace('-', "\\-"))?;
    }
    writeln!(page, ".fi")
}
