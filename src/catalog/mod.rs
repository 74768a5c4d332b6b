//! The catalog of the stack: every id as nixp resolves it (the winning
//! layer, the layers it shadows, claims and explicit layers), and what
//! each winning flake offers for every system nix reports, with the
//! command that uses each output. One JSON document (`nixp catalog
//! --json`) that the static site (`html`) is rendered from, so the two
//! say the same. Flakes are evaluated through the output cache
//! (`nix::probe`): a second catalog of an unchanged stack asks nix nothing.

pub(crate) mod html;

use crate::flake::reference::Position;
use crate::nix::probe::{Candidate, Provides};
use crate::resolve::{Depth, Listed, Stack};
use serde_json::{Map, Value, json};

/// One id of the stack as the catalog and `search --stack` use it.
pub(crate) struct Winner<'a> {
    pub listed: Listed<'a>,
    /// How it is used: the id, or `LAYER.id` for an id only explicit
    /// layers hold (no plain id's winner: it is what `LAYER.id` resolves to).
    pub used_as: String,
    pub explicit: bool,
    pub reference: Result<String, String>,
    /// How nix is given its flake (`None`: there is none to give).
    pub candidate: Option<Result<Candidate, String>>,
}

/// Every id of `stack` with its winner, and how nix is given each.
pub(crate) fn winners<'a>(stack: &Stack, listed: Vec<Listed<'a>>) -> Vec<Winner<'a>> {
    let layers = stack.layers();
    let candidates = stack.candidates_of(&listed);
    listed
        .into_iter()
        .zip(candidates)
        .map(|(l, candidate)| {
            let only_explicit = l.layer.is_none()
                && !l.holders.is_empty()
                && l.holders.iter().all(|&h| layers[h].explicit);
            if !only_explicit {
                return Winner {
                    used_as: l.id.to_string(),
                    explicit: false,
                    reference: l.reference.clone().map_err(|e| e.to_string()),
                    candidate,
                    listed: l,
                };
            }
            let used_as = format!("{}.{}", layers[l.holders[0]].name, l.id);
            let res = stack.resolve(&used_as, Position::FlakeUrl, Depth::FirstHolder);
            let reference = res.output().map(String::from).ok_or_else(|| {
                res.error()
                    .map_or_else(|| "cannot be resolved".to_string(), |e| e.to_string())
            });
            let candidate = reference.as_ref().ok().map(|r| {
                crate::resolve::Flake::named_by(r)
                    .iter()
                    .map(|f| stack.input_overrides(f))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|v| Candidate {
                        local: crate::flake::local::local_flake(r),
                        reference: r.clone(),
                        locked: false,
                        overrides: v.concat(),
                    })
                    .map_err(|e| e.to_string())
            });
            Winner {
                used_as,
                explicit: true,
                reference,
                candidate,
                listed: l,
            }
        })
        .collect()
}

/// The catalog of `stack`, for commands on `system`.
pub(crate) fn gather(stack: &Stack) -> anyhow::Result<Value> {
    let index = stack.index();
    let winners = winners(stack, stack.listed(&index).collect());
    let prober = stack.nixp_prober()?;
    let system = prober.system().to_string();
    let candidates: Vec<_> = winners
        .iter()
        .map(|w| w.candidate.as_ref().and_then(|c| c.as_ref().ok()).cloned())
        .collect();
    let evaluated = prober.catalog(&candidates);
    let layers = stack.layers();
    let name = |i: usize| layers[i].name.clone();
    let mut ids = vec![];
    for (w, eval) in winners.iter().zip(evaluated) {
        let l = &w.listed;
        let (used_as, reference, prep) = (&w.used_as, &w.reference, &w.candidate);
        let winner = l.layer.or_else(|| l.holders.first().copied());
        let error = match (reference, prep, &eval) {
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
        entry.insert("explicit".into(), json!(w.explicit));
        entry.insert("reference".into(), json!(reference.as_ref().ok()));
        entry.insert("error".into(), json!(error));
        entry.insert("private_inputs".into(), Value::Array(private));
        let found = eval.and_then(Result::ok).unwrap_or(Value::Null);
        for key in [
            "description",
            "inputs",
            "systems",
            "templates",
            "other",
            "partial",
        ] {
            entry.insert(key.into(), found.get(key).cloned().unwrap_or(Value::Null));
        }
        with_commands(&mut entry, used_as, &system);
        if let Some(e) = &error {
            crate::message::warning(format_args!("'{used_as}' is listed with nix's error: {e}"));
        }
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

/// The command that uses an output, ready to paste into a shell: `nixp
/// profile install foo#x`, `nixp run foo` (`default` needs no fragment),
/// `nixp build 'foo#"a.b"'` (an attribute nix would split or a shell would
/// read is quoted for both).
pub(crate) fn command(verb: &str, used_as: &str, attr: &str) -> String {
    let plain = attr.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && attr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''));
    let word = match (attr, plain) {
        ("default", _) => used_as.to_string(),
        (_, true) => format!("{used_as}#{attr}"),
        (_, false) => format!("{used_as}#\"{attr}\""),
    };
    // Quoted for a shell only when it has to be (`#` in a word's middle
    // starts no comment).
    let safe = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.#:/@%+=,-".contains(c));
    match safe {
        true => format!("nixp {verb} {word}"),
        false => format!("nixp {verb} {}", shell_words::quote(&word)),
    }
}

/// Adds to each package, app, dev shell and template of `entry` the
/// commands that use it, on `system` (the one commands run for).
fn with_commands(entry: &mut Map<String, Value>, used_as: &str, system: &str) {
    if let Some(Value::Object(systems)) = entry.get_mut("systems") {
        for (s, outputs) in systems.iter_mut() {
            if s != system {
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::command;

    #[test]
    fn commands_are_quoted_for_nix_and_for_the_shell() {
        assert_eq!(command("run", "foo", "default"), "nixp run foo");
        assert_eq!(command("build", "foo", "x-1_y"), "nixp build foo#x-1_y");
        assert_eq!(
            command("build", "X.foo", "a.b"),
            "nixp build 'X.foo#\"a.b\"'"
        );
        assert_eq!(
            command("run", "foo", "x;touch /tmp/P"),
            "nixp run 'foo#\"x;touch /tmp/P\"'"
        );
        assert_eq!(
            command("flake init -t", "foo", "with space"),
            "nixp flake init -t 'foo#\"with space\"'"
        );
    }
}
