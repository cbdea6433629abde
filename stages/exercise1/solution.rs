//! Exercise 1, the answer: stage 1's `find_close_polygons`, as
//! `stages/stage1_getattr/src/lib.rs` has it. Read it once your own version
//! passes `make check-exercise STAGE=1` (or when the hints ran out): copy the lines
//! between the markers into `src/lib.rs` to see them pass.
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
    let mut close_polygons = Vec::new();
    for (i, poly) in common::items("polygons", polygons)?.into_iter().enumerate() {
        // `intern!` makes the Python string "center" once and reuses it; a plain
        // "center" would build a new string per polygon, and CPython's attribute
        // cache matches names by identity, so every lookup would miss it.
        let center = poly
            .getattr(intern!(py, "center"))
            .map_err(common::at(py, "polygons", i))?;
        // A `let` of its own: the view on the next line borrows from it, so it
        // must live until the end of the loop body (E0716 otherwise).
        let center: PyReadonlyArray1<'py, f64> =
            common::borrowed_pair(&center, || format!("polygons[{i}].center"))?;
        let center = center.as_array();
        // The original post's copy: an array Rust owns, which `center - point`
        // writes the difference into (two views cannot be subtracted: E0369).
        let center = center.to_owned();
        let diff = center - point;
        // np.linalg.norm of a 1-D float array is sqrt(dot(x, x)): same operations,
        // same rounding, so the same polygons pass the strict `<`.
        if diff.dot(&diff).sqrt() < max_dist.0 {
            close_polygons.push(poly);
        }
    }
    Ok(close_polygons)
    // ---- exercise: end ----
}

/// Exercise 1 of the poly-match workshop: stage 1's ``find_close_polygons``, by you.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(find_close_polygons, m)?)
}
