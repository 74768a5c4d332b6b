//! Shell completion in the real bash, zsh and fish, non-interactively,
//! against the real nix (offline): private ids, `LAYER.id`, attributes of
//! private flakes, nix's own commands, and `nix` aliased to nixp.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;
use common::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A sandbox with nixp on PATH as `nixp`, the real nix, and a layer PKGS
/// holding `foo` (package MAIN_PKG) and `blender`.
fn setup() -> Option<Env> {
    let env = real_nix_env()?;
    env.real_flake("flakes/foo", &[("MAIN_PKG", "foo-main", "private-foo")]);
    env.real_flake("flakes/blender", &[("cycles", "cycles", "cycles")]);
    env.dir_layers(&[("PKGS", "flakes")]);
    std::os::unix::fs::symlink(NIXP, env.path("bin/nixp")).unwrap();
    Some(env)
}

fn shell_available(shell: &str) -> bool {
    let found = std::process::Command::new(shell)
        .arg("-c")
        .arg("exit 0")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        // CI (NIXP_REQUIRE_NIX=1) installs the shells: there, a missing one fails.
        assert!(
            std::env::var("NIXP_REQUIRE_NIX").as_deref() != Ok("1"),
            "NIXP_REQUIRE_NIX=1 but {shell} is not installed"
        );
        eprintln!("skipped: {shell} is not installed (apt-get install {shell})");
    }
    found
}

fn quote(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| shell_words::quote(w).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// bash: sets COMP_WORDS/COMP_CWORD (the last word is being completed),
/// calls the completion function registered for the command, prints COMPREPLY.
fn bash(env: &Env, setup: &str, words: &[&str]) -> Vec<String> {
    let script = format!(
        "source {ROOT}/completions/nixp.bash\n{setup}\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE={}\nCOMP_POINT=${{#COMP_LINE}}\n\
         fn=$(complete -p {} | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p')\n$fn\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        quote(words),
        words.len() - 1,
        shell_words::quote(&words.join(" ")),
        words[0],
    );
    let out = run(env
        .sandboxed("bash")
        .args(["--norc", "--noprofile", "-c", &script]));
    assert_eq!(out.code, 0, "{out:#?}");
    out.stdout
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// zsh: loads `_nixp` with a `compadd` that prints what it is given.
fn zsh(env: &Env, setup: &str, words: &[&str]) -> Vec<String> {
    let script = format!(
        "compdef() {{ :; }}\n\
         compadd() {{ local arr; while (( $# )); do case $1 in -a) arr=$2; shift 2;; -d|-S) shift 2;; *) shift;; esac; done; print -rl -- \"${{(@P)arr}}\"; }}\n\
         source {ROOT}/completions/_nixp\n{setup}\nwords=({})\nCURRENT={}\n_nixp\n",
        quote(words),
        words.len(),
    );
    let out = run(env.sandboxed("zsh").args(["-f", "-c", &script]));
    assert_eq!(out.code, 0, "{out:#?}");
    out.stdout
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// fish: `complete -C` on the command line, candidates without descriptions.
fn fish(env: &Env, setup: &str, line: &str) -> Vec<String> {
    let script = format!(
        "source {ROOT}/completions/nixp.fish\n{setup}\ncomplete -C {}\n",
        shell_words::quote(line)
    );
    let out = run(env.sandboxed("fish").args(["--no-config", "-c", &script]));
    assert_eq!(out.code, 0, "{out:#?}");
    out.stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn has(candidates: &[String], want: &str) -> bool {
    candidates.iter().any(|c| c == want)
}

/// What every shell's script must complete: a private id, a private
/// flake's attribute, a nix command, a `LAYER.id`, and all of it for `nix`
/// when it is an alias of nixp (`alias` is the shell's setup for that).
fn completes_the_basics(alias: &str, complete: impl Fn(&str, &[&str]) -> Vec<String>) {
    let c = complete("", &["nixp", "profile", "install", "fo"]);
    assert!(has(&c, "foo"), "{c:?}");
    let c = complete("", &["nixp", "build", "foo#MA"]);
    assert_eq!(c, ["foo#MAIN_PKG"]);
    let c = complete("", &["nixp", "fl"]);
    assert!(has(&c, "flake"), "{c:?}");
    let c = complete("", &["nixp", "flake", "show", "PKGS.bl"]);
    assert_eq!(c, ["PKGS.blender"]);
    let c = complete(alias, &["nix", "build", "fo"]);
    assert!(has(&c, "foo"), "{c:?}");
}

#[test]
fn bash_completes_private_ids_attributes_and_nix_commands() {
    let Some(env) = setup() else { return };
    if !shell_available("bash") {
        return;
    }
    completes_the_basics(
        "alias nix=nixp\ncomplete -F _nixp_complete nix",
        |setup, words| bash(&env, setup, words),
    );
    // nixp's own verbs and options.
    let c = bash(&env, "", &["nixp", "reso"]);
    assert_eq!(c, ["resolve"]);
    let c = bash(&env, "", &["nixp", "resolve", "--ex"]);
    assert_eq!(c, ["--explain"]);
    let c = bash(&env, "", &["nixp", "completions", ""]);
    assert_eq!(c, ["bash", "zsh", "fish"]);
    let c = bash(&env, "", &["nixp", "layers", "remove", ""]);
    assert_eq!(c, ["PKGS"]);
    // A word with ':' before the cursor (which bash's COMP_WORDS splits).
    let c = bash(
        &env,
        "",
        &[
            "nixp",
            "flake",
            "show",
            "--override-input",
            "nixpkgs",
            "github:NixOS/nixpkgs",
            "PKGS.bl",
        ],
    );
    assert_eq!(c, ["PKGS.blender"]);
    // A layer's name completes to its ids.
    let c = bash(&env, "", &["nixp", "build", "PK"]);
    assert_eq!(c, ["PKGS.blender", "PKGS.foo"]);
}

#[test]
fn zsh_completes_private_ids_attributes_and_nix_commands() {
    let Some(env) = setup() else { return };
    if !shell_available("zsh") {
        return;
    }
    completes_the_basics("alias nix=nixp", |setup, words| zsh(&env, setup, words));
}

#[test]
fn fish_completes_private_ids_attributes_and_nix_commands() {
    let Some(env) = setup() else { return };
    if !shell_available("fish") {
        return;
    }
    completes_the_basics("alias nix=nixp", |setup, words| {
        fish(&env, setup, &words.join(" "))
    });
}

#[test]
fn completions_verb_prints_the_scripts() {
    let env = Env::new();
    for (shell, file) in [
        ("bash", "nixp.bash"),
        ("zsh", "_nixp"),
        ("fish", "nixp.fish"),
    ] {
        let out = env.nixp(&["completions", shell]);
        assert_eq!(
            out.ok(),
            std::fs::read_to_string(format!("{ROOT}/completions/{file}")).unwrap()
        );
    }
}

#[test]
fn words_that_are_not_references_complete_as_nix_does() {
    let Some(env) = setup() else { return };
    for line in [
        &["build", "--imp"][..],
        &["build", "nixpk"],
        &["flake", "sh"],
    ] {
        let n = line.len().to_string();
        let ours = run(env.cmd().env("NIX_GET_COMPLETIONS", &n).args(line));
        let nix = run(env.nix_cmd().env("NIX_GET_COMPLETIONS", &n).args(line));
        assert_eq!(ours.stdout, nix.stdout, "{line:?}");
    }
}

#[test]
fn an_attribute_being_typed_is_completed_from_the_first_holder() {
    let Some(env) = setup() else { return };
    // A second layer holds `foo` too: the choice among holders is not
    // made for a fragment still being typed.
    env.real_flake("more/foo", &[("OTHER", "other", "other")]);
    env.dir_layers(&[("PKGS", "flakes"), ("MORE", "more")]);
    let r = run(env
        .cmd()
        .env("NIX_GET_COMPLETIONS", "2")
        .args(["build", "foo#MA"]));
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.stdout.contains("foo#MAIN_PKG"), "{r:#?}");
}
