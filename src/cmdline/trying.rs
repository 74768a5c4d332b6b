//! Running a plan whose output-aware choice took holders on trust: the
//! command is its own probe (`nix::trial`). nixp runs it with the first
//! holder not known yet; when nix says that holder does not provide what
//! was asked, nixp learns it and plans the line again, so each holder is
//! evaluated once, in layer order, up to the first that provides.

use super::plan::{Plan, rewrite_line};
use super::read::{Reading, Stop};
use crate::exit;
use crate::flake::reference::Position;
use crate::nix::probe::Provides;
use crate::nix::search::Search;
use anyhow::Result;
use std::ffi::OsString;
use std::io::Write;

impl Plan {
    /// Runs the plan: execs nix (returning only on failure), or, when the
    /// output-aware choice took holders on trust (`nix::trial`), runs the
    /// command with them and plans again each time nix says one of them
    /// does not provide what was asked; then returns nix's exit code.
    pub fn run(mut self) -> Result<u8> {
        loop {
            let Some((stack, given, depth)) = &self.planned else {
                return Err(self.exec());
            };
            let Some(trial) = stack.trial() else {
                return Err(self.exec());
            };
            let tried = trial.take();
            if tried.is_empty() {
                return Err(self.exec());
            }
            let nix = self.nix()?;
            let doing: Vec<String> = tried.iter().map(|t| t.describe()).collect();
            let ran = nix.try_run(
                &self.line.args,
                &format!("evaluating {} (the command itself)", doing.join(", ")),
            )?;
            // Stopped by a signal: over, as an exec'd nix would be.
            if let Some(sig) = ran.signal {
                let _ = std::io::stderr().write_all(&ran.held);
                let code = u8::try_from(128 + sig).unwrap_or(1);
                return Ok(if ran.code == 0 { code } else { ran.code });
            }
            if ran.code == 0 {
                // Whatever nix printed after a line that began `error:`.
                let _ = std::io::stderr().write_all(&ran.held);
                for t in &tried {
                    trial.learn(t, true);
                }
                return Ok(exit::OK);
            }
            let lacking = ran.lacking(&tried, trial.system());
            if lacking.is_empty() {
                // nix's own failure, shown as it printed it.
                let _ = std::io::stderr().write_all(&ran.held);
                return Ok(ran.code);
            }
            for t in lacking {
                trial.learn(t, false);
            }
            let line = rewrite_line(stack, nix.schema(), given, *depth);
            if !line.errors.is_empty() {
                for e in &line.errors {
                    crate::message::error(e);
                }
                return Ok(exit::RESOLVE);
            }
            self.line = line;
        }
    }
}

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
