//! nixp as a drop-in for nix, against a stub `nix` that records its argv:
//! which words are rewritten, exec, locating nix, loops, explain.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use serde_json::json;

/// A sandbox with a dir layer PKGS holding foo, bar and blender, and a stub nix.
fn setup() -> Env {
    let env = Env::new();
    for f in ["foo", "bar", "blender"] {
        env.flake(&format!("flakes/{f}"));
    }
    env.dir_layers(&[("PKGS", "flakes")]);
    env.stub_nix();
    env
}

/// Runs `nixp LINE` and returns the argv the stub nix received.
fn argv(env: &Env, line: &str) -> Vec<String> {
    let args = shell_words::split(line).unwrap();
    let out = env.nixp(&args);
    assert_eq!(out.code, 0, "{line}: {out:#?}");
    assert_eq!(
        out.stdout, "stub-nix\n",
        "{line}: nix's own stdout passes through"
    );
    env.nix_argv()
}

#[test]
fn command_line_table() {
    let env = setup();
    let f = |id: &str| env.p(&format!("flakes/{id}"));
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "profile install foo#MAIN_PKG",
            vec![
                "profile".into(),
                "install".into(),
                format!("{}#MAIN_PKG", f("foo")),
            ],
        ),
        (
            "--option cores 1 build -L foo#a --arg n e bar#b --impure nixpkgs#c",
            ["--option", "cores", "1", "build", "-L"]
                .map(String::from)
                .into_iter()
                .chain([
                    format!("{}#a", f("foo")),
                    "--arg".into(),
                    "n".into(),
                    "e".into(),
                ])
                .chain([
                    format!("{}#b", f("bar")),
                    "--impure".into(),
                    "nixpkgs#c".into(),
                ])
                .collect(),
        ),
        (
            "run foo#x -- foo#y",
            vec![
                "run".into(),
                format!("{}#x", f("foo")),
                "--".into(),
                "foo#y".into(),
            ],
        ),
        (
            "shell foo#x bar -c echo foo#z",
            vec![
                "shell".into(),
                format!("{}#x", f("foo")),
                f("bar"),
                "-c".into(),
                "echo".into(),
                "foo#z".into(),
            ],
        ),
        (
            "develop foo -c make",
            vec!["develop".into(), f("foo"), "-c".into(), "make".into()],
        ),
        (
            "flake show PKGS.blender",
            vec!["flake".into(), "show".into(), f("blender")],
        ),
        (
            "flake metadata foo",
            vec!["flake".into(), "metadata".into(), f("foo")],
        ),
        (
            "flake lock --inputs-from foo ./x",
            vec![
                "flake".into(),
                "lock".into(),
                "--inputs-from".into(),
                f("foo"),
                "./x".into(),
            ],
        ),
        (
            "build --override-input dep foo ./x#y",
            vec![
                "build".into(),
                "--override-input".into(),
                "dep".into(),
                f("foo"),
                "./x#y".into(),
            ],
        ),
        (
            "build --override-flake foo bar ./x",
            vec![
                "build".into(),
                "--override-flake".into(),
                "foo".into(),
                f("bar"),
                "./x".into(),
            ],
        ),
        (
            "eval --expr 'foo: foo' foo",
            vec![
                "eval".into(),
                "--expr".into(),
                "foo: foo".into(),
                "foo".into(),
            ],
        ),
        (
            "build -f default.nix foo",
            vec![
                "build".into(),
                "-f".into(),
                "default.nix".into(),
                "foo".into(),
            ],
        ),
        (
            "registry add foo /x",
            vec!["registry".into(), "add".into(), "foo".into(), "/x".into()],
        ),
        (
            "search foo foo",
            vec!["search".into(), f("foo"), "foo".into()],
        ),
        (
            "why-depends foo#a foo#b",
            vec![
                "why-depends".into(),
                format!("{}#a", f("foo")),
                format!("{}#b", f("foo")),
            ],
        ),
        (
            "bundle --bundler foo#b bar",
            vec![
                "bundle".into(),
                "--bundler".into(),
                format!("{}#b", f("foo")),
                f("bar"),
            ],
        ),
        (
            "flake init -t foo#tmpl",
            vec![
                "flake".into(),
                "init".into(),
                "-t".into(),
                format!("{}#tmpl", f("foo")),
            ],
        ),
        (
            "build nixpkgs#hello",
            vec!["build".into(), "nixpkgs#hello".into()],
        ),
        (
            "build -Lj3 foo",
            vec!["build".into(), "-Lj3".into(), f("foo")],
        ),
        (
            "build flake:foo#x^out",
            vec!["build".into(), format!("{}#x^out", f("foo"))],
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(argv(&env, line), expected, "nixp {line}");
    }
}

#[test]
fn words_nix_does_not_read_as_references_are_byte_identical() {
    let env = setup();
    let line = [
        "build",
        "nixpkgs#hello",
        "./foo",
        "github:o/r#foo",
        "--impure",
        "héllo wörld",
        "foo?dir=x",
    ];
    let out = env.nixp(&line);
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(env.nix_argv(), line);
}

#[test]
fn no_private_word_skips_the_schema() {
    let env = setup();
    env.nixp(&["build", "nixpkgs#hello", "--impure"]).ok();
    assert_eq!(
        env.nix_dumps(),
        0,
        "fast path must not ask nix for its schema"
    );
    env.nixp(&["build", "foo"]).ok();
    assert!(env.nix_dumps() > 0, "a private word needs the schema");
}

#[test]
fn exit_status_is_nix_s() {
    let env = setup();
    let out = run(env.cmd().env("STUB_EXIT", "42").args(["build", "foo"]));
    assert_eq!(out.code, 42, "{out:#?}");
    assert!(env.nix_ran());
}

#[test]
fn resolution_errors_stop_before_nix() {
    let env = setup();
    let err = env
        .nixp(&["build", "PKGS.nope#x"])
        .fails_with(1)
        .to_string();
    assert_eq!(
        err,
        "error: cannot resolve 'PKGS.nope#x': layer 'PKGS' does not hold 'nope'\n"
    );
    assert!(!env.nix_ran(), "nix must not run after a resolution error");
}

#[test]
fn fallback_off_fails_for_unheld_ids_only_where_nix_reads_references() {
    let env = setup();
    env.config(json!({"layers": [{"name": "PKGS", "dir": env.p("flakes")}], "fallback": false}));
    let err = env
        .nixp(&["build", "nixpkgs#hello"])
        .fails_with(1)
        .to_string();
    assert!(
        err.contains("'nixpkgs#hello'") && err.contains("fallback"),
        "{err}"
    );
    // `build`, `run` and the program's arguments are not references.
    assert_eq!(
        argv(&env, "run foo -- nixpkgs"),
        [
            "run".to_string(),
            env.p("flakes/foo"),
            "--".into(),
            "nixpkgs".into()
        ]
    );
}

#[test]
fn unknown_flag_before_a_private_reference_is_an_error() {
    let env = setup();
    let err = env
        .nixp(&["build", "--frobnicate", "foo"])
        .fails_with(1)
        .to_string();
    assert!(
        err.contains("'--frobnicate'") && err.contains("'foo'"),
        "{err}"
    );
    assert!(!env.nix_ran());
    // With no private word after it, nix gets the line (and judges the flag).
    assert_eq!(
        argv(&env, "build foo --frobnicate x"),
        [
            "build".to_string(),
            env.p("flakes/foo"),
            "--frobnicate".into(),
            "x".into()
        ]
    );
}

#[test]
fn no_nix_found() {
    let env = setup();
    std::fs::remove_file(env.path("bin/nix")).unwrap();
    let out = run(env.cmd().env("PATH", env.p("bin")).args(["build", "foo"]));
    let err = out.fails_with(127);
    assert!(err.starts_with("error: cannot find the real nix"), "{err}");
    assert!(
        err.contains(&env.p("bin")),
        "names what was searched: {err}"
    );
}

#[test]
fn nixp_itself_on_path_as_nix_is_skipped() {
    let env = setup();
    std::fs::create_dir_all(env.path("link")).unwrap();
    std::os::unix::fs::symlink(NIXP, env.path("link/nix")).unwrap();
    std::fs::create_dir_all(env.path("copy")).unwrap();
    std::fs::copy(NIXP, env.path("copy/nix")).unwrap();
    let path = format!("{}:{}:{}", env.p("link"), env.p("copy"), env.p("bin"));
    let out = run(env.cmd().env("PATH", &path).args(["build", "foo"]));
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(env.nix_argv(), ["build".to_string(), env.p("flakes/foo")]);
}

#[test]
fn hard_link_to_nixp_is_skipped() {
    let env = setup();
    // A hard link needs one file system: link to a copy of nixp in the sandbox.
    std::fs::copy(NIXP, env.path("nixp")).unwrap();
    std::fs::create_dir_all(env.path("hard")).unwrap();
    std::fs::hard_link(env.path("nixp"), env.path("hard/nix")).unwrap();
    let out = run(env
        .sandboxed(env.path("nixp"))
        .env("PATH", format!("{}:{}", env.p("hard"), env.p("bin")))
        .args(["build", "bar"]));
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(env.nix_argv(), ["build".to_string(), env.p("flakes/bar")]);
}

#[test]
fn wrapper_that_calls_nixp_again_stops_quickly() {
    let env = setup();
    let wrapper = env.write("loop/nix", &format!("#!/bin/sh\nexec '{NIXP}' \"$@\"\n"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let start = std::time::Instant::now();
    let out = run(env
        .cmd()
        .env("PATH", format!("{}:{}", env.p("loop"), env.p("bin")))
        .args(["build", "foo"]));
    let err = out.fails_with(126);
    assert!(err.contains("inside itself"), "{err}");
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
    assert!(!env.nix_ran());
}

#[test]
fn nixp_nix_names_the_real_nix() {
    let env = setup();
    let other = env.stub_nix_at("elsewhere/nix");
    std::fs::remove_file(env.path("bin/nix")).unwrap();
    let out = run(env.cmd().env("NIXP_NIX", &other).args(["build", "foo"]));
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(env.nix_argv(), ["build".to_string(), env.p("flakes/foo")]);
    let out = run(env.cmd().env("NIXP_NIX", NIXP).args(["build", "foo"]));
    assert!(out.fails_with(126).contains("nixp itself"), "{out:#?}");
}

#[test]
fn explain_prints_the_command_line_and_runs_nothing() {
    let env = setup();
    let out = env.nixp(&["explain", "build", "foo#a b", "nixpkgs#x"]);
    let text = out.ok();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "{} build '{}#a b' 'nixpkgs#x'",
            env.p("bin/nix"),
            env.p("flakes/foo")
        )
    );
    assert_eq!(
        lines.next().unwrap(),
        format!("foo#a b -> {}#a b", env.p("flakes/foo"))
    );
    assert!(
        lines.next().unwrap().contains("layer 'PKGS' (dir): won"),
        "{text}"
    );
    assert!(!env.nix_ran(), "explain runs nothing");
}

#[test]
fn nixp_explain_env_traces_on_stderr_then_runs() {
    let env = setup();
    let out = run(env.cmd().env("NIXP_EXPLAIN", "1").args(["build", "foo"]));
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        out.stderr.starts_with(&format!(
            "{} build {}\n",
            env.p("bin/nix"),
            env.p("flakes/foo")
        )),
        "{out:#?}"
    );
    assert!(out.stderr.contains("won"), "{out:#?}");
    assert_eq!(env.nix_argv(), ["build".to_string(), env.p("flakes/foo")]);
}

#[test]
fn no_config_behaves_exactly_like_nix() {
    let env = Env::new();
    env.stub_nix();
    let line = ["build", "foo#x", "--impure"];
    env.nixp(&line).ok();
    assert_eq!(env.nix_argv(), line);
    assert_eq!(env.nix_dumps(), 0);
}

#[test]
fn nixp_verbs_do_not_shadow_nix_commands_in_the_builtin_schema() {
    let schema = nixp::nix::schema::Schema::builtin();
    for verb in nixp::cli::VERBS {
        assert!(
            schema.root.command(verb).is_none(),
            "'{verb}' is a nix command"
        );
    }
}

#[test]
fn completion_requests_nixp_cannot_answer_reach_nix_unchanged() {
    let env = setup();
    // A private id prefix: nixp answers, nix is not run.
    let out = run(env
        .cmd()
        .env("NIX_GET_COMPLETIONS", "2")
        .args(["build", "fo"]));
    assert_eq!(out.ok(), "filenames\nfoo\tlayer PKGS\n");
    assert!(!env.nix_ran());
    // Anything else reaches nix as it was typed.
    let out = run(env
        .cmd()
        .env("NIX_GET_COMPLETIONS", "2")
        .args(["build", "nixpk"]));
    assert_eq!(out.ok(), "stub-nix\n");
    assert_eq!(env.nix_argv(), ["build", "nixpk"]);
}

// Private inputs of local flakes --------------------------------------------

/// `app/` is a local flake whose inputs are `foo` (held by PKGS), `nixpkgs`
/// (held by no layer) and, through its flake.lock, `bar` (an input of an
/// input, held by PKGS).
fn app(env: &Env) {
    env.write(
        "app/flake.nix",
        r#"{
  # inputs.blender.url = "blender";  (a comment: not an input)
  inputs.foo.url = "flake:foo";
  inputs.nixpkgs.url = "nixpkgs/nixos-23.11";
  outputs = { self, foo, nixpkgs }: { };
}
"#,
    );
    env.write(
        "app/flake.lock",
        r#"{"nodes": {"root": {"inputs": {"foo": "foo"}},
  "foo": {"inputs": {"bar": "bar"}, "original": {"type": "indirect", "id": "foo"}},
  "bar": {"original": {"type": "indirect", "id": "bar"}}},
 "root": "root", "version": 7}"#,
    );
}

/// `cmd`, then the overrides nixp adds for `app`'s private inputs, then `rest`.
fn over(env: &Env, cmd: &[&str], rest: &[&str]) -> Vec<String> {
    let f = |id: &str| env.p(&format!("flakes/{id}"));
    let added = ["--override-flake".into(), "bar".into(), f("bar")]
        .into_iter()
        .chain(["--override-flake".into(), "foo".into(), f("foo")]);
    cmd.iter()
        .map(|s| s.to_string())
        .chain(added)
        .chain(rest.iter().map(|s| s.to_string()))
        .collect()
}

#[test]
fn private_inputs_of_a_local_flake_are_overridden_for_nix() {
    let env = setup();
    app(&env);
    let f = |id: &str| env.p(&format!("flakes/{id}"));
    let over = |rest: &[&str], cmd: &[&str]| over(&env, cmd, rest);
    let app = env.p("app");
    assert_eq!(
        argv(&env, &format!("build {app}#x")),
        over(&[&format!("{app}#x")], &["build"])
    );
    assert_eq!(
        argv(&env, &format!("--option cores 1 run {app} -- foo")),
        over(&[&app, "--", "foo"], &["--option", "cores", "1", "run"])
    );
    assert_eq!(
        argv(&env, &format!("flake lock {app}")),
        over(&[&app], &["flake", "lock"])
    );
    // The user's own override wins.
    assert_eq!(
        argv(
            &env,
            &format!("build --override-flake foo /elsewhere {app}")
        ),
        [
            "build",
            "--override-flake",
            "bar",
            &f("bar"),
            "--override-flake",
            "foo",
            "/elsewhere",
            &app
        ]
    );
    // Commands that neither evaluate nor lock a flake are left alone.
    let line = format!("registry add foo {app}");
    assert_eq!(argv(&env, &line), shell_words::split(&line).unwrap());
}

#[test]
fn the_flake_in_the_current_directory_counts_when_none_is_named() {
    let env = setup();
    app(&env);
    // From a directory below the flake: nix looks upward for flake.nix.
    std::fs::create_dir_all(env.path("app/deeper")).unwrap();
    // (command line, how many words name the command)
    let cases: [(&[&str], usize); 3] = [
        (&["build"], 1),
        (&["flake", "update"], 2),
        (&["develop", "-c", "true"], 1),
    ];
    for (line, n) in cases {
        let out = run(env.cmd().current_dir(env.path("app/deeper")).args(line));
        assert_eq!(out.code, 0, "{out:#?}");
        assert_eq!(env.nix_argv(), over(&env, &line[..n], &line[n..]));
    }
    // `nix build nixpkgs#hello` reads no local flake.
    let out = run(env
        .cmd()
        .current_dir(env.path("app"))
        .args(["build", "nixpkgs#hello"]));
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(env.nix_argv(), ["build", "nixpkgs#hello"]);
}

#[test]
fn a_flake_without_private_inputs_takes_the_fast_path() {
    let env = setup();
    env.write(
        "app/flake.nix",
        "{ inputs.nixpkgs.url = \"nixpkgs\"; outputs = _: { }; }\n",
    );
    let out = run(env
        .cmd()
        .current_dir(env.path("app"))
        .args(["build", ".#x"]));
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(env.nix_argv(), ["build", ".#x"]);
    // The schema was never needed.
    assert_eq!(env.nix_dumps(), 0);
}

#[test]
fn a_claimed_input_its_layer_lacks_is_an_error() {
    let env = setup();
    env.config(json!({"layers": [{"name": "PKGS", "dir": env.p("flakes"), "ids": ["acme-*"]}]}));
    env.write(
        "app/flake.nix",
        "{ inputs.acme-lib.url = \"acme-lib\"; outputs = _: { }; }\n",
    );
    let out = env.nixp(&["build", &env.p("app")]);
    let err = out.fails_with(1);
    assert!(
        err.starts_with(&format!("error: cannot resolve input 'acme-lib' of flake '{}': layer 'PKGS' does not hold 'acme-lib', and it claims 'acme-lib' (acme-*)", env.p("app"))),
        "{err}"
    );
    assert!(!env.nix_ran());
}

#[test]
fn inputs_no_layer_holds_are_left_to_nix_even_with_the_fallback_off() {
    let env = setup();
    env.config(json!({"layers": [{"name": "PKGS", "dir": env.p("flakes")}], "fallback": false}));
    app(&env);
    let app = env.p("app");
    assert_eq!(
        argv(&env, &format!("build {app}")),
        over(&env, &["build"], &[&app])
    );
}

#[test]
fn an_input_with_a_ref_is_overridden_as_written() {
    // A registry layer with an entry for `tools/v1` only (exact): the
    // input `tools/v1` is resolved as written, and passed to nix as
    // written, so nix matches it and carries no ref onto the target.
    let env = setup();
    let reg = env.write(
        "team.json",
        &json!({"version": 2, "flakes": [{
            "from": {"type": "indirect", "id": "tools", "ref": "v1"},
            "to": {"type": "git", "url": "https://example.org/tools.git", "ref": "release-1"},
            "exact": true
        }]})
        .to_string(),
    );
    env.config(json!({"layers": [{"name": "team", "registry": reg}]}));
    env.write(
        "app/flake.nix",
        "{ inputs.tools.url = \"flake:tools/v1\"; outputs = _: { }; }\n",
    );
    let app = env.p("app");
    assert_eq!(
        argv(&env, &format!("flake lock {app}")),
        [
            "flake",
            "lock",
            "--override-flake",
            "tools/v1",
            "git+https://example.org/tools.git?ref=release-1",
            &app
        ]
    );
}
