//! Whether a command line may be its own probe (`nix::trial`, run by
//! `trying`), and whether what such a run teaches may be cached: read
//! from the line alone.

use super::read::{Reading, Stop};
use crate::flake::reference::Position;
use crate::nix::search::Search;
use std::ffi::OsString;

/// Whether the command may be its own probe (`nix::trial`): its stderr is
/// nix's alone (no program of the user's runs on the terminal, no pager),
/// nix prints its errors as text, and exactly one word on the line is
/// looked up by attribute (so nix's "does not provide" can only be about
/// it).
pub(super) fn tries_itself(reading: &Reading, args: &[OsString]) -> bool {
    let searched = reading
        .slots
        .iter()
        .filter(|s| {
            Search::of(
                &reading.command,
                s.flag.as_deref(),
                s.positional() && s.position == Position::Installable,
            )
            .is_some()
        })
        .count();
    let command: Vec<&str> = reading.command.iter().map(String::as_str).collect();
    let nix_only = matches!(
        command.as_slice(),
        [
            "eval"
                | "build"
                | "path-info"
                | "show-derivation"
                | "print-dev-env"
                | "copy"
                | "bundle"
        ] | ["derivation", "show"]
            | ["profile", "install" | "add"]
    );
    nix_only
        && searched == 1
        && reading.stop == Stop::None
        && !args
            .iter()
            .any(|a| a == "--log-format" || a.to_string_lossy().starts_with("--log-format="))
}

/// Whether the command line evaluates its flakes as a probe does (purely,
/// with their own locks), so that what running it teaches may be cached.
pub(super) fn evaluates_as_a_probe(args: &[OsString]) -> bool {
    const CHANGING: [&str; 14] = [
        "--override-input",
        "--impure",
        "--reference-lock-file",
        "--update-input",
        "--recreate-lock-file",
        "--arg",
        "--argstr",
        "-I",
        "--include",
        "--option",
        "--inputs-from",
        "--redirect",
        "--expr",
        "--file",
    ];
    !args.iter().any(|a| {
        let a = a.to_string_lossy();
        CHANGING
            .iter()
            .any(|f| a == *f || a.starts_with(&format!("{f}=")))
    })
}

#[cfg(test)]
mod tests {
    use super::evaluates_as_a_probe;

    #[test]
    fn what_a_run_teaches_is_kept_only_when_it_evaluates_as_a_probe() {
        let line = |v: &[&str]| evaluates_as_a_probe(&v.iter().map(Into::into).collect::<Vec<_>>());
        assert!(line(&["eval", "foo#x", "--json"]));
        assert!(line(&["build", "--no-link", "-L", "foo#x"]));
        assert!(!line(&[
            "eval",
            "foo#x",
            "--override-input",
            "dep",
            "path:/d"
        ]));
        assert!(!line(&["eval", "--impure", "foo#x"]));
        assert!(!line(&["build", "--option", "system", "x", "foo#x"]));
        assert!(!line(&["build", "--arg=x", "foo#x"]));
    }
}
