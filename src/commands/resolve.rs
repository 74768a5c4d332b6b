//! `nixp resolve [--json] [--explain] REF...`: what nixp would hand to nix.

use crate::cli::ResolveArgs;
use crate::config::Config;
use crate::exit;
use crate::flake::reference::Position;
use crate::nix::search::Search;
use crate::resolve::{Depth, Resolution, Stack};
use anyhow::Result;
use serde_json::Value;
use std::io::Write;

pub(crate) fn run(config: &Config, args: &ResolveArgs, out: &mut impl Write) -> Result<u8> {
    let stack = Stack::new(config);
    // As that nix command would look the reference up (`flake`: as a flake).
    let search = |r: &str| match &args.for_command {
        Some(c) => Search::of(std::slice::from_ref(c), None, c != "flake"),
        None => r.contains('#').then_some(Search::Packages),
    };
    let results: Vec<Resolution> = args
        .refs
        .iter()
        .map(|r| stack.resolve_for(r, Position::Installable, Depth::All, search(r)))
        .collect();
    if args.json {
        let v: Vec<Value> = results.iter().map(Resolution::to_json).collect();
        super::write_json(out, &Value::Array(v))?;
    } else {
        for r in &results {
            if let Some(o) = r.output() {
                writeln!(out, "{o}")?;
            }
        }
    }
    if args.explain {
        out.flush()?;
        for r in &results {
            crate::message::text(&r.explain(stack.fallback()));
        }
    }
    let mut code = exit::OK;
    for r in &results {
        if let Some(e) = r.error() {
            crate::message::error(format_args!("cannot resolve '{}': {e}", r.input));
            code = code.max(e.exit_code());
        }
    }
    Ok(code)
}
