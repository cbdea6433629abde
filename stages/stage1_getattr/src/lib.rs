//! Stage 1: `find_close_polygons` moved to Rust, line by line.
//!
//! The Python function it replaces (python_baseline/poly_match/__init__.py):
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
//! Same algorithm, same objects in and out. What it still pays per polygon and
//! per point (see the README's flamegraph): a Python attribute lookup, a numpy
//! type check and a heap copy of the center. Turning the arguments into Rust
//! values, with errors that name them, is `common`'s job, shared by every stage.
use numpy::PyReadonlyArray1;
use pyo3::intern;
use pyo3::prelude::*;

/// The polygons whose center is closer than ``max_dist`` to ``point``.
///
/// ``polygons``: a list of any objects with a ``.center`` attribute holding a
/// 1-D float64 numpy array ``[x, y]`` (``poly_match.Polygon`` has one).
/// ``point``: 2 real numbers ``[x, y]`` (an array, list or tuple), no wider
/// than float64 and none masked: the distance is computed in float64.
/// Returns a new list of the same polygon objects (not copies), in input order.
///
/// Raises AttributeError for a polygon without ``.center``; TypeError when a
/// center is not a 1-D float64 numpy array or the point is not 2 numbers;
/// ValueError when either does not hold exactly 2 numbers.
#[pyfunction]
fn find_close_polygons<'py>(
    // The GIL token: holding it proves this thread may touch Python objects.
    // Every `Bound<'py, _>` below carries the same `'py`, so none can outlive it.
    py: Python<'py>,
    polygons: &Bound<'py, PyAny>,
    point: &Bound<'py, PyAny>,
    max_dist: common::MaxDist,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let point = common::point(point, || "point".to_owned())?;
    // A read-only ndarray view of the two numbers: no copy.
    let point = ndarray::aview1(&point);
    let mut close_polygons = Vec::new();
    for (i, poly) in common::items("polygons", polygons)?.into_iter().enumerate() {
        // `poly.center`: a Python attribute lookup, run by the interpreter.
        // `intern!` makes the Python string "center" once and reuses it; a plain
        // "center" would build a new string per polygon, and CPython's attribute
        // cache matches names by identity, so every lookup would miss it.
        let center = poly
            .getattr(intern!(py, "center"))
            .map_err(common::at(py, "polygons", i))?;
        // `extract::<PyReadonlyArray1<f64>>()`: check it is a 1-D float64 numpy
        // array, and register a read-only borrow with rust-numpy, so no Rust code
        // may write to it while we read (`borrowed_pair` adds the errors).
        let center: PyReadonlyArray1<'py, f64> =
            common::borrowed_pair(&center, || format!("polygons[{i}].center"))?;
        let center = center.as_array();
        // The original post copies the two numbers into a fresh array it owns;
        // `center - point` then reuses that buffer for the result. One heap
        // allocation and free per polygon per point: stage 2 removes it.
        let center = center.to_owned();
        let diff = center - point;
        // np.linalg.norm of a 1-D float array is sqrt(dot(x, x)): same operations,
        // same rounding, so the same polygons pass the strict `<`.
        if diff.dot(&diff).sqrt() < max_dist.0 {
            close_polygons.push(poly);
        }
    }
    Ok(close_polygons)
}

/// Stage 1 of the poly-match workshop: ``find_close_polygons`` in Rust.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(find_close_polygons, m)?)
}
