//! Stage 3: the whole selector in Rust.
//!
//! `main` reads each Polygon's center and area (both computed once, in Rust, when
//! the Polygon is built), hands plain slices to the pure-Rust core in `grid`, and
//! wraps the picks back into `(point, polygon)` pairs of the caller's objects.
//! The math lives in `geometry` and `grid`, which know nothing about Python.
use numpy::prelude::*;
use numpy::{PyArray1, PyArray2, PyArrayDyn, PyUntypedArray, get_array_module};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

pub mod geometry;
pub mod grid;

use grid::Site;

/// A polygon given by the x and y coordinates of its vertices.
///
/// `x` and `y` are anything numpy turns into a non-empty 1-D array of real
/// numbers (float or int arrays, lists, strided views), of the same length;
/// they are stored as float64. The center and the area are computed once, here.
/// Immutable (`frozen`): `main` reads it with no borrow check, from any thread.
#[pyclass(frozen, subclass, module = "poly_match_stage3._core")]
pub struct Polygon {
    // Owned by Rust, not numpy arrays kept as given: nobody can edit them in
    // place behind the center's back. The getters hand out copies.
    x: Vec<f64>,
    y: Vec<f64>,
    /// `[cx, cy]` and the area: the two fields `main` reads, as plain floats.
    center: [f64; 2],
    area: f64,
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
        let center = geometry::center(&x, &y);
        let area = geometry::area(&x, &y);
        Ok(Polygon { x, y, center, area })
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

    /// The mean of the vertices, `[cx, cy]`, as a new float64 array.
    #[getter]
    fn center<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.center)
    }

    /// The polygon's area (shoelace formula, computed when it was built).
    fn area(&self) -> f64 {
        self.area
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let poly = slf.get();
        Ok(format!(
            "{}(x={}, y={})",
            slf.get_type().qualname()?,
            PyArray1::from_slice(py, &poly.x).repr()?,
            PyArray1::from_slice(py, &poly.y).repr()?,
        ))
    }
}

// --- Python input -> Rust values ----------------------------------------------

/// `values` as float64 coordinates, converted by numpy itself, or an error naming
/// the argument. Refused: None, strings, objects, bools, complex numbers, anything
/// not 1-D, and empty arrays. (`np.asarray(values, dtype=np.float64)` alone would
/// turn `[1, None]` into `[1, nan]` and `["1", "2"]` into numbers; the baseline
/// rejects both when it computes the center.)
fn coordinates(name: &str, values: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let py = values.py();
    let array = real_array(name, values)?;
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
    to_f64_vec(&array)
}

/// `np.asarray(values)`, refused unless it holds real numbers (ints or floats).
fn real_array<'py>(name: &str, values: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyUntypedArray>> {
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
            "{name} must be an array of real numbers, not {given}"
        )));
    }
    Ok(array)
}

/// numpy's own cast (ints, float32, ...) to a new contiguous float64 array, read
/// in order (row by row for a 2-D array).
fn to_f64_vec(array: &Bound<'_, PyUntypedArray>) -> PyResult<Vec<f64>> {
    let py = array.py();
    let floats = array
        .call_method1(intern!(py, "astype"), (numpy::dtype::<f64>(py),))?
        .cast_into::<PyArrayDyn<f64>>()?;
    Ok(floats.readonly().as_array().iter().copied().collect())
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

/// The objects of `obj` (a list, tuple or any iterable), kept alive for the call.
///
/// Holding our own references means another thread changing the caller's list
/// while `main` runs without the GIL cannot change which objects we return.
fn items<'py>(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = obj.cast::<PyList>() {
        return Ok(list.iter().collect());
    }
    let iter = obj.try_iter().map_err(|_| {
        let kind = type_name(obj);
        PyTypeError::new_err(format!("{name} must be a list, got {kind}"))
    })?;
    iter.collect()
}

/// `int`, `poly_match.Polygon`: with the module, as two classes may share a name.
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    let kind = obj.get_type().fully_qualified_name();
    kind.map_or_else(|_| "?".to_owned(), |n| n.to_string())
}

/// What `main` needs from each Polygon: its cached center and area.
fn read_sites(polygons: &[Bound<'_, PyAny>]) -> PyResult<Vec<Site>> {
    let mut sites = Vec::with_capacity(polygons.len());
    for (i, item) in polygons.iter().enumerate() {
        let polygon = item.cast::<Polygon>().map_err(|_| {
            let kind = type_name(item);
            let msg = format!("polygons[{i}] must be a poly_match_stage3.Polygon, got {kind}");
            PyTypeError::new_err(msg)
        })?;
        // `frozen`: a plain reference, no borrow flag to check or set.
        let p = polygon.get();
        sites.push(Site {
            center: p.center,
            area: p.area,
        });
    }
    Ok(sites)
}

/// The points as the caller gave them, to put the same objects in the result.
enum Points<'py> {
    /// A list of point objects (the baseline's list of 1-D arrays).
    Objects(Vec<Bound<'py, PyAny>>),
    /// An (N, 2) array: a pair holds its row `points[i]`, a view, as
    /// `for point in points` would give.
    Rows(Bound<'py, PyAny>),
}

impl<'py> Points<'py> {
    fn read(obj: &Bound<'py, PyAny>) -> PyResult<(Self, Vec<[f64; 2]>)> {
        // The common (N, 2) float64 array: read in place, no numpy call.
        if let Ok(array) = obj.cast::<PyArray2<f64>>() {
            if array.shape()[1] == 2 {
                let array = array.readonly();
                let coords = array
                    .as_array()
                    .rows()
                    .into_iter()
                    .map(|r| [r[0], r[1]])
                    .collect();
                return Ok((Points::Rows(obj.clone()), coords));
            }
        }
        if obj.cast::<PyUntypedArray>().is_ok() {
            let array = real_array("points", obj)?;
            if array.ndim() != 2 || array.shape()[1] != 2 {
                return Err(PyValueError::new_err(format!(
                    "points must be a list of points [x, y] or an (N, 2) array, got shape {}",
                    array.getattr(intern!(obj.py(), "shape"))?.repr()?
                )));
            }
            let flat = to_f64_vec(&array)?;
            let coords = flat.chunks_exact(2).map(|xy| [xy[0], xy[1]]).collect();
            return Ok((Points::Rows(obj.clone()), coords));
        }
        let objects = items("points", obj)?;
        let coords = objects
            .iter()
            .enumerate()
            .map(|(k, p)| point(k, p))
            .collect::<PyResult<_>>()?;
        Ok((Points::Objects(objects), coords))
    }

    fn get(&self, i: usize) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Points::Objects(objects) => Ok(objects[i].clone()),
            Points::Rows(array) => array.get_item(i),
        }
    }
}

/// The coordinates of `points[k]`: 2 real numbers (a 1-D array, list or tuple).
fn point(k: usize, obj: &Bound<'_, PyAny>) -> PyResult<[f64; 2]> {
    // The baseline's points are float64 arrays: read them without a numpy
    // call or a borrow check.
    if let Ok(array) = obj.cast::<PyArray1<f64>>() {
        if let (2, Some(x), Some(y)) = (array.len(), array.get_owned(0), array.get_owned(1)) {
            return Ok([x, y]);
        }
    }
    let name = format!("points[{k}]");
    let array = real_array(&name, obj)?;
    match to_f64_vec(&array)?[..] {
        [x, y] if array.ndim() == 1 => Ok([x, y]),
        _ => Err(PyValueError::new_err(format!(
            "{name} must be a point [x, y], got shape {}",
            array.getattr(intern!(obj.py(), "shape"))?.repr()?
        ))),
    }
}

/// Above this many polygons + points, `main` releases the GIL while the pure-Rust
/// part runs (a few hundred microseconds and up), so other Python threads run
/// meanwhile. Below it, handing the GIL over could cost more than the work: the
/// thread must then wait for another thread's switch interval (5 ms) to get it back.
const DETACH_ABOVE: usize = 20_000;

/// ``(point, polygon)`` for every point that has a polygon within ``max_dist``.
///
/// For each point, the polygon of least area among those whose center is closer
/// than ``max_dist`` (the first one on a tie); points with no close polygon are
/// skipped. ``points`` is a list of 1-D arrays ``[x, y]`` (the pairs hold the
/// same objects) or an (N, 2) array (the pairs hold its rows, ``points[i]``).
/// ``max_dist`` must be > 0.
#[pyfunction]
#[pyo3(signature = (polygons, points, max_dist = 10.0))]
fn main<'py>(
    py: Python<'py>,
    polygons: &Bound<'py, PyAny>,
    points: &Bound<'py, PyAny>,
    max_dist: f64,
) -> PyResult<Bound<'py, PyList>> {
    if max_dist.is_nan() || max_dist <= 0.0 {
        return Err(PyValueError::new_err(format!(
            "max_dist must be > 0, got {max_dist}"
        )));
    }
    let polygons = items("polygons", polygons)?;
    let sites = read_sites(&polygons)?;
    let (points, coords) = Points::read(points)?;

    let picks = if sites.len() + coords.len() > DETACH_ABOVE {
        py.detach(|| grid::select(&sites, &coords, max_dist))
    } else {
        grid::select(&sites, &coords, max_dist)
    };

    let pairs = picks
        .iter()
        .map(|pick| {
            PyTuple::new(
                py,
                [points.get(pick.point)?, polygons[pick.polygon].clone()],
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, pairs)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Polygon>()?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    Ok(())
}
