//! Edits of the user config file (`nixp layers add/remove`).
//!
//! The file is edited as JSON text, so keys nixp does not touch keep their
//! values and order. The result is checked with the same parser `load` uses
//! before anything is written, and written atomically: a failed edit leaves
//! the old file as it was.

use super::{LayerSpec, Paths, check_name, check_unique, parse_file, read_file, read_text};
use crate::exit::{self, coded};
use crate::layer::LayerKind;
use anyhow::{Context, Result};
use serde_json::{Map, Value};
use std::path::Path;

/// Where `layers add` puts the new layer in the user file's list.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Place {
    First,
    Last,
    Before(String),
    After(String),
}

/// Adds a layer to the user config and returns it as it will be loaded.
pub(crate) fn add(
    paths: &Paths,
    name: &str,
    source: &Path,
    kind: LayerKind,
    place: &Place,
) -> Result<LayerSpec> {
    check_name(name).map_err(|m| coded(exit::CONFIG, m))?;
    let source_text = source.to_str().ok_or_else(|| {
        coded(
            exit::CONFIG,
            format!("source '{}' is not valid UTF-8", source.display()),
        )
    })?;
    let user = paths.user_file()?;
    editable(user)?;
    let _lock = lock(user)?;
    let mut doc = read_doc(user)?;
    let layers = layers_of(&mut doc, user)?;
    if layers.iter().any(|l| layer_name(l) == Some(name)) {
        return Err(coded(
            exit::CONFIG,
            format!("layer '{name}' already exists in '{}'", user.display()),
        ));
    }
    let index = match place {
        Place::First => 0,
        Place::Last => layers.len(),
        Place::Before(other) => position(layers, other, paths)?,
        Place::After(other) => position(layers, other, paths)? + 1,
    };
    let mut entry = Map::new();
    entry.insert("name".into(), Value::String(name.into()));
    entry.insert(kind.as_str().into(), Value::String(source_text.into()));
    layers.insert(index, Value::Object(entry));
    let spec = write_checked(paths, &doc)?
        .into_iter()
        .find(|l| l.name == name)
        .context("the new layer vanished from the written config")?;
    Ok(spec)
}

/// Removes a layer from the user config.
pub(crate) fn remove(paths: &Paths, name: &str) -> Result<()> {
    let user = paths.user_file()?;
    editable(user)?;
    let _lock = lock(user)?;
    let mut doc = read_doc(user)?;
    let layers = layers_of(&mut doc, user)?;
    let i = position(layers, name, paths)?;
    layers.remove(i);
    write_checked(paths, &doc)?;
    Ok(())
}

/// Refuses to edit a config that Nix manages: a link into the nix store
/// (NixOS's `environment.etc`, home-manager's `xdg.configFile`) or a file
/// without write permission. Writing beside the store's copy would fail
/// with a bare "permission denied", and a copy of one's own would be
/// replaced at the next switch anyway.
fn editable(config: &Path) -> Result<()> {
    let refuse = |why: String| {
        coded(
            exit::IO,
            format!(
                "'{}' {why}; change the layers where it is declared (your NixOS or home-manager configuration), or replace it with a file of your own for nixp to edit",
                config.display()
            ),
        )
    };
    let Ok(link) = std::fs::symlink_metadata(config) else {
        return Ok(());
    };
    if link.is_symlink() {
        let target = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
        let store = std::env::var_os("NIX_STORE_DIR")
            .map_or_else(|| std::path::PathBuf::from("/nix/store"), Into::into);
        let store = std::fs::canonicalize(&store).unwrap_or(store);
        if target.starts_with(&store) {
            return Err(refuse(format!(
                "is managed by Nix: it is a link into the nix store ('{}')",
                target.display()
            )));
        }
    }
    match std::fs::metadata(config) {
        Ok(m) if m.permissions().readonly() => Err(refuse(
            "is read-only (managed by Nix, or by someone who wants it left alone)".to_string(),
        )),
        _ => Ok(()),
    }
}

/// Holds an exclusive lock on `CONFIG.lock` beside the config for one
/// read-modify-write, so concurrent edits do not lose each other's layers.
/// The lock is released when the file is closed, also when nixp is killed.
fn lock(config: &Path) -> Result<std::fs::File> {
    let dir = config.parent().unwrap_or(Path::new("."));
    let io = |what: &str, e: std::io::Error| coded(exit::IO, format!("cannot {what}: {e}"));
    std::fs::create_dir_all(dir)
        .map_err(|e| io(&format!("create directory '{}'", dir.display()), e))?;
    let mut name = config.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io(&format!("open lock file '{}'", path.display()), e))?;
    file.lock()
        .map_err(|e| io(&format!("lock '{}'", path.display()), e))?;
    // Held: no edit is under way, so a temporary file of the config was
    // left by one that was killed.
    crate::atomic::remove_leftovers(config);
    Ok(file)
}

fn layer_name(v: &Value) -> Option<&str> {
    v.get("name").and_then(Value::as_str)
}

/// The index of layer `name` in the user file, or an error that says where
/// the layer is instead.
fn position(layers: &[Value], name: &str, paths: &Paths) -> Result<usize> {
    let user = paths.user_file()?;
    if let Some(i) = layers.iter().position(|l| layer_name(l) == Some(name)) {
        return Ok(i);
    }
    let in_system = read_file(&paths.system)
        .map(|s| s.layers.iter().any(|l| l.name == name))
        .unwrap_or(false);
    let msg = if in_system {
        format!(
            "layer '{name}' is defined in the system config '{}'; nixp edits only the user config '{}'",
            paths.system.display(),
            user.display()
        )
    } else {
        format!("there is no layer '{name}' in '{}'", user.display())
    };
    Err(coded(exit::CONFIG, msg))
}

fn read_doc(path: &Path) -> Result<Value> {
    let Some(text) = read_text(path)? else {
        return Ok(Value::Object(Map::new()));
    };
    serde_json::from_str(&text).map_err(|e| {
        coded(
            exit::CONFIG,
            format!("config file '{}': {e}", path.display()),
        )
    })
}

fn layers_of<'a>(doc: &'a mut Value, path: &Path) -> Result<&'a mut Vec<Value>> {
    let bad = || {
        coded(
            exit::CONFIG,
            format!(
                "config file '{}': expected a JSON object with a 'layers' array",
                path.display()
            ),
        )
    };
    let obj = doc.as_object_mut().ok_or_else(bad)?;
    obj.entry("layers")
        .or_insert_with(|| Value::Array(vec![]))
        .as_array_mut()
        .ok_or_else(bad)
}

/// Checks the edited document as `load` would, then writes it atomically.
fn write_checked(paths: &Paths, doc: &Value) -> Result<Vec<LayerSpec>> {
    let mut text = serde_json::to_string_pretty(doc).context("cannot serialize the config")?;
    text.push('\n');
    let path = paths.user_file()?;
    let user = parse_file(path, &text)?;
    let system = read_file(&paths.system)?;
    let all: Vec<LayerSpec> = user.layers.iter().cloned().chain(system.layers).collect();
    check_unique(&all)?;
    crate::atomic::write(path, text.as_bytes()).map_err(|e| coded(exit::IO, format!("{e:#}")))?;
    Ok(user.layers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(d: &Path) -> Paths {
        Paths {
            system: d.join("system.json"),
            user: Some(d.join("user/config.json")),
            cache: None,
        }
    }

    #[test]
    fn add_keeps_unrelated_keys_and_order() {
        let d = tempfile::tempdir().unwrap();
        let p = paths(d.path());
        std::fs::create_dir_all(d.path().join("user")).unwrap();
        std::fs::write(
            p.user.as_ref().unwrap(),
            r#"{"fallback": false, "layers": [{"name": "a", "dir": "/a"}]}"#,
        )
        .unwrap();
        add(
            &p,
            "b",
            Path::new("/b"),
            LayerKind::Dir,
            &Place::Before("a".into()),
        )
        .unwrap();
        add(
            &p,
            "c",
            Path::new("/c.json"),
            LayerKind::Registry,
            &Place::After("a".into()),
        )
        .unwrap();
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(p.user.as_ref().unwrap()).unwrap())
                .unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["fallback", "layers"]);
        let names: Vec<_> = v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| layer_name(l).unwrap())
            .collect();
        assert_eq!(names, ["b", "a", "c"]);
        assert_eq!(v["layers"][2]["registry"], "/c.json");
        remove(&p, "a").unwrap();
        assert!(remove(&p, "a").is_err());
    }

    #[test]
    fn rejects_duplicates_with_system_layers() {
        let d = tempfile::tempdir().unwrap();
        let p = paths(d.path());
        std::fs::write(&p.system, r#"{"layers": [{"name": "team", "dir": "/t"}]}"#).unwrap();
        let e = add(&p, "team", Path::new("/x"), LayerKind::Dir, &Place::Last).unwrap_err();
        assert!(format!("{e:#}").contains("defined twice"), "{e:#}");
        assert!(!p.user.as_ref().unwrap().exists(), "nothing written");
        let e = remove(&p, "team").unwrap_err();
        assert!(format!("{e:#}").contains("system config"), "{e:#}");
    }
}
