//! nix's own registries chain too: an entry `gamma → flake:foo` (in the
//! global registry, or an alias made with `nix registry add myfoo foo` in
//! the user's) makes nix look `foo` up again, in its registries. When nixp
//! leaves an id to nix and nix's registries lead it to an id nixp answers
//! for, that id must not be answered by them either: nixp passes its
//! `--override-flake`, and since nix's flag registry comes first in every
//! round of a chain, nix ends at the private flake.
//!
//! nix's registries are read from their files (the user's, the system's,
//! and the global one: a local file, or the copy nix keeps of a URL), read
//! as leniently as nix reads them. A global registry nix has not fetched
//! yet (a new machine) cannot be read: the cheap check then counts every
//! id as possibly private, and resolution has nix fetch it first
//! (`nix registry list`), so that nixp sees what nix will.

use super::Stack;
use crate::flake::reference::{self, Indirect, Kind, Position};
use crate::layer::target::Target;
use crate::layer::{Answer, RegistryLayer, Source};
use std::rc::Rc;

use super::precedence::MAX_ROUNDS;

/// nix's registries as nixp sees them.
pub(super) struct NixRegistries {
    files: Vec<RegistryLayer>,
    /// The global registry is a URL nix has not fetched yet.
    unseen: bool,
}

impl Stack {
    /// nix's user, system and global registries, read once per run. With
    /// `fetch`, a global one nix has not fetched yet is fetched by nix
    /// first.
    fn nix_registries(&self, fetch: bool) -> Rc<NixRegistries> {
        if let Some(r) = &*self.state.nix_registries.borrow()
            && (!r.unseen || !fetch)
        {
            return r.clone();
        }
        let global = self.state.global_registry.borrow().clone();
        let mut found = crate::nix::registries::registries_without_asking(global.as_deref());
        let unseen = |found: &[crate::nix::registries::NixRegistry]| {
            found
                .iter()
                .any(|r| r.note.is_some() && r.path.as_ref().is_some_and(|p| !p.exists()))
        };
        if fetch
            && unseen(&found)
            && let Ok(nix) = self.nix.get()
        {
            // nix downloads its global registry when it first needs it.
            let _ = nix.call().args(["registry", "list"]).output();
            found = crate::nix::registries::registries_without_asking(global.as_deref());
        }
        let registries = Rc::new(NixRegistries {
            unseen: unseen(&found),
            // A file that is not there reads as no entries.
            files: found
                .into_iter()
                .filter_map(|r| r.path)
                .map(RegistryLayer::nix_s)
                .collect(),
        });
        *self.state.nix_registries.borrow_mut() = Some(registries.clone());
        registries
    }

    /// nix's registries are `files`, in nix's order, rather than where
    /// nix's settings put them (for a caller that knows: `nixp audit`,
    /// which asked nix, or a test that must not read the user's).
    pub fn set_nix_registries(&self, files: Vec<std::path::PathBuf>) {
        *self.state.nix_registries.borrow_mut() = Some(Rc::new(NixRegistries {
            files: files.into_iter().map(RegistryLayer::nix_s).collect(),
            unseen: false,
        }));
    }

    /// nix's global registry as a command line sets it (`--flake-registry
    /// FILE`, `--option flake-registry FILE`), from now on.
    pub fn set_global_registry(&self, setting: Option<String>) {
        if *self.state.global_registry.borrow() != setting {
            *self.state.global_registry.borrow_mut() = setting;
            *self.state.nix_registries.borrow_mut() = None;
        }
    }

    /// The cheap check's question: might nix's registries lead `ind` to an
    /// id nixp answers for? (Yes when nixp cannot see them all yet.)
    pub(super) fn may_chain_to_private(&self, ind: &Indirect) -> bool {
        self.nix_registries(false).unseen || !self.chain(ind, false).is_empty()
    }

    /// The references nixp answers for that nix's registries lead `ind`
    /// to: the first such hop of nix's chain (nix goes on from there in
    /// its flag registry, which nixp fills). Empty when the chain stays
    /// public.
    pub fn chained_private(&self, ind: &Indirect) -> Vec<String> {
        self.chain(ind, true)
    }

    fn chain(&self, ind: &Indirect, fetch: bool) -> Vec<String> {
        let registries = self.nix_registries(fetch);
        let mut current = Indirect {
            dir: None,
            ..ind.clone()
        };
        let mut seen = vec![current.short()];
        for _ in 0..MAX_ROUNDS {
            // nix's order: the first registry with an entry that matches.
            let next = registries
                .files
                .iter()
                .find_map(|r| match r.lookup(&current) {
                    Ok(Answer::Holds { target, .. }) => Some(target),
                    _ => None,
                });
            let Some(Target::Indirect(next)) = next else {
                return vec![];
            };
            let shown = next.short();
            if seen.contains(&shown) {
                return vec![];
            }
            if self.answers_for(&next) {
                return vec![shown];
            }
            seen.push(shown);
            current = next;
        }
        vec![]
    }

    /// `may_chain_to_private` of an input's reference.
    pub(super) fn may_chain_to_private_input(&self, r: &str) -> bool {
        match reference::parse(r, Position::FlakeUrl).kind {
            Kind::Indirect(ind) => self.may_chain_to_private(&ind),
            _ => false,
        }
    }

    /// `chained_private` of an input's reference (`id[/ref][/rev]`).
    pub(super) fn chained_private_input(&self, r: &str) -> Vec<String> {
        match reference::parse(r, Position::FlakeUrl).kind {
            Kind::Indirect(ind) => self.chained_private(&ind),
            _ => vec![],
        }
    }

    /// For a reference nixp leaves to nix (`flake:gamma`, the fallback, or
    /// a registry layer's entry that chains on): the overrides of the
    /// private ids nix's registries lead it to, each resolved by the stack.
    pub fn left_for_nix(&self, reference: &str) -> Result<Vec<(String, String)>, super::Error> {
        let mut out = vec![];
        for hop in self.chained_private_input(reference) {
            let res = self.resolve(&hop, Position::FlakeUrl, super::Depth::FirstHolder);
            let rewritten = res.rewritten();
            let r = res.result.map_err(|e| super::Error::Input {
                reference: hop.clone(),
                flake: std::path::PathBuf::from(reference),
                cause: Box::new(e),
            })?;
            if rewritten {
                out.push((hop, r.output));
            }
        }
        Ok(out)
    }
}
