//! `nixp list [--json]`: every id across the stack. Output is streamed: the
//! stack holds 200,000 ids compactly, and no table of them is built.

use crate::cli::ListArgs;
use crate::config::Config;
use crate::exit;
use crate::stack::{Listed, Stack};
use anyhow::Result;
use serde_json::json;
use std::io::Write;

pub fn run(config: &Config, args: &ListArgs, out: &mut impl Write) -> Result<u8> {
    let stack = Stack::new(config);
    let index = stack.index();
    let name = |i: usize| stack.layers()[i].name.as_str();
    if args.json {
        write!(out, "{{\"ids\": [")?;
        for (n, l) in stack.listed(&index).enumerate() {
            let v = json!({
                "id": l.id,
                "layer": l.layer.map(name),
                "kind": l.layer.map(|i| stack.layers()[i].source.kind().as_str()),
                "reference": l.reference.as_ref().ok(),
                "error": l.reference.as_ref().err(),
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
        return Ok(exit::OK);
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
    for l in stack.listed(&index) {
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
    for l in stack.listed(&index) {
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
        crate::report::warning(format_args!(
            "layer '{}': skipped '{}': {}",
            s.layer, s.path, s.reason
        ));
    }
    Ok(exit::OK)
}
