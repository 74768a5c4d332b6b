//! Configuration: the system file, the user file and `NIXP_LAYERS`, turned
//! into one validated [`Config`] before anything else runs.
//!
//! Files are JSON of exactly this shape (unknown keys are errors that name the
//! key, file, line and column):
//! `{"layers": [{"name": "PKGS", "dir": "/srv/flakes"}, {"name": "team", "registry": "/etc/nixp/team.json", "ids": ["acme-*"], "explicit": false, "optional": false}], "fallback": true}`
//!
//! The stack is the user file's layers, then the system file's; `fallback`
//! from the user file wins over the system file's, and defaults to true.
//! `NIXP_LAYERS` replaces both files' layers for one run. No file at all is
//! an empty stack: nixp then behaves exactly like nix. This module reads
//! files and environment only; it never looks inside a layer's source.

pub(crate) mod edit;

use crate::exit::{self, coded};
use crate::flake::reference::is_flake_id;
use crate::layer::claims::Claims;
use crate::layer::{LayerKind, LayerSpec};
use anyhow::Result;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Everything nixp needs to know from its configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The stack, highest priority first.
    pub layers: Vec<LayerSpec>,
    /// Whether ids no layer holds are left for nix's registries.
    pub fallback: bool,
    /// How long one of nixp's own nix calls may take (`"timeout"`, in
    /// seconds; `NIXP_TIMEOUT` wins).
    pub timeout: Option<std::time::Duration>,
    pub paths: Paths,
}

impl Config {
    /// What nixp's own nix calls need to know.
    pub fn nix_settings(&self) -> crate::nix::Settings {
        crate::nix::Settings::new(self.paths.cache.clone(), self.timeout)
    }
}

/// Where the configuration lives.
#[derive(Clone, Debug)]
pub struct Paths {
    pub system: PathBuf,
    /// `None` when there is no home to put it in (HOME unset or relative):
    /// then there is no user config, rather than one in the current directory.
    pub user: Option<PathBuf>,
    /// `$XDG_CACHE_HOME/nixp` (`~/.cache/nixp`), if a home is known.
    pub cache: Option<PathBuf>,
}

impl Paths {
    /// `NIXP_SYSTEM_CONFIG` or `/etc/nixp/config.json`; `NIXP_CONFIG` or
    /// `$XDG_CONFIG_HOME/nixp/config.json` (`~/.config` by default).
    pub fn from_env() -> Paths {
        // Relative paths are made absolute here, so everything derived from
        // them (layer sources) is absolute too.
        let var = |k| {
            std::env::var_os(k).filter(|v| !v.is_empty()).map(|v| {
                let p = PathBuf::from(v);
                std::path::absolute(&p).unwrap_or(p)
            })
        };
        let system =
            var("NIXP_SYSTEM_CONFIG").unwrap_or_else(|| PathBuf::from("/etc/nixp/config.json"));
        let user = var("NIXP_CONFIG").or_else(|| {
            crate::env::xdg("XDG_CONFIG_HOME", ".config")
                .map(|c| c.join("nixp").join("config.json"))
        });
        let cache = crate::env::xdg("XDG_CACHE_HOME", ".cache").map(|c| c.join("nixp"));
        Paths {
            system,
            user,
            cache,
        }
    }

    /// The user config file, for edits.
    pub fn user_file(&self) -> Result<&Path> {
        self.user.as_deref().ok_or_else(|| {
            coded(
                exit::CONFIG,
                "there is no user config file: HOME is not set (set HOME, XDG_CONFIG_HOME or NIXP_CONFIG)",
            )
        })
    }
}

/// A config file as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    layers: Vec<RawLayer>,
    fallback: Option<bool>,
    timeout: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    name: String,
    dir: Option<String>,
    registry: Option<String>,
    collection: Option<String>,
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    explicit: bool,
    #[serde(default)]
    optional: bool,
}

/// A config file, parsed and checked.
#[derive(Default)]
pub(crate) struct FileConfig {
    pub layers: Vec<LayerSpec>,
    pub fallback: Option<bool>,
    pub timeout: Option<std::time::Duration>,
}

/// Loads the configuration from the environment and the two files.
pub fn load() -> Result<Config> {
    let config = load_for_edit()?;
    let paths = &config.paths;
    // Named on purpose, so missing by mistake: not "no layers".
    if std::env::var_os("NIXP_CONFIG").is_some_and(|v| !v.is_empty())
        && let Some(user) = &paths.user
        && std::fs::symlink_metadata(user).is_err()
    {
        return Err(coded(
            exit::CONFIG,
            format!(
                "NIXP_CONFIG names '{}', which does not exist (nixp layers add creates it)",
                user.display()
            ),
        ));
    }
    Ok(config)
}

/// `load`, for `nixp layers`, which may be about to create the file
/// `NIXP_CONFIG` names.
pub fn load_for_edit() -> Result<Config> {
    load_from(Paths::from_env(), std::env::var_os("NIXP_LAYERS"))
}

pub fn load_from(paths: Paths, nixp_layers: Option<std::ffi::OsString>) -> Result<Config> {
    let system = read_file(&paths.system)?;
    let user = match &paths.user {
        Some(p) => read_file(p)?,
        None => FileConfig::default(),
    };
    let fallback = user.fallback.or(system.fallback).unwrap_or(true);
    let timeout = crate::nix::timeout_from_env()
        .map_err(|m| coded(exit::CONFIG, m))?
        .or(user.timeout)
        .or(system.timeout);
    let layers = match nixp_layers {
        Some(v) => parse_env_layers(&v.to_string_lossy())?,
        None => user.layers.into_iter().chain(system.layers).collect(),
    };
    check_unique(&layers)?;
    Ok(Config {
        layers,
        fallback,
        timeout,
        paths,
    })
}

/// Reads one config file; a missing file is an empty config.
pub(crate) fn read_file(path: &Path) -> Result<FileConfig> {
    match read_text(path)? {
        Some(text) => parse_file(path, &text),
        None => Ok(FileConfig::default()),
    }
}

/// A config file's text; `None` when there is no such file.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A config managed elsewhere (dotfiles, NixOS, home-manager) is
            // a symlink: one that leads nowhere is not "no config".
            if let Some(link) = path.ancestors().find(|a| {
                std::fs::symlink_metadata(a).is_ok_and(|m| m.file_type().is_symlink())
                    && std::fs::metadata(a).is_err()
            }) {
                let target = std::fs::read_link(link).unwrap_or_default();
                return Err(coded(
                    exit::CONFIG,
                    format!(
                        "config file '{}': '{}' is a symlink to '{}', which does not exist",
                        path.display(),
                        link.display(),
                        target.display()
                    ),
                ));
            }
            Ok(None)
        }
        Err(e) => Err(coded(
            exit::CONFIG,
            format!("cannot read config file '{}': {e}", path.display()),
        )),
    }
}

/// Parses a config file's text; errors name the file, line and column.
pub(crate) fn parse_file(path: &Path, text: &str) -> Result<FileConfig> {
    let err = |msg: String| {
        coded(
            exit::CONFIG,
            format!("config file '{}': {msg}", path.display()),
        )
    };
    let raw: RawConfig = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    let base = path.parent().unwrap_or(Path::new("/"));
    let mut layers = Vec::with_capacity(raw.layers.len());
    for (i, l) in raw.layers.into_iter().enumerate() {
        check_name(&l.name).map_err(|m| err(format!("layer {}: {m}", i + 1)))?;
        let (kind, source) = match (l.dir, l.registry, l.collection) {
            (Some(d), None, None) => (LayerKind::Dir, d),
            (None, Some(r), None) => (LayerKind::Registry, r),
            (None, None, Some(c)) => {
                crate::layer::collection_target(&c)
                    .map_err(|m| err(format!("layer '{}': {m}", l.name)))?;
                (LayerKind::Collection, c)
            }
            _ => {
                return Err(err(format!(
                    "layer '{}' needs exactly one source key ({})",
                    l.name,
                    kinds_list()
                )));
            }
        };
        if source.is_empty() {
            return Err(err(format!(
                "layer '{}': the {kind} source is empty",
                l.name
            )));
        }
        if source.contains('\0') {
            return Err(err(format!(
                "layer '{}': the {kind} source contains a NUL byte",
                l.name
            )));
        }
        let claims =
            Claims::new(l.ids).map_err(|m| err(format!("layer '{}': 'ids': {m}", l.name)))?;
        layers.push(LayerSpec {
            name: l.name,
            kind,
            // URLs and flake references stay as written; paths are
            // relative to the config file.
            source: if kind == LayerKind::Collection || crate::layer::is_url(&source) {
                PathBuf::from(source)
            } else {
                base.join(source)
            },
            origin: path.display().to_string(),
            claims,
            explicit: l.explicit,
            optional: l.optional,
        });
    }
    Ok(FileConfig {
        layers,
        fallback: raw.fallback,
        timeout: match raw.timeout {
            None => None,
            Some(s) => Some(crate::nix::timeout_of(s).ok_or_else(|| {
                err(format!(
                    "'timeout' must be a positive number of seconds, not {s}"
                ))
            })?),
        },
    })
}

fn kinds_list() -> String {
    LayerKind::ALL.map(LayerKind::as_str).join(" or ")
}

/// A layer name is a flake id, so `NAME.id` is unambiguous.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if is_flake_id(name) {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a valid layer name (a letter, then letters, digits, '_' or '-')"
        ))
    }
}

fn check_unique(layers: &[LayerSpec]) -> Result<()> {
    for (i, a) in layers.iter().enumerate() {
        if let Some(b) = layers[..i].iter().find(|b| b.name == a.name) {
            return Err(coded(
                exit::CONFIG,
                format!(
                    "layer name '{}' is defined twice (in {} and in {})",
                    a.name, b.origin, a.origin
                ),
            ));
        }
    }
    Ok(())
}

/// `NIXP_LAYERS`: `name=source:name=source`; a bare source is named by its
/// basename; the kind is inferred from what the source is; a leading `?`
/// marks the layer optional (`?extra=/srv/extra`). Set but naming no
/// layer is an error, not an empty stack.
fn parse_env_layers(value: &str) -> Result<Vec<LayerSpec>> {
    let err = |msg: String| coded(exit::CONFIG, format!("NIXP_LAYERS: {msg}"));
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let mut layers = vec![];
    if value.split(':').all(str::is_empty) {
        return Err(err(
            "it is set but names no layer; unset it to use the configured layers".into(),
        ));
    }
    for item in value.split(':').filter(|s| !s.is_empty()) {
        let (optional, item) = match item.strip_prefix('?') {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        let (name, source) = match item.split_once('=') {
            Some((n, s)) => (n.to_string(), s),
            None => {
                let base = Path::new(item.trim_end_matches('/'))
                    .file_name()
                    .map(|b| b.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (base, item)
            }
        };
        check_name(&name).map_err(|m| err(format!("'{item}': {m}")))?;
        if source.is_empty() {
            return Err(err(format!("layer '{name}' has an empty source")));
        }
        let source = cwd.join(source);
        layers.push(LayerSpec {
            kind: infer_kind(&source),
            name,
            source,
            origin: "NIXP_LAYERS".into(),
            claims: Claims::default(),
            explicit: false,
            optional,
        });
    }
    Ok(layers)
}

/// Whether `source` is a URL or a flake reference nix fetches
/// (`https://...`, `git+file://...`, `github:o/r`, `gitlab:`, `sourcehut:`,
/// `tarball+`, `file+`, `path:`), not a path on this machine.
pub fn is_flake_url(source: &str) -> bool {
    let Some((scheme, _)) = source.split_once(':') else {
        return false;
    };
    let scheme_chars = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    scheme_chars
        && (crate::layer::is_url(source)
            || matches!(scheme, "github" | "gitlab" | "sourcehut" | "path" | "flake")
            || ["git+", "hg+", "tarball+", "file+"]
                .iter()
                .any(|p| scheme.starts_with(p)))
}

/// The kind of layer `layers add` makes of `source`: a URL or flake
/// reference whose path ends in `.json` is a `registry`, any other a
/// `collection` (git, github:, gitlab:, sourcehut:, tarballs); a directory
/// is a `dir`, a file a `registry`; a missing `*.json` a `registry`.
/// `None`: a missing path that says nothing of its kind.
pub fn infer_source_kind(source: &str) -> Option<LayerKind> {
    if is_flake_url(source) {
        let path = source.split(['?', '#']).next().unwrap_or(source);
        return Some(match path.to_ascii_lowercase().ends_with(".json") {
            true => LayerKind::Registry,
            false => LayerKind::Collection,
        });
    }
    let path = Path::new(source);
    match std::fs::metadata(path) {
        Ok(_) => Some(infer_kind(path)),
        Err(_)
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json")) =>
        {
            Some(LayerKind::Registry)
        }
        Err(_) => None,
    }
}

/// A directory is a `dir` layer, a file a `registry`; a missing source is
/// guessed from its name (`*.json` → registry) and reported when asked.
pub fn infer_kind(source: &Path) -> LayerKind {
    match std::fs::metadata(source) {
        Ok(m) if m.is_dir() => LayerKind::Dir,
        Ok(_) => LayerKind::Registry,
        Err(_) if source.extension().is_some_and(|e| e == "json") => LayerKind::Registry,
        Err(_) => LayerKind::Dir,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig> {
        parse_file(Path::new("/etc/nixp/config.json"), text)
    }

    #[test]
    fn layers_add_infers_each_kind() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("team.json"), "{}").unwrap();
        let dir = d.path().display().to_string();
        let file = d.path().join("team.json").display().to_string();
        for (source, kind) in [
            (dir.as_str(), Some(LayerKind::Dir)),
            (file.as_str(), Some(LayerKind::Registry)),
            ("missing/registry.json", Some(LayerKind::Registry)),
            ("missing/flakes", None),
            (
                "https://example.org/team/registry.json",
                Some(LayerKind::Registry),
            ),
            (
                "https://example.org/r.json?ref=x",
                Some(LayerKind::Registry),
            ),
            ("git+https://example.org/x.git", Some(LayerKind::Collection)),
            ("git+file:///srv/flakes", Some(LayerKind::Collection)),
            ("git+ssh://git@example.org/x", Some(LayerKind::Collection)),
            (
                "https://example.org/flakes.tar.gz",
                Some(LayerKind::Collection),
            ),
            ("github:o/r", Some(LayerKind::Collection)),
            ("github:o/r/main?dir=flakes", Some(LayerKind::Collection)),
            ("gitlab:o/r", Some(LayerKind::Collection)),
            ("sourcehut:~o/r", Some(LayerKind::Collection)),
            ("tarball+https://example.org/f", Some(LayerKind::Collection)),
            ("path:/srv/flakes", Some(LayerKind::Collection)),
        ] {
            assert_eq!(infer_source_kind(source), kind, "{source}");
        }
    }

    #[test]
    fn full_shape() {
        let c = parse(
            r#"{"layers": [{"name": "PKGS", "dir": "/srv/flakes"}, {"name": "team", "registry": "team.json"}], "fallback": false}"#,
        )
        .unwrap();
        assert_eq!(c.fallback, Some(false));
        assert_eq!(c.layers[0].kind, LayerKind::Dir);
        assert_eq!(c.layers[1].source, PathBuf::from("/etc/nixp/team.json"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = format!(
            "{:#}",
            parse(r#"{"layers": [], "fallbak": true}"#).err().unwrap()
        );
        assert!(e.contains("fallbak") && e.contains("line 1"), "{e}");
        let e = format!(
            "{:#}",
            parse(r#"{"layers": [{"name": "a", "dri": "/x"}]}"#)
                .err()
                .unwrap()
        );
        assert!(e.contains("dri"), "{e}");
    }

    #[test]
    fn one_source_per_layer() {
        for t in [
            r#"{"layers": [{"name": "a"}]}"#,
            r#"{"layers": [{"name": "a", "dir": "/x", "registry": "/y"}]}"#,
        ] {
            let e = format!("{:#}", parse(t).err().unwrap());
            assert!(e.contains("exactly one source"), "{e}");
        }
    }

    #[test]
    fn names_are_flake_ids() {
        let e = format!(
            "{:#}",
            parse(r#"{"layers": [{"name": "a.b", "dir": "/x"}]}"#)
                .err()
                .unwrap()
        );
        assert!(e.contains("'a.b' is not a valid layer name"), "{e}");
    }

    #[test]
    fn env_layers() {
        let l = parse_env_layers("x=/nonexistent/a.json:/nonexistent/flakes").unwrap();
        assert_eq!(l[0].name, "x");
        assert_eq!(l[0].kind, LayerKind::Registry);
        assert_eq!(l[1].name, "flakes");
        assert_eq!(l[1].kind, LayerKind::Dir);
        assert!(parse_env_layers("/nonexistent/my.flakes").is_err());
    }

    #[test]
    fn duplicate_names() {
        let spec = |o: &str| LayerSpec {
            name: "a".into(),
            kind: LayerKind::Dir,
            source: "/x".into(),
            origin: o.into(),
            claims: Claims::default(),
            explicit: false,
            optional: false,
        };
        let e = check_unique(&[spec("u"), spec("s")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("in u and in s"), "{e}");
    }
}
