//! Exercise 2, the answer: stage 2's Polygon and search (stage 2 itself,
//! `stages/stage2_polygon/src/lib.rs`, also keeps a copying search to measure).
//! Read it once your own version passes `make check-exercise STAGE=2` (or when the
//! hints ran out): copy the lines between the markers into `src/lib.rs` to see
//! them pass.
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyList;

// ---- exercise: start (your code goes between the two markers) ----

/// A polygon given by the x and y coordinates of its vertices.
///
/// ``x`` and ``y``: anything numpy turns into a non-empty 1-D array of real
/// numbers, of the same length, stored as float64.
// `frozen`: no `&mut self` method can exist, so reading needs no borrow flag.
#[pyclass(frozen, subclass, module = "poly_match_exercise2._core")]
pub struct Polygon {
    vertices: common::Vertices,
    /// `[cx, cy]`: two numbers inside the object, no heap.
    center: [f64; 2],
}

impl Polygon {
    /// What `Polygon(x, y)` builds (see `#[new]` below), from the checked vertices.
    fn build(vertices: common::Vertices) -> Self {
        let center = vertices.center();
        Polygon { vertices, center }
    }

    /// `[cx, cy]`, numpy's mean to the last bit: what the `center` getter returns.
    fn center_xy(&self) -> [f64; 2] {
        self.center
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
    let mut close_polygons = Vec::new();
    for (i, poly) in polygons.iter().enumerate() {
        // `.get()` on a frozen class: a plain `&Polygon`, no borrow flag, and a
        // reference to the center where it lies, not a copy.
        let center = &common::polygon::<Polygon>(i, &poly)?.get().center;
        // np.linalg.norm for 2 numbers: sqrt(dx*dx + dy*dy), the same rounding.
        let (dx, dy) = (center[0] - point[0], center[1] - point[1]);
        if (dx * dx + dy * dy).sqrt() < max_dist {
            close_polygons.push(poly);
        }
    }
    Ok(close_polygons)
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

    fn __getnewargs__<'py>(
        &self,
        py: Python<'py>,
    ) -> (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>) {
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
