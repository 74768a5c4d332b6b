//! End-to-end tests of nixp's core: the stack's precedence rule, dir and
//! registry layers, the configuration, `layers add/remove`, and the output
//! of `resolve`, `layers` and `list` (text and JSON). None of them needs nix.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use serde_json::{Value, json};

/// A registry.json (version 2) at `rel` with these entries; returns its path.
fn registry(env: &Env, rel: &str, flakes: Value) -> String {
    let text = serde_json::to_string_pretty(&json!({"version": 2, "flakes": flakes})).unwrap();
    env.write(rel, &text);
    env.p(rel)
}

/// A registry entry `from: indirect id` → `to`.
fn entry(id: &str, to: Value) -> Value {
    json!({"from": {"type": "indirect", "id": id}, "to": to})
}

/// The user config file's path, as nixp names it in messages.
fn user(env: &Env) -> String {
    env.user_config().to_str().unwrap().to_string()
}

/// The sandbox root as the process sees its working directory (symlinks
/// resolved), for paths nixp makes absolute itself.
fn real_root(env: &Env) -> String {
    env.root()
        .canonicalize()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

/// What `serde_json::to_string_pretty` + newline writes: the exact text
/// `nixp layers add/remove` leaves in the user config.
fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap();
    s.push('\n');
    s
}

// 1. Order -----------------------------------------------------------------

/// Dir layers A (`a/`) and B (`b/`), in that order, holding the (empty)
/// flakes `flakes` (`"a/foo"`, ...).
fn a_and_b(flakes: &[&str]) -> Env {
    let env = Env::new();
    for f in flakes {
        env.flake(f);
    }
    env.dir_layers(&[("A", "a"), ("B", "b")]);
    env
}

#[test]
fn first_layer_in_config_order_wins() {
    let env = a_and_b(&["a/foo", "b/foo"]);
    // As a flake (nothing evaluated): the order alone decides.
    let r = env.nixp(&["resolve", "--for", "flake", "foo#pkg"]);
    assert_eq!(r.ok(), format!("{}/foo#pkg\n", env.p("a")));
    assert_eq!(r.stderr, "");

    env.dir_layers(&[("B", "b"), ("A", "a")]);
    let r = env.nixp(&["resolve", "--for", "flake", "foo#pkg"]);
    assert_eq!(r.ok(), format!("{}/foo#pkg\n", env.p("b")));
    assert_eq!(r.stderr, "");
}

// 2. LAYER.id --------------------------------------------------------------

#[test]
fn qualified_id_asks_only_that_layer() {
    let env = a_and_b(&["a/foo", "b/foo", "b/nope"]);

    let r = env.nixp(&["resolve", "B.foo#x"]);
    assert_eq!(r.ok(), format!("{}/foo#x\n", env.p("b")));

    // B holds `nope`, but only A is asked, and nix is never asked.
    let r = env.nixp(&["resolve", "A.nope"]);
    assert_eq!(
        r.fails_with(1),
        "error: cannot resolve 'A.nope': layer 'A' does not hold 'nope'\n"
    );
    assert_eq!(r.stdout, "");

    // Not a layer: the relative path nix reads it as.
    let r = env.nixp(&["resolve", "notalayer.foo"]);
    assert_eq!(r.ok(), "notalayer.foo\n");
    assert_eq!(r.stderr, "");
}

// 3. Registry layers ---------------------------------------------------------

/// A stack of one registry layer `R` holding these entries.
fn registry_env(flakes: Value) -> Env {
    let env = Env::new();
    let reg = registry(&env, "registry.json", flakes);
    env.config(json!({"layers": [{"name": "R", "registry": reg}]}));
    env
}

#[test]
fn registry_carries_ref_onto_target() {
    let env = registry_env(json!([entry(
        "np",
        json!({"type": "github", "owner": "NixOS", "repo": "nixpkgs"})
    )]));
    let r = env.nixp(&[
        "resolve",
        "np/nixos-23.11",
        "np#hello",
        "np/nixos-23.11#hello",
    ]);
    assert_eq!(
        r.ok(),
        "github:NixOS/nixpkgs/nixos-23.11\ngithub:NixOS/nixpkgs#hello\ngithub:NixOS/nixpkgs/nixos-23.11#hello\n"
    );
}

#[test]
fn registry_exact_entry_matches_only_its_ref_and_never_falls_through() {
    let env = registry_env(json!([
        {
            "from": {"type": "indirect", "id": "ex", "ref": "v1"},
            "to": {"type": "path", "path": "/ex1"},
            "exact": true,
        },
        // Without `exact`, this entry would match `ex2/v1` too.
        {
            "from": {"type": "indirect", "id": "ex2"},
            "to": {"type": "git", "url": "https://e.org/ex2.git"},
            "exact": true,
        },
    ]));
    let r = env.nixp(&["resolve", "ex/v1#p", "ex2#q"]);
    assert_eq!(r.ok(), "path:/ex1#p\ngit+https://e.org/ex2.git#q\n");

    for (word, id) in [("ex/v2", "ex"), ("ex", "ex"), ("ex2/v1", "ex2")] {
        let r = env.nixp(&["resolve", word]);
        assert_eq!(
            r.fails_with(1),
            format!(
                "error: cannot resolve '{word}': layer 'R' defines '{id}' but none of its entries matches '{word}'; nix's registries are not asked for a private id\n"
            )
        );
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn registry_first_matching_entry_in_file_order_wins() {
    let env = registry_env(json!([
        {
            "from": {"type": "indirect", "id": "dup", "ref": "v1"},
            "to": {"type": "git", "url": "https://e.org/v1.git"},
            "exact": true,
        },
        entry("dup", json!({"type": "git", "url": "https://e.org/first.git"})),
        entry("dup", json!({"type": "git", "url": "https://e.org/second.git"})),
        {
            "from": {"type": "indirect", "id": "dup", "ref": "v2"},
            "to": {"type": "git", "url": "https://e.org/v2.git"},
            "exact": true,
        },
    ]));
    let r = env.nixp(&["resolve", "dup", "dup/v1", "dup/v2"]);
    assert_eq!(
        r.ok(),
        "git+https://e.org/first.git\ngit+https://e.org/v1.git\ngit+https://e.org/first.git?ref=v2\n"
    );
}

#[test]
fn registry_dir_in_target_selects_a_subdirectory() {
    let env = registry_env(json!([
        entry(
            "g",
            json!({"type": "git", "url": "https://e.org/r.git", "dir": "sub"})
        ),
        entry("p", json!({"type": "path", "path": "/p", "dir": "sub"})),
    ]));
    let r = env.nixp(&["resolve", "g#x", "p#y"]);
    assert_eq!(r.ok(), "git+https://e.org/r.git?dir=sub#x\npath:/p/sub#y\n");
}

#[test]
fn registry_ref_on_path_target_is_an_error() {
    let env = registry_env(json!([entry("p", json!({"type": "path", "path": "/p"}))]));
    let r = env.nixp(&["resolve", "p/main"]);
    assert_eq!(
        r.fails_with(1),
        format!(
            "error: cannot resolve 'p/main': flake registry '{}', entry 1: cannot apply branch/tag name 'main' to 'path:/p'\n",
            env.p("registry.json")
        )
    );
    assert_eq!(r.stdout, "");
}

#[test]
fn registry_chain_resolves_through_the_whole_stack() {
    let env = Env::new();
    env.flake("d/bar");
    let reg = registry(
        &env,
        "registry.json",
        json!([entry("ch", json!({"type": "indirect", "id": "bar"}))]),
    );
    env.config(json!({"layers": [
        {"name": "R", "registry": reg},
        {"name": "D", "dir": env.p("d")},
    ]}));

    let r = env.nixp(&["resolve", "ch#x"]);
    assert_eq!(r.ok(), format!("{}/bar#x\n", env.p("d")));

    let r = env.nixp(&["resolve", "--json", "ch#x"]);
    r.ok();
    assert_eq!(
        r.json(),
        json!([{
            "input": "ch#x",
            "output": format!("{}/bar#x", env.p("d")),
            "layer": "D",
            "kind": "dir",
            "error": null,
            "trace": [
                {"reference": "ch", "layer": "R", "kind": "registry", "answer": "won",
                 "detail": "entry 1 (matches) maps it to flake:bar"},
                {"reference": "ch", "layer": "D", "kind": "dir", "answer": "absent",
                 "detail": "does not hold it"},
                {"reference": "bar", "layer": "R", "kind": "registry", "answer": "absent",
                 "detail": "does not hold it"},
                {"reference": "bar", "layer": "D", "kind": "dir", "answer": "won",
                 "detail": format!("{}/bar/flake.nix exists", env.p("d"))},
            ],
        }])
    );
}

#[test]
fn registry_cycle_is_an_error() {
    let env = registry_env(json!([
        entry("a", json!({"type": "indirect", "id": "b"})),
        entry("b", json!({"type": "indirect", "id": "a"})),
    ]));
    let r = env.nixp(&["resolve", "a"]);
    let err = r.fails_with(1);
    assert!(err.contains("cycle"), "{err}");
    assert_eq!(
        err,
        "error: cannot resolve 'a': cycle detected in the layers for 'a' (it comes back to 'b')\n"
    );
    assert_eq!(r.stdout, "");
}

#[test]
fn a_cycle_through_several_holders_ends_at_once() {
    // Two layers map a -> b and b -> a: following every holder of every
    // round would branch without end; the first reference seen twice stops it.
    let env = Env::new();
    let flakes = json!([
        entry("a", json!({"type": "indirect", "id": "b"})),
        entry("b", json!({"type": "indirect", "id": "a"})),
    ]);
    let r1 = registry(&env, "r1.json", flakes.clone());
    let r2 = registry(&env, "r2.json", flakes);
    env.config(json!({"layers": [{"name": "R1", "registry": r1}, {"name": "R2", "registry": r2}]}));
    // No nix is needed to find that out.
    let r = run(env
        .cmd()
        .env("NIXP_NIX", "/nonexistent/nix")
        .args(["resolve", "a#x"]));
    let err = r.fails_with(1);
    assert!(
        err.starts_with("error: cannot resolve 'a#x': cannot tell whether the first layers holding 'a' provide 'x' for this system"),
        "{err}"
    );
    assert!(
        err.contains("layer 'R1' cannot be resolved: cycle detected in the layers for 'a' (it comes back to 'b')"),
        "{err}"
    );
}

#[test]
fn registry_chain_to_unheld_id_is_left_for_nix() {
    let env = registry_env(json!([entry(
        "ch",
        json!({"type": "indirect", "id": "bar"})
    )]));
    let r = env.nixp(&["resolve", "ch#x", "ch/v2"]);
    assert_eq!(r.ok(), "flake:bar#x\nflake:bar/v2\n");
    assert_eq!(r.stderr, "");
}

// 4. NIXP_LAYERS -----------------------------------------------------------

#[test]
fn nixp_layers_replaces_the_configured_stack() {
    let mut env = Env::new();
    env.flake("a/foo");
    env.flake("a/onlya");
    env.flake("flakes/foo");
    // A registry file without a `.json` name: a file is a registry.
    registry(
        &env,
        "teamreg",
        json!([entry(
            "np",
            json!({"type": "github", "owner": "NixOS", "repo": "nixpkgs"})
        )]),
    );
    env.dir_layers(&[("A", "a")]);
    env.set_env(
        "NIXP_LAYERS",
        &format!("R={}:{}", env.p("teamreg"), env.p("flakes")),
    );

    let r = env.nixp(&["resolve", "foo#p", "np", "onlya", "A.foo"]);
    assert_eq!(
        r.ok(),
        format!(
            "{}/foo#p\ngithub:NixOS/nixpkgs\nonlya\nA.foo\n",
            env.p("flakes")
        )
    );

    let r = env.nixp(&["layers", "--json"]);
    r.ok();
    assert_eq!(
        r.json(),
        json!({
            "layers": [
                {"name": "R", "kind": "registry", "source": env.p("teamreg"),
                 "origin": "NIXP_LAYERS", "flakes": 1, "status": "ok", "error": null, "ids": [], "explicit": false, "optional": false, "cache_age": null, "last_error": null},
                {"name": "flakes", "kind": "dir", "source": env.p("flakes"),
                 "origin": "NIXP_LAYERS", "flakes": 1, "status": "ok", "error": null, "ids": [], "explicit": false, "optional": false, "cache_age": null, "last_error": null},
            ],
            "fallback": true,
        })
    );
}

// 5. Fallback: ids no layer holds are nix's, byte for byte ---------------

const FALLBACK_WORDS: [&str; 7] = [
    "nixpkgs#hello",
    "flake:other/main",
    "github:a/b#c",
    "./x#y",
    "/abs/p",
    "foo?dir=x",
    "nixpkgs/nixos-23.11#legacyPackages.x86_64-linux.hello^out",
];

fn assert_unchanged(env: &Env) {
    let r = env.nixp(&[&["resolve"][..], &FALLBACK_WORDS[..]].concat());
    let mut expected = FALLBACK_WORDS.join("\n");
    expected.push('\n');
    assert_eq!(r.ok(), expected);
    assert_eq!(r.stderr, "");
}

#[test]
fn fallback_words_come_out_unchanged() {
    let env = Env::new();
    // The layer holds `foo` and `x`: `foo?dir=x` and `./x#y` are still
    // paths to nix, not ids.
    env.flake("a/foo");
    env.flake("a/x");
    env.dir_layers(&[("A", "a")]);
    assert_unchanged(&env);
}

#[test]
fn no_config_and_empty_config_change_nothing() {
    let env = Env::new();
    assert_unchanged(&env);
    env.config(json!({}));
    assert_unchanged(&env);
    env.config(json!({"layers": []}));
    assert_unchanged(&env);
}

// 6. Fallback off ----------------------------------------------------------

#[test]
fn fallback_off_makes_unheld_ids_errors() {
    let env = Env::new();
    env.flake("a/foo");
    env.config(json!({"fallback": false, "layers": [{"name": "A", "dir": env.p("a")}]}));
    let r = env.nixp(&["resolve", "nixpkgs#hello"]);
    assert_eq!(
        r.fails_with(1),
        "error: cannot resolve 'nixpkgs#hello': cannot find flake 'nixpkgs' in any layer, and the fallback to nix's registries is off\n"
    );
    assert_eq!(r.stdout, "");
    // Held ids and direct references still work.
    let r = env.nixp(&["resolve", "foo", "github:a/b"]);
    assert_eq!(r.ok(), format!("{}/foo\ngithub:a/b\n", env.p("a")));
}

#[test]
fn user_fallback_wins_over_system_fallback() {
    let env = Env::new();
    let off = "error: cannot resolve 'nixpkgs': cannot find flake 'nixpkgs' in any layer, and the fallback to nix's registries is off\n";

    env.system_config(json!({"fallback": false}));
    env.config(json!({"fallback": true}));
    assert_eq!(env.nixp(&["resolve", "nixpkgs"]).ok(), "nixpkgs\n");

    // The user file says nothing: the system file's value holds.
    env.config(json!({}));
    assert_eq!(env.nixp(&["resolve", "nixpkgs"]).fails_with(1), off);

    env.system_config(json!({"fallback": true}));
    env.config(json!({"fallback": false}));
    assert_eq!(env.nixp(&["resolve", "nixpkgs"]).fails_with(1), off);
}

// 7. Missing layer ---------------------------------------------------------

#[test]
fn a_missing_layer_stops_the_ids_below_it_unless_optional() {
    let env = Env::new();
    env.flake("a/foo");
    env.flake("a/bar");
    env.flake("m0/held");
    let layers = |optional: bool| {
        json!({"layers": [
            {"name": "H", "dir": env.p("m0")},
            {"name": "M", "dir": env.p("missing"), "optional": optional},
            {"name": "A", "dir": env.p("a")},
        ]})
    };
    env.config(layers(false));
    // An id a layer above the missing one holds still resolves.
    assert_eq!(
        env.nixp(&["resolve", "held"]).ok(),
        format!("{}\n", env.p("m0/held"))
    );
    let r = env.nixp(&["resolve", "foo", "bar#x", "nixpkgs#hello"]);
    let stderr = r.fails_with(1);
    assert_eq!(r.stdout, "");
    for id in ["foo", "bar", "nixpkgs"] {
        assert!(
            stderr.contains(&format!(
                "layer 'M' cannot answer ('{}' does not exist), so nixp cannot tell whether it holds '{id}'",
                env.p("missing")
            )),
            "{stderr}"
        );
    }
    env.config(layers(true));
    let r = env.nixp(&["resolve", "foo", "bar#x", "nixpkgs#hello"]);
    assert_eq!(
        r.ok(),
        format!("{a}/foo\n{a}/bar#x\nnixpkgs#hello\n", a = env.p("a"))
    );
    assert_eq!(
        r.stderr,
        format!(
            "warning: layer 'M' (optional): '{}' does not exist; skipping it\n",
            env.p("missing")
        )
    );
}

// 8. Malformed configuration and registries -------------------------------

#[test]
fn config_syntax_error_names_file_line_and_column() {
    let env = Env::new();
    env.write(
        "home/.config/nixp/config.json",
        "{\n  \"layers\": [\n    {\"name\": \"A\" \"dir\": \"/x\"}\n  ]\n}\n",
    );
    let r = env.nixp(&["resolve", "foo"]);
    assert_eq!(
        r.fails_with(3),
        format!(
            "error: config file '{}': expected `,` or `}}` at line 3 column 18\n",
            user(&env)
        )
    );
    assert_eq!(r.stdout, "");
}

#[test]
fn config_unknown_key_is_named() {
    let env = Env::new();
    env.write(
        "home/.config/nixp/config.json",
        "{\n  \"layers\": [],\n  \"fallbak\": false\n}\n",
    );
    let r = env.nixp(&["resolve", "foo"]);
    assert_eq!(
        r.fails_with(3),
        format!(
            "error: config file '{}': unknown field `fallbak`, expected one of `layers`, `fallback`, `timeout` at line 3 column 11\n",
            user(&env)
        )
    );
}

#[test]
fn config_layer_with_two_sources_is_an_error() {
    let env = Env::new();
    env.config(json!({"layers": [{"name": "A", "dir": "/x", "registry": "/y"}]}));
    let r = env.nixp(&["resolve", "foo"]);
    assert_eq!(
        r.fails_with(3),
        format!(
            "error: config file '{}': layer 'A' needs exactly one source key (dir or registry or collection)\n",
            user(&env)
        )
    );
}

#[test]
fn malformed_registry_fails_when_asked_and_shows_invalid() {
    let env = Env::new();
    env.flake("a/foo");
    env.write("bad.json", "{\"version\": 2,\n  \"flakes\": [,]\n}\n");
    env.config(json!({"layers": [
        {"name": "A", "dir": env.p("a")},
        {"name": "R", "registry": env.p("bad.json")},
    ]}));
    let syntax = format!(
        "flake registry '{}': expected value at line 2 column 14",
        env.p("bad.json")
    );

    let r = env.nixp(&["resolve", "nope"]);
    assert_eq!(
        r.fails_with(1),
        format!("error: cannot resolve 'nope': {syntax}\n")
    );
    assert_eq!(r.stdout, "");

    // A comes first and holds `foo`: the broken layer below does not matter.
    let r = env.nixp(&["resolve", "foo"]);
    assert_eq!(r.ok(), format!("{}/foo\n", env.p("a")));

    let r = env.nixp(&["layers"]);
    let (a, bad) = (env.p("a"), env.p("bad.json"));
    assert_eq!(
        r.ok(),
        format!(
            "NAME  KIND      FLAKES  STATUS   SOURCE\n\
             A     dir       1       ok       {a}\n\
             R     registry  -       invalid  {bad}\n\
             then nix's registries (flag > user > system > global)\n"
        )
    );
    assert_eq!(
        r.stderr,
        format!(
            "warning: layer 'R': {syntax}; ids no layer above it holds stop there, with an error (mark it optional to skip it)\n"
        )
    );

    let r = env.nixp(&["layers", "--json"]);
    r.ok();
    let v = r.json();
    assert_eq!(
        v["layers"][1],
        json!({"name": "R", "kind": "registry", "source": bad, "origin": user(&env),
               "flakes": null, "status": "invalid", "error": syntax, "ids": [], "explicit": false, "optional": false, "cache_age": null, "last_error": null})
    );
}

// 9. layers add / remove ----------------------------------------------------

/// A user config with a key before `layers` and one layer `A`.
fn start_config(env: &Env) {
    let v = json!({"fallback": false, "layers": [{"name": "A", "dir": env.p("a")}]});
    env.write(
        "home/.config/nixp/config.json",
        &serde_json::to_string(&v).unwrap(),
    );
}

#[test]
fn layers_add_places_layers_and_keeps_other_keys() {
    let env = Env::new();
    for d in ["a", "b", "c", "d", "e"] {
        std::fs::create_dir_all(env.path(d)).unwrap();
    }
    start_config(&env);
    let r = env.nixp(&["layers", "add", "B", &env.p("b")]);
    r.ok();
    assert_eq!(
        r.stderr,
        format!("added layer 'B' (dir {}) to '{}'\n", env.p("b"), user(&env))
    );
    env.nixp(&["layers", "add", "C", &env.p("c"), "--first"])
        .ok();
    env.nixp(&["layers", "add", "D", &env.p("d"), "--before", "A"])
        .ok();
    env.nixp(&["layers", "add", "E", &env.p("e"), "--after", "A"])
        .ok();
    let layer = |n: &str, d: &str| json!({"name": n, "dir": env.p(d)});
    assert_eq!(
        env.read("home/.config/nixp/config.json"),
        pretty(&json!({"fallback": false, "layers": [
            layer("C", "c"), layer("D", "d"), layer("A", "a"), layer("E", "e"), layer("B", "b"),
        ]}))
    );
    // Placing next to a layer that does not exist changes nothing.
    let before = env.read("home/.config/nixp/config.json");
    let r = env.nixp(&["layers", "add", "F", &env.p("e"), "--after", "Z"]);
    assert_eq!(
        r.fails_with(3),
        format!("error: there is no layer 'Z' in '{}'\n", user(&env))
    );
    assert_eq!(env.read("home/.config/nixp/config.json"), before);
}

#[test]
fn layers_add_makes_source_absolute_and_infers_kind() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("flakes")).unwrap();
    registry(&env, "team.json", json!([]));
    start_config(&env);
    let root = real_root(&env);

    // Relative to the working directory (the sandbox root).
    env.nixp(&["layers", "add", "F", "flakes"]).ok();
    env.nixp(&["layers", "add", "T", "team.json"]).ok();
    // Does not exist: the kind must be given.
    let r = env.nixp(&["layers", "add", "N", "later"]);
    assert_eq!(
        r.fails_with(3),
        format!(
            "error: cannot infer the kind of 'later': it does not exist, and is not a URL or flake reference (pass --kind dir, --kind registry or --kind collection)\n"
        )
    );
    env.nixp(&["layers", "add", "N", "later", "--kind", "registry"])
        .ok();

    assert_eq!(
        env.read("home/.config/nixp/config.json"),
        pretty(&json!({"fallback": false, "layers": [
            {"name": "A", "dir": env.p("a")},
            {"name": "F", "dir": format!("{root}/flakes")},
            {"name": "T", "registry": format!("{root}/team.json")},
            {"name": "N", "registry": format!("{root}/later")},
        ]}))
    );
}

#[test]
fn layers_add_duplicate_name_leaves_file_untouched() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("b")).unwrap();
    env.system_config(json!({"layers": [{"name": "S", "dir": env.p("s")}]}));
    start_config(&env);
    let before = std::fs::read(env.user_config()).unwrap();

    let r = env.nixp(&["layers", "add", "A", &env.p("b")]);
    assert_eq!(
        r.fails_with(3),
        format!("error: layer 'A' already exists in '{}'\n", user(&env))
    );
    assert_eq!(std::fs::read(env.user_config()).unwrap(), before);

    // A name the system config already uses is a duplicate too.
    let r = env.nixp(&["layers", "add", "S", &env.p("b")]);
    assert_eq!(
        r.fails_with(3),
        format!(
            "error: layer name 'S' is defined twice (in {} and in {})\n",
            user(&env),
            env.p("system.json")
        )
    );
    assert_eq!(std::fs::read(env.user_config()).unwrap(), before);
}

#[test]
fn layers_remove() {
    let env = Env::new();
    env.flake("a/foo");
    env.flake("b/foo");
    env.config(json!({"fallback": false, "layers": [
        {"name": "A", "dir": env.p("a")},
        {"name": "B", "dir": env.p("b")},
    ]}));
    let before = std::fs::read(env.user_config()).unwrap();
    let r = env.nixp(&["layers", "remove", "Q"]);
    assert_eq!(
        r.fails_with(3),
        format!("error: there is no layer 'Q' in '{}'\n", user(&env))
    );
    assert_eq!(std::fs::read(env.user_config()).unwrap(), before);

    let r = env.nixp(&["layers", "remove", "A"]);
    r.ok();
    assert_eq!(
        r.stderr,
        format!("removed layer 'A' from '{}'\n", user(&env))
    );
    assert_eq!(
        env.read("home/.config/nixp/config.json"),
        pretty(&json!({"fallback": false, "layers": [{"name": "B", "dir": env.p("b")}]}))
    );
    // The removed layer no longer wins.
    let r = env.nixp(&["resolve", "foo"]);
    assert_eq!(r.ok(), format!("{}/foo\n", env.p("b")));
}

// 10. JSON shapes --------------------------------------------------------

#[test]
fn resolve_json_shape() {
    let env = a_and_b(&["a/foo", "b/foo"]);
    let (a, b) = (env.p("a"), env.p("b"));
    let r = env.nixp(&[
        "resolve",
        "--json",
        "--for",
        "flake",
        "foo#pkg",
        "nixpkgs",
        "github:a/b#c",
        "A.nope",
    ]);
    assert_eq!(
        r.fails_with(1),
        "error: cannot resolve 'A.nope': layer 'A' does not hold 'nope'\n"
    );
    let step = |reference: &str, layer: &str, answer: &str, detail: String| json!({"reference": reference, "layer": layer, "kind": "dir", "answer": answer, "detail": detail});
    assert_eq!(
        r.json(),
        json!([
            {
                "input": "foo#pkg",
                "output": format!("{a}/foo#pkg"),
                "layer": "A",
                "kind": "dir",
                "error": null,
                "trace": [
                    step("foo", "A", "won", format!("{a}/foo/flake.nix exists")),
                    step("foo", "B", "shadowed", format!("{b}/foo/flake.nix exists; layer 'A' comes first")),
                ],
            },
            {
                "input": "nixpkgs",
                "output": "nixpkgs",
                "layer": null,
                "kind": "fallback",
                "error": null,
                "trace": [
                    step("nixpkgs", "A", "absent", "does not hold it".into()),
                    step("nixpkgs", "B", "absent", "does not hold it".into()),
                ],
            },
            {
                "input": "github:a/b#c",
                "output": "github:a/b#c",
                "layer": null,
                "kind": "direct",
                "error": null,
                "trace": [],
            },
            {
                "input": "A.nope",
                "output": null,
                "layer": null,
                "kind": "error",
                "error": "layer 'A' does not hold 'nope'",
                "trace": [
                    step("nope", "A", "absent", "does not hold it".into()),
                    step("nope", "B", "skipped", "only layer 'A' is asked".into()),
                ],
            },
        ])
    );
}

#[test]
fn layers_json_shape() {
    let env = Env::new();
    env.flake("a/foo");
    env.flake("a/bar");
    let reg = registry(
        &env,
        "team.json",
        json!([
            entry(
                "np",
                json!({"type": "github", "owner": "NixOS", "repo": "nixpkgs"})
            ),
            entry(
                "np",
                json!({"type": "github", "owner": "NixOS", "repo": "other"})
            ),
            entry("q", json!({"type": "path", "path": "/q"})),
        ]),
    );
    env.system_config(json!({"layers": [{"name": "S", "dir": env.p("a")}]}));
    env.config(json!({"fallback": false, "layers": [
        {"name": "A", "dir": env.p("a")},
        {"name": "R", "registry": reg},
        {"name": "M", "dir": env.p("missing")},
    ]}));
    let r = env.nixp(&["layers", "--json"]);
    r.ok();
    let origin = user(&env);
    assert_eq!(
        r.json(),
        json!({
            "layers": [
                {"name": "A", "kind": "dir", "source": env.p("a"), "origin": origin,
                 "flakes": 2, "status": "ok", "error": null, "ids": [], "explicit": false, "optional": false, "cache_age": null, "last_error": null},
                {"name": "R", "kind": "registry", "source": env.p("team.json"), "origin": origin,
                 "flakes": 2, "status": "ok", "error": null, "ids": [], "explicit": false, "optional": false, "cache_age": null, "last_error": null},
                {"name": "M", "kind": "dir", "source": env.p("missing"), "origin": origin,
                 "flakes": null, "status": "missing",
                 "error": format!("'{}' does not exist", env.p("missing")), "ids": [], "explicit": false, "optional": false, "cache_age": null, "last_error": null},
                {"name": "S", "kind": "dir", "source": env.p("a"), "origin": env.p("system.json"),
                 "flakes": 2, "status": "ok", "error": null, "ids": [], "explicit": false, "optional": false, "cache_age": null, "last_error": null},
            ],
            "fallback": false,
        })
    );
}

#[test]
fn list_json_shape() {
    let env = Env::new();
    env.flake("a/foo");
    env.flake("b/foo");
    env.flake("b/bar");
    env.flake("b/my.flake");
    // Not flakes at all: neither listed nor skipped.
    env.write("b/notes/README", "x");
    env.write("b/bad.name/README", "x");
    let reg = registry(
        &env,
        "team.json",
        json!([entry(
            "np",
            json!({"type": "github", "owner": "NixOS", "repo": "nixpkgs"})
        )]),
    );
    env.config(json!({"layers": [
        {"name": "A", "dir": env.p("a")},
        {"name": "R", "registry": reg},
        {"name": "B", "dir": env.p("b")},
    ]}));
    let r = env.nixp(&["list", "--json"]);
    r.ok();
    let (a, b) = (env.p("a"), env.p("b"));
    assert_eq!(
        r.json(),
        json!({
            "ids": [
                {"id": "bar", "layer": "B", "kind": "dir", "reference": format!("{b}/bar"),
                 "error": null, "shadows": []},
                {"id": "foo", "layer": "A", "kind": "dir", "reference": format!("{a}/foo"),
                 "error": null, "shadows": ["B"]},
                {"id": "np", "layer": "R", "kind": "registry", "reference": "github:NixOS/nixpkgs",
                 "error": null, "shadows": []},
            ],
            "skipped": [
                {"layer": "B", "path": format!("{b}/my.flake"),
                 "reason": "'my.flake' is not a valid flake id"},
            ],
            "layers": ["A", "R", "B"],
        })
    );
}

// 11. --explain ----------------------------------------------------------

#[test]
fn explain_prints_each_layers_answer() {
    let env = Env::new();
    env.flake("a/foo");
    env.flake("b/foo");
    let reg = registry(
        &env,
        "team.json",
        json!([entry("np", json!({"type": "path", "path": "/np"}))]),
    );
    env.config(json!({"layers": [
        {"name": "A", "dir": env.p("a")},
        {"name": "R", "registry": reg},
        {"name": "B", "dir": env.p("b")},
    ]}));
    let (a, b) = (env.p("a"), env.p("b"));
    let r = env.nixp(&["resolve", "--explain", "foo"]);
    assert_eq!(r.ok(), format!("{a}/foo\n"));
    assert_eq!(
        r.stderr,
        format!(
            "foo -> {a}/foo\n  \
             foo: layer 'A' (dir): won: {a}/foo/flake.nix exists\n  \
             foo: layer 'R' (registry): absent: does not hold it\n  \
             foo: layer 'B' (dir): shadowed: {b}/foo/flake.nix exists; layer 'A' comes first\n"
        )
    );

    let r = env.nixp(&["resolve", "--explain", "nixpkgs"]);
    assert_eq!(r.ok(), "nixpkgs\n");
    assert_eq!(
        r.stderr,
        "nixpkgs: no layer holds it; left for nix's registries: nixpkgs\n  \
         nixpkgs: layer 'A' (dir): absent: does not hold it\n  \
         nixpkgs: layer 'R' (registry): absent: does not hold it\n  \
         nixpkgs: layer 'B' (dir): absent: does not hold it\n  \
         then: nix's registries (flag > user > system > global)\n"
    );
}

// 12. list, text -----------------------------------------------------------

#[test]
fn list_text_is_a_header_then_sorted_rows() {
    let env = a_and_b(&["a/foo", "b/zed", "b/foo", "b/bar"]);
    let (a, b) = (env.p("a"), env.p("b"));
    let r = env.nixp(&["list"]);
    // The reference comes last, unpadded; "-" for no shadows.
    let expected = [
        "ID   LAYER  SHADOWS  REFERENCE\n".to_string(),
        format!("bar  B      -        {b}/bar\n"),
        format!("foo  A      B        {a}/foo\n"),
        format!("zed  B      -        {b}/zed\n"),
        "whole layers as flakes: A, B\n".to_string(),
    ]
    .concat();
    assert_eq!(r.ok(), expected);
    assert_eq!(r.stderr, "");
}

#[test]
fn list_shadows_name_only_lower_layers() {
    // A registry layer that defines `foo` only for ref v1 comes first; the
    // dir layer below wins the plain id, and the registry is not "shadowed".
    let env = Env::new();
    env.flake("flakes/foo");
    let reg = env.write(
        "team.json",
        r#"{"version": 2, "flakes": [{"from": {"type": "indirect", "id": "foo", "ref": "v1"}, "to": {"type": "path", "path": "/v1"}, "exact": true}]}"#,
    );
    env.config(json!({"layers": [
        {"name": "team", "registry": reg.to_str().unwrap()},
        {"name": "PKGS", "dir": env.p("flakes")},
    ]}));
    let v = env.nixp(&["list", "--json"]).json();
    assert_eq!(
        v["ids"],
        json!([{"id": "foo", "layer": "PKGS", "kind": "dir", "reference": env.p("flakes/foo"), "error": null, "shadows": []}])
    );
    assert_eq!(env.nixp(&["resolve", "foo/v1"]).ok(), "path:/v1\n");
}

#[test]
fn closed_stdout_is_not_a_crash() {
    let env = Env::new();
    for i in 0..3000 {
        env.flake(&format!("flakes/f{i}"));
    }
    env.dir_layers(&[("PKGS", "flakes")]);
    let mut child = env
        .cmd()
        .arg("list")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn relative_config_paths_become_absolute() {
    let env = Env::new();
    env.flake("flakes/foo");
    env.write(
        "cfg.json",
        r#"{"layers": [{"name": "P", "dir": "flakes"}]}"#,
    );
    // Relative to the config file, wherever nixp is started from.
    let out = run(env
        .cmd()
        .env("NIXP_CONFIG", "cfg.json")
        .args(["resolve", "foo#x"]));
    assert_eq!(out.ok(), format!("{}#x\n", env.p("flakes/foo")));
}

#[test]
fn no_home_means_no_user_config_not_one_in_the_current_directory() {
    let env = Env::new();
    env.flake("flakes/foo");
    env.write(
        ".config/nixp/config.json",
        &serde_json::to_string(&json!({"layers": [{"name": "P", "dir": env.p("flakes")}]}))
            .unwrap(),
    );
    let out = run(env
        .cmd()
        .env_remove("HOME")
        .env_remove("XDG_CONFIG_HOME")
        .args(["resolve", "foo#x"]));
    assert_eq!(out.ok(), "foo#x\n");
    let out = run(env
        .cmd()
        .env_remove("HOME")
        .env_remove("XDG_CONFIG_HOME")
        .args(["layers", "add", "B", "flakes"]));
    assert!(out.fails_with(3).contains("HOME is not set"), "{out:#?}");
}

#[test]
fn closed_stderr_is_not_a_crash() {
    let env = Env::new();
    env.flake("flakes/foo");
    env.config(json!({"layers": [{"name": "P", "dir": env.p("flakes")}, {"name": "gone", "dir": env.p("nope"), "optional": true}]}));
    let mut child = env
        .cmd()
        .args(["resolve", "--explain", "foo", "bar"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\nbar\n", env.p("flakes/foo"))
    );
}

#[test]
fn choosing_by_outputs_without_nix_is_a_clear_error() {
    let env = a_and_b(&["a/foo", "b/foo"]);
    let r = run(env
        .cmd()
        .env("NIXP_NIX", "/nonexistent/nix")
        .args(["resolve", "foo#pkg"]));
    assert_eq!(
        r.fails_with(1),
        "error: cannot resolve 'foo#pkg': cannot ask nix which layer's flake provides it: NIXP_NIX is '/nonexistent/nix', which does not exist\n"
    );
}

#[test]
fn list_can_be_limited_to_some_ids() {
    let env = a_and_b(&["a/foo", "a/bar", "b/foo"]);
    let r = env.nixp(&["list", "foo"]);
    assert_eq!(
        r.ok(),
        format!(
            "ID   LAYER  SHADOWS  REFERENCE\nfoo  A      B        {}/foo\nwhole layers as flakes: A, B\n",
            env.p("a")
        )
    );
    let r = env.nixp(&["list", "--json", "bar", "nope"]);
    assert_eq!(r.fails_with(1), "error: no layer holds 'nope'\n");
    let ids: Vec<String> = r.json()["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["bar"]);
}
