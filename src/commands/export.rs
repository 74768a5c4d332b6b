//! `nixp export [--format registry|nixos] [-o FILE]`: the winning private
//! ids for machines (or flake inputs) that see only plain nix: a nix
//! registry.json (version 2), or a NixOS module setting `nix.registry`.

use crate::cli::{ExportArgs, ExportFormat};
use crate::config::Config;
use crate::exit::{self, coded};
use crate::resolve::Stack;
use anyhow::Result;
use serde_json::{Map, Value};
use std::io::Write;

pub(crate) fn run(config: &Config, args: &ExportArgs, out: &mut impl Write) -> Result<u8> {
    let stack = Stack::new(config);
    let index = stack.index();
    let mut code = exit::OK;
    // The registry's entries, written as they come (a Value tree of 100,000
    // entries would cost ten times the text).
    let mut flakes = String::new();
    let mut count = 0usize;
    let mut nixos: Vec<(String, Map<String, Value>)> = vec![];
    let layers = stack.layers();
    for l in stack.listed(&index) {
        // Plain nix has no `LAYER.id`: explicit layers are left out, and a
        // claimed id comes from its claimer only.
        let from: Vec<usize> = match stack.claimer(l.id) {
            Some(c) => l.holders.iter().copied().filter(|&h| h == c).collect(),
            None => l
                .holders
                .iter()
                .copied()
                .filter(|&h| !layers[h].explicit)
                .collect(),
        };
        // The holders' entries in stack order, where nix's first-match rule
        // answers as the stack does, up to the first that matches every
        // reference to the id (a plain, non-exact `from`).
        let before = count;
        'holders: for h in &from {
            for entry in layers[*h].source.registry_entries(l.id) {
                let from = &entry["from"];
                let catch_all = from.get("ref").is_none()
                    && from.get("rev").is_none()
                    && entry.get("exact").is_none();
                if let ExportFormat::Registry = args.format {
                    push_entry(&mut flakes, count, &entry)?;
                }
                count += 1;
                if catch_all {
                    break 'holders;
                }
            }
        }
        if count == before
            && let Err(e) = &l.reference
        {
            crate::message::warning(format_args!("not exported: '{}': {e}", l.id));
            code = exit::RESOLVE;
        }
        if let (ExportFormat::Nixos, Some((target, dir)), Some(_)) =
            (&args.format, &l.target, l.layer)
        {
            nixos.push((l.id.to_string(), target.registry_attrs(dir.as_deref())));
        }
    }
    let text = match args.format {
        // As serde_json's pretty printer writes `{"version": 2, "flakes": [...]}`.
        ExportFormat::Registry if count == 0 => {
            "{\n  \"version\": 2,\n  \"flakes\": []\n}\n".into()
        }
        ExportFormat::Registry => {
            format!("{{\n  \"version\": 2,\n  \"flakes\": [\n{flakes}\n  ]\n}}\n")
        }
        ExportFormat::Nixos => nixos_module(&nixos),
    };
    match &args.output {
        Some(path) => crate::atomic::write_into(path, text.as_bytes())
            .map_err(|e| coded(exit::IO, format!("{e:#}")))?,
        None => out.write_all(text.as_bytes())?,
    }
    Ok(code)
}

/// Appends `entry` to the registry's list, pretty-printed at its depth.
fn push_entry(flakes: &mut String, count: usize, entry: &Value) -> Result<()> {
    if count > 0 {
        flakes.push_str(",\n");
    }
    let text = serde_json::to_string_pretty(entry)?;
    for (n, line) in text.lines().enumerate() {
        if n > 0 {
            flakes.push('\n');
        }
        flakes.push_str("    ");
        flakes.push_str(line);
    }
    Ok(())
}

/// One `nix.registry.<id>` per id: its answer for the plain id. NixOS
/// makes entries `exact` by default; these carry a ref over, as nixp does.
fn nixos_module(entries: &[(String, Map<String, Value>)]) -> String {
    let mut s = String::from("# Written by `nixp export --format nixos`.\n{\n  nix.registry = {\n");
    for (id, to) in entries {
        s.push_str(&format!(
            "    {} = {{ exact = false; to = {}; }};\n",
            crate::flake::expr::string(id),
            crate::flake::expr::value(&Value::Object(to.clone()))
        ));
    }
    s.push_str("  };\n}\n");
    s
}
