//! Every id of every layer at once, for `nixp list`, `nixp export`,
//! `nixp audit` and completion: each layer read in full (in parallel), the
//! ids kept compactly and sorted, each with its winner by the same rule a
//! lookup uses.

use super::{Depth, Error, Stack, Verdict};
use crate::flake::reference::Indirect;
use crate::layer::LayerKind;
use crate::layer::target::Target;

/// One id of `nixp list`, with its winner and what it shadows.
#[derive(Debug)]
pub struct Listed<'a> {
    pub id: &'a str,
    /// The winning layer's index.
    pub layer: Option<usize>,
    pub reference: Result<String, Error>,
    /// What the reference was written from, and its subdirectory.
    pub target: Option<(Target, Option<String>)>,
    /// Lower layers (after the winner) that also hold the id.
    pub shadows: Vec<usize>,
    /// Every layer that lists the id, in stack order.
    pub holders: Vec<usize>,
}

/// A directory entry or registry entry a layer could not use.
#[derive(Debug)]
pub struct Skipped {
    pub layer: String,
    pub path: String,
    pub reason: String,
}

/// Every (id, layer) pair of the stack, compactly: all ids in one string,
/// each pair as (start, end, layer) into it, sorted by id, then layer
/// order. 200,000 ids take a few MB this way, not a hundred.
pub struct IdIndex {
    text: String,
    pairs: Vec<(u32, u32, u32)>,
    pub skipped: Vec<Skipped>,
    /// Layers that could not be read and are not optional: ids no layer
    /// above them holds stop there.
    stops: Vec<usize>,
    /// (layer, id) of the `dir` layers' members that are symlinks, sorted.
    links: Vec<(usize, String)>,
}

/// The id a pair of an `IdIndex` points at in its `text`.
fn id_in<'a>(text: &'a str, pair: &(u32, u32, u32)) -> &'a str {
    text.get(pair.0 as usize..pair.1 as usize)
        .unwrap_or_default()
}

impl IdIndex {
    fn id(&self, pair: &(u32, u32, u32)) -> &str {
        id_in(&self.text, pair)
    }

    /// Whether any layer lists `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.pairs.binary_search_by(|p| self.id(p).cmp(id)).is_ok()
    }

    /// The pairs grouped by id.
    fn groups(&self) -> impl Iterator<Item = &[(u32, u32, u32)]> {
        self.pairs.chunk_by(|a, b| self.id(a) == self.id(b))
    }
}

impl Stack {
    /// Reads every layer in full (in parallel: listing directories is
    /// most of `nixp list`'s time) into one sorted index.
    pub fn index(&self) -> IdIndex {
        let listings = crate::threads::map(&self.layers, |l| l.source.list());
        let mut index = IdIndex {
            text: String::new(),
            pairs: vec![],
            skipped: vec![],
            stops: vec![],
            links: vec![],
        };
        for (i, listing) in listings.into_iter().enumerate() {
            let layer = &self.layers[i];
            match listing {
                Ok(listing) => {
                    for id in listing.ids() {
                        let start = index.text.len() as u32;
                        index.text.push_str(id);
                        index.pairs.push((start, index.text.len() as u32, i as u32));
                    }
                    index
                        .links
                        .extend(listing.links.into_iter().map(|id| (i, id)));
                    index
                        .skipped
                        .extend(listing.skipped.into_iter().map(|(path, reason)| Skipped {
                            layer: layer.name.clone(),
                            path,
                            reason,
                        }));
                }
                Err(u) if layer.optional => self.warn_skipped(i, &u),
                Err(u) => {
                    crate::message::warning(format_args!(
                        "layer '{}' cannot answer: {}; ids no layer above it holds stop there",
                        layer.name, u.message
                    ));
                    index.stops.push(i);
                }
            }
        }
        index.links.sort();
        let text = &index.text;
        index
            .pairs
            .sort_unstable_by(|a, b| id_in(text, a).cmp(id_in(text, b)).then(a.2.cmp(&b.2)));
        index
    }

    /// Every id of `index`, sorted, with its winner and what it shadows.
    pub fn listed<'a>(&'a self, index: &'a IdIndex) -> impl Iterator<Item = Listed<'a>> + 'a {
        self.listed_where(index, |_| true)
    }

    /// The ids of `index` that `keep` accepts, as `listed` gives them (the
    /// others are not resolved).
    pub fn listed_where<'a>(
        &'a self,
        index: &'a IdIndex,
        keep: impl Fn(&str) -> bool + 'a,
    ) -> impl Iterator<Item = Listed<'a>> + 'a {
        index
            .groups()
            .filter(move |g| keep(index.id(&g[0])))
            .map(|group| {
                let holders: Vec<usize> = group.iter().map(|p| p.2 as usize).collect();
                self.listed_one(index.id(&group[0]), &holders, index)
            })
    }

    fn listed_one<'a>(&self, id: &'a str, holders: &[usize], index: &IdIndex) -> Listed<'a> {
        let first = holders[0];
        let layer = &self.layers[first];
        let plain = !layer.explicit
            && self.claimer(id).is_none_or(|c| c == first)
            && index.stops.iter().all(|&s| s > first);
        // A member that is a symlink is looked up (where it leads, or
        // why it is no flake).
        let link = index
            .links
            .binary_search_by(|(l, i)| (*l, i.as_str()).cmp(&(first, id)))
            .is_ok();
        let (winner, reference, target) = if plain && !link && layer.source.kind() == LayerKind::Dir
        {
            // A dir layer's answer needs no lookup: it listed the flake.
            let t = Target::Dir(std::path::Path::new(&layer.source.location()).join(id));
            (
                Some(first),
                t.render(None).map_err(Error::Target),
                Some((t, None)),
            )
        } else {
            // Ask the stack, as a lookup of the plain id would: a registry
            // entry may not match the bare id, or may chain elsewhere.
            let mut trace = vec![];
            let res = self.resolve_indirect(
                &Indirect::plain(id),
                None,
                Depth::FirstHolder,
                None,
                &mut trace,
            );
            let holder = trace
                .iter()
                .find(|s| s.verdict == Verdict::Won)
                .and_then(|s| self.layer_index(&s.layer));
            match res {
                // No winner: the id is left for nix (an explicit layer's id,
                // say); with an error, the layer that defines it is named.
                Ok(r) => (holder, Ok(r.base), holder.map(|_| (r.target, r.dir))),
                Err(e) => (holder.or(Some(first)), Err(e), None),
            }
        };
        Listed {
            id,
            layer: winner,
            reference,
            target,
            shadows: holders
                .iter()
                .copied()
                .filter(|&h| winner.is_some_and(|w| h > w))
                .collect(),
            holders: holders.to_vec(),
        }
    }
}
