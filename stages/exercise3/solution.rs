//! Exercise 3, the answer: stage 3's selector loop, and the shoelace area as
//! numpy computes it (stage 3 itself, `stages/stage3_selector/src/lib.rs`, goes
//! one step further and computes the exact area). Read it once your own version
//! passes `make check-exercise STAGE=3` (or when the hints ran out): copy the lines
//! between the markers into `src/lib.rs` to see them pass.
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

/// `(point, polygon)` indices: for every point with a polygon whose center is
/// closer than `max_dist`, the one of least area (the first on a tie).
pub fn select(sites: &[Site], points: &[[f64; 2]], max_dist: f64) -> PyResult<Vec<(usize, usize)>> {
    // Once per call: `d2 < t` says exactly what `sqrt(d2) < max_dist` says.
    let t = squared_threshold(max_dist);
    let mut picks = Vec::new();
    for (p, &[px, py]) in points.iter().enumerate() {
        let mut best: Option<usize> = None;
        for (i, site) in sites.iter().enumerate() {
            let (dx, dy) = (site.center[0] - px, site.center[1] - py);
            // Replace `best` only by a strictly smaller area: the first wins a tie.
            if dx * dx + dy * dy < t && best.is_none_or(|b| site.area < sites[b].area) {
                best = Some(i);
            }
        }
        // A point with no close polygon gets no pair.
        if let Some(i) = best {
            picks.push((p, i));
        }
    }
    Ok(picks)
}

/// The shoelace area, `0.5 * |x . roll(y, 1) - y . roll(x, 1)|`.
pub fn area(x: &[f64], y: &[f64]) -> PyResult<f64> {
    let n = x.len().min(y.len());
    let (mut x_dot_rolled_y, mut y_dot_rolled_x) = (0.0_f64, 0.0_f64);
    for i in 0..n {
        // roll(v, 1)[i] = v[i - 1], wrapping around at the start.
        let prev = if i == 0 { n - 1 } else { i - 1 };
        x_dot_rolled_y += x[i] * y[prev];
        y_dot_rolled_x += y[i] * x[prev];
    }
    Ok(0.5 * (x_dot_rolled_y - y_dot_rolled_x).abs())
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
