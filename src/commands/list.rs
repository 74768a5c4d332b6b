//! `nixp list [--json]`: every id across the stack.

use crate::cli::ListArgs;
use crate::config::Config;
use crate::exit;
use crate::stack::Stack;
use anyhow::Result;
use serde_json::{Value, json};
use std::io::Write;

pub fn run(config: &Config, args: &ListArgs, out: &mut impl Write) -> Result<u8> {
    let stack = Stack::new(config);
    let (listed, skipped) = stack.list();
    if args.json {
        let ids: Vec<Value> = listed
            .iter()
            .map(|l| {
                json!({
                    "id": l.id,
                    "layer": l.layer,
                    "kind": l.kind.map(|k| k.as_str()),
                    "reference": l.reference.as_ref().ok(),
                    "error": l.reference.as_ref().err(),
                    "shadows": l.shadows,
                })
            })
            .collect();
        let skipped: Vec<Value> = skipped
            .iter()
            .map(|s| json!({"layer": s.layer, "path": s.path, "reason": s.reason}))
            .collect();
        super::write_json(out, &json!({"ids": ids, "skipped": skipped}))?;
    } else {
        let mut table = vec![
            vec!["ID", "LAYER", "REFERENCE", "SHADOWS"]
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>(),
        ];
        for l in &listed {
            table.push(vec![
                l.id.clone(),
                l.layer.clone().unwrap_or_else(|| "-".into()),
                match &l.reference {
                    Ok(r) => r.clone(),
                    Err(e) => format!("(error: {e})"),
                },
                l.shadows.join(","),
            ]);
        }
        super::write_table(out, &table)?;
        for s in &skipped {
            eprintln!(
                "warning: layer '{}': skipped '{}': {}",
                s.layer, s.path, s.reason
            );
        }
    }
    Ok(exit::OK)
}
