//! The catalog of the stack: every id as nixp resolves it (the winning
//! layer, the layers it shadows, claims and explicit layers), and what
//! each winning flake offers for every system nix reports, with the
//! command that uses each output. One JSON document (`nixp catalog
//! --json`) that the static site (`html`) is rendered from, so the two
//! say the same. Flakes are evaluated through the output cache
//! (`nix::probe`): a second catalog of an unchanged stack asks nix nothing.

pub(crate) mod html;

use crate::nix::probe::Provides;
use crate::resolve::{Listed, Stack};
use serde_json::{Map, Value, json};

/// The catalog of `stack`, for commands on `system`.
pub(crate) fn gather(stack: &Stack) -> anyhow::Result<Value> {
    let index = stack.index();
    let listed: Vec<Listed> = stack.listed(&index).collect();
    let prober = stack.nixp_prober()?;
    let system = prober.system().to_string();
    // How each winner is given to nix (its private inputs overridden).
    let prepared: Vec<Option<Result<crate::nix::probe::Candidate, String>>> = listed
        .iter()
        .map(|l| {
            let (target, dir) = l.target.as_ref()?;
            let reference = l.reference.as_ref().ok()?;
            Some(
                stack
                    .candidate_for(reference, target, dir.as_deref())
                    .map_err(|e| e.to_string()),
            )
        })
        .collect();
    let candidates: Vec<_> = prepared
        .iter()
        .map(|p| p.as_ref().and_then(|c| c.as_ref().ok()).cloned())
        .collect();
    let evaluated = prober.catalog(&candidates);
    let layers = stack.layers();
    let name = |i: usize| layers[i].name.clone();
    let mut ids = vec![];
    for ((l, prep), eval) in listed.iter().zip(&prepared).zip(evaluated) {
        // An id only an explicit layer holds is used as `LAYER.id`.
        let explicit = l.layer.is_none() && l.holders.iter().all(|&h| layers[h].explicit);
        let winner = l.layer.or_else(|| l.holders.first().copied());
        let used_as = match (explicit, winner) {
            (true, Some(w)) => format!("{}.{}", layers[w].name, l.id),
            _ => l.id.to_string(),
        };
        let error = match (&l.reference, prep, &eval) {
            (Err(e), _, _) => Some(e.to_string()),
            (_, Some(Err(e)), _) => Some(e.clone()),
            (_, _, Some(Err(e))) => Some(e.clone()),
            (_, None, _) => Some("no layer answers for it: it is left for nix".to_string()),
            _ => None,
        };
        let private: Vec<Value> = match prep {
            Some(Ok(c)) => c
                .overrides
                .iter()
                .map(|(id, r)| json!({"id": id, "reference": r}))
                .collect(),
            _ => vec![],
        };
        let mut entry = Map::new();
        entry.insert("id".into(), json!(l.id));
        entry.insert("use".into(), json!(used_as));
        entry.insert("layer".into(), json!(winner.map(name)));
        entry.insert(
            "shadows".into(),
            json!(l.shadows.iter().map(|&i| name(i)).collect::<Vec<_>>()),
        );
        entry.insert(
            "claimed".into(),
            json!(winner.is_some_and(|w| layers[w].claims.matches(l.id))),
        );
        entry.insert("explicit".into(), json!(explicit));
        entry.insert("reference".into(), json!(l.reference.as_ref().ok()));
        entry.insert("error".into(), json!(error));
        entry.insert("private_inputs".into(), Value::Array(private));
        let found = eval.and_then(Result::ok).unwrap_or(Value::Null);
        for key in ["description", "inputs", "systems", "templates", "other"] {
            entry.insert(key.into(), found.get(key).cloned().unwrap_or(Value::Null));
        }
        with_commands(&mut entry, &used_as);
        ids.push(Value::Object(entry));
    }
    let layers: Vec<Value> = layers
        .iter()
        .map(|l| {
            json!({
                "name": l.name,
                "kind": l.source.kind().as_str(),
                "source": l.source.location(),
                "explicit": l.explicit,
                "ids": l.claims.patterns(),
            })
        })
        .collect();
    Ok(json!({
        "system": system,
        "fallback": stack.fallback(),
        "layers": layers,
        "ids": ids,
    }))
}

/// The command that uses an output: `nixp profile install foo#x`, `nixp
/// run foo`, ... (`default` needs no fragment).
pub(crate) fn command(verb: &str, used_as: &str, attr: &str) -> String {
    match attr {
        "default" => format!("nixp {verb} {used_as}"),
        _ => format!("nixp {verb} {used_as}#{attr}"),
    }
}

/// Adds to each package, app, dev shell and template of `entry` the
/// commands that use it.
fn with_commands(entry: &mut Map<String, Value>, used_as: &str) {
    if let Some(Value::Object(systems)) = entry.get_mut("systems") {
        for outputs in systems.values_mut() {
            if let Some(Value::Object(pkgs)) = outputs.get_mut("packages") {
                for (attr, p) in pkgs.iter_mut() {
                    if let Value::Object(p) = p {
                        let mut use_ = vec![
                            command("profile install", used_as, attr),
                            command("build", used_as, attr),
                        ];
                        if p.get("mainProgram").is_some_and(|m| !m.is_null()) {
                            use_.push(command("run", used_as, attr));
                        }
                        p.insert("use".into(), json!(use_));
                    }
                }
            }
            for (kind, verb) in [("apps", "run"), ("devShells", "develop")] {
                if let Some(Value::Array(names)) = outputs.get(kind).cloned() {
                    let used: Vec<Value> = names
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|n| json!({"name": n, "use": command(verb, used_as, n)}))
                        .collect();
                    outputs[kind] = Value::Array(used);
                }
            }
        }
    }
    if let Some(Value::Object(templates)) = entry.get_mut("templates") {
        for (name, t) in templates.iter_mut() {
            let description = t.take();
            *t = json!({
                "description": description,
                "use": command("flake init -t", used_as, name),
            });
        }
    }
}
