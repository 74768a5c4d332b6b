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
