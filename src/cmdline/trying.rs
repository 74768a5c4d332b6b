//! Running a plan whose output-aware choice took holders on trust: the
//! command is its own probe (`nix::trial`). nixp runs it with the first
//! holder not known yet; when nix says that holder does not provide what
//! was asked, nixp learns it and plans the line again, so each holder is
//! evaluated once, in layer order, up to the first that provides.

use super::plan::{Plan, rewrite_line};
use crate::exit;
use crate::nix::probe::Provides;
use anyhow::Result;
use std::io::Write;

impl Plan {
    /// Runs the plan: execs nix (returning only on failure), or, when the
    /// output-aware choice took holders on trust (`nix::trial`), runs the
    /// command with them and plans again each time nix says one of them
    /// does not provide what was asked; then returns nix's exit code.
    pub fn run(mut self) -> Result<u8> {
        loop {
            if !self.line.errors.is_empty() {
                for e in &self.line.errors {
                    crate::message::error(e);
                }
                return Ok(exit::RESOLVE);
            }
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
            // A signal sent to nixp ends the run, as it would an exec'd nix.
            let lacking = match (ran.code, ran.signal) {
                (0, _) | (_, Some(_)) => vec![],
                _ => ran.lacking(&tried, trial.system()),
            };
            if lacking.is_empty() {
                // nix's own answer, all it printed shown.
                let _ = std::io::stderr().write_all(&ran.held);
                return Ok(match (ran.code, ran.signal) {
                    (0, Some(sig)) => u8::try_from(128 + sig).unwrap_or(1),
                    (0, None) => {
                        for t in &tried {
                            trial.learn(t, true);
                        }
                        exit::OK
                    }
                    (code, _) => code,
                });
            }
            for t in lacking {
                trial.learn(t, false);
            }
            self.line = rewrite_line(stack, nix.schema(), given, *depth);
        }
    }
}
