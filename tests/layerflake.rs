//! A whole layer as one flake, with the real nix, offline: `flake show`,
//! `search`, `profile install PKGS#member.pkg`, `run`, `develop`; a new
//! member appears by itself; a broken member is named, not fatal.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use serde_json::{Value, json};

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// PKGS holds `multi` (a default package, two more, a dev shell), `solo`
/// (only MAIN_PKG) and `plain` (only a default package).
fn setup() -> Option<Env> {
    let env = real_nix_env()?;
    env.real_flake_with(
        "flakes/multi",
        &[("default", "multi", "multi-default"), ("tool1", "tool1", "tool-one"), ("tool2", "tool2", "tool-two")],
        r#"    devShells.x86_64-linux.default = derivation { name = "multi-dev"; system = "x86_64-linux"; builder = "/bin/bash"; outputs = [ "out" ]; MULTI_DEV = "yes"; args = [ "-c" "echo > $out" ]; };"#,
    );
    env.real_flake("flakes/solo", &[("MAIN_PKG", "solo-main", "solo-main")]);
    env.real_flake("flakes/plain", &[("default", "plain", "plain-default")]);
    env.dir_layers(&[("PKGS", "flakes")]);
    Some(env)
}

fn packages(env: &Env) -> Vec<String> {
    let out = env.nixp(&["flake", "show", "--json", "PKGS"]);
    let v = out.json();
    let mut names: Vec<String> = v["packages"]["x86_64-linux"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

#[test]
fn the_layer_is_one_flake() {
    let Some(env) = setup() else { return };
    assert_eq!(
        packages(&env),
        [
            "multi",
            "multi.tool1",
            "multi.tool2",
            "plain",
            "solo.MAIN_PKG"
        ]
    );
    let found = strip_ansi(&env.nixp(&["search", "PKGS", "tool"]).stdout);
    assert!(
        found.contains("packages.x86_64-linux.multi.tool1"),
        "{found}"
    );
    assert!(
        found.contains("packages.x86_64-linux.multi.tool2"),
        "{found}"
    );

    let profile = env.p("profile");
    env.nixp(&[
        "profile",
        "install",
        "--profile",
        &profile,
        "PKGS#multi.tool1",
    ])
    .ok();
    let said = run(&mut std::process::Command::new(
        env.path("profile/bin/tool1"),
    ));
    assert_eq!(said.stdout, "tool-one\n");
    // A member with no default package, by its package's name.
    let path = env
        .nixp(&["build", "--no-link", "--json", "PKGS#solo.MAIN_PKG"])
        .out_path();
    assert!(path.ends_with("-solo-main"), "{path}");
    // A member's default package, its program, and its dev shell.
    assert_eq!(
        env.nixp(&["run", "PKGS#plain", "--", "x"]).ok(),
        "plain-default\nx\n"
    );
    let dev = env.nixp(&["develop", "PKGS#multi", "-c", "sh", "-c", "echo $MULTI_DEV"]);
    assert!(dev.stdout.ends_with("yes\n"), "{dev:#?}");
}

#[test]
fn a_new_member_appears_and_an_unchanged_layer_costs_no_nix_call() {
    let Some(mut env) = setup() else { return };
    // Count the nix runs nixp makes itself (not the one it execs).
    let log = env.p("nix-calls");
    env.log_nix_calls("nix-calls");
    let resolve = |env: &Env| env.nixp(&["resolve", "PKGS"]);
    let first = resolve(&env);
    let generated = first.ok().trim().to_string();
    assert!(generated.starts_with("path:"), "{first:#?}");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains("flake lock"), "{calls}");
    // Unchanged: the same flake, and nix is not asked anything.
    let again = resolve(&env);
    assert_eq!(again.ok().trim(), generated);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), calls);

    env.real_flake("flakes/fourth", &[("default", "fourth", "fourth")]);
    assert!(packages(&env).contains(&"fourth".to_string()));
    // A new member makes a new flake, at the same path (what a profile
    // element installed from it recorded).
    let third = resolve(&env);
    assert_eq!(third.ok().trim(), generated);
    let flake_nix =
        std::fs::read_to_string(format!("{}/flake.nix", &generated["path:".len()..])).unwrap();
    assert!(flake_nix.contains("fourth"), "{flake_nix}");
}

#[test]
fn a_broken_member_is_named_and_the_others_stay() {
    let Some(env) = setup() else { return };
    env.write(
        "flakes/broken/flake.nix",
        "{ outputs = { self }: { packages.x86_64-linux.x = throw \"boom\"; }; ",
    );
    let out = env.nixp(&["flake", "show", "--json", "PKGS"]);
    assert!(
        out.stderr
            .contains("warning: layer 'PKGS': member 'broken' fails to evaluate"),
        "{out:#?}"
    );
    let v: Value = out.json();
    assert!(v["packages"]["x86_64-linux"].get("multi").is_some(), "{v}");
    assert!(v["packages"]["x86_64-linux"].get("broken").is_none(), "{v}");
}

/// On a machine where nix never ran, a 6-member layer's flake is complete
/// on the first run: concurrent first nix calls race in nix's own setup,
/// and nixp tries them again.
#[test]
fn a_six_member_layer_is_complete_on_a_fresh_store() {
    let Some(env) = real_nix_env() else { return };
    let names = ["m1", "m2", "m3", "m4", "m5", "m6"];
    for n in names {
        env.real_flake(&format!("six/{n}"), &[("default", n, n)]);
    }
    env.dir_layers(&[("SIX", "six")]);
    let Some((mut cmd, _store)) = env.nixp_on_a_fresh_store() else {
        return;
    };
    let out = run(cmd.args(["flake", "show", "--json", "SIX"]));
    assert!(!out.stderr.contains("fails to evaluate"), "{out:#?}");
    let v = out.json();
    let got: Vec<&String> = v["packages"]["x86_64-linux"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(got, names, "{out:#?}");
}

/// A reference into one member (`PKGS#multi.tool1`) is answered by a flake
/// of that member alone, in the same layout: the layer's other members are
/// neither fetched nor checked, a broken one does not matter, and a change
/// to one leaves the others' flakes as they were.
#[test]
fn a_reference_into_one_member_reads_that_member_alone() {
    let Some(env) = setup() else { return };
    env.write(
        "flakes/broken/flake.nix",
        "{ outputs = { self }: { packages.x86_64-linux.x = throw \"boom\"; }; ",
    );
    let cache = env.path("home/.cache/nixp");
    let eval = |attr: &str| {
        let r = env.nixp(&["eval", "--raw", &format!("PKGS#{attr}")]);
        assert!(!r.stderr.contains("broken"), "{r:#?}");
        r.ok().to_string()
    };
    assert_eq!(eval("multi.tool1.name"), "tool1");
    assert_eq!(eval("\"multi.tool2\".name"), "tool2");
    assert_eq!(eval("multi.name"), "multi");
    assert_eq!(eval("solo.MAIN_PKG.name"), "solo-main");
    assert!(
        !cache.join("layers/PKGS").exists(),
        "the whole layer was made"
    );
    let multi = cache.join("layer-members/PKGS/multi");
    let flake_nix = std::fs::read_to_string(multi.join("flake.nix")).unwrap();
    assert!(!flake_nix.contains("plain"), "{flake_nix}");
    let made = |dir: &std::path::Path| {
        std::fs::metadata(dir.join("flake.lock"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = made(&multi);
    // Another member changes: multi's flake is kept; plain's follows.
    env.real_flake("flakes/plain", &[("default", "plain", "plain-two")]);
    assert_eq!(eval("multi.tool1.name"), "tool1");
    assert_eq!(made(&multi), before);
    assert_eq!(env.nixp(&["run", "PKGS#plain"]).ok(), "plain-two\n");
    // A member's own error is nix's, for that member (its flake.nix lacks
    // its last brace).
    let r = env.nixp(&["eval", "PKGS#broken.x"]);
    assert!(r.fails_with(1).contains("syntax error"), "{r:#?}");
    // What is not one member's is the whole layer's.
    let names = env.nixp(&[
        "eval",
        "--json",
        "PKGS#packages.x86_64-linux",
        "--apply",
        "builtins.attrNames",
    ]);
    assert!(names.ok().contains("\"multi.tool1\""), "{names:#?}");
    assert!(cache.join("layers/PKGS").exists());
}

/// A member named like one of the layer flake's outputs leaves references
/// from the flake's top to the whole layer; a member removed from the
/// layer fails only the profile elements installed from it.
#[test]
fn a_member_named_like_an_output_and_a_member_removed() {
    let Some(env) = setup() else { return };
    env.real_flake("flakes/packages", &[("default", "pk", "pk")]);
    let eval = |attr: &str| {
        env.nixp(&["eval", "--raw", &format!("PKGS#{attr}")])
            .ok()
            .to_string()
    };
    assert_eq!(eval("packages.x86_64-linux.multi.name"), "multi");
    assert_eq!(eval("packages.name"), "pk");
    let profile = env.p("profile");
    for installable in ["PKGS#plain", "PKGS#multi.tool1"] {
        env.nixp(&["profile", "install", "--profile", &profile, installable])
            .ok();
    }
    std::fs::remove_dir_all(env.path("flakes/plain")).unwrap();
    env.real_flake_with(
        "flakes/multi",
        &[
            ("default", "multi", "multi-default"),
            ("tool1", "tool1", "tool-one-v2"),
        ],
        "",
    );
    let only_tool1: Vec<&str> = if nix_version() >= (2, 20) {
        vec!["--regex", ".*tool1.*"]
    } else {
        vec![".*tool1.*"]
    };
    let r = env.nixp(
        &[
            &["profile", "upgrade", "--profile", &profile][..],
            &only_tool1,
        ]
        .concat(),
    );
    assert_eq!(r.code, 0, "{r:#?}");
    let said = run(&mut std::process::Command::new(
        env.path("profile/bin/tool1"),
    ));
    assert_eq!(said.stdout, "tool-one-v2\n");
}

/// Members a layer gives by reference (a registry layer's), which nix
/// pins when it locks them, are read through the whole layer's flake: one
/// pin for every reference into the member.
#[test]
fn a_registry_layer_s_members_keep_one_pin() {
    let Some(env) = real_nix_env() else { return };
    env.real_flake("elsewhere/gm", &[("default", "gm", "gm")]);
    env.write(
        "team.json",
        &json!({"version": 2, "flakes": [{"from": {"type": "indirect", "id": "gm"},
            "to": {"type": "path", "path": env.p("elsewhere/gm")}}]})
        .to_string(),
    );
    env.config(json!({"layers": [{"name": "team", "registry": env.p("team.json")}]}));
    let r = env.nixp(&["eval", "--raw", "team#gm.name"]);
    assert_eq!(r.ok(), "gm");
    let cache = env.path("home/.cache/nixp");
    assert!(cache.join("layers/team").exists());
    assert!(!cache.join("layer-members/team").exists());
}
