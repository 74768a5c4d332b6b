//! nixp's flake, its NixOS and home-manager modules and the pure function
//! behind them, with the real nix, offline. No nixpkgs can be fetched
//! here: the flake is evaluated with `--override-input nixpkgs` pointing
//! at `tests/nixpkgs-standin`, which records what the flake asks of it.
//! This proves the wiring (outputs for every system, the package built
//! from this source and Cargo.lock, completions and man page installed,
//! the modules writing what the function makes); only a real nixpkgs
//! build proves that the Rust build itself succeeds there.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use serde_json::{Value, json};
use std::path::Path;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const SYSTEMS: [&str; 4] = [
    "x86_64-linux",
    "aarch64-linux",
    "x86_64-darwin",
    "aarch64-darwin",
];

/// `nix eval --json` of a Nix expression (impure: it imports files).
fn eval(env: &Env, expr: &str) -> Run {
    run(env
        .nix_cmd()
        .args(["eval", "--json", "--impure", "--expr", expr]))
}

/// The config function applied to `settings` (a Nix attribute set).
fn config_of(env: &Env, settings: &str) -> Run {
    eval(env, &format!("import {REPO}/nix/config.nix {settings}"))
}

/// `nix eval --json` of an output of nixp's flake, nixpkgs the stand-in.
fn flake_output(env: &Env, attr: &str, apply: Option<&str>) -> Value {
    let mut cmd = env.nix_cmd();
    cmd.args(["eval", "--json", "--no-write-lock-file", "--impure"])
        .args([
            "--override-input",
            "nixpkgs",
            &format!("path:{REPO}/tests/nixpkgs-standin"),
        ])
        .arg(format!("git+file://{REPO}#{attr}"));
    if let Some(f) = apply {
        cmd.args(["--apply", f]);
    }
    run(&mut cmd).json()
}

#[test]
fn the_config_function_writes_what_nixp_reads() {
    let Some(env) = real_nix_env() else { return };
    env.real_flake("flakes/foo", &[("x", "x", "from-foo")]);
    let settings = format!(
        r#"{{
          layers = [
            {{ name = "PKGS"; dir = {dir}; ids = [ "foo" "acme-*" ]; }}
            {{ name = "team"; registry = "{dir}/team.json"; explicit = true; dir = null; collection = null; }}
            {{ name = "git"; collection = "git+file:///srv/flakes.git"; optional = true; }}
          ];
          fallback = false;
          timeout = 30;
        }}"#,
        dir = env.p("flakes")
    );
    let made = config_of(&env, &settings).json();
    assert_eq!(
        made,
        json!({"layers": [
            {"name": "PKGS", "dir": env.p("flakes"), "ids": ["foo", "acme-*"]},
            {"name": "team", "registry": format!("{}/team.json", env.p("flakes")), "explicit": true},
            {"name": "git", "collection": "git+file:///srv/flakes.git", "optional": true},
        ], "fallback": false, "timeout": 30})
    );
    // nixp reads it as declared, from the system file (NixOS) or the user
    // file (home-manager), and resolves through it.
    for file in ["system.json", "home/.config/nixp/config.json"] {
        env.write(file, &made.to_string());
        let layers = env.nixp(&["layers", "--json"]).json();
        let got: Vec<Value> = layers["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| json!([l["name"], l["kind"], l["ids"], l["explicit"], l["optional"]]))
            .collect();
        assert_eq!(
            got,
            [
                json!(["PKGS", "dir", ["foo", "acme-*"], false, false]),
                json!(["team", "registry", [], true, false]),
                json!(["git", "collection", [], false, true]),
            ]
        );
        assert_eq!(layers["fallback"], json!(false));
        let r = env.nixp(&["run", "foo#x"]);
        assert_eq!(r.ok(), "from-foo\n");
        std::fs::remove_file(env.path(file)).unwrap();
    }
}

#[test]
fn settings_nixp_would_refuse_fail_evaluation_naming_the_option() {
    let Some(env) = real_nix_env() else { return };
    // (settings, what the evaluation error says, the same layer as JSON
    // for nixp's own parser)
    let cases = [
        (
            r#"{ name = "1st"; dir = "/x"; }"#,
            "programs.nixp.layers.0: '1st' is not a valid layer name",
            json!({"name": "1st", "dir": "/x"}),
        ),
        (
            r#"{ name = "a"; dir = "/x"; registry = "/y.json"; }"#,
            "programs.nixp.layers.0: layer 'a' needs exactly one source",
            json!({"name": "a", "dir": "/x", "registry": "/y.json"}),
        ),
        (
            r#"{ name = "a"; }"#,
            "programs.nixp.layers.0: layer 'a' needs exactly one source",
            json!({"name": "a"}),
        ),
        (
            r#"{ name = "a"; collection = "ftp://x"; }"#,
            "programs.nixp.layers.0: layer 'a': 'ftp://x' is not a collection source",
            json!({"name": "a", "collection": "ftp://x"}),
        ),
        (
            r#"{ name = "a"; dir = "/x"; ids = [ "no/slash" ]; }"#,
            "programs.nixp.layers.0: layer 'a': 'ids': 'no/slash' is not an id pattern",
            json!({"name": "a", "dir": "/x", "ids": ["no/slash"]}),
        ),
        (
            r#"{ name = "a"; dir = ""; }"#,
            "programs.nixp.layers.0: layer 'a': the dir source is empty",
            json!({"name": "a", "dir": ""}),
        ),
        (
            r#"{ name = "a"; dir = "/x"; colour = "red"; }"#,
            "programs.nixp.layers.0: unknown option 'colour'",
            json!({"name": "a", "dir": "/x", "colour": "red"}),
        ),
    ];
    for (layer, says, raw) in cases {
        let r = config_of(&env, &format!("{{ layers = [ {layer} ]; }}"));
        assert_ne!(r.code, 0, "{layer}: {r:#?}");
        assert!(r.stderr.contains(says), "{layer}: {}", r.stderr);
        env.write("system.json", &json!({"layers": [raw]}).to_string());
        let n = env.nixp(&["layers"]);
        assert_eq!(
            n.code, 3,
            "nixp accepts what the function refuses: {layer}: {n:#?}"
        );
    }
    let r = config_of(
        &env,
        r#"{ layers = [ { name = "a"; dir = "/x"; } { name = "a"; dir = "/y"; } ]; }"#,
    );
    assert!(
        r.stderr
            .contains("programs.nixp.layers: two layers are named 'a'"),
        "{r:#?}"
    );
    let r = config_of(&env, r#"{ fallback = "yes"; }"#);
    assert!(r.stderr.contains("programs.nixp.fallback"), "{r:#?}");
}

#[test]
fn the_flake_builds_nixp_from_this_source_for_every_system() {
    let Some(env) = real_nix_env() else { return };
    let meta = run(env.nix_cmd().args([
        "flake",
        "metadata",
        "--json",
        "--no-write-lock-file",
        "--override-input",
        "nixpkgs",
        &format!("path:{REPO}/tests/nixpkgs-standin"),
        &format!("git+file://{REPO}"),
    ]))
    .json();
    let source = meta["path"].as_str().unwrap().to_string();
    let outputs = json!({
        "packages": flake_output(
            &env,
            "packages",
            Some("ps: builtins.mapAttrs (_: p: { default = p.default.recorded; nixp = p.nixp.recorded; }) ps"),
        ),
        "apps": flake_output(&env, "apps", None),
        "shells": flake_output(
            &env,
            "devShells",
            Some("ss: builtins.mapAttrs (_: s: s.default.recorded.packages) ss"),
        ),
        "overlay": flake_output(
            &env,
            "overlays",
            Some(&format!(
                "o: let pkgs = ((import {REPO}/tests/nixpkgs-standin/flake.nix).outputs {{ self = null; }}).legacyPackages.x86_64-linux; in (o.default pkgs pkgs).nixp.recorded.src"
            )),
        ),
        "modules": [
            flake_output(&env, "nixosModules", Some("m: builtins.isFunction (import m.default)")),
            flake_output(&env, "homeManagerModules", Some("m: builtins.isFunction (import m.default)")),
        ],
    });
    for system in SYSTEMS {
        let p = &outputs["packages"][system]["default"];
        assert_eq!(p, &outputs["packages"][system]["nixp"], "{system}");
        assert_eq!(p["builder"], "buildRustPackage", "{system}");
        assert_eq!(p["pname"], "nixp");
        assert_eq!(p["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(p["src"], json!(source), "built from this source");
        assert_eq!(
            p["cargoLock"]["lockFile"],
            json!(format!("{source}/Cargo.lock"))
        );
        assert_eq!(p["meta"]["mainProgram"], "nixp");
        assert_eq!(p["nativeBuildInputs"], json!(["installShellFiles"]));
        let post = p["postInstall"].as_str().unwrap();
        for file in [
            "completions/nixp.bash",
            "completions/_nixp",
            "completions/nixp.fish",
            "man/nixp.1",
            "README.md",
        ] {
            assert!(post.contains(file), "{file} not installed: {post}");
            assert!(Path::new(REPO).join(file).is_file(), "{file}");
        }
        assert!(post.contains("installShellCompletion --cmd nixp"), "{post}");
        assert!(post.contains("installManPage man/nixp.1"), "{post}");
        let app = &outputs["apps"][system]["default"];
        assert_eq!(app["type"], "app");
        assert!(
            app["program"]
                .as_str()
                .unwrap()
                .ends_with("-nixp-0.1.0/bin/nixp"),
            "{app}"
        );
        let shell = outputs["shells"][system].as_array().unwrap();
        for tool in ["cargo", "clippy", "rustfmt", "nix", "git", "zsh", "fish"] {
            assert!(
                shell.contains(&json!(tool)),
                "{system} devShell lacks {tool}"
            );
        }
    }
    // The overlay adds the same package, from this source.
    assert_eq!(outputs["overlay"], json!(source));
    assert_eq!(outputs["modules"], json!([true, true]));
}

/// A module of nixp's evaluated with the stand-in lib and `settings` as
/// `programs.nixp`; `nix` and `nixp` packages at the given directories.
fn module(env: &Env, file: &str, settings: &str, nix: &str, nixp: &str) -> Value {
    let expr = format!(
        r#"let
          standin = (import {REPO}/tests/nixpkgs-standin/flake.nix).outputs {{ self = null; }};
          pkgs = standin.legacyPackages.x86_64-linux;
          nixp = {{ name = "nixp"; outPath = "{nixp}"; }};
          config = {{
            programs.nixp = {{ enable = true; package = nixp; fallback = null; aliasNix = true; }} // {settings};
            nix.package = {{ name = "nix"; outPath = "{nix}"; }};
          }};
          m = import {REPO}/nix/{file} {{ inherit config pkgs; lib = standin.lib; }};
        in {{
          options = builtins.attrNames m.options.programs.nixp;
          inherit (m.config) condition;
          etc = m.config.content.environment.etc."nixp/config.json".text or null;
          xdg = m.config.content.xdg.configFile."nixp/config.json".text or null;
          packages = map (p: p.recorded or p) (m.config.content.environment.systemPackages or m.config.content.home.packages);
          priority = map (p: p.priority or null) (m.config.content.environment.systemPackages or m.config.content.home.packages);
        }}"#
    );
    eval(env, &expr).json()
}

#[test]
fn the_modules_write_the_function_s_config_and_alias_nix_without_a_loop() {
    let Some(env) = real_nix_env() else { return };
    env.real_flake("flakes/foo", &[("x", "x", "from-foo")]);
    let settings = format!(
        r#"{{ layers = [ {{ name = "PKGS"; dir = "{}"; ids = [ "foo" ]; explicit = false; optional = false; registry = null; collection = null; }} ]; }}"#,
        env.p("flakes")
    );
    let expected = config_of(&env, &settings).json();
    // The packages the modules install: nixp, and the `nix` in front of
    // the real one.
    let real = real_nix().unwrap();
    let nix_pkg = env.path("nix-pkg");
    std::fs::create_dir_all(nix_pkg.join("bin")).unwrap();
    std::os::unix::fs::symlink(&real, nix_pkg.join("bin/nix")).unwrap();
    let nixp_pkg = env.path("nixp-pkg");
    std::fs::create_dir_all(nixp_pkg.join("bin")).unwrap();
    std::os::unix::fs::symlink(NIXP, nixp_pkg.join("bin/nixp")).unwrap();
    for (file, key) in [("nixos-module.nix", "etc"), ("home-module.nix", "xdg")] {
        let m = module(
            &env,
            file,
            &settings,
            &nix_pkg.to_string_lossy(),
            &nixp_pkg.to_string_lossy(),
        );
        assert_eq!(
            m["options"],
            json!(["aliasNix", "enable", "fallback", "layers", "package"]),
            "{file}"
        );
        assert_eq!(m["condition"], json!(true));
        let text: Value = serde_json::from_str(m[key].as_str().unwrap()).unwrap();
        assert_eq!(text, expected, "{file}");
        assert_eq!(m["priority"], json!([null, "high"]), "{file}");
        // The `nix` it installs, run for real: the real nix, through nixp.
        let script = m["packages"][1]["text"].as_str().unwrap();
        let alias = env.write("alias/bin/nix", &format!("#!/bin/sh\n{script}"));
        std::fs::set_permissions(&alias, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let mut cmd = env.sandboxed(&alias);
        let r = run(cmd
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", env.path("alias/bin").display()),
            )
            .env("NIXP_SYSTEM_CONFIG", "/nonexistent")
            .env("NIXP_LAYERS", format!("PKGS={}", env.p("flakes")))
            .args(["run", "foo#x"]));
        assert_eq!(r.ok(), "from-foo\n", "{file}");
        let v = run(env
            .sandboxed(&alias)
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", env.path("alias/bin").display()),
            )
            .arg("--version"));
        let plain = run(env.sandboxed(&real).arg("--version"));
        assert_eq!(v.ok(), plain.ok(), "{file}");
    }
}

#[test]
fn every_nix_file_parses() {
    let Some(nix) = real_nix() else { return };
    let instantiate = nix.with_file_name("nix-instantiate");
    let mut files = vec![format!("{REPO}/flake.nix")];
    for dir in ["nix", "tests/nixpkgs-standin"] {
        for e in std::fs::read_dir(Path::new(REPO).join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "nix") {
                files.push(p.display().to_string());
            }
        }
    }
    assert!(files.len() >= 9, "{files:?}");
    for f in files {
        let r = run(std::process::Command::new(&instantiate).args(["--parse", &f]));
        assert_eq!(r.code, 0, "{f}: {r:#?}");
    }
}
