//! Exercise 1: stage 1's `find_close_polygons`, written in Rust by you.
//!
//! The Python function to translate (python_baseline/poly_match/__init__.py):
//!
//! ```text
//! def find_close_polygons(polygon_subset, point, max_dist):
//!     close_polygons = []
//!     for poly in polygon_subset:
//!         if np.linalg.norm(poly.center - point) < max_dist:
//!             close_polygons.append(poly)
//!     return close_polygons
//! ```
//!
//! The signature and the point are done; turning Python values into Rust ones,
//! with errors that name the argument, is the shared crate's job
//! (`stages/common/src/lib.rs`: `common::items`, `common::borrowed_pair`).
//! Write the search between the markers, then `make check-exercise STAGE=1`.
//! Stuck: `make hint STAGE=1` (one hint more each time). Once it passes, compare
//! with the answer, `stages/exercise1/solution.rs`.
// The search needs these two; the untouched starter does not use them yet.
#[allow(unused_imports)]
use numpy::PyReadonlyArray1;
#[allow(unused_imports)]
use pyo3::intern;
use pyo3::prelude::*;

/// The polygons whose center is closer than ``max_dist`` to ``point``.
///
/// ``polygons``: a list of any objects with a ``.center`` attribute holding a
/// 1-D float64 numpy array ``[x, y]`` (``poly_match.Polygon`` has one).
/// ``point``: 2 real numbers ``[x, y]`` (an array, list or tuple).
/// Returns a new list of the same polygon objects (not copies), in input order.
#[pyfunction]
fn find_close_polygons<'py>(
    // The GIL token: holding it proves this thread may touch Python objects.
    // Every `Bound<'py, _>` below carries the same `'py`, so none can outlive it.
    py: Python<'py>,
    polygons: &Bound<'py, PyAny>,
    point: &Bound<'py, PyAny>,
    // `max_dist.0` is the float to compare with (see `common::MaxDist`).
    max_dist: common::MaxDist,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let point = common::point(point, || "point".to_owned())?;
    // A read-only ndarray view of the two numbers: no copy.
    let point = ndarray::aview1(&point);
    // ---- exercise: start (your code goes between the two markers) ----
    // It replaces every line here: these TODOs and the two statements under them,
    // which only let the untouched starter compile and say that it is not done.
    //
    // TODO(1): return the polygons whose center is strictly closer than `max_dist`
    //          to `point`: the caller's own objects (not copies), in input order.
    //          `common::items` gives you the polygons of any list or iterable.
    // TODO(2): read each `poly.center` as Python does: an attribute lookup whose
    //          name is one Python string object, made once and passed to every
    //          lookup in every call (Python interns the names in its code, and
    //          CPython's attribute cache matches names by identity).
    // TODO(3): accept only a 1-D float64 numpy array of 2 numbers, and read it
    //          where it lies in numpy's memory (a view, no copy yet). A bad center
    //          is a Python exception naming the polygon ("polygons[3].center ..."),
    //          never a panic: `common` has the helper.
    // TODO(4): as the original post does, copy the center into an array Rust owns
    //          before `center - point` (stage 2 measures what this copy costs).
    // TODO(5): the distance exactly as `np.linalg.norm` computes it (same
    //          operations, same rounding), compared with a strict `<`.
    let _ = (py, polygons, point, max_dist);
    Err(pyo3::exceptions::PyNotImplementedError::new_err(
        "exercise 1 not done yet: write the search, TODO(1) to TODO(5), in \
         stages/exercise1/src/lib.rs (docs/workshop.md#exercise-1). Stuck? \
         `make hint STAGE=1`, one hint more each time",
    ))
    // ---- exercise: end ----
}

/// Exercise 1 of the poly-match workshop: stage 1's ``find_close_polygons``, by you.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(find_close_polygons, m)?)
}
