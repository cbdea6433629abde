//! Exercise 4: stage 4's idea, a search whose cost does not grow with polygons x
//! points, written in Rust by you.
//!
//! Stage 3's `select` (here `plain_select`, kept as the reference) tests every
//! polygon for every point: 1000 x 100 tests on the canonical workload, 10^9 at
//! 100,000 x 10,000. Here `main` reads the polygons as stage 3 does and calls your
//! `select`, which must give exactly the plain loop's answer while testing only the
//! polygons that can be close to each point. The Polygon, the Python glue,
//! `squared_threshold` and `squared_distance` (which counts the tests, so the check
//! can see how many you make) are done; turning Python values into Rust ones is the
//! shared crate's job (`stages/common/src/lib.rs`). You write the code between the
//! markers, plain Rust with no Python in it, then run `make check-exercise STAGE=4`.
//! Stuck: `make hint STAGE=4` (one hint more each time). Once it passes, compare with
//! the answer, `stages/exercise4/solution.rs`, then with stage 4 itself
//! (`stages/stage4_grid/src/grid.rs`), which goes further.
use std::sync::atomic::{AtomicU64, Ordering};

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyList;

/// What the selection needs to know about one polygon.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Site {
    pub center: [f64; 2],
    pub area: f64,
}

// ---- exercise: start (your code goes between the two markers) ----
// It replaces every line from here to "exercise: end".
//
// TODO(1): `select`: exactly `plain_select`'s answer, for any input: for each point
//          (in order), the polygon of least area among those whose center is
//          strictly closer than `max_dist` (`squared_distance(center, point) < t`,
//          `t = squared_threshold(max_dist)`, as in stage 3), the first one on a tie
//          of areas; a point with no close polygon is skipped.
// TODO(2): its cost grows with polygons + points, not polygons x points: a point
//          tests only the polygons that can be close to it, not all of them. Test
//          each one you do with `squared_distance` (it counts them: the check runs
//          20,000 polygons x 1,000 points and fails a search that tests every pair).
//          No layout may make it wrong: centers and points that are NaN, infinite
//          or huge (1e300), duplicates, `max_dist` of 1e-300, 1e300 or inf.
//
// It returns `PyResult` only so that the starter can say it is not done: your
// version never fails (`Ok(...)`). Delete the `not_done` function when it is done.

/// `(point, polygon)` indices: for every point with a polygon whose center is
/// closer than `max_dist`, the one of least area (the first on a tie), as
/// `plain_select` finds them, without testing every pair.
pub fn select(sites: &[Site], points: &[[f64; 2]], max_dist: f64) -> PyResult<Vec<(usize, usize)>> {
    let _ = (sites, points, max_dist);
    Err(not_done())
}

fn not_done() -> PyErr {
    pyo3::exceptions::PyNotImplementedError::new_err(
        "exercise 4 not done yet: TODO(1) to TODO(2) in stages/exercise4/src/lib.rs \
         (`select`: the plain loop's answer without testing every pair). Stuck? \
         `make hint STAGE=4` (docs/workshop.md#exercise-4)",
    )
}
// ---- exercise: end ----

/// The reference: stage 3's plain loop, every polygon for every point.
pub fn plain_select(sites: &[Site], points: &[[f64; 2]], max_dist: f64) -> Vec<(usize, usize)> {
    let t = squared_threshold(max_dist);
    let mut picks = Vec::new();
    for (p, &point) in points.iter().enumerate() {
        let mut best: Option<usize> = None;
        for (i, site) in sites.iter().enumerate() {
            if squared_distance(site.center, point) < t
                && best.is_none_or(|b| site.area < sites[b].area)
            {
                best = Some(i);
            }
        }
        if let Some(i) = best {
            picks.push((p, i));
        }
    }
    picks
}

/// How many times `squared_distance` ran (`distance_tests()` reads it).
static TESTS: AtomicU64 = AtomicU64::new(0);

/// `dx * dx + dy * dy` from `center` to `point`, counted: every distance test goes
/// through here, so the check can tell a search from a loop over every pair.
pub fn squared_distance(center: [f64; 2], point: [f64; 2]) -> f64 {
    TESTS.fetch_add(1, Ordering::Relaxed);
    let (dx, dy) = (center[0] - point[0], center[1] - point[1]);
    dx * dx + dy * dy
}

/// The smallest `t` with `sqrt(t) >= max_dist`, so that for every squared
/// distance `d2 >= 0`: `d2 < t` exactly when `sqrt(d2) < max_dist`.
///
/// `d2 < max_dist * max_dist` is not the same test: the square rounds, and a
/// center right on the boundary can land on either side. Returns 0.0 (nothing is
/// close) for NaN or non-positive `max_dist`, as the baseline finds nothing closer.
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

/// A polygon given by the x and y coordinates of its vertices.
///
/// ``x`` and ``y``: anything numpy turns into a non-empty 1-D array of real
/// numbers, of the same length, stored as float64. The center and the area are
/// computed once, here. Immutable (`frozen`): read with `.get()`, no borrow check.
#[pyclass(frozen, subclass, module = "poly_match_exercise4._core")]
pub struct Polygon {
    vertices: common::Vertices,
    center: [f64; 2],
    area: f64,
}

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

    /// The x coordinates, as a new float64 array.
    #[getter]
    fn x<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        common::array(py, &self.vertices.x)
    }

    /// The y coordinates, as a new float64 array.
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
}

/// ``(point, polygon)`` for every point that has a polygon within ``max_dist``.
///
/// ``polygons``: a list (or iterable) of this module's ``Polygon``. ``points``: a
/// list of points ``[x, y]`` (the pairs hold the same objects) or an (N, 2) array.
#[pyfunction]
#[pyo3(signature = (polygons, points, max_dist = 10.0))]
fn main<'py>(
    py: Python<'py>,
    polygons: &Bound<'py, PyAny>,
    points: &Bound<'py, PyAny>,
    max_dist: f64,
) -> PyResult<Bound<'py, PyList>> {
    let polygons = common::items("polygons", polygons)?;
    let mut sites = common::vec_for(polygons.len())?;
    for (i, poly) in polygons.iter().enumerate() {
        let poly = common::polygon::<Polygon>(i, poly)?.get();
        sites.push(Site {
            center: poly.center,
            area: poly.area,
        });
    }
    let (points, coords) = common::Points::read(points)?;
    TESTS.store(0, Ordering::Relaxed);
    let picks = select(&sites, &coords, max_dist)?;
    common::pairs(py, &points, &polygons, picks)
}

/// How many distance tests (`squared_distance` calls) the last ``main`` call made.
#[pyfunction]
fn distance_tests() -> u64 {
    TESTS.load(Ordering::Relaxed)
}

/// Exercise 4 of the poly-match workshop: stage 4's search, by you.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Polygon>()?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_function(wrap_pyfunction!(distance_tests, m)?)?;
    Ok(())
}
