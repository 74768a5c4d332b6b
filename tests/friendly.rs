//! What a new user meets: help and version for both programs, the first
//! run, `layers add` for every kind of source, a config Nix manages, and
//! on a terminal (a pseudo-terminal made by `script`) colour and the
//! status line, which never show off one.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;

/// The part of `nixp --help` that is nixp's, for this sandbox.
fn about(env: &Env, nix: &str) -> String {
    format!(
        "nixp {v}: this nix command line ran through nixp, which looks flake ids up
in your own layers of flakes first, then in nix's registries, and runs the
real nix ({nix}) with a concrete reference.

nixp's own commands:
  nixp resolve      Print the reference nixp would hand to nix for each REF
  nixp explain      Print the nix command line nixp would run, and why; run nothing
  nixp layers       Show the stack of layers, or edit it
  nixp list         List every id across the stack, its winning layer and what it shadows
  nixp export       Write the winning private ids as a nix registry.json or a NixOS module
  nixp audit        Report ids that both a layer and nix's own registries define
  nixp completions  Print the completion script for SHELL
  nixp version      Print nixp's and nix's versions, and which nix binary runs
  nixp catalog      Write the whole stack as a static web site (-o DIR) or as JSON
  nixp search --stack REGEX...  Search every winning flake, as nix search does
Every other command line is nix's, with private ids resolved first.

Configuration: {user} (yours; `nixp layers add` writes it)
               {system} (the system's)
               NIXP_LAYERS for one run; `nixp layers` shows the stack.
More: `nixp COMMAND --help` (or `nixp help COMMAND`), `man nixp`, README.md in nixp's source.
nix's own help: `nix --help`, `nix help COMMAND`, `nix COMMAND --help`.
",
        v = env!("CARGO_PKG_VERSION"),
        user = env.p("home/.config/nixp/config.json"),
        system = env.p("system.json"),
    )
}

#[test]
fn help_is_nix_s_then_nixp_s() {
    let env = Env::new();
    let nix = env.stub_nix();
    for args in [&["--help"][..], &["help"], &[]] {
        let r = env.nixp(args);
        assert_eq!(
            r.ok(),
            format!("stub-nix\n\n{}", about(&env, &nix.display().to_string()))
        );
        // nix was asked exactly what was typed.
        assert_eq!(env.nix_argv(), args);
    }
    // nix's own failure is kept: `nix` alone fails, so does `nixp` alone.
    let mut cmd = env.cmd();
    let r = run(cmd.env("STUB_EXIT", "1"));
    assert_eq!(r.code, 1);
    assert!(r.stdout.ends_with(&about(&env, &nix.display().to_string())));
    // `help VERB` for nixp's verbs (nix has no such command).
    let r = env.nixp(&["help", "catalog"]);
    assert!(r.ok().contains("Usage: nixp catalog"), "{r:#?}");
    // Deeper help is nix's alone.
    let r = env.nixp(&["build", "--help"]);
    assert_eq!(r.ok(), "stub-nix\n");
    // Every verb has its own.
    for verb in nixp::cli::VERBS {
        let r = env.nixp(&[verb, "--help"]);
        assert!(r.ok().contains("Usage: nixp"), "{verb}: {r:#?}");
    }
}

#[test]
fn version_leaves_nix_s_stdout_alone() {
    let Some(env) = real_nix_env() else { return };
    let nix = real_nix().unwrap();
    let plain = run(env.sandboxed(&nix).arg("--version"));
    let r = env.nixp(&["--version"]);
    assert_eq!(r.ok(), plain.ok());
    assert_eq!(r.stderr, format!("nixp {}\n", env!("CARGO_PKG_VERSION")));
    let r = env.nixp(&["version"]);
    assert_eq!(
        r.ok(),
        format!(
            "nixp {}\n{}nix binary: {}\n",
            env!("CARGO_PKG_VERSION"),
            plain.stdout,
            nix.display()
        )
    );
    let r = env.nixp(&["layers", "--version"]);
    assert!(r.ok().contains(env!("CARGO_PKG_VERSION")), "{r:#?}");
}

#[test]
fn an_empty_stack_says_how_to_add_a_layer() {
    let env = Env::new();
    env.stub_nix();
    for verb in ["layers", "list"] {
        let r = env.nixp(&[verb]);
        assert_eq!(r.ok(), "", "{verb}");
        assert_eq!(
            r.stderr,
            format!(
                "no layers yet: every id goes to nix's registries, as with nix itself.
Add one with: nixp layers add NAME SOURCE
  (SOURCE: a directory of flakes, a registry.json, or a collection's flake URL;
  it writes '{}')
",
                env.p("home/.config/nixp/config.json")
            )
        );
    }
    // JSON stays JSON.
    assert_eq!(
        env.nixp(&["layers", "--json"]).json()["layers"],
        serde_json::json!([])
    );
}

#[test]
fn layers_add_infers_every_kind_and_resolves_through_it() {
    let Some(env) = real_nix_env() else { return };
    env.real_flake("flakes/foo", &[("x", "x", "from-dir")]);
    env.write(
        "team.json",
        &serde_json::json!({"version": 2, "flakes": [{"from": {"type": "indirect", "id": "reg"}, "to": {"type": "path", "path": env.p("flakes/foo")}}]}).to_string(),
    );
    env.real_flake("repo/gitfoo", &[("x", "x", "from-git")]);
    env.git("repo", &["init", "-q"]);
    env.git("repo", &["add", "."]);
    env.git("repo", &["commit", "-qm", "x"]);
    env.real_flake("tar/flakes/tarfoo", &[("x", "x", "from-tarball")]);
    let tar = run(env
        .sandboxed("tar")
        .args(["-czf", "flakes.tar.gz", "-C", "tar", "flakes"]));
    assert_eq!(tar.code, 0, "{tar:#?}");
    let added = |name: &str, source: &str| {
        let r = env.nixp(&["layers", "add", name, source]);
        assert_eq!(r.code, 0, "{source}: {r:#?}");
        r.stderr
    };
    assert!(added("D", "flakes").contains("(dir "));
    assert!(added("R", "team.json").contains("(registry "));
    assert!(added("RU", &format!("file://{}", env.p("team.json"))).contains("(registry file://"));
    assert!(
        added("G", &format!("git+file://{}", env.p("repo"))).contains("(collection git+file://")
    );
    assert!(
        added("T", &format!("file://{}", env.p("flakes.tar.gz"))).contains("(collection file://")
    );
    assert!(added("GH", "github:acme/flakes").contains("(collection github:acme/flakes)"));
    let kinds: Vec<(String, String)> = env.nixp(&["layers", "--json"]).json()["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().into(),
                l["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("D", "dir"),
        ("R", "registry"),
        ("RU", "registry"),
        ("G", "collection"),
        ("T", "collection"),
        ("GH", "collection"),
    ];
    assert_eq!(kinds, want.map(|(a, b)| (a.to_string(), b.to_string())));
    // Each resolves through the layer it was added as (github: is not
    // fetched here: no network).
    let r = env.nixp(&[
        "resolve", "D.foo", "R.reg", "RU.reg", "G.gitfoo", "T.tarfoo",
    ]);
    let lines = r.lines();
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(lines[0], env.p("flakes/foo"));
    assert!(lines[1].contains("flakes/foo"), "{lines:?}");
    assert!(lines[2].contains("flakes/foo"), "{lines:?}");
    assert!(
        lines[3].starts_with("git+file://") && lines[3].contains("dir=gitfoo"),
        "{lines:?}"
    );
    assert!(lines[4].contains("tarfoo"), "{lines:?}");
    for (layer, id, says) in [("G", "gitfoo", "from-git"), ("T", "tarfoo", "from-tarball")] {
        let r = env.nixp(&["run", &format!("{layer}.{id}#x")]);
        assert_eq!(r.ok(), format!("{says}\n"));
    }
    // A local source that cannot answer now is added, with a warning
    // that says what that does.
    let r = env.nixp(&["layers", "add", "Z", "nowhere-yet", "--kind", "dir"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(
        r.stderr.contains("warning: layer 'Z' cannot answer now:")
            && r.stderr.contains("mark it optional"),
        "{r:#?}"
    );
    env.nixp(&["layers", "remove", "Z"]).ok();
    // A relative `path:` collection is made absolute.
    let r = env.nixp(&["layers", "add", "P", "path:repo"]);
    assert!(
        r.stderr
            .contains(&format!("(collection path:{})", env.p("repo"))),
        "{r:#?}"
    );
    // A missing path that says nothing of its kind.
    let r = env.nixp(&["layers", "add", "M", "nowhere"]);
    let err = r.fails_with(3);
    assert!(
        err.contains("--kind dir, --kind registry or --kind collection"),
        "{err}"
    );
}

#[test]
fn a_config_nix_manages_is_not_edited() {
    let mut env = Env::new();
    env.stub_nix();
    // A stand-in store: NIX_STORE_DIR says where the store is.
    let store = env.path("store");
    let managed = env.write("store/abc-nixp-config.json", r#"{"layers": []}"#);
    std::fs::set_permissions(&managed, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::create_dir_all(env.path("home/.config/nixp")).unwrap();
    let config = env.path("home/.config/nixp/config.json");
    std::os::unix::fs::symlink(&managed, &config).unwrap();
    env.set_env("NIX_STORE_DIR", &store.to_string_lossy());
    std::fs::create_dir(env.path("flakes")).unwrap();
    let r = env.nixp(&["layers", "add", "X", "flakes"]);
    let err = r.fails_with(4);
    assert!(
        err.contains(&format!(
            "'{}' is managed by Nix: it is a link into the nix store ('{}')",
            config.display(),
            managed.display()
        )),
        "{err}"
    );
    assert!(err.contains("NixOS or home-manager"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&managed).unwrap(),
        r#"{"layers": []}"#
    );
    // A read-only file of one's own.
    std::fs::remove_file(&config).unwrap();
    std::fs::write(&config, "{}").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o444)).unwrap();
    let r = env.nixp(&["layers", "remove", "X"]);
    assert!(r.fails_with(4).contains("is read-only"), "{r:#?}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "{}");
}

/// Runs nixp with `args` on a pseudo-terminal (util-linux `script`), with
/// `vars` set; everything it wrote to the terminal.
fn on_a_terminal(env: &Env, args: &str, vars: &[(&str, &str)]) -> Option<String> {
    let script = which::which("script").ok()?;
    let mut cmd = env.sandboxed(script);
    cmd.args(["-qec", &format!("{NIXP} {args}"), "/dev/null"])
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("NOCOLOR")
        .env_remove("FORCE_COLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    Some(run(&mut cmd).stdout)
}

#[test]
fn errors_are_coloured_like_nix_s_on_a_terminal_only() {
    let env = Env::new();
    env.stub_nix();
    env.config(serde_json::json!({"layers": [], "fallback": false}));
    let Some(tty) = on_a_terminal(&env, "resolve nope", &[]) else {
        println!("skipped: no `script` to make a terminal");
        return;
    };
    assert!(
        tty.contains("\x1b[31;1merror:\x1b[0m cannot resolve 'nope'"),
        "{tty:?}"
    );
    let plain = on_a_terminal(&env, "resolve nope", &[("NO_COLOR", "1")]).unwrap();
    assert!(plain.contains("error: cannot resolve 'nope'"), "{plain:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    let r = env.nixp(&["resolve", "nope"]);
    assert!(
        r.fails_with(1).starts_with("error: cannot resolve 'nope'"),
        "{r:#?}"
    );
    let mut cmd = env.cmd();
    let r = run(cmd.args(["resolve", "nope"]).env("FORCE_COLOR", "1"));
    assert!(r.stderr.starts_with("\x1b[31;1merror:\x1b[0m"), "{r:#?}");
}

#[test]
fn long_waits_show_a_status_line_on_a_terminal_only() {
    let mut env = Env::new();
    // A nix whose every answer takes a while.
    let slow = env.write(
        "slow/nix",
        "#!/bin/sh\ncase \"$1\" in __dump-*) exit 1;; esac\nsleep 1.2\necho '{}'\n",
    );
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set_env("NIXP_NIX", &slow.to_string_lossy());
    env.write("a/foo/flake.nix", "{ }");
    env.write("b/foo/flake.nix", "{ }");
    env.dir_layers(&[("A", "a"), ("B", "b")]);
    let args = "resolve --for build foo#x";
    let Some(tty) = on_a_terminal(&env, args, &[]) else {
        println!("skipped: no `script` to make a terminal");
        return;
    };
    assert!(tty.contains("\r\x1b[Knixp: evaluating 2 flakes"), "{tty:?}");
    // Cleared when done: the last status is wiped before the error.
    let last = tty.rfind("nixp: evaluating").unwrap();
    assert!(tty[last..].contains("\r\x1b[K"), "{tty:?}");
    let quiet = on_a_terminal(&env, args, &[("NIXP_PROGRESS", "0")]).unwrap();
    assert!(!quiet.contains("nixp: evaluating"), "{quiet:?}");
    let piped = env.nixp(&["resolve", "--for", "build", "foo#x"]);
    assert!(!piped.stderr.contains("nixp: evaluating"), "{piped:#?}");
}
