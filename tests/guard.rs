//! Guard rails and sharing: claimed ids, explicit layers, `nixp audit`,
//! `nixp export`, concurrent and interrupted config edits.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use serde_json::{Value, json};

fn registry(entries: Value) -> String {
    serde_json::to_string(&json!({"version": 2, "flakes": entries})).unwrap()
}

/// Layers `team` (registry, claims `acme-*` and `blender`) and PKGS (dir).
fn claimed_setup() -> Env {
    let env = Env::new();
    env.flake("flakes/acme-tools");
    env.flake("flakes/blender");
    env.flake("flakes/other");
    env.write(
        "team.json",
        &registry(json!([
            {"from": {"type": "indirect", "id": "acme-lib"}, "to": {"type": "github", "owner": "acme", "repo": "lib"}},
        ])),
    );
    env.config(json!({"layers": [
        {"name": "team", "registry": env.p("team.json"), "ids": ["acme-*", "blender"]},
        {"name": "PKGS", "dir": env.p("flakes")},
    ]}));
    env
}

#[test]
fn a_claimed_id_is_asked_of_its_layer_alone() {
    let env = claimed_setup();
    assert_eq!(
        env.nixp(&["resolve", "acme-lib#x"]).ok(),
        "github:acme/lib#x\n"
    );
    // PKGS holds acme-tools and blender, but team claims them.
    let err = env
        .nixp(&["resolve", "acme-tools"])
        .fails_with(1)
        .to_string();
    assert_eq!(
        err,
        "error: cannot resolve 'acme-tools': layer 'team' does not hold 'acme-tools', and it claims 'acme-tools' (acme-*, blender); nix's registries are not asked for a claimed id\n"
    );
    assert!(
        env.nixp(&["resolve", "blender"])
            .fails_with(1)
            .contains("claims 'blender'")
    );
    // Unclaimed ids resolve as ever; qualified ones ask the named layer.
    assert_eq!(
        env.nixp(&["resolve", "other"]).ok(),
        format!("{}\n", env.p("flakes/other"))
    );
    assert_eq!(
        env.nixp(&["resolve", "PKGS.blender"]).ok(),
        format!("{}\n", env.p("flakes/blender"))
    );
    assert_eq!(env.nixp(&["resolve", "acmex"]).ok(), "acmex\n");
}

#[test]
fn a_claimed_id_never_reaches_nix_even_when_nix_defines_it() {
    let env = claimed_setup();
    env.stub_nix();
    env.write(
        "home/.config/nix/registry.json",
        &registry(json!([{"from": {"type": "indirect", "id": "acme-gone"}, "to": {"type": "path", "path": "/public"}}])),
    );
    let err = env
        .nixp(&["build", "acme-gone#x"])
        .fails_with(1)
        .to_string();
    assert!(err.contains("claims 'acme-gone'"), "{err}");
    assert!(!env.nix_ran());
}

#[test]
fn a_claiming_layer_that_is_unavailable_is_an_error_not_a_fallback() {
    let env = Env::new();
    env.config(
        json!({"layers": [{"name": "team", "registry": env.p("gone.json"), "ids": ["acme-*"]}]}),
    );
    let out = env.nixp(&["resolve", "acme-x"]);
    let err = out.fails_with(1);
    assert!(
        err.contains("layer 'team' is unavailable") && err.contains("claims 'acme-x'"),
        "{err}"
    );
}

#[test]
fn explicit_layers_answer_only_qualified_references() {
    let env = Env::new();
    env.flake("flakes/foo");
    env.config(json!({"layers": [{"name": "PKGS", "dir": env.p("flakes"), "explicit": true}]}));
    assert_eq!(env.nixp(&["resolve", "foo#x"]).ok(), "foo#x\n");
    assert_eq!(
        env.nixp(&["resolve", "PKGS.foo#x"]).ok(),
        format!("{}#x\n", env.p("flakes/foo"))
    );
    let v = env.nixp(&["resolve", "--json", "foo"]).json();
    assert_eq!(v[0]["trace"][0]["answer"], "skipped");
    assert_eq!(v[0]["trace"][0]["detail"], "asked only as 'PKGS.ID'");
}

#[test]
fn bad_claims_are_config_errors() {
    let env = Env::new();
    env.config(json!({"layers": [{"name": "a", "dir": "/x", "ids": ["a.b"]}]}));
    let err = env.nixp(&["resolve", "x"]).fails_with(3).to_string();
    assert!(err.contains("'ids'") && err.contains("'a.b'"), "{err}");
}

// audit ---------------------------------------------------------------------

fn audit_env() -> Env {
    let mut env = claimed_setup();
    // nix's registries: user defines `other` (shadowed by PKGS) and
    // `acme-tools` (claimed by team, which lacks it); the global one, a
    // local file named by NIX_CONFIG, defines `acme-lib` (claimed and held).
    env.write(
        "home/.config/nix/registry.json",
        &registry(json!([
            {"from": {"type": "indirect", "id": "other"}, "to": {"type": "path", "path": "/public/other"}},
            {"from": {"type": "indirect", "id": "acme-tools"}, "to": {"type": "github", "owner": "evil", "repo": "tools"}},
            {"from": {"type": "indirect", "id": "public-only"}, "to": {"type": "path", "path": "/public/x"}},
        ])),
    );
    env.write(
        "global.json",
        &registry(json!([{"from": {"type": "indirect", "id": "acme-lib"}, "to": {"type": "github", "owner": "evil", "repo": "lib"}}])),
    );
    env.write("nixconf/registry.json", &registry(json!([])));
    env.set_env("NIX_CONF_DIR", &env.p("nixconf"));
    // A stub nix that answers `show-config --json` with the global registry.
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in *show-config*|*'config show'*) printf '%s' '{{\"flake-registry\": {{\"value\": \"{}\"}}}}'; exit 0;; esac\nexit 1\n",
        env.p("global.json")
    );
    let p = env.write("bin/nix", &script);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    env
}

#[test]
fn audit_reports_overlaps_and_claimed_ids_that_would_fall_through() {
    let env = audit_env();
    let out = env.nixp(&["audit", "--json"]);
    assert_eq!(out.code, 1, "attention needed: {out:#?}");
    let v = out.json();
    let ids: Vec<(String, String, String)> = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["registry"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("acme-tools".into(), "missing".into(), "user".into()),
            ("other".into(), "shadowed".into(), "user".into()),
            ("acme-lib".into(), "claimed".into(), "global".into()),
        ]
    );
    assert_eq!(v["ids"][0]["private"], Value::Null);
    assert!(
        v["ids"][0]["error"]
            .as_str()
            .unwrap()
            .contains("claims 'acme-tools'")
    );
    assert_eq!(v["ids"][0]["nix"], "github:evil/tools");
    assert_eq!(v["ids"][1]["private"], env.p("flakes/other"));
    assert_eq!(v["ids"][1]["nix"], "path:/public/other");
    assert_eq!(v["ids"][2]["nix"], "github:evil/lib");
    assert_eq!(v["registries"][2]["path"], env.p("global.json"));
    let text = env.nixp(&["audit"]);
    assert!(
        text.stdout
            .contains("other (shadowed): held in layer 'PKGS', also in nix's user registry\n"),
        "{text:#?}"
    );
    assert!(
        text.stdout
            .starts_with("acme-tools (missing): failing in layer 'team'"),
        "{text:#?}"
    );
}

#[test]
fn audit_is_quiet_when_nothing_overlaps() {
    let env = audit_env();
    env.write("home/.config/nix/registry.json", &registry(json!([])));
    env.write("global.json", &registry(json!([])));
    let out = env.nixp(&["audit"]);
    assert_eq!(
        out.ok(),
        "no id is defined both by a layer and by nix's registries\n"
    );
}

// export --------------------------------------------------------------------

#[test]
fn export_writes_the_winning_ids_as_a_registry() {
    let env = Env::new();
    env.flake("flakes/foo");
    env.flake("flakes/bar");
    env.write(
        "team.json",
        &registry(json!([
            {"from": {"type": "indirect", "id": "np"}, "to": {"type": "github", "owner": "NixOS", "repo": "nixpkgs"}},
            {"from": {"type": "indirect", "id": "foo"}, "to": {"type": "path", "path": "/team/foo"}},
            {"from": {"type": "indirect", "id": "sub"}, "to": {"type": "git", "url": "https://e.org/r", "dir": "x"}},
        ])),
    );
    env.config(json!({"layers": [
        {"name": "PKGS", "dir": env.p("flakes")},
        {"name": "team", "registry": env.p("team.json")},
    ]}));
    let v: Value = serde_json::from_str(env.nixp(&["export"]).ok()).unwrap();
    assert_eq!(
        v,
        json!({"version": 2, "flakes": [
            {"from": {"type": "indirect", "id": "bar"}, "to": {"type": "path", "path": env.p("flakes/bar")}},
            {"from": {"type": "indirect", "id": "foo"}, "to": {"type": "path", "path": env.p("flakes/foo")}},
            {"from": {"type": "indirect", "id": "np"}, "to": {"type": "github", "owner": "NixOS", "repo": "nixpkgs"}},
            {"from": {"type": "indirect", "id": "sub"}, "to": {"type": "git", "url": "https://e.org/r", "dir": "x"}},
        ]})
    );
    // -o writes the same, atomically, and prints nothing (into a
    // directory that exists: nixp makes none for it).
    std::fs::create_dir_all(env.path("out")).unwrap();
    let out = env.nixp(&["export", "-o", "out/registry.json"]);
    assert_eq!(out.ok(), "");
    let written: Value = serde_json::from_str(&env.read("out/registry.json")).unwrap();
    assert_eq!(written, v);
}

#[test]
fn export_nixos_module() {
    let env = Env::new();
    env.flake("flakes/foo");
    env.dir_layers(&[("PKGS", "flakes")]);
    let text = env.nixp(&["export", "--format", "nixos"]).ok().to_string();
    assert_eq!(
        text,
        format!(
            "# Written by `nixp export --format nixos`.\n{{\n  nix.registry = {{\n    \"foo\" = {{ exact = false; to = {{ \"type\" = \"path\"; \"path\" = \"{}\"; }}; }};\n  }};\n}}\n",
            env.p("flakes/foo")
        )
    );
}

#[test]
fn exported_files_are_accepted_by_plain_nix() {
    let Some(_) = real_nix() else { return };
    let mut env = Env::new();
    env.real_flake("flakes/foo", &[("MAIN_PKG", "foo-main", "private-foo")]);
    env.dir_layers(&[("PKGS", "flakes")]);
    env.nixp(&["export", "-o", "exported.json"]).ok();
    env.nixp(&["export", "--format", "nixos", "-o", "registry.nix"])
        .ok();
    // The NixOS module parses.
    let parsed = run(env
        .sandboxed("nix-instantiate")
        .args(["--parse", &env.p("registry.nix")]));
    assert_eq!(parsed.code, 0, "{parsed:#?}");
    // Plain nix, with the export as its global registry, builds the private flake.
    env.use_real_nix();
    let conf = real_nix_conf(&env.path("exported.json"), "");
    let out = run(env.nix_cmd().env("NIX_CONFIG", conf).args([
        "build",
        "--no-link",
        "--json",
        "foo#MAIN_PKG",
    ]))
    .out_path();
    let said = run(&mut std::process::Command::new(format!(
        "{out}/bin/foo-main"
    )));
    assert_eq!(said.stdout, "private-foo\n");
}

// integrity -----------------------------------------------------------------

#[test]
fn concurrent_layer_adds_all_land() {
    let env = Env::new();
    env.config(json!({"fallback": true, "layers": []}));
    let children: Vec<_> = (0..20)
        .map(|i| {
            let dir = env.flake(&format!("src{i}/x"));
            env.cmd()
                .args([
                    "layers",
                    "add",
                    &format!("L{i}"),
                    dir.parent().unwrap().to_str().unwrap(),
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(env.user_config()).unwrap()).unwrap();
    let mut names: Vec<String> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("L{i}")).collect();
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(v["fallback"], true);
}

#[test]
fn killed_edits_never_leave_a_broken_config() {
    let env = Env::new();
    // A large config makes each edit take a while.
    let layers: Vec<Value> = (0..3000)
        .map(|i| json!({"name": format!("big{i}"), "dir": format!("/nonexistent/{i}")}))
        .collect();
    env.config(json!({"layers": layers}));
    let add = |name: &str| {
        let mut c = env.cmd();
        c.args(["layers", "add", name, "--kind", "dir", "/nonexistent/k"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    // How long one edit takes here, so the kills land all through it.
    let start = std::time::Instant::now();
    assert!(add("timed").status().unwrap().success());
    let took = start.elapsed();
    let rounds = 40u32;
    for round in 0..rounds {
        let mut child = add(&format!("k{round}")).spawn().unwrap();
        std::thread::sleep(took * round / rounds);
        let _ = child.kill();
        let _ = child.wait();
        let text = std::fs::read_to_string(env.user_config()).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(v["layers"].as_array().unwrap().len() > 3000);
    }
    // The lock of a killed edit does not block the next one.
    env.nixp(&[
        "layers",
        "add",
        "after",
        "--kind",
        "dir",
        "/nonexistent/after",
    ])
    .ok();
}

#[test]
fn an_explicit_layer_s_chain_stays_private() {
    let env = Env::new();
    env.write(
        "team.json",
        &registry(json!([
            {"from": {"type": "indirect", "id": "foo"}, "to": {"type": "indirect", "id": "foo-internal"}},
            {"from": {"type": "indirect", "id": "foo-internal"}, "to": {"type": "path", "path": "/x"}},
        ])),
    );
    env.config(
        json!({"layers": [{"name": "team", "registry": env.p("team.json"), "explicit": true}]}),
    );
    assert_eq!(env.nixp(&["resolve", "team.foo#x"]).ok(), "path:/x#x\n");
    // Unqualified, the explicit layer is not asked: the id is nix's.
    assert_eq!(env.nixp(&["resolve", "foo#x"]).ok(), "foo#x\n");
    // Neither list nor export presents it as a winner.
    let v = env.nixp(&["list", "--json"]).json();
    assert_eq!(v["ids"][0]["id"], "foo");
    assert_eq!(v["ids"][0]["layer"], Value::Null);
    let v: Value = serde_json::from_str(env.nixp(&["export"]).ok()).unwrap();
    assert_eq!(v["flakes"], json!([]));
}

#[test]
fn export_keeps_ref_specific_and_exact_entries_in_order() {
    let env = Env::new();
    env.write(
        "team.json",
        &registry(json!([
            {"from": {"type": "indirect", "id": "np", "ref": "old"}, "to": {"type": "github", "owner": "NixOS", "repo": "nixpkgs", "ref": "nixos-21.11"}, "exact": true},
            {"from": {"type": "indirect", "id": "np"}, "to": {"type": "github", "owner": "NixOS", "repo": "nixpkgs"}},
            {"from": {"type": "indirect", "id": "onlyref", "ref": "v1"}, "to": {"type": "path", "path": "/v1"}},
        ])),
    );
    env.config(json!({"layers": [{"name": "team", "registry": env.p("team.json")}]}));
    let v: Value = serde_json::from_str(env.nixp(&["export"]).stdout.as_str()).unwrap();
    assert_eq!(
        v["flakes"],
        json!([
            {"from": {"type": "indirect", "id": "np", "ref": "old"}, "to": {"type": "github", "owner": "NixOS", "repo": "nixpkgs", "ref": "nixos-21.11"}, "exact": true},
            {"from": {"type": "indirect", "id": "np"}, "to": {"type": "github", "owner": "NixOS", "repo": "nixpkgs"}},
            {"from": {"type": "indirect", "id": "onlyref", "ref": "v1"}, "to": {"type": "path", "path": "/v1"}},
        ])
    );
}

#[test]
fn export_names_a_flake_in_a_git_checkout_the_way_nix_reads_it() {
    let env = Env::new();
    env.flake("repo/flakes/foo");
    let git = run(env.sandboxed("git").args(["init", "-q", &env.p("repo")]));
    assert_eq!(git.code, 0, "{git:#?}");
    env.dir_layers(&[("PKGS", "repo/flakes")]);
    let v: Value = serde_json::from_str(env.nixp(&["export"]).ok()).unwrap();
    assert_eq!(
        v["flakes"][0]["to"],
        json!({"type": "git", "url": format!("file://{}", env.p("repo")), "dir": "flakes/foo"})
    );
}

#[test]
fn audit_calls_a_claimed_chain_claimed() {
    let env = audit_env();
    env.write(
        "team.json",
        &registry(json!([{"from": {"type": "indirect", "id": "acme-x"}, "to": {"type": "indirect", "id": "other"}}])),
    );
    env.write(
        "home/.config/nix/registry.json",
        &registry(json!([{"from": {"type": "indirect", "id": "acme-x"}, "to": {"type": "path", "path": "/public"}}])),
    );
    env.write("global.json", &registry(json!([])));
    let out = env.nixp(&["audit", "--json"]);
    let v = out.json();
    assert_eq!(v["ids"][0]["status"], "claimed", "{out:#?}");
    assert_eq!(v["ids"][0]["layer"], "team");
    assert_eq!(out.code, 0, "{out:#?}");
}

#[test]
fn audit_without_the_global_registry_needs_attention() {
    let mut env = audit_env();
    env.write("home/.config/nix/registry.json", &registry(json!([])));
    env.set_env("NIXP_NIX", "/nonexistent/nix");
    let out = env.nixp(&["audit"]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stderr.contains("nix's global registry: not read"),
        "{out:#?}"
    );
}
