//! nixp in front of nix: a nix command line is read with nix's own schema
//! (`read`), the flake references in it are resolved against the stack and
//! the private inputs of the local flakes it names are added (`plan`), and
//! the real nix replaces nixp (exec), once, at the very end. Completion
//! (`complete`) answers nix's completion protocol the same way.

pub(crate) mod complete;
pub mod plan;
pub mod read;

use crate::exit;
use crate::resolve::Depth;
use anyhow::Result;
use std::ffi::OsString;

/// Runs a nix command line (argv without argv[0]): plan, report, exec.
/// Returns only on failure.
pub fn run(args: Vec<OsString>) -> Result<u8> {
    let config = crate::config::load()?;
    let explain = std::env::var_os("NIXP_EXPLAIN").is_some_and(|v| v == "1");
    let depth = if explain {
        Depth::All
    } else {
        Depth::FirstHolder
    };
    let plan = plan::plan(&config, args, depth)?;
    if !plan.line.errors.is_empty() {
        for e in &plan.line.errors {
            crate::message::error(e);
        }
        return Ok(exit::RESOLVE);
    }
    if explain {
        crate::message::text(&plan.describe(config.fallback));
    }
    Err(plan.exec())
}
