//! Stage 5: arrays in, arrays out, every core.
//!
//! Stage 4's search is fast, but its input is a list of Python objects: a
//! `Polygon` built one by one, read one by one with the GIL held, and a result
//! list of `(point, polygon)` tuples built one by one. For the canonical
//! workload that boundary weighs as much as the search, and on real data
//! (polygons from a table) building the Polygons costs far more than `main`.
//!
//! Here the polygons come as columns, the layout of GeoArrow and of
//! `shapely.from_ragged_array`: every vertex's `x` and `y` in two arrays, and
//! `offsets`, where each polygon's vertices start. The points are an (N, 2)
//! array, and the answer is two index arrays. Once the arrays are read (in
//! place, no copy, in the plain case), nothing needs the GIL: the centers, the
//! areas, the grid and the queries all run on every core. The search is stage
//! 4's, unchanged (`stage4_grid::grid`).
use std::collections::TryReserveError;

use pyo3::prelude::*;
use rayon::prelude::*;
use stage4_grid::{Site, grid};

/// ``(point_index, polygon_index)`` for every point with a polygon closer than
/// ``max_dist``: the polygon of least area among the close ones (the first on
/// a tie), as two numpy ``intp`` arrays of equal length, in the order of the
/// points. Points with no close polygon are left out.
///
/// ``x``, ``y``: every vertex's coordinates, 1-D (numpy arrays, pandas Series,
/// anything numpy turns into real numbers; float64 is read where it lies, so
/// do not write to it while the call runs). ``offsets``: integers, polygon
/// ``i`` is ``x[offsets[i]:offsets[i + 1]]`` (GeoArrow's layout, and
/// ``shapely.to_ragged_array``'s): ``0`` first, ``len(x)`` last, every polygon
/// at least one vertex. Or ``offsets=None`` with ``x`` and ``y`` of shape
/// (P, V): polygon ``i`` is row ``i``. ``points``: an (N, 2) array of
/// ``[x, y]`` rows.
///
/// From a vertex table, one row per vertex, each polygon's rows together:
///
/// >>> import numpy as np, pandas as pd
/// >>> vertices = pd.DataFrame({"polygon": [7, 7, 7, 9, 9, 9, 9],
/// ...                          "x": [0, 4, 0, 20, 21, 21, 20],
/// ...                          "y": [0, 0, 3, 0, 0, 1, 1]})
/// >>> stops = pd.DataFrame({"x": [1.0, 50.0, 19.0], "y": [1.0, 50.0, 0.0]})
/// >>> ids = vertices["polygon"].to_numpy()
/// >>> offsets = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True])
/// >>> stop, polygon = main(vertices["x"], vertices["y"], offsets, stops[["x", "y"]])
/// >>> stop.tolist(), ids[offsets[polygon]].tolist()
/// ([0, 2], [7, 9])
///
/// Centers and areas are the ``Polygon``'s of stages 2-4, bit for bit. Raises
/// TypeError or ValueError naming the argument for input that cannot mean
/// polygons and points, MemoryError where the memory is not there.
#[pyfunction]
#[pyo3(signature = (x, y, offsets, points, max_dist = common::MaxDist(10.0)), text_signature = "(x, y, offsets, points, max_dist=10.0)")]
fn main<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    offsets: &Bound<'py, PyAny>,
    points: &Bound<'py, PyAny>,
    max_dist: common::MaxDist,
) -> PyResult<common::columns::Indices<'py>> {
    let columns = common::columns::polygons(x, y, offsets)?;
    let (x, y) = (columns.x.as_slice()?, columns.y.as_slice()?);
    let offsets = &columns.offsets;
    let points = common::columns::points(points)?;
    let polygons = Polygons { x, y, offsets };
    let max_dist = max_dist.0;
    // Below this size handing the GIL over costs more than the work: getting it
    // back can mean waiting out another thread's switch interval (5 ms).
    let picks = if polygons.len() + points.len() > grid::LARGE {
        // Both cores, on worker threads no other call shares (a forked child
        // makes new ones), and Ctrl-C checked every 20 ms while they work.
        common::parallel::detach(py, |cancel| {
            polygons.select(&points, max_dist, &|| cancel.requested(), true)
        })?
    } else {
        polygons.select(&points, max_dist, &|| false, false)
    };
    let picks = picks.map_err(common::no_memory)?;
    common::columns::indices(py, &picks)
}

#[pymodule]
fn _columns(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(main, m)?)?;
    Ok(())
}

// --- The math: plain Rust, tested without Python ------------------------------

/// The polygons as columns, checked: `offsets` starts at 0, rises, and ends at
/// `x.len() == y.len()`.
#[derive(Clone, Copy)]
pub struct Polygons<'a> {
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub offsets: &'a [usize],
}

/// Polygons per rayon task while the centers and areas are computed, and how
/// often `stop` is asked: large enough that splitting costs little.
const CHUNK: usize = 4096;

impl Polygons<'_> {
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Polygon `i`'s center and area, as its `Polygon` computes them.
    fn site(&self, i: usize) -> Result<Site, TryReserveError> {
        let vertices = self.offsets[i]..self.offsets[i + 1];
        let (x, y) = (&self.x[vertices.clone()], &self.y[vertices]);
        Ok(Site {
            center: [common::numpy_mean(x), common::numpy_mean(y)],
            area: common::columns::area(x, y)?,
        })
    }

    /// Every polygon's center and area, on every core of the current rayon
    /// pool if `parallel`. Empty once `stop` says so (the caller discards it).
    pub fn sites(
        &self,
        parallel: bool,
        stop: &(impl Fn() -> bool + Sync),
    ) -> Result<Vec<Site>, TryReserveError> {
        let nothing = Site {
            center: [0.0; 2],
            area: 0.0,
        };
        let mut sites = common::try_filled(nothing, self.len())?;
        let fill = |(k, chunk): (usize, &mut [Site])| -> Result<(), TryReserveError> {
            if stop() {
                return Ok(());
            }
            for (i, site) in (k * CHUNK..).zip(chunk) {
                *site = self.site(i)?;
            }
            Ok(())
        };
        if parallel {
            sites.par_chunks_mut(CHUNK).enumerate().try_for_each(fill)?;
        } else {
            sites.chunks_mut(CHUNK).enumerate().try_for_each(fill)?;
        }
        Ok(sites)
    }

    /// Stage 4's selection on these polygons: `(point, polygon)` indices.
    pub fn select(
        &self,
        points: &[[f64; 2]],
        max_dist: f64,
        stop: &(impl Fn() -> bool + Sync),
        parallel: bool,
    ) -> Result<Vec<(usize, usize)>, TryReserveError> {
        let sites = self.sites(parallel, stop)?;
        if stop() {
            return Ok(Vec::new());
        }
        grid::select(&sites, points, max_dist, stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` polygons of `k` vertices, each a small arc moved to a spot on a
    /// lattice, as columns.
    fn columns(n: usize, k: usize) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
        let (mut x, mut y, mut offsets) = (vec![], vec![], vec![0]);
        for i in 0..n {
            for j in 0..k {
                let t = j as f64 / k as f64;
                x.push((i % 97) as f64 + t * (1.0 + (i % 5) as f64));
                y.push((i * 7 % 89) as f64 + (1.0 - t * t).sqrt());
            }
            offsets.push(x.len());
        }
        (x, y, offsets)
    }

    #[test]
    fn sites_are_the_polygons_centers_and_exact_areas() {
        let (x, y, offsets) = columns(300, 10);
        let polygons = Polygons {
            x: &x,
            y: &y,
            offsets: &offsets,
        };
        let sites = polygons.sites(false, &|| false).expect("memory");
        for (i, site) in sites.iter().enumerate() {
            let (px, py) = (&x[i * 10..i * 10 + 10], &y[i * 10..i * 10 + 10]);
            let center = [common::numpy_mean(px), common::numpy_mean(py)];
            assert_eq!(site.center, center);
            assert_eq!(Some(site.area), common::exact_area(px, py));
        }
    }

    #[test]
    fn every_core_gives_the_one_core_answer() {
        let (x, y, offsets) = columns(30_000, 7);
        let polygons = Polygons {
            x: &x,
            y: &y,
            offsets: &offsets,
        };
        let points: Vec<[f64; 2]> = (0..5000)
            .map(|i| [(i % 100) as f64 + 0.25, (i * 13 % 90) as f64 + 0.5])
            .collect();
        let one = polygons.select(&points, 3.0, &|| false, false);
        let every = polygons.select(&points, 3.0, &|| false, true);
        assert_eq!(one, every);
        assert!(!one.expect("memory").is_empty());
    }

    #[test]
    fn stop_skips_the_rest() {
        let (x, y, offsets) = columns(10, 4);
        let polygons = Polygons {
            x: &x,
            y: &y,
            offsets: &offsets,
        };
        let picks = polygons.select(&[[0.0, 0.0]], 1e9, &|| true, false);
        assert_eq!(picks, Ok(vec![]));
        let empty = Polygons {
            x: &[],
            y: &[],
            offsets: &[0],
        };
        assert!(empty.is_empty());
        assert_eq!(
            empty.select(&[[0.0, 0.0]], 10.0, &|| false, false),
            Ok(vec![])
        );
    }
}
