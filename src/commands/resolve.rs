//! `nixp resolve [--json] [--explain] REF...`: what nixp would hand to nix.

use crate::cli::ResolveArgs;
use crate::config::Config;
use crate::exit;
use crate::flakeref::Position;
use crate::stack::{Depth, Outcome, Resolution, Stack, Step};
use crate::want::Search;
use anyhow::Result;
use serde_json::{Value, json};
use std::io::Write;

pub fn run(config: &Config, args: &ResolveArgs, out: &mut impl Write) -> Result<u8> {
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
        let v: Vec<Value> = results.iter().map(to_json).collect();
        super::write_json(out, &Value::Array(v))?;
    } else {
        for r in &results {
            if let Some(o) = &r.output {
                writeln!(out, "{o}")?;
            }
        }
    }
    if args.explain {
        out.flush()?;
        for r in &results {
            crate::report::text(&explain(r, stack.fallback()));
        }
    }
    let mut code = exit::OK;
    for r in &results {
        if let Some(e) = &r.error {
            crate::report::error(format_args!("cannot resolve '{}': {e}", r.input));
            code = exit::RESOLVE;
        }
    }
    Ok(code)
}

pub fn step_json(s: &Step) -> Value {
    json!({
        "reference": s.reference,
        "layer": s.layer,
        "kind": s.kind.as_str(),
        "answer": s.verdict.as_str(),
        "detail": s.detail,
    })
}

fn to_json(r: &Resolution) -> Value {
    json!({
        "input": r.input,
        "output": r.output,
        "layer": r.layer,
        "kind": r.outcome.as_str(),
        "error": r.error,
        "trace": r.trace.iter().map(step_json).collect::<Vec<_>>(),
    })
}

/// The trace for people: the result, then each layer's answer in order.
pub fn explain(r: &Resolution, fallback: bool) -> String {
    let mut s = match (&r.output, r.outcome) {
        (Some(o), Outcome::Direct) => format!(
            "{}: not an indirect reference; passed to nix as is: {o}\n",
            r.input
        ),
        (Some(o), Outcome::Fallback) if r.layer.is_none() => {
            format!(
                "{}: no layer holds it; left for nix's registries: {o}\n",
                r.input
            )
        }
        (Some(o), _) => format!("{} -> {o}\n", r.input),
        (None, _) => format!("{}: error: {}\n", r.input, r.error.as_deref().unwrap_or("")),
    };
    for step in &r.trace {
        s.push_str(&format!(
            "  {}: layer '{}' ({}): {}: {}\n",
            step.reference,
            step.layer,
            step.kind,
            step.verdict.as_str(),
            step.detail
        ));
    }
    if r.outcome == Outcome::Fallback {
        s.push_str(if fallback {
            "  then: nix's registries (flag > user > system > global)\n"
        } else {
            "  then: nothing (fallback off)\n"
        });
    }
    s
}
