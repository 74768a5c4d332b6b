//! nixp: a front-end for nix that looks flake ids up in an ordered stack of
//! private layers before nix's own registries.
//!
//! Data flows one way: argv → nixp's own verb or a nix command line → one
//! validated `Config` → references found and parsed → resolved against the
//! stack → substituted → nix exec'd.

pub mod atomic;
pub mod claim;
pub mod cli;
mod commands;
mod complete;
pub mod config;
pub mod dropin;
pub mod exit;
pub mod flakeinputs;
pub mod flakeref;
mod fnv;
pub mod layer;
mod layerflake;
pub mod nix;
mod nixexpr;
pub mod nixreg;
pub mod outputs;
mod report;
pub mod rewrite;
pub mod schema;
pub mod stack;
pub mod target;
pub mod want;

use std::ffi::OsString;
use std::process::ExitCode;

/// Runs nixp with this process's arguments and returns its exit code.
pub fn run() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let verb = args.get(1).and_then(|a| a.to_str());
    let completing = std::env::var("NIX_GET_COMPLETIONS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok());
    let result = match (completing, verb) {
        (Some(n), _) => complete::run(args.into_iter().skip(1).collect(), n),
        (None, Some(v)) if cli::VERBS.contains(&v) => commands::run(args),
        (None, _) => dropin::run(args.into_iter().skip(1).collect()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report::error(format_args!("{e:#}"));
            ExitCode::from(exit::code_of(&e))
        }
    }
}
