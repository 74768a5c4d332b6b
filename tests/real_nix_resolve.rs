//! The reference `nixp resolve` prints for a dir-layer flake, handed to the
//! real nix, builds that flake.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;

#[test]
fn resolved_reference_builds_with_real_nix() {
    let Some(env) = real_nix_env() else { return };
    env.real_flake("flakes/foo", &[("MAIN_PKG", "foo-main", "private-foo")]);
    env.config(serde_json::json!({"layers": [{"name": "PKGS", "dir": env.p("flakes")}]}));
    let out = env.nixp(&["resolve", "foo#MAIN_PKG"]);
    let reference = out.ok().trim().to_string();
    assert_eq!(reference, format!("{}#MAIN_PKG", env.p("flakes/foo")));
    let out_path = env.nix_build(&reference);
    let said =
        run(std::process::Command::new(format!("{out_path}/bin/foo-main")).args(["x", "y z"]));
    assert_eq!(said.stdout, "private-foo\nx\ny z\n");
}
