//! A whole layer as one flake: `PKGS`, `PKGS#blender.cycles`, `PKGS#foo`.
//!
//! nixp keeps a generated flake per layer in `$XDG_CACHE_HOME/nixp/layers/LAYER/`,
//! whose inputs are the layer's flakes and whose outputs expose them by
//! member name, in a layout nix 2.8 and current nix both read:
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
//! The directory's path never changes, so what nix records of it (a
//! profile element's original reference) stays valid: `nix profile
//! upgrade` reads the layer's current flake. Its content is replaced as a
//! whole (made in a temporary directory, then exchanged with the old one
//! in one step), when the fingerprint changes: the member list, their
//! references and private inputs, and for local members the sizes and
//! mtimes of their top-level entries. Otherwise it is reused without any
//! nix call. A member is checked as nix's own search would see it, for the
//! current system only (other systems' outputs are never evaluated); one
//! that fails is left out, named in a warning on every run, and tried
//! again on every run until it evaluates. Nothing but the layer's own
//! directory and nixp's temporary ones is ever touched.

use crate::nix::Nix;
use crate::nix::probe::{Candidate, Provides};
use serde::{Deserialize, Serialize};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bumped when the generated text changes, so old flakes are not reused.
const GENERATOR: &str = "nixp-layer-flake-2";

/// What a generation of a layer's flake was made from, kept beside it.
const STATE: &str = "nixp-layer.json";

const SYSTEMS: &str = r#"[ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ]"#;

/// The outputs of a layer's flake (`OUTPUTS` makes these).
pub const OUTPUT_NAMES: [&str; 4] = ["packages", "legacyPackages", "apps", "devShells"];

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

/// One member: its id and the flake nix fetches it by.
pub struct Member {
    pub id: String,
    /// The reference as nix's command line takes it.
    pub url: String,
    /// Its directory, when it is local: the flake's input then names it as
    /// a path (no URL escaping), and the fingerprint covers it.
    pub dir: Option<PathBuf>,
    /// `--override-flake REF TARGET` for its private inputs.
    pub overrides: Vec<(String, String)>,
}

/// What a generation was made from, and the members left out of it.
#[derive(Serialize, Deserialize, Default)]
struct State {
    fingerprint: String,
    /// (member, why nix could not evaluate it).
    left_out: Vec<(String, String)>,
    /// The hash of the flake.lock nixp made: a lock changed since (by
    /// hand, or by a plain `nix flake update` of it) is made again.
    #[serde(default)]
    lock: String,
}

/// The hash of the flake.lock in `dir` (of nothing, when there is none).
fn lock_hash(dir: &Path) -> String {
    let text = std::fs::read(dir.join("flake.lock")).unwrap_or_default();
    crate::hash::hex([&*String::from_utf8_lossy(&text)])
}

/// Where the flake of the whole layer `layer` is kept in nixp's cache
/// directory `cache`.
pub fn layer_dir(cache: &Path, layer: &str) -> PathBuf {
    cache.join("layers").join(layer)
}

/// Where the flake of one member of `layer` is kept: the same layout with
/// that member alone, for references into it (`PKGS#blender.cycles`), so
/// that using one member of a big layer costs what that member costs.
pub fn member_dir(cache: &Path, layer: &str, member: &str) -> PathBuf {
    cache.join("layer-members").join(layer).join(member)
}

/// The layer (and member) whose generated flake is the directory `dir`.
pub fn owner_of(cache: &Path, dir: &Path) -> Option<(String, Option<String>)> {
    let name = |c: std::path::Component| c.as_os_str().to_str().map(str::to_string);
    if let Ok(rest) = dir.strip_prefix(cache.join("layers")) {
        return Some((name(rest.components().next()?)?, None));
    }
    let rest = dir.strip_prefix(cache.join("layer-members")).ok()?;
    let mut c = rest.components();
    Some((name(c.next()?)?, Some(name(c.next()?)?)))
}

/// The directory `dir` of the generated flake of `layer` with `members`,
/// generated (with `nix`, members checked with `provides`) when the
/// members changed, or when a member left out last time now evaluates.
/// Without `provides`, members are not checked: the flake of one member
/// alone is only used for that member, whose own error nix then gives.
pub fn ensure(
    layer: &str,
    members: Vec<Member>,
    dir: &Path,
    nix: &Nix,
    provides: Option<&dyn Provides>,
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
    let root = dir.parent().unwrap_or(dir);
    let state: Option<State> = std::fs::read(dir.join(STATE))
        .ok()
        .and_then(|t| serde_json::from_slice(&t).ok());
    let known = match state {
        Some(s)
            if s.fingerprint == fp
                && dir.join("flake.nix").exists()
                && s.lock == lock_hash(dir) =>
        {
            s
        }
        _ => return generate(layer, &members, root, dir, fp, nix, provides),
    };
    if known.left_out.is_empty() {
        return Ok(dir.to_path_buf());
    }
    // Left out last time: tried again, and named again while they fail.
    let retried: Vec<&Member> = members
        .iter()
        .filter(|m| known.left_out.iter().any(|(id, _)| *id == m.id))
        .collect();
    let checks = check(&retried, provides);
    if checks.iter().any(Result::is_ok) {
        return generate(layer, &members, root, dir, fp, nix, provides);
    }
    for (m, e) in retried.iter().zip(checks) {
        if let Err(e) = e {
            left_out_warning(layer, &m.id, &e);
        }
    }
    Ok(dir.to_path_buf())
}

fn left_out_warning(layer: &str, id: &str, e: &str) {
    crate::message::warning(format_args!(
        "layer '{layer}': member '{id}' fails to evaluate, left out of the layer's flake: {e}"
    ));
}

/// Whether nix can evaluate each member, for the current system: what it
/// offers there, as nix's own search sees it, with its private inputs
/// overridden and its flake.lock never written.
fn check(members: &[&Member], provides: Option<&dyn Provides>) -> Vec<Result<(), String>> {
    let Some(provides) = provides else {
        return members.iter().map(|_| Ok(())).collect();
    };
    let candidates: Vec<Option<Candidate>> = members
        .iter()
        .map(|m| {
            Some(Candidate {
                reference: m.url.clone(),
                local: m.dir.clone(),
                locked: false,
                overrides: m.overrides.clone(),
            })
        })
        .collect();
    provides
        .probe(&candidates, None, false)
        .into_iter()
        .map(|p| match p {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e),
            None => Err("nix was not asked".into()),
        })
        .collect()
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

/// The flake.nix of a layer's flake with `members` as inputs.
fn flake_nix(layer: &str, members: &[&Member]) -> String {
    let mut inputs = String::new();
    for m in members {
        let name = crate::flake::expr::string(&m.id);
        let source = match &m.dir {
            Some(d) => format!(
                "{{ type = \"path\"; path = {}; }}",
                crate::flake::expr::string(&d.to_string_lossy())
            ),
            None => format!("{{ url = {}; }}", crate::flake::expr::string(&m.url)),
        };
        inputs.push_str(&format!("    {name} = {source};\n"));
    }
    format!(
        "# Generated by nixp for layer '{layer}'; regenerated when the layer changes.\n{{\n  description = {};\n  inputs = {{\n{inputs}  }};\n{}}}\n",
        crate::flake::expr::string(&format!("the flakes of layer {layer}")),
        OUTPUTS.replace("SYSTEMS", SYSTEMS)
    )
}

/// Checks the members, writes and locks the flake in a temporary
/// directory, then puts it in place of the old one in one step; members
/// that fail to evaluate are left out, by name.
fn generate(
    layer: &str,
    members: &[Member],
    root: &Path,
    dir: &Path,
    fingerprint: String,
    nix: &Nix,
    provides: Option<&dyn Provides>,
) -> Result<PathBuf, String> {
    // Beside it on the status line: the members' evaluations, counted.
    let _status = crate::progress::start(format!(
        "making the flake of layer '{layer}' ({} members)",
        members.len()
    ));
    let all: Vec<&Member> = members.iter().collect();
    let checks = check(&all, provides);
    let mut kept = vec![];
    let mut state = State {
        fingerprint,
        ..State::default()
    };
    for (m, c) in members.iter().zip(checks) {
        match c {
            Ok(()) => kept.push(m),
            Err(e) => {
                left_out_warning(layer, &m.id, &e);
                state.left_out.push((m.id.clone(), e));
            }
        }
    }
    std::fs::create_dir_all(root)
        .map_err(|e| format!("cannot create '{}': {e}", root.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".generating-")
        .tempdir_in(root)
        .map_err(|e| format!("cannot create a directory in '{}': {e}", root.display()))?;
    let write = |name: &str, text: &[u8]| {
        crate::atomic::write(&tmp.path().join(name), text).map_err(|e| format!("{e:#}"))
    };
    write("flake.nix", flake_nix(layer, &kept).as_bytes())?;
    // A flake without inputs has no lock to make (nix writes none).
    if !kept.is_empty() {
        // Every member's private inputs, locked as the stack gives them.
        let mut overrides: Vec<&(String, String)> =
            kept.iter().flat_map(|m| &m.overrides).collect();
        overrides.sort();
        overrides.dedup();
        let out = nix
            .call()
            .doing("locking it")
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
                crate::nix::message::cause(&out.stderr)
            ));
        }
    }
    state.lock = lock_hash(tmp.path());
    let text = serde_json::to_vec(&state).map_err(|e| e.to_string())?;
    write(STATE, &text)?;
    put_in_place(tmp, dir)?;
    Ok(dir.to_path_buf())
}

/// Puts the generated directory `new` at `dir` (`atomic::put_dir`).
fn put_in_place(new: tempfile::TempDir, dir: &Path) -> Result<(), String> {
    let new = new.keep();
    match crate::atomic::put_dir(&new, dir) {
        Ok(()) => Ok(()),
        // Another run put one there first: that one is as good.
        Err(_) if dir.join("flake.nix").exists() => {
            let _ = std::fs::remove_dir_all(&new);
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&new);
            Err(format!(
                "cannot move the layer's flake into '{}': {e}",
                dir.display()
            ))
        }
    }
}
