#![warn(unreachable_pub)]
//! nixp: a front-end for nix that looks flake ids up in an ordered stack of
//! private layers before nix's own registries.
//!
//! Data flows one way, and the folders are its stages:
//!
//! argv → nixp's own verb (`cli`, `commands`) or a nix command line
//! (`cmdline`) → one validated `Config` (`config`) → the references in it
//! found with nix's schema and parsed (`cmdline::read`, `flake`) → resolved
//! against the stack of layers (`resolve`, `layer`) → substituted
//! (`cmdline::plan`) → nix exec'd (`nix`).
//!
//! Lower stages never reach up: `flake` knows no layer, `layer` no stack,
//! `resolve` no command line. The small modules at the top level are
//! leaves every stage may use.

mod atomic;
mod cache;
mod catalog;
pub mod cli;
pub mod cmdline;
mod commands;
pub mod config;
mod env;
mod exit;
pub mod flake;
mod hash;
pub mod layer;
mod message;
pub mod nix;
mod progress;
pub mod resolve;
mod threads;

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
        (Some(n), _) => cmdline::complete::run(args.into_iter().skip(1).collect(), n),
        (None, Some(v)) if cli::VERBS.contains(&v) => commands::run(args),
        // `help VERB` for a verb of nixp's (nix has no such command).
        (None, Some("help"))
            if args.len() == 3 && args[2].to_str().is_some_and(|v| cli::VERBS.contains(&v)) =>
        {
            commands::run(vec![args[0].clone(), args[2].clone(), "--help".into()])
        }
        (None, _) if commands::is_about(&args[1..]) => commands::about(&args[1..]),
        (None, _) if commands::is_stack_search(&args[1..]) => commands::stack_search(&args[1..]),
        (None, _) => cmdline::run(args.into_iter().skip(1).collect()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            message::error(format_args!("{e:#}"));
            ExitCode::from(exit::code_of(&e))
        }
    }
}
