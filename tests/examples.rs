//! The README's examples stay true: `examples/run.sh`, run with this build
//! of nixp and the real nix, prints exactly the transcript in README.md.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;

#[test]
fn readme_transcript_is_what_examples_run_prints() {
    if real_nix().is_none() {
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let out = run(
        std::process::Command::new(format!("{root}/examples/run.sh"))
            .env("NIXP", NIXP)
            .env_remove("NIX_CONFIG")
            .env_remove("NIXP_LAYERS")
            .env_remove("NIXP_CONFIG"),
    );
    assert_eq!(out.code, 0, "{out:#?}");
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
