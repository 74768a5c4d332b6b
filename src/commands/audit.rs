//! `nixp audit [--json]`: ids that both a layer and nix's own registries
//! define, what each side resolves them to, and claimed ids that would
//! otherwise fall through to nix, and ids of nix's registries that chain to
//! a private id (`gamma` → `flake:foo`). Exit 1 when something needs
//! attention: a private id that shadows a nix registry's without being
//! claimed (say so with `"ids"` if it is meant), a claimed id its layer
//! lacks, an id that fails to resolve, a chain that plain nix would end in
//! its own registries, or a registry that cannot be read.

use crate::cli::AuditArgs;
use crate::config::Config;
use crate::exit;
use crate::flake::reference::{Indirect, Position};
use crate::layer::{Answer, LookupFailure, RegistryLayer, Source};
use crate::nix::registries as nixreg;
use crate::resolve::{Depth, Outcome, Stack, Verdict};
use anyhow::Result;
use serde_json::{Value, json};
use std::io::Write;

struct Row {
    id: String,
    /// `shadowed`, `claimed`, `missing` or `error`.
    status: &'static str,
    layer: Option<String>,
    registry: &'static str,
    private: Result<String, String>,
    nix: String,
}

impl Row {
    fn needs_attention(&self) -> bool {
        self.status != "claimed"
    }
}

pub(crate) fn run(config: &Config, args: &AuditArgs, out: &mut impl Write) -> Result<u8> {
    let stack = Stack::new(config);
    let nix = crate::nix::Nix::locate(&config.nix_settings()).ok();
    let mut rows = vec![];
    let mut registries = vec![];
    let mut attention = false;
    let nix_registries = nixreg::registries(nix.as_ref());
    // Chains are read in the registries listed here, as nix said where
    // they are.
    stack.set_nix_registries(
        nix_registries
            .iter()
            .filter_map(|r| r.path.clone())
            .collect(),
    );
    for reg in nix_registries {
        let Some(path) = &reg.path else {
            // A registry nixp cannot read is one it cannot vouch for.
            let status = if reg.disabled { "disabled" } else { "unknown" };
            attention |= !reg.disabled;
            let error = (!reg.disabled)
                .then(|| format!("not read: {}", reg.note.as_deref().unwrap_or("no location")));
            registries.push(json!({"name": reg.name, "path": null, "status": status, "note": reg.note, "error": error}));
            continue;
        };
        let layer = RegistryLayer::new(path.clone());
        let listing = match layer.list() {
            Ok(l) => l,
            Err(u) => {
                let (status, message) = (u.status.as_str(), u.message);
                // A user or system registry nix does not have is normal; one
                // it cannot read is not, nor a global one not fetched yet
                // (nix downloads it on first use).
                let broken = status != "missing" || reg.note.is_some();
                attention |= broken;
                registries.push(json!({"name": reg.name, "path": path, "status": status, "note": reg.note, "error": broken.then_some(message)}));
                continue;
            }
        };
        registries.push(json!({"name": reg.name, "path": path, "status": "ok", "note": reg.note}));
        for id in listing.ids() {
            if let Some(row) = audit_id(&stack, &layer, reg.name, id) {
                attention |= row.needs_attention();
                rows.push(row);
            }
        }
    }
    if args.json {
        let ids: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "status": r.status,
                    "layer": r.layer,
                    "registry": r.registry,
                    "private": r.private.as_ref().ok(),
                    "error": r.private.as_ref().err(),
                    "nix": r.nix,
                })
            })
            .collect();
        super::write_json(
            out,
            &json!({"ids": ids, "registries": registries, "attention": attention}),
        )?;
    } else {
        for r in &rows {
            writeln!(
                out,
                "{} ({}): {} in layer '{}', also in nix's {} registry",
                r.id,
                r.status,
                if r.private.is_ok() { "held" } else { "failing" },
                r.layer.as_deref().unwrap_or("-"),
                r.registry
            )?;
            match &r.private {
                Ok(p) => writeln!(out, "  private: {p}")?,
                Err(e) => writeln!(out, "  private: error: {e}")?,
            }
            writeln!(out, "  nix:     {}", r.nix)?;
        }
        for reg in &registries {
            if let Some(e) = reg.get("error").and_then(Value::as_str) {
                crate::message::warning(format_args!(
                    "nix's {} registry: {e}",
                    reg["name"].as_str().unwrap_or("")
                ));
            }
        }
        if rows.is_empty() {
            writeln!(
                out,
                "no id is defined both by a layer and by nix's registries"
            )?;
        }
    }
    Ok(if attention { exit::RESOLVE } else { exit::OK })
}

/// The row for an id of nix's registries that no layer holds, when nix's
/// registries lead it to one a layer holds (`gamma` → `flake:foo`): plain
/// nix would answer that id from its registries; nixp passes its override.
fn chained(stack: &Stack, registry: &'static str, id: &str, nix: String) -> Option<Row> {
    let hop = stack
        .chained_private(&Indirect::plain(id))
        .into_iter()
        .next()?;
    let private = stack.resolve(&hop, Position::FlakeUrl, Depth::FirstHolder);
    let layer = private.result.as_ref().ok().and_then(|r| r.layer.clone());
    Some(Row {
        id: id.to_string(),
        status: "chained",
        layer,
        registry,
        private: private
            .result
            .as_ref()
            .map(|r| format!("{} (through '{hop}')", r.output))
            .map_err(ToString::to_string),
        nix,
    })
}

/// The row for one id of one of nix's registries, if a layer has a say in it.
fn audit_id(stack: &Stack, registry: &RegistryLayer, name: &'static str, id: &str) -> Option<Row> {
    let nix = match registry.lookup(&Indirect::plain(id)) {
        Ok(Answer::Holds { target, dir, .. }) => target
            .render(dir.as_deref())
            .unwrap_or_else(|e| format!("<{e}>")),
        Ok(Answer::Mentions { detail }) => detail,
        Ok(Answer::Absent) => return None,
        Err(LookupFailure::Error(e)) => e.0,
        Err(LookupFailure::Unavailable(u)) => u.message,
    };
    let private = stack.resolve(id, Position::FlakeUrl, Depth::FirstHolder);
    let claimer = stack.claimer(id).map(|i| stack.layers()[i].name.clone());
    // The layer that took the id (the first round's winner, even when a
    // chain then ends in another layer).
    let taker = private
        .trace
        .iter()
        .find(|s| s.verdict == Verdict::Won)
        .map(|s| s.layer.clone());
    let held = private.result.as_ref().is_ok_and(|r| match r.outcome {
        Outcome::Layer(_) => true,
        Outcome::Fallback => r.layer.is_some(),
        Outcome::Direct => false,
    });
    let status = match (private.error(), held) {
        (None, true) if claimer.is_some() && claimer == taker => "claimed",
        (None, true) => "shadowed",
        (Some(_), _) if claimer.is_some() => "missing",
        (Some(_), _) => "error",
        (None, false) => return chained(stack, name, id, nix),
    };
    Some(Row {
        id: id.to_string(),
        status,
        layer: taker.or(claimer),
        registry: name,
        private: private
            .result
            .as_ref()
            .map(|r| r.output.clone())
            .map_err(ToString::to_string),
        nix,
    })
}
