//! The README's examples stay true: `examples/run.sh`, run with this build
//! of nixp and the real nix, prints exactly the transcript in README.md.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;

/// Runs `examples/run.sh` with this build of nixp (through `cmd`, which
/// runs the script given to it) and checks it prints the README's
/// transcript.
fn transcript_of(mut cmd: std::process::Command) {
    let out = run(cmd
        .env("NIXP", NIXP)
        .env_remove("NIX_CONFIG")
        .env_remove("NIXP_LAYERS")
        .env_remove("NIXP_CONFIG"));
    assert_eq!(out.code, 0, "{out:#?}");
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let start = readme
        .find("<!-- transcript:start -->\n```console\n")
        .unwrap();
    let body = &readme[start..];
    let body = &body[body.find("```console\n").unwrap() + "```console\n".len()..];
    let transcript = &body[..body.find("```\n<!-- transcript:end -->").unwrap()];
    assert_eq!(
        out.stdout, transcript,
        "README.md's transcript differs from what examples/run.sh prints"
    );
}

#[test]
fn readme_transcript_is_what_examples_run_prints() {
    if real_nix().is_none() {
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    transcript_of(std::process::Command::new(format!(
        "{root}/examples/run.sh"
    )));
}

/// On a machine where nix never ran, concurrent first nix calls race in
/// nix's own setup: the whole transcript still comes out on the first run
/// (`NIXP_FRESH_RUNS` times, each on a new store; 2 by default).
#[test]
fn the_transcript_is_complete_on_a_fresh_store() {
    let runs: usize = std::env::var("NIXP_FRESH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2);
    let root = env!("CARGO_MANIFEST_DIR");
    for _ in 0..runs {
        let Some((cmd, _store)) = on_a_fresh_store(&format!("{root}/examples/run.sh")) else {
            return;
        };
        transcript_of(cmd);
    }
}
