//! `nixp list [--json]`: every id across the stack. Output is streamed: the
//! stack holds 200,000 ids compactly, and no table of them is built.

use crate::cli::ListArgs;
use crate::config::Config;
use crate::exit;
use crate::nix::probe::{Offer, Probe};
use crate::resolve::{Listed, Stack};
use anyhow::Result;
use serde_json::json;
use std::io::Write;

pub(crate) fn run(config: &Config, args: &ListArgs, out: &mut impl Write) -> Result<u8> {
    let stack = Stack::new(config);
    let index = stack.index();
    let name = |i: usize| stack.layers()[i].name.as_str();
    let ids = &args.ids;
    let wanted = |id: &str| ids.is_empty() || ids.iter().any(|i| i == id);
    let mut code = exit::OK;
    for id in ids {
        if !index.contains(id) {
            crate::message::error(format_args!("no layer holds '{id}'"));
            code = exit::RESOLVE;
        }
    }
    if config.layers.is_empty() && !args.json {
        super::say_empty(config);
        return Ok(code);
    }
    if args.outputs {
        let listed: Vec<Listed> = stack.listed_where(&index, wanted).collect();
        return Ok(outputs(&stack, listed, args.json, out)?.max(code));
    }
    if args.json {
        write!(out, "{{\"ids\": [")?;
        for (n, l) in stack.listed_where(&index, wanted).enumerate() {
            let v = json!({
                "id": l.id,
                "layer": l.layer.map(name),
                "kind": l.layer.map(|i| stack.layers()[i].source.kind().as_str()),
                "reference": l.reference.as_ref().ok(),
                "error": l.reference.as_ref().err().map(ToString::to_string),
                "shadows": l.shadows.iter().map(|&i| name(i)).collect::<Vec<_>>(),
            });
            write!(out, "{}\n  {v}", if n == 0 { "" } else { "," })?;
        }
        let skipped: Vec<_> = index
            .skipped
            .iter()
            .map(|s| json!({"layer": s.layer, "path": s.path, "reason": s.reason}))
            .collect();
        let layers: Vec<&str> = stack.layers().iter().map(|l| l.name.as_str()).collect();
        writeln!(
            out,
            "\n], \"skipped\": {}, \"layers\": {}}}",
            serde_json::Value::Array(skipped),
            json!(layers)
        )?;
        return Ok(code);
    }
    let reference = |l: &Listed| match &l.reference {
        Ok(r) => r.clone(),
        Err(e) => format!("(error: {e})"),
    };
    // Two passes: column widths first, then the rows. The reference, the
    // widest column, comes last and is not padded.
    let shadows = |l: &Listed| match l.shadows.as_slice() {
        [] => "-".to_string(),
        s => s.iter().map(|&i| name(i)).collect::<Vec<_>>().join(","),
    };
    let mut widths = ["ID".len(), "LAYER".len(), "SHADOWS".len()];
    for l in stack.listed_where(&index, wanted) {
        widths[0] = widths[0].max(l.id.chars().count());
        widths[1] = widths[1].max(l.layer.map_or(1, |i| name(i).chars().count()));
        widths[2] = widths[2].max(shadows(&l).chars().count());
    }
    let [w0, w1, w2] = widths;
    writeln!(
        out,
        "{:w0$}  {:w1$}  {:w2$}  REFERENCE",
        "ID", "LAYER", "SHADOWS"
    )?;
    for l in stack.listed_where(&index, wanted) {
        let layer = l.layer.map_or("-", name);
        writeln!(
            out,
            "{:w0$}  {layer:w1$}  {:w2$}  {}",
            l.id,
            shadows(&l),
            reference(&l)
        )?;
    }
    // Every layer is also one flake by its name (`nixp flake show PKGS`).
    if !stack.layers().is_empty() {
        let names: Vec<&str> = stack.layers().iter().map(|l| l.name.as_str()).collect();
        writeln!(out, "whole layers as flakes: {}", names.join(", "))?;
    }
    for s in &index.skipped {
        crate::message::warning(format_args!(
            "layer '{}': skipped '{}': {}",
            s.layer, s.path, s.reason
        ));
    }
    Ok(code)
}

/// `nixp list --outputs`: each winning flake's outputs for the current
/// system, grouped by output like `nix flake show`, probed concurrently
/// (and cached) by nix.
fn outputs(stack: &Stack, listed: Vec<Listed>, json: bool, out: &mut impl Write) -> Result<u8> {
    let prober = stack.prober()?;
    // A flake whose private inputs cannot be overridden is not probed:
    // its error stands in for its outputs.
    let prepared = stack.candidates_of(&listed);
    let candidates: Vec<_> = prepared
        .iter()
        .map(|p| p.as_ref().and_then(|c| c.as_ref().ok()).cloned())
        .collect();
    let mut probes = prober.probe(&candidates, None, false);
    for (p, prep) in probes.iter_mut().zip(&prepared) {
        if let Some(Err(e)) = prep {
            *p = Some(Err(e.clone()));
        }
    }
    let name = |i: usize| stack.layers()[i].name.as_str();
    let error = |l: &Listed, p: &Option<Result<Probe, String>>| match (&l.reference, p) {
        (Err(e), _) => Some(e.to_string()),
        (_, Some(Err(e))) => Some(e.clone()),
        (_, None) => Some("no layer answers for it: it is left for nix".to_string()),
        (_, Some(Ok(p))) => p.offers_error.clone(),
    };
    let code = match probes.iter().any(|p| !matches!(p, Some(Ok(_)))) {
        true => exit::RESOLVE,
        false => exit::OK,
    };
    if json {
        let ids: Vec<serde_json::Value> = listed
            .iter()
            .zip(&probes)
            .map(|(l, p)| {
                let error = error(l, p);
                json!({
                    "id": l.id,
                    "layer": l.layer.map(name),
                    "reference": l.reference.as_ref().ok(),
                    "outputs": p.as_ref().and_then(|p| p.as_ref().ok()).map(|p| &p.offers),
                    "error": error,
                })
            })
            .collect();
        super::write_json(out, &json!({"system": prober.system(), "ids": ids}))?;
    } else {
        writeln!(out, "outputs for {}:", prober.system())?;
        for (l, p) in listed.iter().zip(&probes) {
            let layer = l.layer.map_or("-", name);
            let reference = l.reference.as_ref().map_or("-", String::as_str);
            writeln!(out, "{}  (layer '{layer}': {reference})", l.id)?;
            let lines: Vec<String> = match (p, error(l, p)) {
                (_, Some(e)) => vec![format!("error: {e}")],
                (Some(Ok(p)), None) if p.offers.is_empty() => {
                    vec!["nothing for this system".into()]
                }
                (Some(Ok(p)), None) => p
                    .offers
                    .iter()
                    .map(|(o, offer)| match offer {
                        Offer::Present(_) => o.clone(),
                        Offer::Count(n) => format!("{o}: {n} attributes (omitted)"),
                        Offer::Names(v) => format!("{o}: {}", v.join(", ")),
                    })
                    .collect(),
                (_, None) => vec![],
            };
            for (k, line) in lines.iter().enumerate() {
                let branch = if k + 1 == lines.len() {
                    "└───"
                } else {
                    "├───"
                };
                writeln!(out, "{branch}{line}")?;
            }
        }
    }
    Ok(code)
}
