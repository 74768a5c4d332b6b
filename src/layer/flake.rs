//! A whole layer as one flake: `PKGS`, `PKGS#blender.cycles`, `PKGS#foo`.
//!
//! nixp keeps a generated flake per layer under
//! `$XDG_CACHE_HOME/nixp/layers/LAYER-FINGERPRINT/`, whose inputs are the
//! layer's flakes and whose outputs expose them by member name, in a layout
//! nix 2.8 and current nix both read:
//!
//! - `packages.SYSTEM.MEMBER`: the member's default package, with its other
//!   packages as attributes (`PKGS#blender.cycles`), for members that have a
//!   default package;
//! - `packages.SYSTEM."MEMBER.PKG"`: every package of every member, so that
//!   `nix flake show PKGS` shows them all in one tree and `nix search` finds
//!   them;
//! - `legacyPackages.SYSTEM.MEMBER.PKG`: the same, for `PKGS#tools.MAIN_PKG`
//!   when `tools` has no default package;
//! - `apps.SYSTEM.MEMBER` and `devShells.SYSTEM.MEMBER`: the member's
//!   default app and dev shell (`nix run PKGS#foo`, `nix develop PKGS#foo`).
//!
//! The fingerprint covers the member list, their references and, for local
//! members, the sizes and mtimes of their top-level entries: the flake is
//! regenerated and relocked when it changes, and reused untouched (no nix
//! call) otherwise. Generation happens in a temporary directory renamed into
//! place; a member that fails to evaluate is left out and named.

use crate::nix::Nix;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bumped when the generated text changes, so old flakes are not reused.
const GENERATOR: &str = "nixp-layer-flake-1";

const SYSTEMS: &str = r#"[ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ]"#;

const OUTPUTS: &str = r#"  outputs = { self, ... }@inputs:
    let
      members = builtins.removeAttrs inputs [ "self" ];
      names = builtins.attrNames members;
      forAll = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) SYSTEMS);
      keep = list: builtins.listToAttrs (builtins.filter (x: x.value != null) list);
      pkgsOf = system: name: members.${name}.packages.${system} or { };
      defaultOf = system: name:
        (pkgsOf system name).default or (members.${name}.defaultPackage.${system} or null);
    in {
      packages = forAll (system: keep (builtins.concatMap (name:
        let d = defaultOf system name; p = pkgsOf system name; in
        [ { inherit name; value = if d == null then null else d // p; } ]
        ++ map (pkg: { name = "${name}.${pkg}"; value = p.${pkg}; })
          (builtins.filter (n: n != "default") (builtins.attrNames p))
      ) names));
      legacyPackages = forAll (system:
        builtins.listToAttrs (map (name: { inherit name; value = pkgsOf system name; }) names));
      apps = forAll (system: keep (map (name:
        { inherit name; value = members.${name}.apps.${system}.default or null; }) names));
      devShells = forAll (system: keep (map (name: {
        inherit name;
        value = members.${name}.devShells.${system}.default or (members.${name}.devShell.${system} or null);
      }) names));
    };
"#;

/// One member: its id and the reference nix fetches it by.
pub struct Member {
    pub id: String,
    pub url: String,
    /// A local directory, for the fingerprint.
    pub dir: Option<PathBuf>,
    /// `--override-flake REF TARGET` for its private inputs.
    pub overrides: Vec<(String, String)>,
}

/// The directory of the generated flake of layer `layer` with `members`,
/// under nixp's cache directory `cache`, generating it (with `nix`) when
/// the members changed since the last time.
pub fn ensure(
    layer: &str,
    members: Vec<Member>,
    cache: &Path,
    nix: &Nix,
) -> Result<PathBuf, String> {
    let members: Vec<Member> = members
        .into_iter()
        .filter(|m| {
            // A flake's inputs cannot be called `self`.
            let is_self = m.id == "self";
            if is_self {
                crate::message::warning(format_args!(
                    "layer '{layer}': member 'self' left out of the layer's flake (a flake input cannot be called 'self')"
                ));
            }
            !is_self
        })
        .collect();
    let fp = fingerprint(&members);
    let root = cache.join("layers");
    let dir = root.join(format!("{layer}-{fp}"));
    if dir.join("flake.lock").exists() {
        return Ok(dir);
    }
    generate(layer, &members, &root, &dir, nix)?;
    Ok(dir)
}

fn fingerprint(members: &[Member]) -> String {
    let mut parts = vec![GENERATOR.to_string()];
    for m in members {
        parts.push(m.id.clone());
        parts.push(m.url.clone());
        for (id, r) in &m.overrides {
            parts.push(format!("{id} {r}"));
        }
        let private_inputs = m
            .overrides
            .iter()
            .filter_map(|(_, r)| crate::flake::local::local_flake(r));
        for d in m.dir.iter().cloned().chain(private_inputs) {
            let mut entries: Vec<String> = std::fs::read_dir(&d)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    let md = e.metadata().ok()?;
                    Some(format!(
                        "{}:{}:{}.{}",
                        e.file_name().to_string_lossy(),
                        md.size(),
                        md.mtime(),
                        md.mtime_nsec()
                    ))
                })
                .collect();
            entries.sort();
            parts.extend(entries);
        }
    }
    crate::hash::hex(parts.iter().map(String::as_str))
}

/// Writes and locks the flake in a temporary directory, then renames it
/// into place; members that fail to evaluate are left out, by name.
fn generate(
    layer: &str,
    members: &[Member],
    root: &Path,
    dir: &Path,
    nix: &Nix,
) -> Result<(), String> {
    let checks = crate::threads::map(members, |m| evaluates(nix, m));
    let mut inputs = String::new();
    for (m, check) in members.iter().zip(checks) {
        match check {
            Ok(()) => inputs.push_str(&format!(
                "    {}.url = {};\n",
                crate::flake::expr::string(&m.id),
                crate::flake::expr::string(&m.url)
            )),
            Err(e) => crate::message::warning(format_args!(
                "layer '{layer}': member '{}' fails to evaluate, left out of the layer's flake: {e}",
                m.id
            )),
        }
    }
    let text = format!(
        "# Generated by nixp for layer '{layer}'; regenerated when the layer changes.\n{{\n  description = {};\n  inputs = {{\n{inputs}  }};\n{}}}\n",
        crate::flake::expr::string(&format!("the flakes of layer {layer}")),
        OUTPUTS.replace("SYSTEMS", SYSTEMS)
    );
    std::fs::create_dir_all(root)
        .map_err(|e| format!("cannot create '{}': {e}", root.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".generating-")
        .tempdir_in(root)
        .map_err(|e| format!("cannot create a directory in '{}': {e}", root.display()))?;
    crate::atomic::write(&tmp.path().join("flake.nix"), text.as_bytes())
        .map_err(|e| format!("{e:#}"))?;
    // Every member's private inputs, locked as the stack gives them.
    let mut overrides: Vec<&(String, String)> = members.iter().flat_map(|m| &m.overrides).collect();
    overrides.sort();
    overrides.dedup();
    let out = nix
        .call()
        .args(["flake", "lock"])
        .args(
            overrides
                .iter()
                .flat_map(|(id, r)| ["--override-flake", id, r]),
        )
        .arg(format!("path:{}", tmp.path().display()))
        .output()?;
    if !out.status.success() || !tmp.path().join("flake.lock").exists() {
        return Err(format!(
            "cannot lock the layer's flake: {}",
            crate::nix::error_line(&out.stderr)
        ));
    }
    let tmp = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp, dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another run generated the same flake first: that one is as good.
        if !dir.join("flake.lock").exists() {
            return Err(format!(
                "cannot move the layer's flake into '{}': {e}",
                dir.display()
            ));
        }
    }
    // Earlier generations of this layer's flake are no longer used.
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{layer}-")) && e.path() != dir {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(())
}

/// Whether nix can evaluate a member's outputs (what `nix flake show`
/// does), with its private inputs overridden and its flake.lock never
/// written: nixp does not write into a layer's directories.
fn evaluates(nix: &Nix, m: &Member) -> Result<(), String> {
    nix.call()
        .args(["flake", "show", "--json", "--no-write-lock-file"])
        .args(
            m.overrides
                .iter()
                .flat_map(|(id, r)| ["--override-flake", id, r]),
        )
        .arg(&m.url)
        .stdout()
        .map(|_| ())
        .map_err(String::from)
}
