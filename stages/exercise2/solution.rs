// Exercise 2, the answer: the lines that go between the markers of src/lib.rs,
// `// ---- exercise: start` and `// ---- exercise: end`: stage 2's Polygon and search
// (stages/stage2_polygon/src/lib.rs also keeps a copying search, to measure it). Read
// them once your version passes `make check-exercise STAGE=2`, or when the hints ran out;
// pasted between the markers, they pass.

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
