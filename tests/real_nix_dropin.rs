//! nixp in front of the real nix, offline: installs, runs, exit codes,
//! schema caching, and PATH set-ups that must not loop.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use serde_json::json;

/// A sandbox whose layer PKGS holds `foo`, while nix's own user registry
/// maps `foo` to a different flake (`public/foo`) and holds `other`.
fn setup() -> Option<Env> {
    let env = real_nix_env()?;
    env.real_flake(
        "flakes/foo",
        &[
            ("MAIN_PKG", "foo-main", "private-foo"),
            ("default", "foo-main", "private-foo"),
        ],
    );
    env.real_flake("public/foo", &[("MAIN_PKG", "foo-main", "public-foo")]);
    env.real_flake(
        "public/other",
        &[("MAIN_PKG", "other-main", "public-other")],
    );
    env.write(
        "home/.config/nix/registry.json",
        &serde_json::to_string(&json!({"version": 2, "flakes": [
            {"from": {"type": "indirect", "id": "foo"}, "to": {"type": "path", "path": env.p("public/foo")}},
            {"from": {"type": "indirect", "id": "other"}, "to": {"type": "path", "path": env.p("public/other")}},
        ]}))
        .unwrap(),
    );
    env.dir_layers(&[("PKGS", "flakes")]);
    Some(env)
}

#[test]
fn profile_install_takes_the_private_flake() {
    let Some(env) = setup() else { return };
    let profile = env.p("profile");
    env.nixp(&["profile", "install", "--profile", &profile, "foo#MAIN_PKG"])
        .ok();
    let list = run(env
        .nix_cmd()
        .args(["profile", "list", "--profile", &profile]));
    assert!(list.ok().contains(&env.p("flakes/foo")), "{list:#?}");
    assert!(!list.stdout.contains(&env.p("public/foo")), "{list:#?}");
    let said = run(&mut std::process::Command::new(
        env.path("profile/bin/foo-main"),
    ));
    assert_eq!(said.stdout, "private-foo\n");
}

#[test]
fn an_id_only_nix_holds_still_builds() {
    let Some(env) = setup() else { return };
    let path = env
        .nixp(&["build", "--no-link", "--json", "other#MAIN_PKG"])
        .out_path();
    let said = run(&mut std::process::Command::new(format!(
        "{path}/bin/other-main"
    )));
    assert_eq!(said.stdout, "public-other\n");
}

#[test]
fn run_passes_program_arguments_intact() {
    let Some(env) = setup() else { return };
    let out = env.nixp(&["run", "foo", "--", "a", "b c", "foo#x"]);
    assert_eq!(out.ok(), "private-foo\na\nb c\nfoo#x\n");
}

#[test]
fn failing_build_exits_like_nix() {
    let Some(env) = setup() else { return };
    env.real_flake_with(
        "flakes/broken",
        &[],
        r#"    packages.x86_64-linux.bad = derivation { name = "bad"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "exit 3" ]; };"#,
    );
    let via_nixp = env.nixp(&["build", "--no-link", "broken#bad"]);
    let direct = run(env.nix_cmd().args([
        "build",
        "--no-link",
        &format!("{}#bad", env.p("flakes/broken")),
    ]));
    assert_ne!(direct.code, 0, "{direct:#?}");
    assert_eq!(via_nixp.code, direct.code, "{via_nixp:#?}");
    assert!(via_nixp.stderr.contains("builder for"), "{via_nixp:#?}");
}

#[test]
fn version_is_nix_s() {
    let Some(env) = setup() else { return };
    let nixp = env.nixp(&["--version"]);
    let nix = run(env.nix_cmd().arg("--version"));
    assert_eq!(nixp.ok(), nix.ok());
}

#[test]
fn nix_symlink_to_nixp_ahead_of_the_real_nix() {
    let Some(env) = setup() else { return };
    std::os::unix::fs::symlink(NIXP, env.path("bin/nix")).unwrap();
    let real = real_nix().unwrap();
    let path = format!("{}:{}", env.p("bin"), real.parent().unwrap().display());
    // Called as `nix` through the symlink, the way `alias nix=nixp` users do.
    let out = run(env.sandboxed(env.path("bin/nix")).env("PATH", &path).args([
        "build",
        "--no-link",
        "--json",
        "foo#MAIN_PKG",
    ]));
    let p = out.out_path();
    let said = run(&mut std::process::Command::new(format!("{p}/bin/foo-main")));
    assert_eq!(said.stdout, "private-foo\n");
}

#[test]
fn schema_is_dumped_once_per_nix_binary_and_cached() {
    let Some(mut env) = setup() else { return };
    let log = env.p("dumps");
    env.log_nix_calls("dumps");
    let explain = |env: &Env| env.nixp(&["explain", "build", "foo#MAIN_PKG"]);
    explain(&env).ok();
    let first = std::fs::read_to_string(&log).unwrap();
    assert!(!first.is_empty());
    explain(&env).ok();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        first,
        "second run must use the cache"
    );
    // A corrupt cache is replaced, and the run still works.
    let cache_dir = env.path("home/.cache/nixp");
    let cached: Vec<_> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    std::fs::write(&cached[0], "{ garbage").unwrap();
    let out = explain(&env);
    assert!(out.ok().contains(&env.p("flakes/foo")));
    assert!(
        std::fs::read_to_string(&log).unwrap().len() > first.len(),
        "re-dumped"
    );
    // An unwritable cache never breaks a run.
    std::fs::remove_dir_all(&cache_dir).unwrap();
    std::fs::write(&cache_dir, "a file where the cache directory should be").unwrap();
    assert!(explain(&env).ok().contains(&env.p("flakes/foo")));
}

#[test]
fn the_dumped_schema_has_no_nixp_verb_and_the_builtin_matches_nix_2_8() {
    let Some(env) = setup() else { return };
    let real = real_nix().unwrap();
    let schema = nixp::nix::schema::Schema::dump(&real).expect("nix dumps its schema");
    // Old setting names, which the dump leaves out, come from the settings.
    assert_eq!(schema.root.flags.get("build-cores"), Some(&Some(1)));
    assert_eq!(schema.root.flags.get("build-use-sandbox"), Some(&Some(0)));
    for verb in nixp::cli::VERBS {
        assert!(
            schema.root.command(verb).is_none(),
            "'{verb}' is a nix command"
        );
    }
    let version = run(env.nix_cmd().arg("--version")).stdout;
    if version.contains(" 2.8.") {
        let builtin = nixp::nix::schema::Schema::builtin();
        let dumped = run(env.nix_cmd().arg("__dump-args"));
        let tree: serde_json::Value = serde_json::from_str(&dumped.stdout).unwrap();
        let from_dump = nixp::nix::schema::Schema::from_dump(&tree).unwrap();
        assert_eq!(
            serde_json::to_string(&builtin.root).unwrap(),
            serde_json::to_string(&from_dump.root).unwrap(),
            "the built-in schema drifted from nix 2.8's dump"
        );
    }
}
