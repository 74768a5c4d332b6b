//! Property test: flake.nix files built from every form nix accepts an
//! input in, mixing private, claimed and public ids, in the flake and in
//! a local flake among its inputs. Every private or claimed id nix would
//! read gets an `--override-flake`, as written; no public one does.
#![allow(clippy::unwrap_used)]
use nixp::resolve::Stack;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;

/// Ids a layer holds (`foo`, `bar` in a dir layer take no ref), ids a
/// registry holds, a claimed id, and public ids.
const DIR_IDS: [&str; 2] = ["foo", "bar"];
const REF_IDS: [&str; 2] = ["baz", "acme-x"];
const PUBLIC: [&str; 3] = ["pub1", "pub2", "nixpkgs"];

#[derive(Clone, Debug)]
enum Form {
    Url,
    FlakeUrl,
    UrlInSet,
    TypeId,
    TypeIdDotted,
    Name,
    NameNonFlake,
    Nested,
    Follows,
}

#[derive(Clone, Debug)]
struct Input {
    form: Form,
    id: &'static str,
    reference: Option<&'static str>,
}

fn input() -> impl Strategy<Value = Input> {
    let form = prop_oneof![
        Just(Form::Url),
        Just(Form::FlakeUrl),
        Just(Form::UrlInSet),
        Just(Form::TypeId),
        Just(Form::TypeIdDotted),
        Just(Form::Name),
        Just(Form::NameNonFlake),
        Just(Form::Nested),
        Just(Form::Follows),
    ];
    let ids: Vec<&'static str> = DIR_IDS
        .iter()
        .chain(&REF_IDS)
        .chain(&PUBLIC)
        .copied()
        .collect();
    (
        form,
        prop::sample::select(ids),
        prop::option::of(prop::sample::select(vec!["main", "v1.2"])),
    )
        .prop_map(|(form, id, reference)| {
            // A dir layer's flake has no branches; a name form has no ref.
            let no_ref = DIR_IDS.contains(&id)
                || matches!(form, Form::Name | Form::NameNonFlake | Form::Follows);
            Input {
                form,
                id,
                reference: if no_ref { None } else { reference },
            }
        })
}

/// The flake.nix text for `inputs`, and the references nix would look up.
fn flake_nix(inputs: &[Input], local: Option<&str>) -> (String, BTreeSet<String>) {
    let mut text = String::from("{\n");
    let mut asked = BTreeSet::new();
    for (n, i) in inputs.iter().enumerate() {
        let r = match i.reference {
            Some(r) => format!("{}/{r}", i.id),
            None => i.id.to_string(),
        };
        let name = format!("in{n}");
        let line = match i.form {
            Form::Url => format!("inputs.{name}.url = \"{r}\";"),
            Form::FlakeUrl => format!("inputs.{name}.url = \"flake:{r}\";"),
            Form::UrlInSet => format!("inputs.{name} = {{ url = \"{r}\"; flake = true; }};"),
            Form::TypeId => {
                let reference = i
                    .reference
                    .map(|r| format!(" ref = \"{r}\";"))
                    .unwrap_or_default();
                format!(
                    "inputs.{name} = {{ type = \"indirect\"; id = \"{}\";{reference} }};",
                    i.id
                )
            }
            Form::TypeIdDotted => {
                let reference = i
                    .reference
                    .map(|r| format!(" inputs.{name}.ref = \"{r}\";"))
                    .unwrap_or_default();
                format!(
                    "inputs.{name}.type = \"indirect\"; inputs.{name}.id = \"{}\";{reference}",
                    i.id
                )
            }
            Form::Name => format!("inputs.\"{}\" = {{ }};", i.id),
            Form::NameNonFlake => format!("inputs.\"{}\".flake = false;", i.id),
            Form::Nested => format!(
                "inputs.m{n}.url = \"github:o/m{n}\"; inputs.m{n}.inputs.{name}.url = \"{r}\";"
            ),
            Form::Follows => format!("inputs.{name}.follows = \"m{n}\";"),
        };
        text.push_str(&format!("  {line}\n"));
        if !matches!(i.form, Form::Follows) {
            asked.insert(r);
        }
    }
    if let Some(dir) = local {
        text.push_str(&format!("  inputs.local.url = \"path:{dir}\";\n"));
    }
    text.push_str("  outputs = { self, ... }: { };\n}\n");
    (text, asked)
}

fn stack(root: &Path) -> Stack {
    for id in DIR_IDS {
        std::fs::create_dir_all(root.join("pkgs").join(id)).unwrap();
        std::fs::write(root.join("pkgs").join(id).join("flake.nix"), "{ }").unwrap();
    }
    let entry = |id: &str| json!({"from": {"type": "indirect", "id": id}, "to": {"type": "github", "owner": "acme", "repo": id}});
    std::fs::write(
        root.join("team.json"),
        json!({"version": 2, "flakes": [entry("baz")]}).to_string(),
    )
    .unwrap();
    std::fs::write(
        root.join("claims.json"),
        json!({"version": 2, "flakes": [entry("acme-x")]}).to_string(),
    )
    .unwrap();
    let config = root.join("config.json");
    std::fs::write(
        &config,
        json!({"layers": [
            {"name": "PKGS", "dir": root.join("pkgs")},
            {"name": "team", "registry": root.join("team.json")},
            {"name": "C", "registry": root.join("claims.json"), "ids": ["acme-*"]},
        ]})
        .to_string(),
    )
    .unwrap();
    let paths = nixp::config::Paths {
        system: "/nonexistent/system.json".into(),
        user: Some(config),
        cache: None,
    };
    // The registries' targets are remote flakes: nixp has nix fetch them
    // to read their inputs. This nix fetches an empty flake.
    std::fs::create_dir_all(root.join("fetched")).unwrap();
    std::fs::write(root.join("fetched/flake.nix"), "{ }").unwrap();
    let nix = root.join("nix");
    std::fs::write(
        &nix,
        format!(
            "#!/bin/sh\necho '{{\"storePath\": \"{}\"}}'\n",
            root.join("fetched").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&nix, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = nixp::config::load_from(paths, None).unwrap();
    let nix = nixp::nix::Nix::at(nix, &config.nix_settings());
    let stack = Stack::with_nix(&config, std::sync::Arc::new(nixp::nix::Lazy::found(nix)));
    // Not the registries of whoever runs the tests.
    stack.set_nix_registries(vec![]);
    stack
}

fn private(r: &str) -> bool {
    let id = r.split('/').next().unwrap_or_default();
    DIR_IDS.contains(&id) || REF_IDS.contains(&id)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_private_input_and_no_public_one_is_overridden(
        top in prop::collection::vec(input(), 0..8),
        sub in prop::option::of(prop::collection::vec(input(), 0..5)),
    ) {
        let d = tempfile::tempdir().unwrap();
        let stack = stack(d.path());
        let mut asked = BTreeSet::new();
        let local = sub.as_ref().map(|inputs| {
            let (text, a) = flake_nix(inputs, None);
            std::fs::create_dir_all(d.path().join("sub")).unwrap();
            std::fs::write(d.path().join("sub/flake.nix"), text).unwrap();
            asked.extend(a);
            d.path().join("sub").display().to_string()
        });
        let (text, a) = flake_nix(&top, local.as_deref());
        asked.extend(a);
        std::fs::create_dir_all(d.path().join("top")).unwrap();
        std::fs::write(d.path().join("top/flake.nix"), &text).unwrap();
        let got: BTreeSet<String> = stack
            .input_overrides(&nixp::resolve::Flake::Dir(d.path().join("top")))
            .unwrap()
            .into_iter()
            .map(|(from, _)| from)
            .collect();
        let want: BTreeSet<String> = asked.into_iter().filter(|r| private(r)).collect();
        prop_assert_eq!(got, want, "{}", text);
    }
}
