//! Stage 3: the whole selector in Rust.
//!
//! Stage 2 still crossed into Rust once per point and ran `select_best_polygon`
//! in Python. Here `main` is one call: it reads each Polygon's center and area
//! (both computed once, in Rust, when the Polygon is built), runs the plain
//! double loop over points and polygons, and returns `(point, polygon)` pairs of
//! the caller's objects. The area moves to Rust too, and with it a
//! floating-point lesson (see the README).
//!
//! The math is plain Rust at the bottom of the file, so `cargo test` checks it
//! without Python.
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyType};

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
#[pyclass(frozen, subclass, weakref, module = "poly_match_stage3._core")]
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
    let picks = common::vec_for(coords.len())?;
    // Ctrl-C sets a flag Python checks only when asked: ask once per point.
    let picks = select(&sites, &coords, max_dist.0, picks, || py.check_signals())?;
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
    fn plain(sites: &[Site], points: &[[f64; 2]], max_dist: f64) -> Vec<(usize, usize)> {
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
