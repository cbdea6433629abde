//! Stage 4: a better algorithm, and both cores.
//!
//! Stage 3's double loop tests every polygon for every point. Here `main` puts
//! the centers in a grid of cells (`src/grid.rs`), so a point tests only the few
//! polygons in the cells around it: time grows with polygons + points, not
//! polygons x points. A crowded cell is a k-d tree (`src/kdtree.rs`) whose
//! boxes a point takes or skips whole, so no layout (a cluster, identical
//! centers, a huge `max_dist`) makes it test every pair. On large inputs `main`
//! releases the GIL while the grid works (other Python threads run meanwhile)
//! and uses every core with rayon. The Polygon and the plain loop are stage 3's,
//! unchanged: the loop stays as the reference the grid is tested against.
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyType};

pub mod grid;
mod kdtree;

// glibc's malloc hands the grid's megabytes back to the OS after every call made
// from the main thread, and the next call faults them in again, page by page
// (~1,700 page faults per call at 100k x 10k). jemalloc keeps them for the next
// call. (mimalloc did too, but made the canonical call slower here.)
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

// One arena for every thread: by default each new thread gets an arena of its
// own, whose first allocation maps megabytes; under a memory limit (`ulimit -v`)
// that failed inside a new worker thread, where nothing can raise MemoryError.
// Blocks over 8 MB (stage 5's on a million polygons) otherwise go to an arena
// that gives them back at once: ~16,600 page faults per call there. Freed pages
// are kept, marked free (MADV_FREE): the kernel takes them only when it needs them.
#[cfg(not(target_env = "msvc"))]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: Option<&std::ffi::c_char> =
    Some(unsafe { &*c"narenas:1,oversize_threshold:0,muzzy_decay_ms:-1".as_ptr() });

/// A polygon given by the x and y coordinates of its vertices.
///
/// ``x`` and ``y``: anything numpy turns into a non-empty 1-D array of real
/// numbers (float or int arrays, lists, strided views), of the same length.
/// Stored as float64 (as the baseline's Polygon does); the center and the area
/// are computed once, here. Immutable: ``main`` reads it with no borrow check.
///
/// Keeps copies: editing the caller's ``x`` afterwards does not move the
/// polygon (the baseline's Polygon keeps a float64 array as it is given, so
/// there an edit changes what it computes next).
///
/// Raises TypeError for None, strings or other non-numbers; ValueError for an
/// empty or non-1-D input and for ``x`` and ``y`` of different lengths.
// `frozen`: no `&mut self` method can exist, so reading needs no borrow flag.
#[pyclass(frozen, subclass, weakref, module = "poly_match_stage4._core")]
pub struct Polygon {
    vertices: common::Vertices,
    /// `[cx, cy]` and the area: the two fields `main` reads.
    center: [f64; 2],
    area: f64,
}

/// What Rust fills when a Polygon is built and the search reads from the
/// struct, never through Python: a subclass may not replace these.
static RUST_FIELDS: common::RustFields = common::RustFields::new(&["x", "y", "center", "area"]);

#[pymethods]
impl Polygon {
    #[new]
    fn new(x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<Self> {
        let vertices = common::Vertices::new(x, y)?;
        let center = vertices.center();
        let area = vertices.area(x.py())?;
        Ok(Polygon {
            vertices,
            center,
            area,
        })
    }

    /// The x coordinates, as a new float64 array (editing it does not move the polygon).
    #[getter]
    fn x<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        common::array(py, &self.vertices.x)
    }

    /// The y coordinates, as a new float64 array (editing it does not move the polygon).
    #[getter]
    fn y<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        common::array(py, &self.vertices.y)
    }

    /// The mean of the vertices, ``[cx, cy]``, as a new float64 array.
    #[getter]
    fn center<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        common::array(py, &self.center)
    }

    /// The polygon's area (the shoelace formula, computed when it was built).
    fn area(&self) -> f64 {
        self.area
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        slf.get().vertices.repr(slf.as_any())
    }

    fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<common::XY<'py>> {
        self.vertices.newargs(py)
    }

    fn __reduce_ex__<'py>(slf: &Bound<'py, Self>, _protocol: i32) -> PyResult<Bound<'py, PyAny>> {
        common::reduce_ex(slf.as_any())
    }

    /// Subclasses may add methods and attributes; replacing ``center`` or
    /// ``area`` (in the class statement or later) raises TypeError, as ``main``
    /// reads the values Rust computed.
    #[classmethod]
    fn __init_subclass__(cls: &Bound<'_, PyType>) -> PyResult<()> {
        common::refuse_overrides::<Self>(cls, &RUST_FIELDS)
    }
}

/// ``(point, polygon)`` for every point that has a polygon within ``max_dist``.
///
/// For each point, the polygon of least area among those whose center is closer
/// than ``max_dist`` (the first one on a tie); points with no close polygon are
/// skipped. ``polygons``: a list (or tuple, or other iterable that can be
/// read again: not a generator) of this stage's ``Polygon``.
/// ``points``: a list of points ``[x, y]`` (the pairs hold the same objects) or
/// an (N, 2) array (the pairs hold its rows, ``points[i]``), no wider than
/// float64 and none masked: distances are computed in float64.
#[pyfunction]
#[pyo3(signature = (polygons, points, max_dist = common::MaxDist(10.0)), text_signature = "(polygons, points, max_dist=10.0)")]
fn main<'py>(
    py: Python<'py>,
    polygons: &Bound<'py, PyAny>,
    points: &Bound<'py, PyAny>,
    max_dist: common::MaxDist,
) -> PyResult<Bound<'py, PyList>> {
    common::refuse_one_shot("polygons", polygons)?;
    // Each polygon's center and area, read in the pass that checks its class.
    let (polygons, sites) = common::read_polygons(polygons, &RUST_FIELDS, |poly: &Polygon| Site {
        center: poly.center,
        area: poly.area,
    })?;
    let (points, coords) = common::Points::read(points)?;
    // Below this size handing the GIL over costs more than the work: getting it
    // back can mean waiting out another thread's switch interval (5 ms).
    let picks = if sites.len() + coords.len() > grid::LARGE {
        // Both cores, on worker threads no other call shares (a forked child
        // makes new ones), and Ctrl-C checked every 20 ms while they work.
        common::parallel::detach(py, |cancel| {
            grid::select(&sites, &coords, max_dist.0, &|| cancel.requested())
        })?
    } else {
        grid::select(&sites, &coords, max_dist.0, &|| false)
    };
    let picks = picks.map_err(common::no_memory)?;
    common::pairs(py, &points, &polygons, picks)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Polygon>()?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    Ok(())
}

// --- The math: plain Rust, tested without Python ------------------------------

/// What the selection needs to know about one polygon.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Site {
    pub center: [f64; 2],
    pub area: f64,
}

/// `(point, polygon)` indices: for every point with a polygon whose center is
/// closer than `max_dist`, the one of least area (the first on a tie).
///
/// The baseline's loops, with `select_best_polygon`'s rule folded in: `best`
/// is the first close polygon, replaced only by a strictly smaller area.
/// `picks` is where they go: empty, with room for one per point, so it never
/// grows (the caller asks for that memory, and a failure raises MemoryError).
/// `check` runs before each point; its error stops the loop.
/// `grid::select` gives the same answer faster; this is its reference.
pub fn select<E>(
    sites: &[Site],
    points: &[[f64; 2]],
    max_dist: f64,
    mut picks: Vec<(usize, usize)>,
    mut check: impl FnMut() -> Result<(), E>,
) -> Result<Vec<(usize, usize)>, E> {
    let t = squared_threshold(max_dist);
    for (p, &[px, py]) in points.iter().enumerate() {
        check()?;
        let (mut best, mut best_area) = (None, f64::NAN);
        for (i, site) in sites.iter().enumerate() {
            let (dx, dy) = (site.center[0] - px, site.center[1] - py);
            // No sqrt: `d2 < t` says exactly what `sqrt(d2) < max_dist` says.
            if dx * dx + dy * dy < t && (best.is_none() || site.area < best_area) {
                (best, best_area) = (Some(i), site.area);
            }
        }
        if let Some(i) = best {
            picks.push((p, i));
        }
    }
    Ok(picks)
}

/// The smallest `t` with `sqrt(t) >= max_dist`, so that for every squared
/// distance `d2 >= 0`: `d2 < t` exactly when `sqrt(d2) < max_dist`.
///
/// `d2 < max_dist * max_dist` is not the same test: the square rounds, and a
/// center right on the boundary can land on either side. Computed once per call.
/// Returns 0.0 (nothing is close) for NaN or non-positive `max_dist`, as the
/// baseline finds nothing closer than those.
pub fn squared_threshold(max_dist: f64) -> f64 {
    if max_dist.is_nan() || max_dist <= 0.0 {
        return 0.0;
    }
    let mut t = (max_dist * max_dist).min(f64::MAX);
    // m * m is within an ulp or two of the answer: walk down, then up.
    while t > 0.0 && t.next_down().sqrt() >= max_dist {
        t = t.next_down();
    }
    while t.sqrt() < max_dist {
        t = t.next_up();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn site(x: f64, y: f64, area: f64) -> Site {
        Site {
            center: [x, y],
            area,
        }
    }

    /// `select` with nothing to interrupt it.
    pub(crate) fn plain(sites: &[Site], points: &[[f64; 2]], max_dist: f64) -> Vec<(usize, usize)> {
        let picks = Vec::with_capacity(points.len());
        let Ok(picks) = select(sites, points, max_dist, picks, || Ok::<(), Infallible>(()));
        picks
    }

    #[test]
    fn an_error_from_check_stops_the_loop() {
        let mut calls = 0;
        let stop_at_third = || {
            calls += 1;
            if calls == 3 { Err("stop") } else { Ok(()) }
        };
        let result = select(
            &[site(0.0, 0.0, 1.0)],
            &[[0.0, 0.0]; 5],
            10.0,
            Vec::with_capacity(5),
            stop_at_third,
        );
        assert_eq!(result, Err("stop"));
        assert_eq!(calls, 3);
    }

    #[test]
    fn least_area_first_on_a_tie_and_strictly_closer() {
        let sites = [
            site(9.0, 0.0, 2.0),
            site(-9.0, 0.0, 1.0),
            site(0.0, 9.0, 1.0),
        ];
        assert_eq!(plain(&sites, &[[0.0, 0.0]], 10.0), vec![(0, 1)]);
        // (0, 0) to (6, 8) is exactly 10: not close.
        let far = [site(6.0, 8.0, 1.0)];
        assert!(plain(&far, &[[0.0, 0.0]], 10.0).is_empty());
        assert_eq!(plain(&far, &[[0.0, 0.0]], 10f64.next_up()), vec![(0, 0)]);
    }

    #[test]
    fn a_nan_area_follows_the_baseline_scan() {
        // The first close polygon stays unless one is strictly smaller: a NaN
        // area first stays, a NaN area later never wins.
        let sites = [
            site(0.0, 0.0, f64::NAN),
            site(1.0, 0.0, 1.0),
            site(20.0, 0.0, 3.0),
        ];
        let late_nan = [site(20.0, 0.0, 3.0), site(21.0, 0.0, f64::NAN)];
        assert_eq!(plain(&sites, &[[0.0, 0.0]], 10.0), vec![(0, 0)]);
        assert_eq!(plain(&late_nan, &[[20.0, 0.0]], 10.0), vec![(0, 0)]);
    }

    /// The sqrt-free test agrees with `sqrt(d2) < m` on and around the boundary.
    #[test]
    fn threshold_matches_sqrt_at_the_boundary() {
        for m in [10.0, 0.1, 1.0 / 3.0, 7.3, 1e-3, 1e150, 3e-160, 12_345.678_9] {
            let t = squared_threshold(m);
            assert!(t.sqrt() >= m && t.next_down().sqrt() < m, "m={m}");
            let mut r = m;
            for _ in 0..4 {
                r = r.next_down();
            }
            for _ in 0..8 {
                assert_eq!(r * r < t, (r * r).sqrt() < m, "m={m} r={r}");
                r = r.next_up();
            }
        }
        // Where `d2 < max_dist * max_dist` goes wrong: sqrt rounds this d2 up to
        // 10.0, so the baseline says "not close", and so must we.
        let d2 = 100f64.next_down();
        assert!(d2 < 10.0 * 10.0 && d2.sqrt() >= 10.0);
        assert!(d2 >= squared_threshold(10.0));
    }

    #[test]
    fn threshold_edge_values() {
        assert_eq!(squared_threshold(f64::NAN), 0.0);
        assert_eq!(squared_threshold(0.0), 0.0);
        assert_eq!(squared_threshold(-1.0), 0.0);
        assert_eq!(squared_threshold(f64::INFINITY), f64::INFINITY);
        // sqrt(f64::MAX) is about 1.3e154: no finite t is large enough.
        assert_eq!(squared_threshold(1e200), f64::INFINITY);
    }
}
