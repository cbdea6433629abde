//! The selection through a grid of cells: the same answer as the plain loop
//! (`crate::select`), testing only the centers near each point. No Python here.
//!
//! The centers are bucketed into square cells, so a point tests only the few
//! centers in the cells around it: time grows with polygons + points, not
//! polygons x points. Where centers and points meet in a compact box, every cell
//! of the box is kept, sorted row by row, and a point scans one contiguous slice
//! per row. Where they spread over a wide, mostly empty box (clusters far apart,
//! outliers, a long line of sites), a dense array would need far more cells than
//! sites: then only the occupied cells are kept, in a hash map.
use std::collections::TryReserveError;

use common::{try_filled, try_vec};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::{Site, squared_threshold};

/// Above this many polygons + points `main` releases the GIL and the points are
/// split across the cores (a few hundred microseconds of work and up).
pub const LARGE: usize = 20_000;

/// Points per rayon task: large enough that splitting costs little.
const CHUNK: usize = 1024;

/// For every point with a polygon whose center is closer than `max_dist`,
/// `(point, polygon)`: the polygon of least area, the first one on a tie, in
/// the order of the points. Areas must be >= 0 or NaN (a Polygon's always are).
/// On large inputs the points are split across the current rayon pool. `stop`
/// is asked before each point: once it says yes, the rest is skipped (the
/// result is then incomplete, for the caller to discard). An error where the
/// memory for the grid or the picks is not there (a memory limit).
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

/// `(area, index)` as one integer, ordered as the plain loop prefers: smaller
/// area first, then the earlier polygon. For areas >= +0.0 (and +inf) the bits
/// of an f64 sort as the numbers do, and NaN (one bit pattern for all) sorts
/// after them. One integer `min` replaces a branchy "strictly smaller, or equal
/// and earlier" test the CPU would mispredict, in any visiting order.
fn key(area: f64, index: usize) -> u128 {
    let bits = if area.is_nan() {
        f64::NAN.to_bits()
    } else {
        area.to_bits()
    };
    (u128::from(bits) << 64) | index as u128
}

/// No close polygon yet.
const NONE: u128 = u128::MAX;

/// Cells per `max_dist` in a dense grid: a point scans the cells its square of
/// side 2 * max_dist touches, (2 + 1/2)^2 = 6.25 max_dist^2 on average instead
/// of 9 with cells of max_dist: 30% fewer centers to test, measured ~25% faster.
/// A sparse grid uses cells of max_dist: at most 3 x 3 lookups per point.
const CELLS_PER_MAX_DIST: f64 = 2.0;

/// The sites that can be close to a point, sorted by cell: cell `c` holds
/// `entries[starts[c]..starts[c + 1]]`.
struct Grid<'a> {
    sites: &'a [Site],
    /// Some area is NaN: the baseline then keeps a NaN-area polygon that is the
    /// first close one (nothing is `<` NaN), so the query tracks the first too.
    any_nan: bool,
    /// The squared-distance threshold (see `squared_threshold`).
    t: f64,
    /// How far a close center can be on each axis, with room for rounding.
    reach: f64,
    /// The box holding every site that can be close to a point.
    lo: [f64; 2],
    hi: [f64; 2],
    /// 1 / the cell size: a multiply per lookup instead of a divide.
    per_cell: f64,
    /// Dense: the box's `nx` x `ny` cells, numbered row by row.
    nx: usize,
    ny: usize,
    /// Sparse: the number of each occupied cell, by (column, row).
    sparse: Option<FxHashMap<[i64; 2], usize>>,
    starts: Vec<usize>,
    entries: Vec<Entry>,
}

/// A site in its cell: its center and its `key(area, index)`.
#[derive(Clone, Copy)]
struct Entry {
    x: f64,
    y: f64,
    key: u128,
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
        // to no point (rounding is monotone, so the computed bounds are safe),
        // and one far-away polygon or point cannot stretch the grid.
        let (s_lo, s_hi) = bounds(sites.iter().map(|s| s.center));
        let (p_lo, p_hi) = bounds(points.iter().copied());
        let lo = [s_lo[0].max(p_lo[0] - reach), s_lo[1].max(p_lo[1] - reach)];
        let hi = [s_hi[0].min(p_hi[0] + reach), s_hi[1].min(p_hi[1] + reach)];
        if !(lo[0] <= hi[0] && lo[1] <= hi[1]) {
            return Ok(None);
        }
        // Dense while the box needs at most ~2 cells per site.
        let cell = reach / CELLS_PER_MAX_DIST;
        let cells = ((hi[0] - lo[0]) / cell + 1.0) * ((hi[1] - lo[1]) / cell + 1.0);
        let dense = cells <= 2.0 * sites.len() as f64 + 16.0;
        let cell = if dense { cell } else { reach };
        let mut grid = Grid {
            sites,
            any_nan: sites.iter().any(|s| s.area.is_nan()),
            t,
            reach,
            lo,
            hi,
            per_cell: 1.0 / cell,
            nx: if dense {
                ((hi[0] - lo[0]) / cell) as usize + 1
            } else {
                0
            },
            ny: if dense {
                ((hi[1] - lo[1]) / cell) as usize + 1
            } else {
                0
            },
            sparse: (!dense).then(FxHashMap::default),
            starts: Vec::new(),
            entries: Vec::new(),
        };
        // Each site's cell number (`OUT`: outside the box), then a counting sort
        // by cell: count the sites of each cell, add up to where each cell ends,
        // then walk the sites backwards placing each one just before the ones
        // already placed in its cell: a cell's sites stay in index order, and
        // `starts[c]` ends up where cell `c` begins.
        const OUT: usize = usize::MAX;
        let inside = |[x, y]: [f64; 2]| lo[0] <= x && x <= hi[0] && lo[1] <= y && y <= hi[1];
        let mut cells: Vec<usize> = try_vec(sites.len())?;
        match &mut grid.sparse {
            None => cells.extend(sites.iter().map(|s| match s.center {
                c if inside(c) => grid.axis(c[1], 1) * grid.nx + grid.axis(c[0], 0),
                _ => OUT,
            })),
            Some(numbers) => {
                for s in sites {
                    let c = s.center;
                    let cell = if inside(c) {
                        if numbers.len() == numbers.capacity() {
                            numbers.try_reserve(numbers.len().max(64))?;
                        }
                        let next = numbers.len();
                        let cell = [0, 1].map(|k| grid_cell(c[k], lo[k], grid.per_cell));
                        *numbers.entry(cell).or_insert(next)
                    } else {
                        OUT
                    };
                    cells.push(cell);
                }
            }
        }
        let n_cells = grid.sparse.as_ref().map_or(grid.nx * grid.ny, |m| m.len());
        let mut starts = try_filled(0, n_cells + 1)?;
        // `OUT` is no index of `starts`: `get_mut` skips it with no test of its own.
        for &c in &cells {
            if let Some(count) = starts.get_mut(c) {
                *count += 1;
            }
        }
        for c in 1..starts.len() {
            starts[c] += starts[c - 1];
        }
        let empty = Entry {
            x: 0.0,
            y: 0.0,
            key: NONE,
        };
        let mut entries = try_filled(empty, starts[n_cells])?;
        for (index, (site, &c)) in sites.iter().zip(&cells).enumerate().rev() {
            if let Some(start) = starts.get_mut(c) {
                *start -= 1;
                let [x, y] = site.center;
                entries[*start] = Entry {
                    x,
                    y,
                    key: key(site.area, index),
                };
            }
        }
        (grid.starts, grid.entries) = (starts, entries);
        Ok(Some(grid))
    }

    /// The dense grid's column (or row) of coordinate `v` on axis `k`, clamped.
    ///
    /// Monotone in `v` (subtraction, multiplication by a positive factor,
    /// truncation and clamping all are, even with rounding), so every center in
    /// `[a, b]` lands in a column between `axis(a)` and `axis(b)`. The saturating
    /// cast maps NaN to 0 and +-inf to the ends. (To a signed integer: one
    /// instruction and a fix-up, where a cast to usize takes a dozen.)
    fn axis(&self, v: f64, k: usize) -> usize {
        let n = if k == 0 { self.nx } else { self.ny };
        (((v - self.lo[k]) * self.per_cell) as i64)
            .max(0)
            .min(n as i64 - 1) as usize
    }

    /// The picks of `points`, numbered from `first_index`, until `stop` says so.
    fn select(
        &self,
        points: &[[f64; 2]],
        first_index: usize,
        stop: &impl Fn() -> bool,
    ) -> Result<Vec<(usize, usize)>, TryReserveError> {
        let pick = |p| match (self.any_nan, &self.sparse) {
            (false, None) => self.pick::<false>(p),
            (true, None) => self.pick::<true>(p),
            (_, Some(numbers)) => self.pick_sparse(numbers, p),
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

    /// Outside the box grown by `reach` (or not a number): close to no site.
    fn out_of_reach(&self, [px, py]: [f64; 2]) -> bool {
        let r = self.reach;
        !(px >= self.lo[0] - r
            && px <= self.hi[0] + r
            && py >= self.lo[1] - r
            && py <= self.hi[1] + r)
    }

    /// The polygon `point` picks, if any, in a dense grid. `NAN`: also track the
    /// first close one.
    fn pick<const NAN: bool>(&self, point: [f64; 2]) -> Option<usize> {
        if self.out_of_reach(point) {
            return None;
        }
        let [px, py] = point;
        // The exact value px - reach is <= every close center's x, and rounding
        // is monotone, so the computed bound is too.
        let (x0, x1) = (self.axis(px - self.reach, 0), self.axis(px + self.reach, 0));
        let (y0, y1) = (self.axis(py - self.reach, 1), self.axis(py + self.reach, 1));
        let mut scan = Scan::<NAN>::new();
        for row in y0..=y1 {
            let cells = self.starts[row * self.nx + x0]..self.starts[row * self.nx + x1 + 1];
            scan.entries(&self.entries[cells], point, self.t);
        }
        scan.pick(self.sites)
    }

    /// The same in a sparse grid: at most 3 x 3 occupied cells to look up.
    fn pick_sparse(&self, numbers: &FxHashMap<[i64; 2], usize>, point: [f64; 2]) -> Option<usize> {
        if self.out_of_reach(point) {
            return None;
        }
        let cell = |v: f64, k: usize| grid_cell(v, self.lo[k], self.per_cell);
        let [px, py] = point;
        let mut scan = Scan::<true>::new();
        for row in cell(py - self.reach, 1)..=cell(py + self.reach, 1) {
            for column in cell(px - self.reach, 0)..=cell(px + self.reach, 0) {
                if let Some(&c) = numbers.get(&[column, row]) {
                    let cells = self.starts[c]..self.starts[c + 1];
                    scan.entries(&self.entries[cells], point, self.t);
                }
            }
        }
        scan.pick(self.sites)
    }
}

/// The sparse grid's cell of coordinate `v`: monotone, as `Grid::axis`, and
/// saturating (a center 1e300 cells away shares the last cell, still found).
fn grid_cell(v: f64, origin: f64, per_cell: f64) -> i64 {
    ((v - origin) * per_cell).floor() as i64
}

/// The best close site seen so far: least `key`, and with `NAN` the first close
/// one (least index) too.
struct Scan<const NAN: bool> {
    best: u128,
    first: usize,
}

impl<const NAN: bool> Scan<NAN> {
    fn new() -> Self {
        Scan {
            best: NONE,
            first: usize::MAX,
        }
    }

    #[inline(always)]
    fn entries(&mut self, entries: &[Entry], [px, py]: [f64; 2], t: f64) {
        for e in entries {
            let (dx, dy) = (e.x - px, e.y - py);
            let close = dx * dx + dy * dy < t;
            self.best = self.best.min(if close { e.key } else { NONE });
            if NAN && close {
                self.first = self.first.min(e.key as u64 as usize);
            }
        }
    }

    /// The low 64 bits of the key are the index. The baseline keeps the first
    /// close polygon when its area is NaN (nothing is smaller than NaN).
    fn pick(&self, sites: &[Site]) -> Option<usize> {
        if self.best == NONE {
            return None;
        }
        if NAN && sites[self.first].area.is_nan() {
            return Some(self.first);
        }
        Some(self.best as u64 as usize)
    }
}

/// The smallest and largest finite coordinates on each axis (lo > hi if none).
fn bounds(centers: impl Iterator<Item = [f64; 2]>) -> ([f64; 2], [f64; 2]) {
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for c in centers.filter(|c| c[0].is_finite() && c[1].is_finite()) {
        for k in 0..2 {
            // Not f64::min/max: their care for NaN costs here, with none to meet.
            lo[k] = if c[k] < lo[k] { c[k] } else { lo[k] };
            hi[k] = if c[k] > hi[k] { c[k] } else { hi[k] };
        }
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid_select(sites: &[Site], points: &[[f64; 2]], max_dist: f64) -> Vec<(usize, usize)> {
        select(sites, points, max_dist, &|| false).expect("memory for the picks")
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
    fn outliers_do_not_stretch_the_grid() {
        let mut rng = Rng(3);
        let mut sites = random_sites(&mut rng, 1000, 100.0, 20);
        sites.push(site(1e12, 5.0, 1.0));
        let mut points = random_points(&mut rng, 100, 0.0, 100.0);
        points.push([-1e12, 0.0]);
        let grid = Grid::new(&sites, &points, 10.0)
            .ok()
            .flatten()
            .expect("a grid");
        // The canonical grid: cells of 5 over ~100 x 100, not 1e12 wide.
        assert!(grid.sparse.is_none() && grid.nx <= 30 && grid.ny <= 30);
        agrees(&sites, &points, 10.0);
    }

    /// The most sites any one cell holds: what a point near it has to test.
    fn largest_cell(grid: &Grid) -> usize {
        grid.starts
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn a_far_polygon_with_a_point_beside_it_does_not_stretch_the_cells() {
        let mut rng = Rng(4);
        let mut sites = random_sites(&mut rng, 1000, 100.0, 20);
        sites.push(site(1e12, 5.0, 1.0));
        let mut points = random_points(&mut rng, 100, 0.0, 100.0);
        points.push([1e12 + 1.0, 5.0]);
        let grid = Grid::new(&sites, &points, 10.0)
            .ok()
            .flatten()
            .expect("a grid");
        assert!(largest_cell(&grid) <= 40, "{}", largest_cell(&grid));
        agrees(&sites, &points, 10.0);
        assert_eq!(
            grid_select(&sites, &points, 10.0).last(),
            Some(&(100, 1000))
        );
    }

    #[test]
    fn far_clusters_and_a_long_line_keep_cells_small() {
        let mut rng = Rng(9);
        // Two clusters 1e9 apart, and 3% of the sites far from the rest.
        let mut two = random_sites(&mut rng, 2000, 100.0, 50);
        for s in two.iter_mut().step_by(2) {
            s.center[0] += 1e9;
        }
        let mut few_far = random_sites(&mut rng, 2000, 100.0, 50);
        for s in few_far.iter_mut().step_by(33) {
            s.center = [s.center[0] - 5e8, s.center[1] + 7e8];
        }
        // Sites along a diagonal 1e6 long: no empty band to cut it at.
        let line: Vec<Site> = (0..2000)
            .map(|i| site(f64::from(i) * 500.0, f64::from(i) * 500.0 + 3.0, 1.0))
            .collect();
        for sites in [two, few_far, line] {
            let points: Vec<[f64; 2]> = sites
                .iter()
                .step_by(5)
                .map(|s| [s.center[0] + rng.uniform(-8.0, 8.0), s.center[1] + 2.0])
                .collect();
            let grid = Grid::new(&sites, &points, 10.0)
                .ok()
                .flatten()
                .expect("a grid");
            assert!(largest_cell(&grid) <= 40, "{}", largest_cell(&grid));
            agrees(&sites, &points, 10.0);
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
        assert!(grid_select(&[], &[[0.0, 0.0]], 10.0).is_empty());
        assert!(grid_select(&sites, &[], 10.0).is_empty());
    }
}
