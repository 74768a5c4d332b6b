//! nix's own registries chain too: an entry `gamma → flake:foo` (in the
//! global registry, or an alias made with `nix registry add myfoo foo` in
//! the user's) makes nix look `foo` up again, in its registries. When nixp
//! leaves an id to nix and nix's registries lead it to an id nixp answers
//! for, that id must not be answered by them either: nixp passes its
//! `--override-flake`, and since nix's flag registry comes first in every
//! round of a chain, nix ends at the private flake.
//!
//! nix's registries are read from their files (the user's, the system's,
//! and the global one: a local file, or the copy nix keeps of a URL), never
//! asked of nix: this is part of the cheap check every run makes.

use super::Stack;
use crate::flake::reference::Indirect;
use crate::layer::target::Target;
use crate::layer::{Answer, RegistryLayer, Source};

/// nix's bound on registry chains.
const MAX_ROUNDS: usize = 100;

impl Stack {
    /// nix's user, system and global registries, read once per run (those
    /// without a file are left out).
    fn nix_registries(&self) -> &[RegistryLayer] {
        self.state.nix_registries.get_or_init(|| {
            crate::nix::registries::registries_without_asking()
                .into_iter()
                .filter_map(|r| r.path)
                .filter(|p| p.is_file())
                .map(RegistryLayer::new)
                .collect()
        })
    }

    /// The references nixp answers for that nix's registries lead `ind`
    /// to: the first such hop of nix's chain (nix goes on from there in
    /// its flag registry, which nixp fills). Empty when the chain stays
    /// public.
    pub fn chained_private(&self, ind: &Indirect) -> Vec<String> {
        let mut current = Indirect {
            dir: None,
            ..ind.clone()
        };
        let mut seen = vec![current.short()];
        for _ in 0..MAX_ROUNDS {
            // nix's order: the first registry with an entry that matches.
            let next = self
                .nix_registries()
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
}

impl Stack {
    /// `chained_private` of an input's reference (`id[/ref][/rev]`).
    pub(super) fn chained_private_input(&self, r: &str) -> Vec<String> {
        use crate::flake::reference::{self, Kind, Position};
        match reference::parse(r, Position::FlakeUrl).kind {
            Kind::Indirect(ind) => self.chained_private(&ind),
            _ => vec![],
        }
    }
}
