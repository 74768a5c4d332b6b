//! Output-aware matching and private inputs, with the real nix, offline:
//! two layers hold `foo`, only the second provides `MAIN_PKG` and a
//! default app; answers are cached (a second run calls nix for nothing)
//! and follow edits; a local flake whose input is `foo` locks and builds
//! against the private `foo`.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use serde_json::json;

/// Layers `A` and `B` both hold `foo`: A's has only `other`; B's has
/// `MAIN_PKG` and a default app running it.
fn two_layers() -> Option<Env> {
    let env = real_nix_env()?;
    env.real_flake("a/foo", &[("other", "a-other", "from-a")]);
    env.real_flake_with(
        "b/foo",
        &[("MAIN_PKG", "b-main", "from-b")],
        r#"    apps.x86_64-linux.default = { type = "app"; program = "${self.packages.x86_64-linux.MAIN_PKG}/bin/b-main"; };"#,
    );
    env.dir_layers(&[("A", "a"), ("B", "b")]);
    Some(env)
}

/// The nix command lines the logging nix saw that evaluate something.
fn evals(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path("nix-log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" eval "))
        .map(String::from)
        .collect()
}

#[test]
fn the_first_layer_that_provides_the_target_wins() {
    let Some(mut env) = two_layers() else { return };
    env.log_nix_calls("nix-log");
    let a = env.p("a/foo");
    let b = env.p("b/foo");

    let r = env.nixp(&["resolve", "foo#MAIN_PKG", "foo#other", "--explain"]);
    assert_eq!(r.ok(), format!("{b}#MAIN_PKG\n{a}#other\n"));
    assert!(r.stderr.contains("layer 'A' (dir): lacks:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("provides packages.x86_64-linux.MAIN_PKG"),
        "{}",
        r.stderr
    );
    // One probe per candidate: two flakes, two questions.
    assert_eq!(evals(&env).len(), 4, "{:?}", evals(&env));

    // The second time, nix is asked nothing at all: no schema dump, no
    // settings, no evaluation.
    std::fs::remove_file(env.path("nix-log")).unwrap();
    let r = env.nixp(&["resolve", "foo#MAIN_PKG", "foo#other"]);
    assert_eq!(r.ok(), format!("{b}#MAIN_PKG\n{a}#other\n"));
    assert!(!env.path("nix-log").exists(), "{}", env.read("nix-log"));

    // Through the drop-in: the profile gets B's MAIN_PKG, evaluating
    // nothing more than nix's own build does.
    let profile = env.p("profile");
    let r = env.nixp(&["profile", "install", "--profile", &profile, "foo#MAIN_PKG"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(evals(&env).is_empty(), "{:?}", evals(&env));
    let out = run(&mut env.sandboxed(env.path("profile/bin/b-main")));
    assert_eq!(out.ok(), "from-b\n");

    // `nix run foo`: only B has a default app (A has no default package
    // either), so B's runs.
    let r = env.nixp(&["run", "foo", "--", "x"]);
    assert_eq!(r.ok(), "from-b\nx\n");
    let r = env.nixp(&["run", "foo#other"]);
    assert_eq!(r.ok(), "from-a\n");

    // An id only one layer holds, or a `LAYER.id`, is not evaluated.
    env.real_flake("b/solo", &[("x", "x", "x")]);
    std::fs::remove_file(env.path("nix-log")).unwrap();
    let r = env.nixp(&["resolve", "solo#nope", "A.foo#MAIN_PKG"]);
    assert_eq!(r.ok(), format!("{}#nope\n{a}#MAIN_PKG\n", env.p("b/solo")));
    assert!(evals(&env).is_empty(), "{:?}", evals(&env));
}

#[test]
fn when_no_holder_provides_it_the_error_names_each() {
    let Some(env) = two_layers() else { return };
    let r = env.nixp(&["resolve", "foo#nope"]);
    let err = r.fails_with(1);
    assert!(err.starts_with("error: cannot resolve 'foo#nope': no layer holding 'foo' provides 'nope' for x86_64-linux"), "{err}");
    assert!(
        err.contains(&format!(
            "layer 'A' ({}) offers packages: other",
            env.p("a/foo")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "layer 'B' ({}) offers apps: default; packages: MAIN_PKG",
            env.p("b/foo")
        )),
        "{err}"
    );
    assert!(err.contains("nix's registries are not asked"), "{err}");
    // The drop-in stops before nix runs.
    let r = env.nixp(&["build", "foo#nope"]);
    assert!(r.fails_with(1).contains("layer 'B'"), "{}", r.stderr);
    // A bare id names the flake: the first holder, nothing evaluated;
    // asked as `nix build` asks, it needs a default package.
    assert_eq!(
        env.nixp(&["resolve", "foo"]).ok(),
        format!("{}\n", env.p("a/foo"))
    );
    let r = env.nixp(&["resolve", "--for", "build", "foo"]);
    assert!(
        r.fails_with(1).contains("provides a default package"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_edit_flips_the_answer_and_only_the_edited_flake_is_probed_again() {
    let Some(mut env) = two_layers() else { return };
    env.log_nix_calls("nix-log");
    let r = env.nixp(&["resolve", "foo#MAIN_PKG"]);
    assert_eq!(r.ok(), format!("{}#MAIN_PKG\n", env.p("b/foo")));
    std::fs::remove_file(env.path("nix-log")).unwrap();

    env.real_flake(
        "a/foo",
        &[
            ("other", "a-other", "from-a"),
            ("MAIN_PKG", "a-main", "from-a"),
        ],
    );
    let r = env.nixp(&["resolve", "foo#MAIN_PKG"]);
    assert_eq!(r.ok(), format!("{}#MAIN_PKG\n", env.p("a/foo")));
    let e = evals(&env);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains(&env.p("a/foo")), "{e:?}");

    // An edit below the flake's directory counts too.
    std::fs::remove_file(env.path("nix-log")).unwrap();
    env.write("a/foo/pkgs/note.txt", "x");
    env.nixp(&["resolve", "foo#MAIN_PKG"]).ok();
    assert_eq!(evals(&env).len(), 1);

    // A corrupt cache is not trusted and not fatal: both flakes are asked
    // again, and the files are whole again.
    std::fs::remove_file(env.path("nix-log")).unwrap();
    let mut files = vec![];
    for e in std::fs::read_dir(env.path("home/.cache/nixp/outputs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            std::fs::write(&p, "{oops").unwrap();
            files.push(p);
        }
    }
    assert_eq!(files.len(), 2);
    let r = env.nixp(&["resolve", "foo#MAIN_PKG"]);
    assert_eq!(r.ok(), format!("{}#MAIN_PKG\n", env.p("a/foo")));
    assert_eq!(evals(&env).len(), 2, "{:?}", evals(&env));
    for f in files {
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(f).unwrap()).unwrap();
    }
}

#[test]
fn a_first_holder_nix_cannot_evaluate_stops_the_choice() {
    let Some(env) = two_layers() else { return };
    env.write(
        "a/foo/flake.nix",
        "{ outputs = { self }: { packages = ; }; }\n",
    );
    let r = env.nixp(&["resolve", "foo#MAIN_PKG"]);
    let err = r.fails_with(1);
    assert!(
        err.starts_with("error: cannot resolve 'foo#MAIN_PKG': cannot tell whether the first layers holding 'foo' provide 'MAIN_PKG' for x86_64-linux"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "layer 'A' ({}) cannot be evaluated: syntax error",
            env.p("a/foo")
        )),
        "{err}"
    );
    // Below the layer that provides it, a broken flake does not matter.
    env.write("a/foo/flake.nix", &env.read("b/foo/flake.nix"));
    env.write(
        "b/foo/flake.nix",
        "{ outputs = { self }: { packages = ; }; }\n",
    );
    let r = env.nixp(&["resolve", "foo#MAIN_PKG"]);
    assert_eq!(r.ok(), format!("{}#MAIN_PKG\n", env.p("a/foo")));
}

/// nix 2.8 prints its cause on the first `error:` line; 2.20+ prints
/// `error:` alone, a trace, then the cause: either way nixp shows it.
#[test]
fn a_holder_nix_cannot_evaluate_is_named_with_nix_s_own_cause() {
    let Some(env) = two_layers() else { return };
    for (outputs, cause) in [
        ("{ packages = ; }", "syntax error"),
        (
            r#"{ packages.x86_64-linux = throw "boom in a"; }"#,
            "boom in a",
        ),
        (
            "let s = { }; in { packages.x86_64-linux = s.nope; }",
            "attribute 'nope' missing",
        ),
    ] {
        env.write(
            "a/foo/flake.nix",
            &format!("{{ outputs = {{ self }}: {outputs}; }}\n"),
        );
        let r = env.nixp(&["resolve", "foo#MAIN_PKG"]);
        let err = r.fails_with(1);
        assert!(
            err.contains(&format!(
                "layer 'A' ({}) cannot be evaluated: {cause}",
                env.p("a/foo")
            )),
            "{err}"
        );
    }
}

#[test]
fn an_output_nix_cannot_list_does_not_hide_the_target() {
    let Some(env) = two_layers() else { return };
    env.real_flake_with(
        "a/foo",
        &[("MAIN_PKG", "a-main", "from-a")],
        r#"    checks.x86_64-linux = builtins.abort "broken checks";"#,
    );
    let r = env.nixp(&["resolve", "foo#MAIN_PKG"]);
    assert_eq!(r.ok(), format!("{}#MAIN_PKG\n", env.p("a/foo")));
    let r = env.nixp(&["resolve", "foo#nope"]);
    let err = r.fails_with(1);
    assert!(
        err.contains("layer 'A' (")
            && err.contains("offers outputs nix cannot list (")
            && err.contains("broken checks"),
        "{err}"
    );
}

#[test]
fn list_outputs_shows_each_winner_for_the_system() {
    let Some(env) = two_layers() else { return };
    env.real_flake("b/bar", &[("default", "bar", "bar")]);
    let r = env.nixp(&["list", "--outputs"]);
    assert_eq!(
        r.ok(),
        format!(
            "outputs for x86_64-linux:\nbar  (layer 'B': {})\n└───packages: default\nfoo  (layer 'A': {})\n└───packages: other\n",
            env.p("b/bar"),
            env.p("a/foo")
        )
    );
    let v = env.nixp(&["list", "--outputs", "--json"]).json();
    assert_eq!(v["system"], "x86_64-linux");
    assert_eq!(v["ids"][1]["id"], "foo");
    assert_eq!(v["ids"][1]["layer"], "A");
    assert_eq!(v["ids"][1]["outputs"], json!({"packages": ["other"]}));
    assert_eq!(v["ids"][0]["error"], json!(null));
}

#[test]
fn a_local_flake_with_input_foo_locks_and_builds_the_private_foo() {
    let Some(env) = two_layers() else { return };
    // Only B holds foo for this one.
    env.dir_layers(&[("B", "b")]);
    env.write(
        "app/flake.nix",
        r#"{
  inputs.foo.url = "foo";
  outputs = { self, foo }: {
    packages.x86_64-linux.default = foo.packages.x86_64-linux.MAIN_PKG;
  };
}
"#,
    );
    let profile = env.p("profile");
    let app = env.p("app");
    let r = env.nixp(&["profile", "install", "--profile", &profile, &app]);
    assert_eq!(r.code, 0, "{r:#?}");
    let out = run(&mut env.sandboxed(env.path("profile/bin/b-main")));
    assert_eq!(out.ok(), "from-b\n");
    let lock: serde_json::Value = serde_json::from_str(&env.read("app/flake.lock")).unwrap();
    assert_eq!(
        lock["nodes"]["foo"]["original"],
        json!({"type": "indirect", "id": "foo"})
    );
    assert_eq!(lock["nodes"]["foo"]["locked"]["path"], env.p("b/foo"));

    // `nix flake lock` with no argument reads `.`: from inside the flake.
    std::fs::remove_file(env.path("app/flake.lock")).unwrap();
    let r = run(env
        .cmd()
        .current_dir(env.path("app"))
        .args(["flake", "lock"]));
    assert_eq!(r.code, 0, "{r:#?}");
    let lock: serde_json::Value = serde_json::from_str(&env.read("app/flake.lock")).unwrap();
    assert_eq!(lock["nodes"]["foo"]["locked"]["path"], env.p("b/foo"));
}
