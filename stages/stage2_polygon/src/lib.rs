//! Stage 2: the Polygon moves into Rust.
//!
//! Stage 1 spent its time fetching `poly.center` from Python objects: getattr,
//! extract, `as_array().to_owned()`, for every polygon and every point. Here the
//! Polygon is a Rust struct that computes its center once, when it is built, and
//! `find_close_polygons` reads that center straight from the struct: no Python
//! call, no allocation, no borrow flag. Python subclasses it
//! (`poly_match_stage2.Polygon`) and keeps `area()` in Python.
//!
//! The math is plain Rust at the bottom of the file, so `cargo test` checks it
//! without Python.
use ndarray::{Array1, ArrayView1};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// A polygon given by the x and y coordinates of its vertices.
///
/// ``x`` and ``y``: anything numpy turns into a non-empty 1-D array of real
/// numbers (float or int arrays, lists, strided views), of the same length.
/// Stored as float64 (as the baseline's Polygon does); the center is computed
/// once, here. Immutable: ``find_close_polygons`` reads it with no borrow check.
///
/// Keeps copies: editing the caller's ``x`` afterwards does not move the
/// polygon (the baseline's Polygon keeps a float64 array as it is given, so
/// there an edit changes what it computes next).
///
/// Raises TypeError for None, strings or other non-numbers; ValueError for an
/// empty or non-1-D input and for ``x`` and ``y`` of different lengths.
// `frozen`: no `&mut self` method can exist, so reading needs no borrow flag.
#[pyclass(frozen, subclass, weakref, module = "poly_match_stage2._core")]
pub struct Polygon {
    vertices: common::Vertices,
    /// `[cx, cy]`: the one field the search reads.
    center: [f64; 2],
}

/// What Rust fills when a Polygon is built and the search reads from the
/// struct, never through Python: a subclass may not replace these.
static RUST_FIELDS: common::RustFields = common::RustFields::new(&["x", "y", "center"]);

#[pymethods]
impl Polygon {
    #[new]
    fn new(x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<Self> {
        let vertices = common::Vertices::new(x, y)?;
        let center = vertices.center();
        Ok(Polygon { vertices, center })
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

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        slf.get().vertices.repr(slf.as_any())
    }

    fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<common::XY<'py>> {
        self.vertices.newargs(py)
    }

    fn __reduce_ex__<'py>(slf: &Bound<'py, Self>, _protocol: i32) -> PyResult<Bound<'py, PyAny>> {
        common::reduce_ex(slf.as_any())
    }

    /// Subclasses may add methods and attributes; replacing ``center`` (in the
    /// class statement or later) raises TypeError, as the search reads the
    /// center Rust computed.
    #[classmethod]
    fn __init_subclass__(cls: &Bound<'_, PyType>) -> PyResult<()> {
        common::refuse_overrides::<Self>(cls, &RUST_FIELDS)
    }
}

/// The polygons whose center is closer than ``max_dist`` to ``point``.
///
/// ``polygons``: a list (or iterable) of ``Polygon``, this stage's or a subclass.
/// ``point``: 2 real numbers ``[x, y]`` (an array, list or tuple), no wider
/// than float64 and none masked: the distance is computed in float64.
/// Returns a new list of the same polygon objects (not copies), in input order.
///
/// Raises TypeError when an item is not a ``Polygon`` or the point is not 2
/// numbers; ValueError when the point does not hold exactly 2 numbers.
#[pyfunction]
fn find_close_polygons<'py>(
    polygons: &Bound<'py, PyAny>,
    point: &Bound<'py, PyAny>,
    max_dist: common::MaxDist,
) -> PyResult<Vec<Bound<'py, Polygon>>> {
    let point = common::point(point, || "point".to_owned())?;
    let mut close_polygons = Vec::new();
    for poly in common::polygons::<Polygon>(polygons, &RUST_FIELDS)? {
        // `.get()` on a frozen class: a plain `&Polygon`, no borrow flag to set
        // and clear, and the center is read where it lies, not copied.
        if is_close(&poly.get().center, &point, max_dist.0) {
            close_polygons.push(poly);
        }
    }
    Ok(close_polygons)
}

/// Same answer as ``find_close_polygons``, but copies each center into a new
/// array first, as stage 1 did: kept to measure what that allocation costs.
#[pyfunction]
fn find_close_polygons_allocating<'py>(
    polygons: &Bound<'py, PyAny>,
    point: &Bound<'py, PyAny>,
    max_dist: common::MaxDist,
) -> PyResult<Vec<Bound<'py, Polygon>>> {
    let point = common::point(point, || "point".to_owned())?;
    let point = ArrayView1::from(&point);
    let mut close_polygons = Vec::new();
    for poly in common::polygons::<Polygon>(polygons, &RUST_FIELDS)? {
        // One heap allocation (and one free) per polygon per point, as in stage 1.
        let center = Array1::from(poly.get().center.to_vec());
        let diff = center - point;
        if diff.dot(&diff).sqrt() < max_dist.0 {
            close_polygons.push(poly);
        }
    }
    Ok(close_polygons)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Polygon>()?;
    m.add_function(wrap_pyfunction!(find_close_polygons, m)?)?;
    m.add_function(wrap_pyfunction!(find_close_polygons_allocating, m)?)?;
    Ok(())
}

// --- The math: plain Rust, tested without Python ------------------------------

/// The baseline's test, `np.linalg.norm(center - point) < max_dist` (strict):
/// numpy computes `sqrt(dot(d, d))`, for 2 values `sqrt(dx*dx + dy*dy)`.
pub fn is_close(center: &[f64; 2], point: &[f64; 2], max_dist: f64) -> bool {
    let (dx, dy) = (center[0] - point[0], center[1] - point[1]);
    (dx * dx + dy * dy).sqrt() < max_dist
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_center_exactly_at_max_dist_is_not_close() {
        // 6^2 + 8^2 = 100 exactly: the search's `< max_dist` must say no.
        assert!(!is_close(&[0.0, 0.0], &[6.0, 8.0], 10.0));
        assert!(is_close(&[0.0, 0.0], &[6.0, 8.0], 10.000_000_000_001));
    }

    #[test]
    fn nan_is_never_close() {
        assert!(!is_close(&[f64::NAN, 0.0], &[0.0, 0.0], 10.0));
        assert!(!is_close(&[0.0, 0.0], &[0.0, 0.0], f64::NAN));
    }
}
