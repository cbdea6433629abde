//! Exercise 3: stage 3's selector loop and area, written in Rust by you.
//!
//! Stage 2 still crossed into Rust once per point and picked the least area in
//! Python (`select_best_polygon`). Here `main` is one call: it reads every
//! Polygon's center and area (computed once, in Rust, when the Polygon is built),
//! runs `select` on plain Rust data and returns the pairs. The Polygon class, the
//! Python glue and `squared_threshold` are done, and turning Python values into Rust
//! ones is the shared crate's job (`stages/common/src/lib.rs`). You write the two
//! functions between the markers, plain Rust with no Python in them, then run
//! `make check-exercise STAGE=3`. Stuck: `make hint STAGE=3` (one hint more each
//! time). Once it passes, compare with the answer, `stages/exercise3/solution.rs`.
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
// TODO(1): `select`: for each point (in order), the polygon of least area among
//          those whose center is strictly closer than `max_dist`, as
//          `(point index, polygon index)`. The baseline's rules: on a tie of areas
//          the first polygon wins; a point with no close polygon is skipped.
// TODO(2): no square root in the loop, and still exactly the baseline's answer at
//          the boundary: compare squared distances with `squared_threshold`
//          (below; read its comment), once per call, not `max_dist * max_dist`.
// TODO(3): `area`: the shoelace formula numpy's `polygon_area` computes,
//          `0.5 * |x . roll(y, 1) - y . roll(x, 1)|`, without building the rolled
//          arrays (python_baseline/poly_match/__init__.py).
//
// Both return `PyResult` only so that the starter can say it is not done: your
// versions never fail (`Ok(...)`). Delete the `not_done` function when both are done.

/// `(point, polygon)` indices: for every point with a polygon whose center is
/// closer than `max_dist`, the one of least area (the first on a tie).
pub fn select(sites: &[Site], points: &[[f64; 2]], max_dist: f64) -> PyResult<Vec<(usize, usize)>> {
    let _ = (sites, points, max_dist);
    Err(not_done())
}

/// The shoelace area, `0.5 * |x . roll(y, 1) - y . roll(x, 1)|`.
pub fn area(x: &[f64], y: &[f64]) -> PyResult<f64> {
    let _ = (x, y);
    Err(not_done())
}

fn not_done() -> PyErr {
    pyo3::exceptions::PyNotImplementedError::new_err(
        "exercise 3 not done yet: TODO(1) to TODO(3) in stages/exercise3/src/lib.rs \
         (`select`, the selector loop with the sqrt-free threshold, and `area`, the \
         shoelace formula). Stuck? `make hint STAGE=3` (docs/workshop.md#exercise-3)",
    )
}
// ---- exercise: end ----

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
#[pyclass(frozen, subclass, module = "poly_match_exercise3._core")]
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
        let area = area(&vertices.x, &vertices.y)?;
        Ok(Polygon {
            vertices,
            center,
            area,
        })
    }

    /// The x coordinates, as a new float64 array.
    #[getter]
    fn x<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.vertices.x)
    }

    /// The y coordinates, as a new float64 array.
    #[getter]
    fn y<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.vertices.y)
    }

    /// The mean of the vertices, ``[cx, cy]``, as a new float64 array.
    #[getter]
    fn center<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.center)
    }

    /// The polygon's area (your `area`, computed when it was built).
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
    let mut sites = Vec::with_capacity(polygons.len());
    for (i, poly) in polygons.iter().enumerate() {
        let poly = common::polygon::<Polygon>(i, poly)?.get();
        sites.push(Site {
            center: poly.center,
            area: poly.area,
        });
    }
    let (points, coords) = common::Points::read(points)?;
    let picks = select(&sites, &coords, max_dist)?;
    common::pairs(py, &points, &polygons, picks)
}

/// Exercise 3 of the poly-match workshop: stage 3's selector and area, by you.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Polygon>()?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    Ok(())
}
