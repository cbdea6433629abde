//! The k-d tree of a crowded grid cell, and the walk that settles whole boxes.
//!
//! The cell's centers are halved again and again, at the median along the
//! longer side of their box, down to leaves of a few centers. Every node keeps
//! its box and the best polygon below it (least area, then least index). A
//! point walks down from the root: a box wholly outside its circle is skipped,
//! a box wholly inside gives its best polygon at once, and only boxes the
//! circle's edge crosses are opened. A million centers inside the circle cost
//! one step, and identical centers make a box of size zero, wholly in or out.

/// Centers per leaf, at most: a leaf is tested center by center.
pub const LEAF: usize = 8;

/// Halves with more centers than this are built on two cores at once.
const SPLIT_BUILD: usize = 8192;

/// `(area, index)` as one integer, ordered as the plain loop prefers: smaller
/// area first, then the earlier polygon. For areas >= +0.0 (and +inf) the bits
/// of an f64 sort as the numbers do, and NaN (one bit pattern for all) sorts
/// after them. One integer `min` replaces a branchy "strictly smaller, or equal
/// and earlier" test the CPU would mispredict, in any visiting order.
pub fn key(area: f64, index: usize) -> u128 {
    let bits = f64::to_bits(if area.is_nan() { f64::NAN } else { area });
    (u128::from(bits) << 64) | index as u128
}

/// No close polygon yet.
pub const NONE: u128 = u128::MAX;

/// A center, with its `key(area, index)`.
#[derive(Clone, Copy, Default)]
pub struct Entry {
    pub xy: [f64; 2],
    pub key: u128,
}

/// A box of centers, `entries[start..end]`, with the least key below it and
/// the least index (the baseline keeps the first close polygon when its area
/// is NaN, as nothing is `<` NaN: then a walk tracks that one too).
#[derive(Clone, Copy, Default)]
pub struct Node {
    lo: [f64; 2],
    hi: [f64; 2],
    least: u128,
    first: usize,
    start: usize,
    end: usize,
}

impl Node {
    /// The squared distances from `point` to the nearest and the farthest place
    /// in the box, computed as the plain loop computes a center's: `dx = cx - px`,
    /// then `dx * dx + dy * dy`. Every step of that rounds monotonically (a
    /// larger exact value never gives a smaller float), so every center in the
    /// box computes a value between `near` and `far`: `near >= t` proves that
    /// none is close, and `far < t` that all are, exactly.
    #[inline(always)]
    fn reach(&self, point: [f64; 2]) -> (f64, f64) {
        let (mut near, mut far) = (0.0, 0.0);
        for ((lo, hi), p) in self.lo.into_iter().zip(self.hi).zip(point) {
            let (below, above) = (lo - p, hi - p);
            // 0 when the point lies within the box on this axis.
            let n = below.max(-above).max(0.0);
            let f = if above > -below { above } else { -below };
            (near, far) = (near + n * n, far + f * f);
        }
        (near, far)
    }
}

/// The nodes of the tree of `n` centers: each node is halved until a leaf
/// holds at most `LEAF` (ceil(n / 2^height) <= LEAF), all leaves at one depth,
/// so there are 2^(height + 1) - 1 of them.
pub fn size(n: usize) -> usize {
    let height = usize::BITS - (n.saturating_sub(1) / LEAF).leading_zeros();
    (2 << height) - 1
}

/// Builds the tree of `entries` (which begin at `start` in the whole array)
/// into `nodes` (`size(entries.len())` of them), depth first: a node of height
/// `h` at `k` has its children at `k + 1` and `k + 2^h`. Returns the root.
///
/// Until a node is a leaf, it halves its centers at the median along the
/// longer side of their box and builds both halves: they hold equal shares
/// whatever the layout, so the tree is log2(n) deep.
pub fn build(nodes: &mut [Node], entries: &mut [Entry], start: usize) -> Node {
    let Some((node, below)) = nodes.split_first_mut() else {
        return Node::default(); // no tree has an empty slice of nodes
    };
    let (lo, hi) = bounds(entries.iter().map(|e| e.xy));
    // A leaf, or all at one spot (a box of size zero: near == far, so no walk
    // opens it, nor reads the nodes below).
    let (least, first) = if below.is_empty() || lo == hi {
        let least = entries.iter().map(|e| e.key).min().unwrap_or(NONE);
        let first = entries.iter().map(|e| e.key as u64 as usize).min();
        (least, first.unwrap_or(usize::MAX))
    } else {
        let axis = usize::from(hi[1] - lo[1] > hi[0] - lo[0]);
        let mid = entries.len() / 2;
        entries.select_nth_unstable_by(mid, |a, b| a.xy[axis].total_cmp(&b.xy[axis]));
        let (lower, upper) = entries.split_at_mut(mid);
        let (lower_nodes, upper_nodes) = below.split_at_mut(below.len() / 2);
        let mut left = move || build(lower_nodes, lower, start);
        let mut right = move || build(upper_nodes, upper, start + mid);
        // On a worker of the call's pool (a large call), big halves are built
        // on two cores at once.
        let (l, r) = match mid > SPLIT_BUILD && rayon::current_thread_index().is_some() {
            true => rayon::join(left, right),
            false => (left(), right()),
        };
        (l.least.min(r.least), l.first.min(r.first))
    };
    *node = Node {
        lo,
        hi,
        least,
        first,
        start,
        end: start + entries.len(),
    };
    *node
}

/// The smallest and largest coordinates on each axis (lo > hi if none).
pub fn bounds(centers: impl Iterator<Item = [f64; 2]>) -> ([f64; 2], [f64; 2]) {
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for c in centers {
        for (k, v) in c.into_iter().enumerate() {
            // Not f64::min/max: their care for NaN costs here, with none to meet.
            lo[k] = if v < lo[k] { v } else { lo[k] };
            hi[k] = if v > hi[k] { v } else { hi[k] };
        }
    }
    (lo, hi)
}

/// The nodes a walk has still to open, and their heights: kept from walk to
/// walk, so that a walk allocates nothing.
pub type Stack = Vec<(usize, u32)>;

/// Room a `Stack` needs: it holds at most one node per level of the tree.
pub const DEPTH: usize = usize::BITS as usize;

/// What one point has found so far: the least key among the close centers
/// and, with `NAN`, the least close index. Small enough to stay in registers:
/// each step takes it and returns it.
#[derive(Clone, Copy)]
pub struct Best<const NAN: bool> {
    key: u128,
    first: usize,
}

impl<const NAN: bool> Best<NAN> {
    pub const NOTHING: Self = Best {
        key: NONE,
        first: usize::MAX,
    };

    /// Tests each center, as the plain loop does.
    #[inline(always)]
    pub fn scan(mut self, entries: &[Entry], point: [f64; 2], t: f64) -> Self {
        for e in entries {
            let (dx, dy) = (e.xy[0] - point[0], e.xy[1] - point[1]);
            let close = dx * dx + dy * dy < t;
            self.key = self.key.min(if close { e.key } else { NONE });
            if NAN && close {
                self.first = self.first.min(e.key as u64 as usize);
            }
        }
        self
    }

    /// Walks a tree (its nodes, as `build` lays them out, `size(n)` of them);
    /// `t` is the squared threshold.
    pub fn walk(
        mut self,
        stack: &mut Stack,
        nodes: &[Node],
        entries: &[Entry],
        point: [f64; 2],
        t: f64,
    ) -> Self {
        let (mut k, mut h) = (0, nodes.len().ilog2());
        loop {
            let node = &nodes[k];
            // Unless nothing below can beat the best so far (nor come first).
            if node.least < self.key || (NAN && node.first < self.first) {
                let (near, far) = node.reach(point);
                if far < t {
                    // Every center below is close: the node's best is theirs.
                    self.key = self.key.min(node.least);
                    self.first = self.first.min(node.first);
                } else if near < t && h > 0 {
                    stack.push((k + (1 << h), h - 1));
                    (k, h) = (k + 1, h - 1);
                    continue;
                } else if near < t {
                    self = self.scan(&entries[node.start..node.end], point, t);
                }
            }
            match stack.pop() {
                Some(next) => (k, h) = next,
                None => return self,
            }
        }
    }

    /// The polygon picked, if any (the low 64 bits of a key are the index).
    pub fn pick(self, area: impl Fn(usize) -> f64) -> Option<usize> {
        if self.key == NONE {
            return None;
        }
        // The baseline keeps the first close polygon when its area is NaN.
        if NAN && area(self.first).is_nan() {
            return Some(self.first);
        }
        Some(self.key as u64 as usize)
    }
}
