//! nixp's own verbs. Each takes the validated `Config`, writes its answer to
//! stdout (warnings and errors to stderr) and returns an exit code. They
//! run nix only for what nix alone can tell (outputs, remote layers, a
//! layer's flake, nix's `flake-registry` setting); none execs it.

mod audit;
mod catalog;
mod explain;
mod export;
mod help;
mod layers;
mod list;
mod resolve;
mod search;

use crate::cli::{Cli, Verb};
use crate::config::Config;
use crate::exit;
use anyhow::Result;
use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::io::{self, Write};

/// Runs the nixp verb in `args` (`args[1]` is one of `cli::VERBS`).
pub(crate) fn run(args: Vec<OsString>) -> Result<u8> {
    // clap's own messages coloured by nix's rules, as nixp's are.
    let colour = match crate::message::colour() {
        true => clap::ColorChoice::Always,
        false => clap::ColorChoice::Never,
    };
    let parsed = Cli::command()
        .color(colour)
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            // Printing help or a usage error can only fail on a closed stream.
            let _ = e.print();
            return Ok(u8::try_from(code).unwrap_or(exit::USAGE));
        }
    };
    let config = match cli.verb {
        Verb::Layers(_) => crate::config::load_for_edit()?,
        _ => crate::config::load()?,
    };
    let out = io::stdout().lock();
    let mut out = io::BufWriter::new(out);
    let code = match cli.verb {
        Verb::Resolve(a) => resolve::run(&config, &a, &mut out),
        Verb::Explain(a) => explain::run(&config, a, &mut out),
        Verb::Layers(a) => layers::run(&config, a, &mut out),
        Verb::List(a) => list::run(&config, &a, &mut out),
        Verb::Export(a) => export::run(&config, &a, &mut out),
        Verb::Audit(a) => audit::run(&config, &a, &mut out),
        Verb::Version => help::version(&mut out),
        Verb::Catalog(a) => catalog::run(&config, &a, &mut out),
        Verb::Completions(a) => {
            out.write_all(completions(a.shell).as_bytes())?;
            Ok(exit::OK)
        }
    };
    finish(code, out)
}

pub(crate) use help::{is_about, run as about};
pub(crate) use search::{is_stack_search, run as stack_search};

/// The completion script for a shell (the files in `completions/`).
fn completions(shell: crate::cli::ShellArg) -> &'static str {
    match shell {
        crate::cli::ShellArg::Bash => include_str!("../../completions/nixp.bash"),
        crate::cli::ShellArg::Zsh => include_str!("../../completions/_nixp"),
        crate::cli::ShellArg::Fish => include_str!("../../completions/nixp.fish"),
    }
}

/// Flushes stdout; a reader that went away (`nixp list | head`) is not an error.
fn finish(code: Result<u8>, mut out: impl Write) -> Result<u8> {
    let flushed = out.flush();
    match code {
        Err(e) if is_broken_pipe(&e) => Ok(exit::OK),
        Err(e) => Err(e),
        Ok(c) => match flushed {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(exit::OK),
            Err(e) => Err(e.into()),
            Ok(()) => Ok(c),
        },
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// With no layer at all: says so on stderr, with the command that adds
/// one and the file it writes.
fn say_empty(config: &Config) {
    let file = config.paths.user_file().map_or_else(
        |e| format!("no file: {e}"),
        |p| format!("it writes '{}'", p.display()),
    );
    crate::message::text(&format!(
        "no layers yet: every id goes to nix's registries, as with nix itself.\n\
         Add one with: nixp layers add NAME SOURCE\n\
         \x20 (SOURCE: a directory of flakes, a registry.json, or a collection's flake URL;\n\
         \x20 {file})\n"
    ));
}

/// Writes rows as left-aligned columns, two spaces apart.
fn write_table(out: &mut impl Write, rows: &[Vec<String>]) -> io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn write_json(out: &mut impl Write, v: &serde_json::Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)
}
