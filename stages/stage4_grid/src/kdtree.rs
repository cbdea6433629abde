//! The k-d tree in each grid cell, and the walk that settles whole boxes at once.
//!
//! A cell's centers are halved again and again, at the median along the longer
//! side of their box, down to leaves of a few centers. Every node keeps its box
//! and the best polygon below it (least area, then least index). A point walks
//! down from the root: a box wholly outside its circle is skipped, a box wholly
//! inside gives its best polygon at once, and only boxes the circle's edge
//! crosses are opened. A million centers inside the circle cost one step, and
//! identical centers make a box of size zero, wholly in or wholly out.

/// Centers per leaf, at most (unless they are all at one spot).
pub const LEAF: usize = 8;

/// Halves with more centers than this are built on two cores at once.
const SPLIT_BUILD: usize = 8192;

/// `(area, index)` as one integer, ordered as the plain loop prefers: smaller
/// area first, then the earlier polygon. For areas >= +0.0 (and +inf) the bits
/// of an f64 sort as the numbers do, and NaN (one bit pattern for all) sorts
/// after them. One integer `min` replaces a branchy "strictly smaller, or equal
/// and earlier" test the CPU would mispredict, in any visiting order.
pub fn key(area: f64, index: usize) -> u128 {
    let bits = if area.is_nan() {
        f64::NAN.to_bits()
    } else {
        area.to_bits()
    };
    (u128::from(bits) << 64) | index as u128
}

/// No close polygon yet.
pub const NONE: u128 = u128::MAX;

/// A center, with its `key(area, index)`.
#[derive(Clone, Copy)]
pub struct Entry {
    pub xy: [f64; 2],
    pub key: u128,
}

/// A box of centers: a leaf holds `entries[start..end]`, an inner node has
/// its two children at `children` and `children + 1`.
#[derive(Clone, Copy)]
pub struct Node {
    lo: [f64; 2],
    hi: [f64; 2],
    /// The least key below.
    least: u128,
    /// The least index below: the baseline keeps the first close polygon when
    /// its area is NaN (nothing is `<` NaN), so then a walk tracks it too.
    first: usize,
    start: usize,
    end: usize,
    children: usize,
}

/// `Node::children` of a leaf.
const LEAF_NODE: usize = usize::MAX;

impl Node {
    /// A cell with no center: outside every circle.
    pub const EMPTY: Node = Node {
        lo: [f64::INFINITY; 2],
        hi: [f64::NEG_INFINITY; 2],
        least: NONE,
        first: usize::MAX,
        start: 0,
        end: 0,
        children: LEAF_NODE,
    };

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
            let n = if below > 0.0 {
                below
            } else if above < 0.0 {
                -above
            } else {
                0.0
            };
            let f = if above > -below { above } else { -below };
            (near, far) = (near + n * n, far + f * f);
        }
        (near, far)
    }
}

/// Builds the tree of `entries` (which begin at `start` in the whole array)
/// and returns its root. The nodes below the root are pushed to `below`,
/// numbered by where they land there (see `renumber`).
pub fn build(entries: &mut [Entry], start: usize, below: &mut Vec<Node>, parallel: bool) -> Node {
    let (lo, hi) = bounds(entries.iter().map(|e| e.xy));
    match lo == hi {
        true => leaf(entries, start), // all at one spot: wholly in or out
        false => split(entries, start, [lo, hi], below, parallel),
    }
}

/// A leaf: its box, its least key and index.
fn leaf(entries: &[Entry], start: usize) -> Node {
    let (lo, hi) = bounds(entries.iter().map(|e| e.xy));
    let mut node = Node {
        lo,
        hi,
        least: NONE,
        first: usize::MAX,
        start,
        end: start + entries.len(),
        children: LEAF_NODE,
    };
    for e in entries {
        node.least = node.least.min(e.key);
        node.first = node.first.min(e.key as u64 as usize);
    }
    node
}

/// Halves `entries` at the median along the longer side of `space` (a box
/// they lie in), and builds both halves. The node's own box is its children's.
fn split(
    entries: &mut [Entry],
    start: usize,
    space: [[f64; 2]; 2],
    below: &mut Vec<Node>,
    parallel: bool,
) -> Node {
    if entries.len() <= LEAF {
        return leaf(entries, start);
    }
    // The halves hold equal shares whatever the layout: the tree stays log2(n) deep.
    let [lo, hi] = space;
    let axis = usize::from(hi[1] - lo[1] > hi[0] - lo[0]);
    let mid = entries.len() / 2;
    entries.select_nth_unstable_by(mid, |a, b| a.xy[axis].total_cmp(&b.xy[axis]));
    let (mut left_space, mut right_space) = (space, space);
    (left_space[1][axis], right_space[0][axis]) = (entries[mid].xy[axis], entries[mid].xy[axis]);
    let (left, right) = entries.split_at_mut(mid);
    let children = below.len();
    below.extend([Node::EMPTY; 2]);
    let (l, r) = if parallel && mid > SPLIT_BUILD {
        let (l, r) = rayon::join(
            || alone(left, start, left_space),
            || alone(right, start + mid, right_space),
        );
        (attach(below, l), attach(below, r))
    } else {
        let l = split(left, start, left_space, below, false);
        (l, split(right, start + mid, right_space, below, false))
    };
    (below[children], below[children + 1]) = (l, r);
    Node {
        lo: [l.lo[0].min(r.lo[0]), l.lo[1].min(r.lo[1])],
        hi: [l.hi[0].max(r.hi[0]), l.hi[1].max(r.hi[1])],
        least: l.least.min(r.least),
        first: l.first.min(r.first),
        start,
        end: start + entries.len(),
        children,
    }
}

/// A tree built on its own (on every core): its root and the nodes below it.
fn alone(entries: &mut [Entry], start: usize, space: [[f64; 2]; 2]) -> (Node, Vec<Node>) {
    let mut below = Vec::new();
    (split(entries, start, space, &mut below, true), below)
}

/// Moves the nodes of a tree built `alone` to the end of `below`; its root, renumbered.
fn attach(below: &mut Vec<Node>, (mut root, mut nodes): (Node, Vec<Node>)) -> Node {
    renumber(std::slice::from_mut(&mut root), below.len());
    renumber(&mut nodes, below.len());
    below.append(&mut nodes);
    root
}

/// Two runs of trees one after the other: their roots, and the nodes below.
pub fn concat(a: (Vec<Node>, Vec<Node>), b: (Vec<Node>, Vec<Node>)) -> (Vec<Node>, Vec<Node>) {
    let ((mut roots, mut nodes), (mut more_roots, mut more_nodes)) = (a, b);
    renumber(&mut more_roots, nodes.len());
    renumber(&mut more_nodes, nodes.len());
    roots.append(&mut more_roots);
    nodes.append(&mut more_nodes);
    (roots, nodes)
}

/// Adds `by` to the children's numbers: for nodes moved `by` further on.
pub fn renumber(nodes: &mut [Node], by: usize) {
    for node in nodes {
        if node.children != LEAF_NODE {
            node.children += by;
        }
    }
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

    /// Walks the tree under `root`, whose descendants are in `nodes`; `t` is the
    /// squared threshold. `stack` holds the nodes still to open (kept from walk
    /// to walk: no allocation per walk).
    pub fn walk(
        mut self,
        stack: &mut Vec<usize>,
        root: &Node,
        nodes: &[Node],
        entries: &[Entry],
        point: [f64; 2],
        t: f64,
    ) -> Self {
        let mut node = root;
        loop {
            // Unless nothing below can beat the best so far (nor come first).
            if node.least < self.key || (NAN && node.first < self.first) {
                let (near, far) = node.reach(point);
                if far < t {
                    // Every center below is close: the node's best is theirs.
                    self.key = self.key.min(node.least);
                    self.first = self.first.min(node.first);
                } else if near < t && node.children != LEAF_NODE {
                    stack.push(node.children + 1);
                    node = &nodes[node.children];
                    continue;
                } else if near < t {
                    self = self.scan(&entries[node.start..node.end], point, t);
                }
            }
            match stack.pop() {
                Some(k) => node = &nodes[k],
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
