//! The selection through a grid of cells: the same answer as the plain loop
//! (`crate::select`), and no layout of the input makes it test every pair.
//! No Python here.
//!
//! The centers are bucketed into square cells, sorted row by row, so a point
//! looks only at the few cells around it and scans one contiguous slice of
//! centers per row. The centers of crowded cells (a cluster, identical
//! centers, a huge `max_dist`: more than a leaf's worth in a cell) go to a k-d
//! tree instead (`crate::kdtree`), which takes or skips whole boxes of them.
use std::collections::TryReserveError;

use common::{buckets, try_filled, try_vec};
use rayon::prelude::*;

use crate::kdtree::{self, Best, Entry, LEAF, Node, Stack};
use crate::{Site, squared_threshold};

/// Above this many polygons + points `main` releases the GIL, and the tree is
/// built and the points split across the cores (a few hundred microseconds of
/// work and up).
pub const LARGE: usize = 20_000;

/// Points (or sites) per rayon task: large enough that splitting costs little.
const CHUNK: usize = 1024;

/// The lowest and highest coordinates on each axis.
type Bounds = ([f64; 2], [f64; 2]);

/// For every point with a polygon whose center is closer than `max_dist`,
/// `(point, polygon)`: the polygon of least area, the first one on a tie, in
/// the order of the points. Areas must be >= 0 or NaN (a Polygon's always
/// are). On large inputs the work is split across the current rayon pool.
/// `stop` is asked before each point: once it says yes, the rest is skipped
/// (the result is then incomplete, for the caller to discard). An error where
/// the memory for the index or the picks is not there (a memory limit).
pub fn select(
    sites: &[Site],
    points: &[[f64; 2]],
    max_dist: f64,
    stop: &(impl Fn() -> bool + Sync),
) -> Result<Vec<(usize, usize)>, TryReserveError> {
    let Some(grid) = Grid::new(sites, points, max_dist)? else {
        return Ok(Vec::new());
    };
    if sites.len() + points.len() <= LARGE {
        return grid.select(points, 0, stop);
    }
    // Each chunk's picks go to a slot made before the threads start: they ask
    // for no memory but their picks' (an error, not an abort, if it is not there).
    let mut parts = try_vec(points.len().div_ceil(CHUNK))?;
    points
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(k, chunk)| grid.select(chunk, k * CHUNK, stop))
        .collect_into_vec(&mut parts);
    let mut picks = try_vec(parts.iter().flatten().map(Vec::len).sum())?;
    for part in parts {
        picks.extend(part?);
    }
    Ok(picks)
}

/// The cells of the box, `cells[0]` x `cells[1]`, numbered row by row. With
/// `starts[c] = (s, k)`, cell `c` holds `entries[s..]` up to the next cell's
/// `s`, and `k` crowded cells come before it: their centers (none in their
/// cell) are in the tree, `nodes`, over the last entries.
struct Grid<'a> {
    sites: &'a [Site],
    /// Some area is NaN: then a point also tracks its first close polygon.
    any_nan: bool,
    /// The squared-distance threshold (see `squared_threshold`).
    t: f64,
    /// How far a close center can be on each axis, with room for rounding.
    reach: f64,
    /// The box holding every site that can be close to a point, `[lo, hi]`.
    bounds: [[f64; 2]; 2],
    /// 1 / the cell size: a multiply per lookup instead of a divide.
    per_cell: f64,
    /// Columns and rows.
    cells: [usize; 2],
    starts: Vec<(usize, usize)>,
    entries: Vec<Entry>,
    nodes: Vec<Node>,
}

impl<'a> Grid<'a> {
    /// None when no center can be close to any point.
    fn new(
        sites: &'a [Site],
        points: &[[f64; 2]],
        max_dist: f64,
    ) -> Result<Option<Self>, TryReserveError> {
        let t = squared_threshold(max_dist);
        // A pair passing `dx*dx + dy*dy < t` is within max_dist * (1 + 4 ulp) on
        // each axis; 1e-9 covers that, and the floor keeps subnormal squares safe.
        let reach = (max_dist * (1.0 + 1e-9)).max(1e-150);
        // The grid spans only where centers and points meet: the centers' box
        // cut to the points' box grown by `reach`. A center outside it is close
        // to no point (rounding is monotone, so the computed bounds are safe);
        // NaN and infinite centers and points are close to nothing.
        let finite = |c: &[f64; 2]| c[0].is_finite() && c[1].is_finite();
        // Split across the cores on large inputs, if the pool has more than one.
        let parallel = sites.len() + points.len() > LARGE && rayon::current_num_threads() > 1;
        let of_sites = |s: &[Site]| kdtree::bounds(s.iter().map(|s| s.center).filter(finite));
        // An empty chunk's bounds are infinite: merging leaves them out.
        let merge =
            |a: Bounds, b: Bounds| kdtree::bounds([a.0, a.1, b.0, b.1].into_iter().filter(finite));
        let (s_lo, s_hi) = match parallel {
            true => sites
                .par_chunks(CHUNK)
                .map(of_sites)
                .reduce(|| of_sites(&[]), merge),
            false => of_sites(sites),
        };
        let (p_lo, p_hi) = kdtree::bounds(points.iter().copied().filter(finite));
        let lo = [s_lo[0].max(p_lo[0] - reach), s_lo[1].max(p_lo[1] - reach)];
        let hi = [s_hi[0].min(p_hi[0] + reach), s_hi[1].min(p_hi[1] + reach)];
        if t == 0.0 || !(lo[0] <= hi[0] && lo[1] <= hi[1]) {
            return Ok(None);
        }
        // Cells of reach / 2: a point's circle spans at most 6 x 6 of them. At
        // most about one cell per site: a wide, mostly empty box (clusters far
        // apart) gets wider cells, and the tree takes their crowds.
        let most = (sites.len() as f64 + 16.0).sqrt();
        let cell = (reach / 2.0)
            .max((hi[0] - lo[0]) / most)
            .max((hi[1] - lo[1]) / most);
        let per_cell = 1.0 / cell;
        let [nx, ny] = [0, 1].map(|k| ((hi[k] - lo[k]) * per_cell) as usize + 1);
        // Each site's cell (`OUT`: outside the box), then a counting sort by
        // cell: count the sites of each cell, add up to where each cell begins
        // (a crowded cell's after all the others', for the tree), and place
        // each site. On large inputs each step is split across the cores.
        const OUT: usize = usize::MAX;
        let cell_of = |[x, y]: [f64; 2]| match lo[0] <= x && x <= hi[0] && lo[1] <= y && y <= hi[1]
        {
            true => axis(y, lo[1], per_cell, ny) * nx + axis(x, lo[0], per_cell, nx),
            false => OUT,
        };
        let n = nx * ny;
        let mut cells = buckets::map(sites, |s| cell_of(s.center), parallel)?;
        let counts = buckets::count(&cells, n)?;
        let light: usize = counts.iter().filter(|&&count| count <= LEAF).sum();
        // Where each cell's sites go. Split across threads, the buckets must
        // begin in rising order: a crowded cell's sites then go to bucket `n + c`.
        let crowds = n * usize::from(parallel);
        let (mut starts, mut firsts) = (try_vec(n + 1)?, try_filled(0, n + crowds)?);
        let (mut at, mut crowd, mut crowded) = (0, light, 0);
        for (c, &count) in counts.iter().enumerate() {
            starts.push((at, crowded));
            firsts[c] = at;
            if parallel || count > LEAF {
                firsts[crowds + c] = crowd;
            }
            (at, crowd, crowded) = match count <= LEAF {
                true => (at + count, crowd, crowded),
                false => (at, crowd + count, crowded + 1),
            };
        }
        starts.push((at, crowded));
        if parallel {
            let is_crowded = |c: usize| counts.get(c).is_some_and(|&count| count > LEAF);
            buckets::each(&mut cells, true, |_, c| {
                *c += n * usize::from(is_crowded(*c))
            });
        }
        let mut entries = buckets::filled(Entry::default(), crowd, parallel)?;
        let entry = |i: usize| Entry {
            xy: sites[i].center,
            key: kdtree::key(sites[i].area, i),
        };
        buckets::place(&cells, &mut firsts, &mut entries, entry, parallel);
        let mut nodes = try_filled(Node::default(), kdtree::size(crowd - light))?;
        kdtree::build(&mut nodes, &mut entries[light..], light);
        Ok(Some(Grid {
            sites,
            any_nan: buckets::any(sites, |s| s.area.is_nan(), parallel),
            t,
            reach,
            bounds: [lo, hi],
            per_cell,
            cells: [nx, ny],
            starts,
            entries,
            nodes,
        }))
    }

    /// The picks of `points`, numbered from `first_index`, until `stop` says so.
    fn select(
        &self,
        points: &[[f64; 2]],
        first_index: usize,
        stop: &impl Fn() -> bool,
    ) -> Result<Vec<(usize, usize)>, TryReserveError> {
        // The tree nodes a walk has still to open: one stack for all the points,
        // never deeper than the tree.
        let mut stack = try_vec(kdtree::DEPTH)?;
        let mut pick = |p| match self.any_nan {
            false => self.pick::<false>(&mut stack, p),
            true => self.pick::<true>(&mut stack, p),
        };
        let picks = points
            .iter()
            .take_while(|_| !stop())
            .enumerate()
            .filter_map(|(p, &point)| pick(point).map(|i| (first_index + p, i)));
        let mut out = try_vec(points.len())?;
        out.extend(picks);
        Ok(out)
    }

    /// The polygon `point` picks, if any: the cells around it, then the tree.
    fn pick<const NAN: bool>(&self, stack: &mut Stack, point: [f64; 2]) -> Option<usize> {
        let ([px, py], r, [lo, hi]) = (point, self.reach, self.bounds);
        // Outside the box grown by `reach`, or not a number: close to no site.
        if !(px >= lo[0] - r && px <= hi[0] + r && py >= lo[1] - r && py <= hi[1] + r) {
            return None;
        }
        // The exact value px - reach is <= every close center's x, and rounding
        // is monotone, so the computed bound is too.
        let [nx, ny] = self.cells;
        let [x0, x1] = [px - r, px + r].map(|v| axis(v, lo[0], self.per_cell, nx));
        let [y0, y1] = [py - r, py + r].map(|v| axis(v, lo[1], self.per_cell, ny));
        let (mut best, mut crowded) = (Best::<NAN>::NOTHING, false);
        for row in y0..=y1 {
            let (a, crowds_before) = self.starts[row * nx + x0];
            let (b, crowds_after) = self.starts[row * nx + x1 + 1];
            best = best.scan(&self.entries[a..b], point, self.t);
            crowded |= crowds_after > crowds_before;
        }
        if crowded {
            best = best.walk(stack, &self.nodes, &self.entries, point, self.t);
        }
        best.pick(|i| self.sites[i].area)
    }
}

/// The column (or row) of coordinate `v`, clamped to `0..n`.
///
/// Monotone in `v` (subtraction, multiplication by a positive factor,
/// truncation and clamping all are, even with rounding), so every center in
/// `[a, b]` lands in a column between `axis(a)` and `axis(b)`. The saturating
/// cast maps NaN to 0 and +-inf to the ends. (To a signed integer: one
/// instruction and a fix-up, where a cast to usize takes a dozen.)
fn axis(v: f64, origin: f64, per_cell: f64, n: usize) -> usize {
    (((v - origin) * per_cell) as i64).max(0).min(n as i64 - 1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::{Index, select as one_of};

    fn grid_select(sites: &[Site], points: &[[f64; 2]], max_dist: f64) -> Vec<(usize, usize)> {
        select(sites, points, max_dist, &|| false).expect("memory for the index")
    }

    /// xorshift64*: a few lines of PRNG so the tests need no crate.
    struct Rng(u64);

    impl Rng {
        fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let unit =
                (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
            lo + (hi - lo) * unit
        }
    }

    fn site(x: f64, y: f64, area: f64) -> Site {
        Site {
            center: [x, y],
            area,
        }
    }

    /// `n` sites in a square of `side`, with few distinct areas (many ties).
    fn random_sites(rng: &mut Rng, n: usize, side: f64, areas: usize) -> Vec<Site> {
        let mut one = || site(rng.uniform(0.0, side), rng.uniform(0.0, side), 0.0);
        let mut sites: Vec<Site> = (0..n).map(|_| one()).collect();
        for s in &mut sites {
            s.area = (rng.uniform(0.0, areas as f64) as usize) as f64;
        }
        sites
    }

    fn random_points(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<[f64; 2]> {
        (0..n)
            .map(|_| [rng.uniform(lo, hi), rng.uniform(lo, hi)])
            .collect()
    }

    fn agrees(sites: &[Site], points: &[[f64; 2]], max_dist: f64) {
        assert_eq!(
            grid_select(sites, points, max_dist),
            crate::tests::plain(sites, points, max_dist),
            "{} sites, {} points, max_dist {max_dist}",
            sites.len(),
            points.len()
        );
    }

    #[test]
    fn agrees_with_the_plain_loop_on_random_data() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for (n, side, max_dist, areas) in [
            (1000, 100.0, 10.0, 5),
            (3000, 300.0, 10.0, 1000),
            (500, 100.0, 0.7, 3),
            (200, 50.0, 80.0, 4),
            (50, 1000.0, 1e-6, 2),
            (1, 1.0, 10.0, 1),
        ] {
            let sites = random_sites(&mut rng, n, side, areas);
            // Some points outside the sites' box, some with nothing close.
            agrees(
                &sites,
                &random_points(&mut rng, 400, -20.0, side + 20.0),
                max_dist,
            );
        }
    }

    #[test]
    fn large_inputs_split_across_threads_keep_the_order() {
        let mut rng = Rng(11);
        let sites = random_sites(&mut rng, 20_000, 450.0, 100);
        let points = random_points(&mut rng, 5_000, 0.0, 450.0);
        assert!(sites.len() + points.len() > LARGE);
        agrees(&sites, &points, 10.0);
    }

    #[test]
    fn large_crowded_inputs_built_on_every_core() {
        // Above `LARGE`, the grid is built across the cores: half the sites in
        // a tight cluster (crowded cells, the tree), some far away or NaN.
        let mut rng = Rng(17);
        let mut sites = random_sites(&mut rng, 24_000, 400.0, 50);
        for (i, s) in sites.iter_mut().enumerate().skip(1) {
            match i % 97 {
                0 => s.center = [f64::NAN, 1.0],
                1 => s.center[0] += 1e9,
                k if k % 2 == 0 => s.center = [200.0 + s.center[0] / 400.0, 200.0],
                _ => {}
            }
        }
        let mut points = random_points(&mut rng, 3_000, 0.0, 400.0);
        points.extend(random_points(&mut rng, 1_000, 195.0, 205.0));
        assert!(sites.len() + points.len() > LARGE);
        agrees(&sites, &points, 10.0);
        agrees(&sites, &points, 0.3);
    }

    #[test]
    fn integer_lattice_on_the_boundary() {
        // Many distances are exactly max_dist, which must not count (strict <).
        let sites: Vec<Site> = (0..400)
            .map(|i| site(f64::from(i % 20), f64::from(i / 20), f64::from(i % 7)))
            .collect();
        let points: Vec<[f64; 2]> = (0..100)
            .map(|i| [f64::from(i % 10) * 2.0, f64::from(i / 10) * 2.0])
            .collect();
        for max_dist in [1.0, 3.0, 5.0, 10.0, 0.5] {
            agrees(&sites, &points, max_dist);
        }
    }

    #[test]
    fn nan_areas_follow_the_baseline_scan() {
        // A NaN area first among the close ones stays; a NaN area later never wins.
        let sites = [
            site(0.0, 0.0, f64::NAN),
            site(1.0, 0.0, 1.0),
            site(20.0, 0.0, 3.0),
            site(21.0, 0.0, f64::NAN),
            site(40.0, 0.0, f64::NAN),
            site(41.0, 0.0, f64::NAN),
        ];
        let points = [[0.0, 0.0], [20.0, 0.0], [40.0, 0.0], [-5.0, 0.0]];
        let picks = grid_select(&sites, &points, 10.0);
        assert_eq!(picks, vec![(0, 0), (1, 2), (2, 4), (3, 0)]);
        agrees(&sites, &points, 10.0);
        let mut rng = Rng(5);
        let mut many = random_sites(&mut rng, 2000, 100.0, 4);
        for s in many.iter_mut().step_by(7) {
            s.area = f64::NAN;
        }
        agrees(&many, &random_points(&mut rng, 300, 0.0, 100.0), 10.0);
    }

    #[test]
    fn non_finite_centers_and_points_are_never_close() {
        let (nan, inf) = (f64::NAN, f64::INFINITY);
        let sites = [
            site(nan, 0.0, 0.0),
            site(inf, 0.0, 0.0),
            site(1.0, 1.0, 5.0),
            site(-inf, -inf, 0.0),
        ];
        let points = [[0.0, 0.0], [nan, nan], [inf, 0.0], [-inf, 3.0]];
        assert_eq!(grid_select(&sites, &points, 10.0), vec![(0, 2)]);
        agrees(&sites, &points, 10.0);
    }

    #[test]
    fn extreme_max_dists() {
        let mut rng = Rng(7);
        let sites = random_sites(&mut rng, 300, 100.0, 50);
        let points = random_points(&mut rng, 50, 0.0, 100.0);
        for max_dist in [
            f64::INFINITY,
            1e300,
            1e-300,
            f64::from_bits(1),
            f64::NAN,
            0.0,
            -1.0,
        ] {
            agrees(&sites, &points, max_dist);
        }
        // Every point sees every polygon: the global least area for each.
        assert_eq!(
            grid_select(&sites, &points, f64::INFINITY).len(),
            points.len()
        );
    }

    #[test]
    fn far_outliers_and_far_clusters() {
        let mut rng = Rng(3);
        let canonical = random_sites(&mut rng, 1000, 100.0, 20);
        let points = random_points(&mut rng, 100, 0.0, 100.0);
        let far = site(1e12, 5.0, 1.0);
        // A far polygon, a far point, both (the point picks the far polygon).
        agrees(&[canonical.clone(), vec![far]].concat(), &points, 10.0);
        agrees(
            &canonical,
            &[points.clone(), vec![[-1e12, 0.0]]].concat(),
            10.0,
        );
        let sites = [canonical.clone(), vec![far]].concat();
        let picks = grid_select(
            &sites,
            &[points.clone(), vec![[1e12 + 1.0, 5.0]]].concat(),
            10.0,
        );
        assert_eq!(picks.last(), Some(&(100, 1000)));
        agrees(
            &sites,
            &[points.clone(), vec![[1e12 + 1.0, 5.0]]].concat(),
            10.0,
        );
        // Two clusters 1e9 apart, 3% of the sites far from the rest, and sites
        // along a diagonal 1e6 long.
        let mut two = random_sites(&mut rng, 2000, 100.0, 50);
        for s in two.iter_mut().step_by(2) {
            s.center[0] += 1e9;
        }
        let mut few_far = random_sites(&mut rng, 2000, 100.0, 50);
        for s in few_far.iter_mut().step_by(33) {
            s.center = [s.center[0] - 5e8, s.center[1] + 7e8];
        }
        let line: Vec<Site> = (0..2000)
            .map(|i| site(f64::from(i) * 500.0, f64::from(i) * 500.0 + 3.0, 1.0))
            .collect();
        for sites in [two, few_far, line] {
            let points: Vec<[f64; 2]> = sites
                .iter()
                .step_by(5)
                .map(|s| [s.center[0] + rng.uniform(-8.0, 8.0), s.center[1] + 2.0])
                .collect();
            agrees(&sites, &points, 10.0);
        }
    }

    /// The layouts that made the plain grid test every pair, small enough for
    /// the plain loop to check: a tight cluster with the points just out of
    /// reach or inside it, identical centers, huge magnitudes, one spot with a
    /// tiny `max_dist`, and magnitudes spread from 1e-300 to 1e300.
    #[test]
    fn crowded_and_extreme_layouts() {
        let mut rng = Rng(21);
        let areas = |rng: &mut Rng| f64::from(rng.uniform(0.0, 4.0) as u8);
        let cluster: Vec<Site> = (0..3000)
            .map(|_| {
                site(
                    rng.uniform(0.0, 1.0),
                    rng.uniform(0.0, 1.0),
                    areas(&mut rng),
                )
            })
            .collect();
        let around = |rng: &mut Rng, lo: f64, hi: f64| -> Vec<[f64; 2]> {
            (0..300)
                .map(|_| {
                    let (d, a) = (rng.uniform(lo, hi), rng.uniform(0.0, 6.3));
                    [0.5 + d * a.cos(), 0.5 + d * a.sin()]
                })
                .collect()
        };
        agrees(&cluster, &around(&mut rng, 12.0, 14.0), 10.0);
        agrees(&cluster, &random_points(&mut rng, 300, 0.0, 1.0), 10.0);
        let same = vec![site(3.0, 4.0, 1.0); 3000];
        agrees(&same, &around(&mut rng, 10.5, 10.5), 10.0);
        agrees(&same, &around(&mut rng, 0.0, 9.0), 10.0);
        assert_eq!(grid_select(&same, &[[3.0, 4.0]], 1e-300), vec![(0, 0)]);
        let log_uniform = |rng: &mut Rng, lo: f64, hi: f64| {
            let sign = if rng.uniform(0.0, 1.0) < 0.5 {
                -1.0
            } else {
                1.0
            };
            sign * 10f64.powf(rng.uniform(lo, hi))
        };
        let huge: Vec<Site> = (0..3000)
            .map(|_| {
                let x = log_uniform(&mut rng, 20.0, 300.0);
                site(x, log_uniform(&mut rng, 20.0, 300.0), areas(&mut rng))
            })
            .collect();
        let on_them: Vec<[f64; 2]> = huge.iter().step_by(10).map(|s| s.center).collect();
        agrees(&huge, &on_them, 10.0);
        let spread: Vec<Site> = (0..3000)
            .map(|_| {
                let x = log_uniform(&mut rng, -300.0, 300.0);
                site(x, log_uniform(&mut rng, -300.0, 300.0), areas(&mut rng))
            })
            .collect();
        let points: Vec<[f64; 2]> = (0..300)
            .map(|_| {
                [
                    log_uniform(&mut rng, -300.0, 300.0),
                    log_uniform(&mut rng, -300.0, 300.0),
                ]
            })
            .collect();
        for max_dist in [10.0, 1e-300, 1e300, f64::INFINITY] {
            agrees(&spread, &points, max_dist);
        }
    }

    // --- Random layouts mixing every shape above ----------------------------------

    /// Numbers that make boundaries exact (a lattice), plain floats, and any bit
    /// pattern at all: NaN, infinities, subnormals, 1e308.
    fn number() -> impl Strategy<Value = f64> {
        let special = vec![
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            -0.0,
            5e-324,
            1e154,
            f64::MAX,
        ];
        prop_oneof![
            4 => (-12i8..12).prop_map(f64::from),
            4 => -12.0..12.0f64,
            1 => any::<f64>(),
            1 => one_of(special),
        ]
    }

    #[derive(Debug)]
    struct Layout {
        sites: Vec<Site>,
        points: Vec<[f64; 2]>,
        max_dist: f64,
    }

    /// The numbers above scaled and moved (a cluster of tiny distances, one at
    /// 1e9 or 1e20, one of huge coordinates), sites that repeat an earlier
    /// center, points on a center or `max_dist` from one (exactly, along an axis
    /// or on a 3-4-5 triangle, or up to rounding), and every kind of `max_dist`.
    fn layout() -> impl Strategy<Value = Layout> {
        let scale = one_of(vec![1.0, 1e-3, 1e-300, 5e-324, 1e150, 1e300]);
        let offset = one_of(vec![0.0, 1e9, -1e20, 1e300]);
        let area = prop_oneof![
            4 => (0u8..4).prop_map(f64::from),
            1 => one_of(vec![f64::NAN, f64::INFINITY, 1e-310, 1e300]),
        ];
        let site = (number(), number(), area, 0u8..5, any::<Index>());
        let point = (number(), number(), 0u8..5, any::<Index>());
        // `max_dist` in the layout's units (scaled with it) or as it is.
        let max_dist = prop_oneof![
            4 => (one_of(vec![0.5, 1.0, 3.0, 5.0, 10.0, 25.0]), any::<bool>()),
            1 => (one_of(vec![0.0, -1.0, f64::NAN, f64::INFINITY, 1e300, 1e-300, 5e-324]), Just(false)),
        ];
        let parts = (
            scale,
            offset,
            vec(site, 0..300),
            vec(point, 0..40),
            max_dist,
        );
        parts.prop_map(|(scale, offset, raw_sites, raw_points, (m, scaled))| {
            let max_dist = if scaled { m * scale } else { m };
            let place = |v: f64| offset + scale * v;
            let mut sites: Vec<Site> = Vec::new();
            for (x, y, area, kind, i) in raw_sites {
                let center = match kind {
                    0 if !sites.is_empty() => sites[i.index(sites.len())].center,
                    _ => [place(x), place(y)],
                };
                sites.push(Site { center, area });
            }
            let points = raw_points
                .into_iter()
                .map(|(x, y, kind, i)| {
                    let [cx, cy] = match sites.is_empty() {
                        true => [place(x), place(y)],
                        false => sites[i.index(sites.len())].center,
                    };
                    match kind {
                        0 => [place(x), place(y)],
                        1 => [cx, cy],
                        2 => [cx + max_dist, cy],
                        3 => [cx + 0.6 * max_dist, cy - 0.8 * max_dist],
                        // Within an ulp or two of max_dist, at any angle.
                        _ => [cx + max_dist * x.cos(), cy + max_dist * x.sin()],
                    }
                })
                .collect();
            Layout {
                sites,
                points,
                max_dist,
            }
        })
    }

    fn vec<T: Strategy>(
        item: T,
        len: std::ops::Range<usize>,
    ) -> impl Strategy<Value = Vec<T::Value>> {
        proptest::collection::vec(item, len)
    }

    proptest! {
        // No failure file written into the checkout: a failure prints its case.
        #![proptest_config(ProptestConfig {
            cases: 1000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn agrees_with_the_plain_loop_on_any_layout(l in layout()) {
            prop_assert_eq!(
                grid_select(&l.sites, &l.points, l.max_dist),
                crate::tests::plain(&l.sites, &l.points, l.max_dist)
            );
        }
    }

    #[test]
    fn huge_coordinates_and_empty_inputs() {
        let sites = [
            site(-1e308, 0.0, 1.0),
            site(1e308, 0.0, 2.0),
            site(0.0, 0.0, 3.0),
        ];
        let points = [[1e308, 1.0], [0.0, 0.0], [-1e308, 0.0]];
        assert_eq!(grid_select(&sites, &points, 10.0).len(), 3);
        agrees(&sites, &points, 10.0);
        // A sparse grid 1.8e308 high, a point at f64::MAX: `py + max_dist`
        // overflows, and its cells once spanned 2^52 rows (a loop for ever).
        let tall = [site(-12.0, -5.5e299, 1.0), site(2e300, f64::MAX, 2.0)];
        agrees(&tall, &[[1e300, f64::MAX], [-12.0, -5.5e299]], 1e300);
        assert!(grid_select(&[], &[[0.0, 0.0]], 10.0).is_empty());
        assert!(grid_select(&sites, &[], 10.0).is_empty());
    }
}
