//! Fail closed, against a stub `nix` that records its argv: a layer that
//! cannot answer stops the ids below it before nix runs (unless optional);
//! a broken configuration lets nix run only for command lines that name no
//! flake; and flakes named by flag values (nix 2.19+'s `flake update
//! --flake`, from a recorded schema) get their private inputs overridden.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use serde_json::{Value, json};

/// Layers that cannot answer, each kind: (what it is, its config entry).
fn broken(env: &Env) -> Vec<(&'static str, Value)> {
    env.write("a-file", "not a directory\n");
    std::fs::create_dir_all(env.path("a-directory.json")).unwrap();
    vec![
        ("missing", json!({"name": "B", "dir": env.p("missing")})),
        (
            "not a directory",
            json!({"name": "B", "dir": env.p("a-file")}),
        ),
        (
            "unreadable registry",
            json!({"name": "B", "registry": env.p("a-directory.json")}),
        ),
        (
            "remote, never fetched",
            json!({"name": "B", "registry": "http://127.0.0.1:9/registry.json"}),
        ),
    ]
}

fn setup() -> Env {
    let env = Env::new();
    env.flake("above/up");
    env.flake("below/foo");
    env.stub_nix();
    env
}

fn stack(env: &Env, broken: &Value, optional: bool) {
    let mut b = broken.clone();
    b["optional"] = json!(optional);
    env.config(json!({"layers": [
        {"name": "A", "dir": env.p("above")},
        b,
        {"name": "H", "dir": env.p("below")},
    ]}));
}

#[test]
fn a_layer_that_cannot_answer_stops_what_is_below_it() {
    let env = setup();
    for (what, layer) in broken(&env) {
        stack(&env, &layer, false);
        for word in ["foo#x", "nixpkgs#hello"] {
            let _ = std::fs::remove_file(env.path("nix-argv"));
            let r = env.nixp(&["build", word]);
            let e = r.fails_with(1);
            assert!(
                e.contains("layer 'B' cannot answer (")
                    && e.contains("nix's registries, may answer instead"),
                "{what}, {word}: {r:#?}"
            );
            // (A remote layer's fetch is nixp's own nix call: the stub, which
            // cannot fetch, records it.)
            let ran_the_command = env.nix_ran() && env.nix_argv().contains(&"build".to_string());
            assert!(!ran_the_command, "{what}, {word}: nix ran the command");
        }
        // Above it, and where nix reads no reference, nothing changes. (For
        // an output, the one holder above it would be asked whether it
        // provides it, since the layer that cannot answer might.)
        let up = env.p("above/up");
        let r = env.nixp(&["flake", "metadata", "up"]);
        assert_eq!(r.code, 0, "{what}: {r:#?}");
        assert_eq!(env.nix_argv(), ["flake", "metadata", &up]);
        let r = env.nixp(&["eval", "--expr", "1"]);
        assert_eq!(r.code, 0, "{what}: {r:#?}");
        assert_eq!(env.nix_argv(), ["eval", "--expr", "1"]);
    }
}

#[test]
fn an_optional_layer_that_cannot_answer_is_skipped_with_a_warning() {
    let env = setup();
    for (what, layer) in broken(&env) {
        stack(&env, &layer, true);
        let r = env.nixp(&["build", "foo#x", "nixpkgs#hello"]);
        assert_eq!(r.code, 0, "{what}: {r:#?}");
        assert_eq!(
            env.nix_argv(),
            [
                "build",
                &format!("{}#x", env.p("below/foo")),
                "nixpkgs#hello"
            ]
        );
        assert_eq!(
            r.stderr.matches("warning: layer 'B' (optional): ").count(),
            1,
            "{what}: {r:#?}"
        );
    }
}

#[test]
fn nixp_layers_marks_an_optional_layer_as_optional() {
    let env = setup();
    env.config(json!({"layers": [
        {"name": "M", "dir": env.p("missing"), "optional": true},
        {"name": "N", "dir": env.p("missing")},
    ]}));
    let r = env.nixp(&["layers"]);
    let lines = r.lines();
    assert!(lines[1].contains("missing, optional"), "{r:#?}");
    assert!(
        lines[2].contains("missing") && !lines[2].contains("optional"),
        "{r:#?}"
    );
    assert!(
        r.stderr.contains("it is optional: lookups skip it"),
        "{r:#?}"
    );
    assert!(
        r.stderr.contains("ids no layer above it holds stop there"),
        "{r:#?}"
    );
    let v = env.nixp(&["layers", "--json"]).json();
    assert_eq!(v["layers"][0]["optional"], true);
}

#[test]
fn nixp_layers_optional_marker_and_empty_value() {
    let env = setup();
    let below = env.p("below");
    let r = run(env
        .cmd()
        .env("NIXP_LAYERS", format!("?M={}:{below}", env.p("missing")))
        .args(["resolve", "foo"]));
    assert_eq!(r.ok(), format!("{below}/foo\n"));
    assert!(r.stderr.contains("layer 'M' (optional)"), "{r:#?}");
    for empty in ["", ":"] {
        let r = run(env.cmd().env("NIXP_LAYERS", empty).args(["resolve", "foo"]));
        assert!(
            r.fails_with(3)
                .contains("NIXP_LAYERS: it is set but names no layer"),
            "{r:#?}"
        );
    }
}

#[test]
fn a_broken_config_lets_nix_run_only_where_no_flake_is_named() {
    let env = setup();
    env.write("home/.config/nixp/config.json", "{ \"layers\": [ ");
    // `--version` never reads the config.
    let r = env.nixp(&["--version"]);
    assert_eq!(r.ok(), "stub-nix\n");
    assert_eq!(env.nix_argv(), ["--version"]);
    for line in [
        vec!["eval", "--expr", "1"],
        vec!["store", "gc", "--dry-run"],
        vec!["build", "github:o/r#x"],
    ] {
        let r = env.nixp(&line);
        assert_eq!(r.code, 0, "{line:?}: {r:#?}");
        assert_eq!(env.nix_argv(), line);
        assert!(
            r.stderr.starts_with("warning: config file '")
                && r.stderr
                    .contains("running nix anyway, since this command line names no flake"),
            "{line:?}: {r:#?}"
        );
    }
    env.write("flake/flake.nix", "{ outputs = _: { }; }");
    for line in [
        vec!["build", "foo#x"],
        vec!["build", "PKGS.foo"],
        vec!["build", &env.p("flake")],
        vec!["resolve", "foo"],
        vec!["eval", "-I", "x=flake:foo", "--expr", "<x>"],
        vec!["flake", "init"],
    ] {
        let _ = std::fs::remove_file(env.path("nix-argv"));
        let r = env.nixp(&line);
        assert!(
            r.fails_with(3).starts_with("error: config file '"),
            "{line:?}: {r:#?}"
        );
        assert!(!env.nix_ran(), "{line:?}");
    }
    // A search path from the environment names a flake too.
    let r = run(env
        .cmd()
        .env("NIX_PATH", "x=flake:foo")
        .args(["eval", "--expr", "<x>"]));
    assert_eq!(r.code, 3, "{r:#?}");
    // From inside a flake, a command that reads `.` by default names it.
    let _ = std::fs::remove_file(env.path("nix-argv"));
    let r = run(env.cmd().current_dir(env.path("flake")).args(["build"]));
    assert_eq!(r.code, 3, "{r:#?}");
    let r = run(env.cmd().current_dir(env.path("flake")).args(["--version"]));
    assert_eq!(r.code, 0, "{r:#?}");
}

/// A nix 2.19+ schema, as much of it as the test needs: `nix flake update
/// [--flake FLAKE] [INPUTS...]`.
fn schema_2_19() -> Value {
    let flags = json!({
        "flake": {"arity": 1},
        "override-flake": {"arity": 2},
        "no-write-lock-file": {"arity": 0},
        "update-input": {"arity": 1},
    });
    json!({"args": {
        "args": [{"label": "subcommand", "arity": 1}],
        "flags": {"option": {"arity": 2}},
        "commands": {"flake": {
            "args": [{"label": "subcommand", "arity": 1}],
            "commands": {"update": {"args": [{"label": "inputs"}], "flags": flags}}
        }}
    }})
}

#[test]
fn flake_update_with_flake_gets_the_overrides_of_that_flake() {
    let env = Env::new();
    env.flake("flakes/foo");
    env.dir_layers(&[("PKGS", "flakes")]);
    env.write(
        "u/flake.nix",
        "{ inputs.foo.url = \"foo\"; outputs = { self, foo }: { }; }",
    );
    // Locked by plain nix to a look-alike: relocking `foo` is what fixes it.
    env.write(
        "u/flake.lock",
        &json!({"nodes": {"root": {"inputs": {"foo": "foo"}},
            "foo": {"original": {"type": "indirect", "id": "foo"}, "locked": {"type": "path", "path": "/public/foo"}}},
            "root": "root", "version": 7}).to_string(),
    );
    env.stub_nix_dumping(&schema_2_19());
    let u = env.p("u");
    for line in [
        vec!["flake", "update", "--flake", &u, "foo"],
        vec!["flake", "update", "--flake", &u],
    ] {
        let r = env.nixp(&line);
        assert_eq!(r.code, 0, "{line:?}: {r:#?}");
        let foo = env.p("flakes/foo");
        let want: Vec<&str> = ["flake", "update", "--override-flake", "foo", &foo]
            .into_iter()
            .chain(line[2..].iter().copied())
            .collect();
        assert_eq!(env.nix_argv(), want);
    }
    // Updating another input leaves the look-alike in the lock: refused.
    let r = env.nixp(&["flake", "update", "--flake", &u, "other"]);
    assert!(
        r.fails_with(1)
            .contains("locks input 'foo' ('foo') to path:/public/foo"),
        "{r:#?}"
    );
}
