//! Exercise 2: stage 2's Polygon and its search, written in Rust by you.
//!
//! Stage 1 paid, for every polygon and every point, a Python attribute lookup, a
//! numpy type check and a borrow registration, and a heap copy of the center.
//! Here the Polygon is a Rust struct (`poly_match_exercise2.Polygon` subclasses it
//! in Python and keeps `area()` there), so the search can read the center straight
//! from the struct. Your job: make that read cost nothing.
//!
//! The Python glue (getters, repr, pickling) is done, and turning Python values into
//! Rust ones with errors that name the argument is the shared crate's job
//! (`stages/common/src/lib.rs`: `common::Vertices`, `common::polygon`,
//! `common::point`). Write between the markers, then `make check-exercise STAGE=2`.
//! Stuck: `make hint STAGE=2` (one hint more each time). Once it passes, compare
//! with the answer, `stages/exercise2/solution.rs`.
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyList;

// ---- exercise: start (your code goes between the two markers) ----
// It replaces every line from here to "exercise: end".
//
// TODO(1): the search below must read a Polygon with no borrow check at all (no
//          borrow flag set and cleared per polygon: measured, that flag was stage
//          2's largest cost). A Polygon never changes once built: tell PyO3 so.
// TODO(2): compute the center once, when the Polygon is built, and store it in the
//          struct as plain numbers (no heap); `center_xy` (what Python's
//          `poly.center` shows) returns the stored one.
// TODO(3): `find_close_polygons`: the polygons whose center is strictly closer than
//          `max_dist` to `point`, the caller's objects in input order. No Python
//          call inside the loop (no getattr), no heap allocation (read the center
//          where it lies, without copying it), no borrow flag. An item that is not
//          this Polygon is a TypeError naming it: `common` has the helper.
// TODO(4): the distance as `np.linalg.norm` computes it for 2 numbers (same
//          operations, same rounding), compared with a strict `<`.
//
// The `let _` and `Err(...)` lines of `find_close_polygons` only let the untouched
// starter compile and say that it is not done: your search replaces them.

/// A polygon given by the x and y coordinates of its vertices.
///
/// ``x`` and ``y``: anything numpy turns into a non-empty 1-D array of real
/// numbers, of the same length, stored as float64.
#[pyclass(subclass, module = "poly_match_exercise2._core")]
pub struct Polygon {
    vertices: common::Vertices,
}

impl Polygon {
    /// What `Polygon(x, y)` builds (see `#[new]` below), from the checked vertices.
    fn build(vertices: common::Vertices) -> Self {
        Polygon { vertices }
    }

    /// `[cx, cy]`, numpy's mean to the last bit: what the `center` getter returns.
    fn center_xy(&self) -> [f64; 2] {
        self.vertices.center()
    }
}

/// The polygons whose center is closer than ``max_dist`` to ``point``.
///
/// ``polygons``: a list of ``Polygon`` (this module's, or a subclass).
/// ``point``: 2 real numbers ``[x, y]`` (an array, list or tuple).
/// Returns a new list of the same polygon objects (not copies), in input order.
#[pyfunction]
fn find_close_polygons<'py>(
    polygons: &Bound<'py, PyList>,
    point: &Bound<'py, PyAny>,
    max_dist: f64,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let point = common::point(point, || "point".to_owned())?;
    let _ = (polygons, point, max_dist);
    Err(pyo3::exceptions::PyNotImplementedError::new_err(
        "exercise 2 not done yet: TODO(1) to TODO(4) in stages/exercise2/src/lib.rs \
         (a Polygon read with no borrow check that stores its center; a search with \
         no Python call, no allocation and no borrow flag in its loop). Stuck? \
         `make hint STAGE=2` (docs/workshop.md#exercise-2)",
    ))
}
// ---- exercise: end ----

#[pymethods]
impl Polygon {
    #[new]
    fn new(x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Polygon::build(common::Vertices::new(x, y)?))
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
        PyArray1::from_slice(py, &self.center_xy())
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        slf.borrow().vertices.repr(slf.as_any())
    }

    fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<common::XY<'py>> {
        self.vertices.newargs(py)
    }

    fn __reduce_ex__<'py>(slf: &Bound<'py, Self>, _protocol: i32) -> PyResult<Bound<'py, PyAny>> {
        common::reduce_ex(slf.as_any())
    }
}

/// Exercise 2 of the poly-match workshop: stage 2's Polygon and search, by you.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Polygon>()?;
    m.add_function(wrap_pyfunction!(find_close_polygons, m)?)?;
    Ok(())
}
