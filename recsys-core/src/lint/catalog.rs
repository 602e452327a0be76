//! The narrow view of a loaded catalog that lint (and preview attribution) needs: which items
//! exist, which items a tag/brand/category names, and how items spread over brands and
//! categories. [`SnapshotCatalog`] is the one place this is implemented, against a
//! snapshot's shared [`crate::snapshot::Catalog`] (item ids) and its tag index (tags under the
//! snapshot's brand/category prefixes); another catalog type means implementing
//! [`CatalogView`] again, nothing else.

use crate::request::normalized_tag;
use crate::snapshot::{Available, TagCounts, TenantSnapshot};

/// Which tag space a key lives in (mirrors the rule target types that name tags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TagSpace {
    /// Any of an item's normalised tags.
    Tag,
    /// Brand values (the part after a brand prefix).
    Brand,
    /// Category values.
    Category,
}

/// What lint asks of a catalog. Keys are matched after the same normalisation serving applies.
pub trait CatalogView {
    /// Number of distinct items.
    fn item_count(&self) -> usize;
    /// Whether the catalog knows the item id.
    fn has_item(&self, id: &str) -> bool;
    /// How many items carry `key` in `space`.
    fn items_matching(&self, space: TagSpace, key: &str) -> usize;
    /// Whether item `id` carries `key` in `space` (the preview tests' reference scan).
    #[cfg(test)]
    fn item_matches(&self, id: &str, space: TagSpace, key: &str) -> bool;
    /// Every (space, key) the item carries: its tags, brand values and category values.
    fn item_keys(&self, id: &str) -> Vec<(TagSpace, String)>;
    /// Item counts per brand (or category) value, and how many items have none.
    fn group_sizes(&self, space: TagSpace) -> (&[usize], usize);
    /// Which signals have data.
    fn signals(&self) -> Available;
}

/// [`CatalogView`] over a compiled snapshot. The per-tag counts live with the snapshot's
/// shared tag index ([`crate::snapshot::TagIndex::counts`]): built once per catalog and
/// prefixes, so creating a view (every admin write lints) costs nothing per item.
pub struct SnapshotCatalog<'s> {
    snap: &'s TenantSnapshot,
    counts: &'s TagCounts,
}

impl<'s> SnapshotCatalog<'s> {
    pub fn new(snap: &'s TenantSnapshot) -> SnapshotCatalog<'s> {
        SnapshotCatalog {
            snap,
            counts: snap.tag_index.counts(),
        }
    }

    /// The interned tag a rule's target key names (`None`: no item carries it).
    pub(crate) fn tag_of(&self, key: &str) -> Option<u32> {
        self.snap.tags().get(&normalized_tag(key))
    }

    /// An item's tags in each space (`(space, sorted tag ids)`; empty when unknown).
    pub(crate) fn item_tag_lists(&self, id: &str) -> [(TagSpace, &'s [u32]); 3] {
        let tags = self.snap.items.get(id).and_then(|i| self.snap.item_tags(i));
        let (all, brands, categories) = match tags {
            Some(t) => (t.all, t.brands, t.categories),
            None => (&[][..], &[][..], &[][..]),
        };
        [
            (TagSpace::Tag, all),
            (TagSpace::Brand, brands),
            (TagSpace::Category, categories),
        ]
    }

    fn slot(space: TagSpace) -> usize {
        match space {
            TagSpace::Tag => 0,
            TagSpace::Brand => 1,
            TagSpace::Category => 2,
        }
    }
}

impl CatalogView for SnapshotCatalog<'_> {
    fn item_count(&self) -> usize {
        self.snap.catalog_len()
    }

    fn has_item(&self, id: &str) -> bool {
        self.snap.items.get(id).is_some()
    }

    fn items_matching(&self, space: TagSpace, key: &str) -> usize {
        self.snap
            .tags()
            .get(&normalized_tag(key))
            .and_then(|t| self.counts.per_tag.get(t as usize))
            .map_or(0, |c| c[Self::slot(space)] as usize)
    }

    #[cfg(test)]
    fn item_matches(&self, id: &str, space: TagSpace, key: &str) -> bool {
        let (Some(i), Some(t)) = (
            self.snap.items.get(id),
            self.snap.tags().get(&normalized_tag(key)),
        ) else {
            return false;
        };
        let Some(tags) = self.snap.item_tags(i) else {
            return false;
        };
        let list = match space {
            TagSpace::Tag => tags.all,
            TagSpace::Brand => tags.brands,
            TagSpace::Category => tags.categories,
        };
        list.binary_search(&t).is_ok()
    }

    fn item_keys(&self, id: &str) -> Vec<(TagSpace, String)> {
        let Some(t) = self.snap.items.get(id).and_then(|i| self.snap.item_tags(i)) else {
            return Vec::new();
        };
        let name = |x: &u32| self.snap.tags().name(*x).to_string();
        t.all
            .iter()
            .map(|x| (TagSpace::Tag, name(x)))
            .chain(t.brands.iter().map(|x| (TagSpace::Brand, name(x))))
            .chain(t.categories.iter().map(|x| (TagSpace::Category, name(x))))
            .collect()
    }

    fn group_sizes(&self, space: TagSpace) -> (&[usize], usize) {
        let c = self.counts;
        match space {
            TagSpace::Brand => (&c.brand_sizes, c.no_brand),
            TagSpace::Category => (&c.category_sizes, c.no_category),
            TagSpace::Tag => (&[], 0),
        }
    }

    fn signals(&self) -> Available {
        self.snap.available
    }
}
