//! The cold output-aware choice with the real nix: the command is its own
//! probe. Each holder's flake traces its evaluation (`trace: evaluating
//! L`), and a nix wrapper copies every stderr nix writes (nixp's own
//! probes included) to a log, so the tests count evaluations: each holder
//! at most once, in layer order, none past the first that provides.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;

/// Layers `A` and `B` hold `foo`, each tracing its evaluation: A's has
/// `other` and `broken` (a build that fails); B's has `MAIN_PKG` and
/// `broken` (one that builds). nix runs through a wrapper that appends
/// all its stderr to `nix-stderr`.
fn two_holders() -> Option<Env> {
    let mut env = real_nix_env()?;
    let fails = r#"broken = derivation { name = "broken"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo the build of A failed >&2; exit 3" ]; };
    packages.x86_64-linux.mimic = derivation { name = "mimic"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo \"error: flake 'path:/t' does not provide attribute 'packages.x86_64-linux.mimic', 'legacyPackages.x86_64-linux.mimic' or 'mimic'\" >&2; exit 1" ]; };"#;
    let builds = r#"broken = mk "b-broken" "fine";
    packages.x86_64-linux.mimic = mk "b-mimic" "fine";
    packages.x86_64-linux.loud = builtins.trace "release notes:\nerror: codes changed in v2" (mk "b-loud" "loud");"#;
    for (rel, layer, pkg, extra) in [
        ("a/foo", "A", ("other", "a-other", "from-a"), fails),
        ("b/foo", "B", ("MAIN_PKG", "b-main", "from-b"), builds),
    ] {
        env.real_flake_with(rel, &[pkg], &format!("    packages.x86_64-linux.{extra}"));
        // Every evaluation of the outputs says so on stderr.
        let file = env.path(&format!("{rel}/flake.nix"));
        let text = std::fs::read_to_string(&file).unwrap().replacen(
            "outputs = { self }: let",
            &format!("outputs = {{ self }}: builtins.trace \"evaluating {layer}\" (let"),
            1,
        );
        let end = text.rfind("};").unwrap();
        let text = format!("{});{}", &text[..end + 1], &text[end + 2..]);
        std::fs::write(&file, text).unwrap();
    }
    env.dir_layers(&[("A", "a"), ("B", "b")]);
    let wrapper = env.write(
        "tee-nix/nix",
        &format!(
            "#!/bin/bash\nexec '{}' \"$@\" 2> >(tee -a '{}' >&2)\n",
            real_nix().unwrap().display(),
            env.p("nix-stderr")
        ),
    );
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set_env("NIXP_NIX", &wrapper.to_string_lossy());
    Some(env)
}

/// How many times each layer's flake was evaluated since the last call.
fn evaluations(env: &Env) -> (usize, usize) {
    let log = std::fs::read_to_string(env.path("nix-stderr")).unwrap_or_default();
    let _ = std::fs::remove_file(env.path("nix-stderr"));
    let count = |l: &str| log.matches(&format!("trace: evaluating {l}")).count();
    (count("A"), count("B"))
}

#[test]
fn a_cold_choice_evaluates_each_holder_once() {
    let Some(env) = two_holders() else { return };
    // Only the second provides it: A once (the command tried with it),
    // B once (the command itself); nix's error about A is taken back.
    let r = env.nixp(&["eval", "foo#MAIN_PKG.name"]);
    assert_eq!(r.ok(), "\"b-main\"\n");
    assert!(!r.stderr.contains("error"), "{}", r.stderr);
    assert_eq!(evaluations(&env), (1, 1));
    // Warm: what A lacks is known; only the command evaluates B.
    let r = env.nixp(&["eval", "foo#MAIN_PKG.name"]);
    assert_eq!(r.ok(), "\"b-main\"\n");
    assert_eq!(evaluations(&env), (0, 1));
    // The first provides it: B is never evaluated.
    let r = env.nixp(&["eval", "foo#other.name"]);
    assert_eq!(r.ok(), "\"a-other\"\n");
    assert_eq!(evaluations(&env), (1, 0));
}

#[test]
fn profile_install_of_a_cold_choice_installs_the_provider() {
    let Some(env) = two_holders() else { return };
    let profile = env.p("profile");
    let r = env.nixp(&["profile", "install", "--profile", &profile, "foo#MAIN_PKG"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(!r.stderr.contains("error"), "{}", r.stderr);
    assert_eq!(evaluations(&env), (1, 1));
    let out = run(&mut env.sandboxed(env.path("profile/bin/b-main")));
    assert_eq!(out.ok(), "from-b\n");
}

#[test]
fn a_failure_other_than_a_missing_attribute_is_nix_s_own() {
    let Some(env) = two_holders() else { return };
    // A provides `broken`, and its build fails: that is the answer, with
    // nix's error and exit code; B, shadowed, is not tried.
    for _ in 0..2 {
        let r = env.nixp(&["build", "--no-link", "foo#broken"]);
        assert_eq!(r.code, 1, "{r:#?}");
        assert!(r.stderr.contains("the build of A failed"), "{}", r.stderr);
        assert!(r.stderr.contains("error:"), "{}", r.stderr);
        let (_, b) = evaluations(&env);
        assert_eq!(b, 0);
    }
}

#[test]
fn when_no_holder_provides_it_nixp_names_what_each_offers() {
    let Some(env) = two_holders() else { return };
    for _ in 0..2 {
        let r = env.nixp(&["eval", "foo#nope"]);
        let err = r.fails_with(1);
        // (After the traces of the evaluations that found it missing.)
        assert!(
            err.lines().any(|l| l.starts_with(
                "error: cannot resolve 'foo#nope': no layer holding 'foo' provides 'nope'"
            )),
            "{err}"
        );
        assert!(
            err.contains("offers packages: broken, mimic, other"),
            "{err}"
        );
        assert!(
            err.contains("offers packages: MAIN_PKG, broken, loud, mimic"),
            "{err}"
        );
        assert!(!err.contains("does not provide attribute"), "{err}");
    }
}

#[test]
fn only_nix_s_own_error_about_the_holder_tried_counts() {
    let Some(env) = two_holders() else { return };
    // A's `mimic` build prints nix's very words for a missing attribute,
    // and fails: A's build failed; B, shadowed, is not tried.
    for _ in 0..2 {
        let r = env.nixp(&["build", "--no-link", "foo#mimic"]);
        assert_eq!(r.code, 1, "{r:#?}");
        assert!(r.stderr.contains("does not provide attribute"), "{r:#?}");
        assert_eq!(evaluations(&env).1, 0);
    }
    // Another word on the line that lacks the same attribute is nix's
    // error about it, not A's: A still provides `other`.
    env.real_flake("elsewhere", &[("x", "x", "x")]);
    let r = env.nixp(&["build", "--no-link", "foo#other", "./elsewhere#other"]);
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(r.stderr.contains("elsewhere"), "{r:#?}");
    evaluations(&env);
    let r = env.nixp(&["eval", "foo#other.name"]);
    assert_eq!(r.ok(), "\"a-other\"\n");
    assert_eq!(evaluations(&env), (1, 0));
}

#[test]
fn what_nix_prints_after_a_line_that_reads_like_an_error_is_kept() {
    let Some(env) = two_holders() else { return };
    // B's `loud` traces a line that begins `error:`; A lacks `loud`.
    let r = env.nixp(&["build", "--no-link", "foo#loud"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.stderr.contains("error: codes changed in v2"), "{r:#?}");
    assert!(!r.stderr.contains("does not provide"), "{r:#?}");
}

#[test]
fn a_flake_with_nix_config_is_probed_not_tried() {
    let Some(env) = two_holders() else { return };
    // nix would ask about A's settings on a terminal: A is probed, and
    // the answer is still B's.
    let file = env.path("a/foo/flake.nix");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen("{\n", "{\n  nixConfig.bash-prompt = \"a> \";\n", 1),
    )
    .unwrap();
    let r = env.nixp(&["eval", "foo#MAIN_PKG.name"]);
    assert_eq!(r.ok(), "\"b-main\"\n");
    assert!(!r.stderr.contains("error"), "{r:#?}");
    // Probed (A and B once each), then the command (B).
    assert_eq!(evaluations(&env), (1, 2));
}

#[test]
fn signals_sent_to_nixp_reach_the_nix_it_runs() {
    let Some(env) = two_holders() else { return };
    // A's `slow` takes seconds to evaluate and lacks `x`; B has it.
    let heavy = "builtins.foldl' (a: i: a + builtins.foldl' (x: y: x + y) 0 (builtins.genList (z: z) 1000)) 0 (builtins.genList (x: x) 20000)";
    env.write(
        "a/slow/flake.nix",
        &format!("{{ outputs = {{ self }}: builtins.seq ({heavy}) {{ packages.x86_64-linux.other = 1; }}; }}\n"),
    );
    env.real_flake("b/slow", &[("x", "x", "x")]);
    // Output to files: a pipe would keep the test waiting for whoever
    // still holds it.
    let stdout = std::fs::File::create(env.path("stdout")).unwrap();
    let stderr = std::fs::File::create(env.path("stderr")).unwrap();
    let mut child = env
        .cmd()
        .args(["eval", "slow#x.name"])
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let pid = child.id().to_string();
    assert!(run(std::process::Command::new("kill").args(["-TERM", &pid])).code == 0);
    let status = child.wait().unwrap();
    // nixp waited for nix, which got the signal too (it stops when its
    // evaluation next looks), and the run is over: B is not tried,
    // nothing is printed as an answer.
    let left = run(std::process::Command::new("pgrep").args(["-f", &env.p("a/slow")]));
    assert_ne!(left.code, 0, "nix outlived nixp: {left:#?}");
    assert_ne!(status.code(), Some(0), "{status:?}");
    assert_eq!(env.read("stdout"), "");
    assert_eq!(evaluations(&env).1, 0);
}
