//! The catalog of the stack: every id as nixp resolves it (the winning
//! layer, the layers it shadows, claims and explicit layers), and what
//! each winning flake offers for every system nix reports, with the
//! command that uses each output. One JSON document (`nixp catalog
//! --json`) that the static site (`html`) is rendered from, so the two
//! say the same. Flakes are evaluated through the output cache
//! (`nix::probe`): a second catalog of an unchanged stack asks nix nothing.

pub(crate) mod html;

use crate::flake::reference::Position;
use crate::nix::probe::Provides;
use crate::resolve::{Depth, Listed, Stack};
use serde_json::{Map, Value, json};

/// The catalog of `stack`, for commands on `system`.
pub(crate) fn gather(stack: &Stack) -> anyhow::Result<Value> {
    let index = stack.index();
    let listed: Vec<Listed> = stack.listed(&index).collect();
    let prober = stack.nixp_prober()?;
    let system = prober.system().to_string();
    // How each winner is given to nix (its private inputs overridden).
    let mut prepared = stack.candidates_of(&listed);
    let layers = stack.layers();
    // An id only explicit layers hold is no plain id's winner: it is
    // what `LAYER.id` resolves to.
    let explicit_use = |l: &Listed| {
        let only = l.layer.is_none()
            && !l.holders.is_empty()
            && l.holders.iter().all(|&h| layers[h].explicit);
        only.then(|| format!("{}.{}", layers[l.holders[0]].name, l.id))
    };
    let mut explicit_refs = vec![None; listed.len()];
    for (n, l) in listed.iter().enumerate() {
        let Some(word) = explicit_use(l) else {
            continue;
        };
        let res = stack.resolve(&word, Position::FlakeUrl, Depth::FirstHolder);
        let Some(reference) = res.output().map(String::from) else {
            continue;
        };
        let overrides = crate::resolve::Flake::named_by(&reference)
            .iter()
            .map(|f| stack.input_overrides(f))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.concat());
        prepared[n] = Some(overrides.map_err(|e| e.to_string()).map(|overrides| {
            crate::nix::probe::Candidate {
                local: crate::flake::local::local_flake(&reference),
                reference: reference.clone(),
                locked: false,
                overrides,
            }
        }));
        explicit_refs[n] = Some(reference);
    }
    let candidates: Vec<_> = prepared
        .iter()
        .map(|p| p.as_ref().and_then(|c| c.as_ref().ok()).cloned())
        .collect();
    let evaluated = prober.catalog(&candidates);
    let name = |i: usize| layers[i].name.clone();
    let mut ids = vec![];
    for (((l, prep), eval), explicit_ref) in listed
        .iter()
        .zip(&prepared)
        .zip(evaluated)
        .zip(explicit_refs)
    {
        let explicit = explicit_use(l);
        let winner = l.layer.or_else(|| l.holders.first().copied());
        let used_as = explicit.clone().unwrap_or_else(|| l.id.to_string());
        let reference = match &explicit_ref {
            Some(r) => Ok(r.clone()),
            None => l.reference.clone().map_err(|e| e.to_string()),
        };
        let error = match (&reference, prep, &eval) {
            (Err(e), _, _) => Some(e.clone()),
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
        entry.insert("explicit".into(), json!(explicit.is_some()));
        entry.insert("reference".into(), json!(reference.as_ref().ok()));
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
