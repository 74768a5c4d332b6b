//! `nixp explain NIX_ARGS...`: the nix command line nixp would run, and the
//! trace of each rewritten reference; runs nothing.

use crate::cli::ExplainArgs;
use crate::config::Config;
use crate::exit;
use crate::resolve::Depth;
use anyhow::Result;
use std::io::Write;

pub(crate) fn run(config: &Config, args: ExplainArgs, out: &mut impl Write) -> Result<u8> {
    let plan = crate::cmdline::plan::plan(config, args.args, Depth::All)?;
    write!(out, "{}", plan.describe(config.fallback))?;
    if plan.line.errors.is_empty() {
        return Ok(exit::OK);
    }
    out.flush()?;
    for e in &plan.line.errors {
        crate::message::error(e);
    }
    Ok(exit::RESOLVE)
}
