//! Stage 2: the Polygon moves into Rust.
//!
//! Stage 1 spent its time fetching `poly.center` from Python objects: getattr,
//! extract, `as_array().to_owned()`, for every polygon and every point. Here the
//! Polygon is a Rust struct that computes its center once, when it is built, and
//! `find_close_polygons` reads that center straight from the struct. Python
//! subclasses it (`poly_match_stage2.Polygon`) and keeps `area()` in Python.
//!
//! The math (the center, the distance) is plain Rust at the bottom of the file,
//! so `cargo test` checks it without Python.

use ndarray::{Array1, ArrayView1};
use numpy::prelude::*;
use numpy::{PyArray1, PyReadonlyArray1, PyUntypedArray, get_array_module};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyList;

/// A polygon given by the x and y coordinates of its vertices.
///
/// ``x`` and ``y``: anything numpy turns into a non-empty 1-D array of real
/// numbers (float or int arrays, lists, strided views), of the same length.
/// They are stored as float64 and the center is computed once, here.
///
/// Raises TypeError for None, strings or other non-numbers; ValueError for an
/// empty or non-1-D input and for ``x`` and ``y`` of different lengths.
#[pyclass(subclass, module = "poly_match_stage2._core")]
pub struct Polygon {
    // Owned by Rust, not numpy arrays kept as given: nobody can edit them in
    // place behind the center's back. The getters hand out copies.
    x: Vec<f64>,
    y: Vec<f64>,
    /// `[cx, cy]`: the one field the search reads.
    center: Array1<f64>,
}

#[pymethods]
impl Polygon {
    #[new]
    fn new(x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<Self> {
        let x = coordinates("x", x)?;
        let y = coordinates("y", y)?;
        if x.len() != y.len() {
            return Err(PyValueError::new_err(format!(
                "x and y must have the same length, got {} and {}",
                x.len(),
                y.len()
            )));
        }
        let center = polygon_center(&x, &y);
        Ok(Polygon { x, y, center })
    }

    /// The x coordinates, as a new float64 array (editing it does not move the polygon).
    #[getter]
    fn x<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.x)
    }

    /// The y coordinates, as a new float64 array (editing it does not move the polygon).
    #[getter]
    fn y<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.y)
    }

    /// The mean of the vertices, ``[cx, cy]``, as a new float64 array.
    #[getter]
    fn center<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.center.to_pyarray(py)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let poly = slf.try_borrow()?;
        Ok(format!(
            "{}(x={}, y={})",
            slf.get_type().qualname()?,
            PyArray1::from_slice(py, &poly.x).repr()?,
            PyArray1::from_slice(py, &poly.y).repr()?,
        ))
    }
}

/// The polygons whose center is closer than ``max_dist`` to ``point``.
///
/// ``polygons``: a list of ``Polygon`` (this stage's, or any subclass of it).
/// ``point``: a 1-D float64 numpy array ``[x, y]``.
/// Returns a new list of the same polygon objects (not copies), in input order.
///
/// Raises TypeError when an item is not a ``Polygon`` or the point is not a 1-D
/// float64 array; ValueError when the point does not hold exactly 2 numbers.
#[pyfunction]
fn find_close_polygons<'py>(
    polygons: &Bound<'py, PyList>,
    point: PyReadonlyArray1<'py, f64>,
    max_dist: f64,
) -> PyResult<Vec<Bound<'py, Polygon>>> {
    let point = point.as_array();
    check_point(point)?;
    let mut close_polygons = Vec::new();
    for (i, poly) in polygons.iter().enumerate() {
        let poly = as_polygon(i, poly)?;
        // A reference to the center, not a copy. The borrow guard lives as long as
        // the reference, so this block ends it before `poly` moves into the result.
        let close = {
            let center = &poly.try_borrow()?.center;
            is_close(center.view(), point, max_dist)
        };
        if close {
            close_polygons.push(poly);
        }
    }
    Ok(close_polygons)
}

/// Same answer as ``find_close_polygons``, but copies each center into a new
/// array first, as stage 1 did: kept to measure what that allocation costs.
#[pyfunction]
fn find_close_polygons_allocating<'py>(
    polygons: &Bound<'py, PyList>,
    point: PyReadonlyArray1<'py, f64>,
    max_dist: f64,
) -> PyResult<Vec<Bound<'py, Polygon>>> {
    let point = point.as_array();
    check_point(point)?;
    let mut close_polygons = Vec::new();
    for (i, poly) in polygons.iter().enumerate() {
        let poly = as_polygon(i, poly)?;
        // One heap allocation (and one free) per polygon per point.
        let center = poly.try_borrow()?.center.to_owned();
        if is_close(center.view(), point, max_dist) {
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

// --- Python input -> Rust values ----------------------------------------------

/// `values` as float64 coordinates, converted by numpy itself, or an error naming
/// the argument. Refused: None, strings, objects, bools, complex numbers, anything
/// not 1-D, and empty arrays. (`np.asarray(values, dtype=np.float64)` alone would
/// turn `[1, None]` into `[1, nan]` and `["1", "2"]` into numbers; the baseline
/// rejects both when it computes the center.)
fn coordinates(name: &str, values: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let py = values.py();
    let array = get_array_module(py)?
        .call_method1(intern!(py, "asarray"), (values,))
        .map_err(|err| naming(py, name, err))?;
    let array = array.cast_into::<PyUntypedArray>()?;
    let dtype = array.dtype();
    if !matches!(dtype.kind(), b'i' | b'u' | b'f') {
        let given = if values.is_none() {
            "None".to_string()
        } else {
            format!("{} (numpy dtype {dtype})", values.get_type().qualname()?)
        };
        return Err(PyTypeError::new_err(format!(
            "{name} must be a 1-D array of real numbers, not {given}"
        )));
    }
    if array.ndim() != 1 {
        return Err(PyValueError::new_err(format!(
            "{name} must be 1-D, got {}-D, shape {}",
            array.ndim(),
            array.getattr(intern!(py, "shape"))?.repr()?
        )));
    }
    if array.is_empty() {
        return Err(PyValueError::new_err(format!(
            "{name} is empty: a polygon needs at least one vertex"
        )));
    }
    // numpy's own cast (ints, float32, ...) to a new contiguous float64 array,
    // then copied into a Rust Vec.
    let floats = array
        .call_method1(intern!(py, "astype"), (numpy::dtype::<f64>(py),))?
        .cast_into::<PyArray1<f64>>()?;
    Ok(floats.to_vec()?)
}

/// numpy's TypeError/ValueError with the argument's name in front of its message.
fn naming(py: Python<'_>, name: &str, err: PyErr) -> PyErr {
    let message = format!("{name}: {}", err.value(py));
    let named = if err.is_instance_of::<PyTypeError>(py) {
        PyTypeError::new_err(message)
    } else if err.is_instance_of::<PyValueError>(py) {
        PyValueError::new_err(message)
    } else {
        return err;
    };
    named.set_cause(py, Some(err));
    named
}

/// Item `i` of the list as our Polygon: a type check (the object stays where it is).
fn as_polygon<'py>(i: usize, item: Bound<'py, PyAny>) -> PyResult<Bound<'py, Polygon>> {
    match item.cast_into::<Polygon>() {
        Ok(poly) => Ok(poly),
        Err(err) => Err(PyTypeError::new_err(format!(
            "polygons[{i}] must be a poly_match_stage2.Polygon, not {}",
            err.into_inner().get_type().fully_qualified_name()?
        ))),
    }
}

/// ndarray would panic on a point of another length: say so as a ValueError instead.
fn check_point(point: ArrayView1<'_, f64>) -> PyResult<()> {
    if point.len() != 2 {
        return Err(PyValueError::new_err(format!(
            "point must hold 2 numbers [x, y], got {}",
            point.len()
        )));
    }
    Ok(())
}

// --- The math: plain Rust, tested without Python ------------------------------

/// `[mean(x), mean(y)]`: the baseline's `np.array([x, y]).mean(axis=1)`, bit for bit.
pub fn polygon_center(x: &[f64], y: &[f64]) -> Array1<f64> {
    Array1::from(vec![mean(x), mean(y)])
}

/// The mean, summed in numpy's order so it equals numpy's bit for bit. A plain
/// left-to-right sum gives the baseline's center for 891 of the 1000 canonical
/// polygons, ndarray's `mean()` for 444: summation order changes the last bit.
pub fn mean(values: &[f64]) -> f64 {
    pairwise_sum(values) / values.len() as f64
}

/// numpy's `pairwise_sum` (numpy/_core/src/umath/loops_utils.h.src): under 8
/// values one by one; up to 128 in 8 running sums combined as a tree, then the
/// leftover values; beyond that, split in two (at a multiple of 8) and recurse.
pub fn pairwise_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        values.iter().fold(0.0, |sum, v| sum + v)
    } else if n <= 128 {
        let (blocks, rest) = values.split_at(n - n % 8);
        let mut r = [0.0; 8];
        for block in blocks.chunks_exact(8) {
            for (acc, v) in r.iter_mut().zip(block) {
                *acc += v;
            }
        }
        let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        rest.iter().fold(sum, |sum, v| sum + v)
    } else {
        let half = n / 2 - (n / 2) % 8;
        let (left, right) = values.split_at(half);
        pairwise_sum(left) + pairwise_sum(right)
    }
}

/// The baseline's test, `np.linalg.norm(center - point) < max_dist` (strict).
pub fn is_close(center: ArrayView1<'_, f64>, point: ArrayView1<'_, f64>, max_dist: f64) -> bool {
    distance(center, point) < max_dist
}

/// `np.linalg.norm(center - point)` for 2-D points (both hold 2 values):
/// numpy computes `sqrt(dot(d, d))`, and for 2 values that is `sqrt(dx*dx + dy*dy)`.
pub fn distance(center: ArrayView1<'_, f64>, point: ArrayView1<'_, f64>) -> f64 {
    let dx = center[0] - point[0];
    let dy = center[1] - point[1];
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn center_is_the_mean_of_the_vertices() {
        let center = polygon_center(&[0.0, 2.0, 2.0, 0.0], &[0.0, 0.0, 4.0, 4.0]);
        assert_eq!(center, array![1.0, 2.0]);
    }

    #[test]
    fn short_sums_go_left_to_right() {
        // 2^53 + 1 rounds back to 2^53 (ties to even), so every +1 is lost in order.
        let big = 2f64.powi(53);
        assert_eq!(pairwise_sum(&[big, 1.0, 1.0, 1.0]), big);
    }

    #[test]
    fn eight_or_more_values_are_summed_as_a_tree() {
        // r = [2^53, 1, 1, 1, 1, 1, 1, 1], then the leftover [0, 0]:
        // (2^53 + 1) -> 2^53, + (1 + 1) -> 2^53 + 2, + ((1 + 1) + (1 + 1)) -> 2^53 + 6.
        // Left to right, every +1 is lost and the sum stays 2^53.
        let big = 2f64.powi(53);
        let values = [big, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0];
        assert_eq!(pairwise_sum(&values), big + 6.0);
        assert_eq!(values.iter().sum::<f64>(), big);
    }

    #[test]
    fn long_sums_are_exact_on_integers() {
        // 1 + 2 + ... + 1000 = 500500 is exact in any order: checks that the
        // recursion neither drops nor repeats a value.
        let values: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(pairwise_sum(&values), 500_500.0);
        assert_eq!(mean(&values), 500.5);
    }

    #[test]
    fn distance_is_euclidean() {
        assert_eq!(
            distance(array![4.0, 6.0].view(), array![1.0, 2.0].view()),
            5.0
        );
    }

    #[test]
    fn a_center_exactly_at_max_dist_is_not_close() {
        // 6^2 + 8^2 = 100 exactly: the search's `< max_dist` must say no.
        let (center, point) = (array![0.0, 0.0], array![6.0, 8.0]);
        assert_eq!(distance(center.view(), point.view()), 10.0);
        assert!(!is_close(center.view(), point.view(), 10.0));
        assert!(is_close(center.view(), point.view(), 10.000_000_000_001));
    }
}
