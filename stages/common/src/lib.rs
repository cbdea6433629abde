//! What every stage needs and none of them teaches: Python input turned into Rust
//! values, with errors that name the argument, and the results turned back; the
//! Polygon's plumbing (its vertices, center, exact area and pickling); and, in
//! `parallel`, work on every core that survives `fork()` and answers Ctrl-C.
//!
//! Stages 1-4 call these, so a stage's own file holds only its lesson. Nothing
//! here trusts the caller: lengths come from iterating, never from `__len__`;
//! arrays numpy cannot hand over as plain aligned f64 are copied by numpy first
//! (or, for stage 1's borrowed views, refused with a ValueError).
use numpy::prelude::*;
use numpy::{PyArray1, PyArray2, PyArrayDyn, PyReadonlyArray1, PyUntypedArray, get_array_module};
use pyo3::PyClass;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyFloat, PyInt, PyList, PyTuple, PyType};

pub mod parallel;

// --- Sequences -------------------------------------------------------------------

/// The objects of `obj` (a list, a tuple or any iterable), our own references.
///
/// Iterated, not sized first: a `__len__` that lies cannot make us allocate. Our
/// own references also mean another thread editing the caller's list while a
/// stage runs without the GIL cannot change which objects we return. Only an
/// exact `list` is read from its storage: a subclass may override `__iter__`,
/// and `for poly in polygons` in the baseline would see what it yields.
pub fn items<'py>(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = obj.cast_exact::<PyList>() {
        return Ok(list.iter().collect());
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!("{name} must be a list, not {}", type_name(obj)))
    })?;
    iter.collect()
}

/// `polygons[i]` as the stage's Polygon class `T`, or a TypeError naming both.
pub fn polygon<'a, 'py, T: PyClass>(
    i: usize,
    item: &'a Bound<'py, PyAny>,
) -> PyResult<&'a Bound<'py, T>> {
    item.cast::<T>().map_err(|_| {
        let expected = item.py().get_type::<T>();
        let expected = expected
            .fully_qualified_name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        PyTypeError::new_err(format!(
            "polygons[{i}] must be a {expected}, not {}",
            type_name(item)
        ))
    })
}

/// `int`, `poly_match.Polygon`: with the module, as two classes may share a name.
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    let kind = obj.get_type().fully_qualified_name();
    kind.map_or_else(|_| "?".to_owned(), |n| n.to_string())
}

// --- Numbers ---------------------------------------------------------------------

/// One polygon coordinate array (`x` or `y`) as float64 values, or an error naming
/// it. Anything numpy turns into a non-empty 1-D array of real numbers (ints,
/// floats of any width, lists, strided views) is accepted and cast to float64 by
/// numpy, as the baseline's Polygon does. Refused: None, strings, objects, bools,
/// complex numbers, anything not 1-D, empty arrays.
pub fn coordinates(name: &str, values: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let array = real_array(name, values)?;
    if array.ndim() != 1 {
        return Err(PyValueError::new_err(format!(
            "{name} must be 1-D, got shape {}",
            shape(&array)?
        )));
    }
    if array.is_empty() {
        return Err(PyValueError::new_err(format!(
            "{name} is empty: a polygon needs at least one vertex"
        )));
    }
    to_f64_vec(&array)
}

/// A point `[x, y]`: a 1-D array, list or tuple of 2 real numbers. `name` is
/// only called to build an error message, so the usual case allocates nothing.
pub fn point(obj: &Bound<'_, PyAny>, name: impl Fn() -> String) -> PyResult<[f64; 2]> {
    // The baseline's points are float64 arrays: read them with no numpy call,
    // but only where rust-numpy reads them right (aligned, whole-item strides).
    if let Ok(array) = obj.cast::<PyArray1<f64>>() {
        if array.len() == 2 && plain(array.as_untyped()) {
            if let (Some(x), Some(y)) = (array.get_owned(0), array.get_owned(1)) {
                return Ok([x, y]);
            }
        }
    }
    let array = real_array(&name(), obj)?;
    match to_f64_vec(&array)?[..] {
        [x, y] if array.ndim() == 1 => Ok([x, y]),
        _ => Err(PyValueError::new_err(format!(
            "{} must be a point [x, y], got shape {}",
            name(),
            shape(&array)?
        ))),
    }
}

/// `max_dist`, as the float64 threshold `m` for which `distance < m` gives the
/// baseline's verdict for every float64 distance.
///
/// The baseline compares numpy's float64 distance with `max_dist` itself, and
/// Python compares a float with an int, `Decimal`, `Fraction` or `np.longdouble`
/// exactly. When `max_dist` lies between two floats, `distance < max_dist` holds
/// exactly when `distance < m` for `m` the next float above it, so that `m` is
/// what the stages use: no silent rounding to the nearest float. What the
/// baseline's `<` refuses is refused with its error, named: a `Decimal` NaN
/// (`decimal.InvalidOperation`), a complex, datetime or timedelta value (TypeError).
pub struct MaxDist(pub f64);

impl<'a, 'py> FromPyObject<'a, 'py> for MaxDist {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(value) = obj.cast_exact::<PyFloat>() {
            return Ok(MaxDist(value.value()));
        }
        let py = obj.py();
        let not_real = || {
            PyTypeError::new_err(format!(
                "max_dist must be a real number, not {}",
                type_name(&obj)
            ))
        };
        // float() of a numpy complex, datetime or timedelta value drops what it holds.
        if !obj.is_instance_of::<PyInt>() && numpy_kind(&obj).is_some_and(|k| b"cmM".contains(&k)) {
            return Err(not_real());
        }
        let m = match obj.extract::<f64>() {
            Ok(m) => m,
            // Beyond the float range. numpy turns an int into a float first, and
            // fails too; a Fraction it compares exactly: every distance is below it
            // (or, negative, none is).
            Err(err) if err.is_instance_of::<PyOverflowError>(py) => {
                if obj.is_instance_of::<PyInt>() {
                    return Err(naming(py, "max_dist", err));
                }
                if obj.gt(0)? {
                    f64::INFINITY
                } else {
                    f64::NEG_INFINITY
                }
            }
            // float() refused the value, not its type (a Decimal sNaN): the
            // baseline's comparison says why.
            Err(err) if err.is_instance_of::<PyValueError>(py) => {
                let err = PyFloat::new(py, 0.0).lt(&*obj).err().unwrap_or(err);
                return Err(naming(py, "max_dist", err));
            }
            Err(_) => return Err(not_real()),
        };
        let below = PyFloat::new(py, m)
            .lt(&*obj)
            .map_err(|err| naming(py, "max_dist", err))?;
        Ok(MaxDist(if below { m.next_up() } else { m }))
    }
}

/// The dtype kind (`b'f'`, `b'c'`, ...) of a numpy scalar or array, None for others.
fn numpy_kind(obj: &Bound<'_, PyAny>) -> Option<u8> {
    let dtype = obj.getattr(intern!(obj.py(), "dtype")).ok()?;
    Some(dtype.cast_into::<numpy::PyArrayDescr>().ok()?.kind())
}

/// Stage 1's borrowed view of a center: a 1-D float64 numpy array of 2 numbers,
/// read where it lies (no copy), so it is refused rather than copied when
/// rust-numpy would read it wrong (a byte stride that is not a multiple of 8, or
/// unaligned data: a field of a packed structured array, for example).
pub fn borrowed_pair<'py>(
    obj: &Bound<'py, PyAny>,
    name: impl Fn() -> String,
) -> PyResult<PyReadonlyArray1<'py, f64>> {
    let array = obj.extract::<PyReadonlyArray1<'py, f64>>().map_err(|err| {
        let reason = err.value(obj.py()).to_string().replace('\n', "");
        PyTypeError::new_err(format!(
            "{} must be a 1-D float64 numpy array: {reason}",
            name()
        ))
    })?;
    if !plain(array.as_untyped()) {
        return Err(PyValueError::new_err(format!(
            "{} is a strided or unaligned view rust-numpy cannot read in place \
             (byte strides {:?}); pass a copy: np.ascontiguousarray(...)",
            name(),
            array.strides()
        )));
    }
    if array.len() != 2 {
        return Err(PyValueError::new_err(format!(
            "{} must hold 2 numbers [x, y], got {}",
            name(),
            array.len()
        )));
    }
    Ok(array)
}

/// Aligned, and every byte stride a whole number of items: what rust-numpy's
/// views assume (0.30 divides byte strides by the item size).
fn plain(array: &Bound<'_, PyUntypedArray>) -> bool {
    let item = array.dtype().itemsize() as isize;
    array.is_aligned() && array.strides().iter().all(|s| s % item == 0)
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
            "None".to_owned()
        } else {
            format!("{} (numpy dtype {dtype})", type_name(values))
        };
        return Err(PyTypeError::new_err(format!(
            "{name} must be real numbers, not {given}"
        )));
    }
    Ok(array)
}

/// numpy's own cast into a new float64 array, its values in order (row by row
/// if 2-D). `np.array(..., order="C")` copies into aligned, native, row-major
/// memory, so any strides, alignment, byte order and layout are read right: a
/// column-major (N, 2) array (pandas' `to_numpy()`, a `.T` view) keeps its
/// layout through a plain `np.array`, and its flat values would pair the x of
/// one point with the x of another.
fn to_f64_vec(array: &Bound<'_, PyUntypedArray>) -> PyResult<Vec<f64>> {
    let py = array.py();
    let order = [(intern!(py, "order"), intern!(py, "C"))].into_py_dict(py)?;
    let floats = get_array_module(py)?
        .getattr(intern!(py, "array"))?
        .call((array, numpy::dtype::<f64>(py)), Some(&order))?
        .cast_into::<PyArrayDyn<f64>>()?;
    Ok(floats.readonly().as_slice()?.to_vec())
}

fn shape(array: &Bound<'_, PyUntypedArray>) -> PyResult<String> {
    Ok(array
        .getattr(intern!(array.py(), "shape"))?
        .repr()?
        .to_string())
}

/// The same kind of exception with the argument's name in front of its message
/// (the original kept as its cause).
fn naming(py: Python<'_>, name: &str, err: PyErr) -> PyErr {
    let message = format!("{name}: {}", err.value(py));
    let Ok(named) = err.get_type(py).call1((message,)) else {
        return err;
    };
    let named = PyErr::from_value(named);
    named.set_cause(py, Some(err));
    named
}

/// For `.map_err(common::at(py, "polygons", i))`: the error, its message
/// starting with `polygons[i]: `, so a caller knows which item failed.
pub fn at<'py>(py: Python<'py>, name: &'py str, i: usize) -> impl FnOnce(PyErr) -> PyErr + 'py {
    move |err| naming(py, &format!("{name}[{i}]"), err)
}

// --- Points in, pairs out (stages 3 and 4) ----------------------------------------

/// The points as the caller gave them, to put the same objects in the result.
pub enum Points<'py> {
    /// A list (or any iterable) of point objects: the baseline's list of arrays.
    Objects(Vec<Bound<'py, PyAny>>),
    /// An (N, 2) array: a pair holds its row `points[i]`, as `for point in points`
    /// would give.
    Rows(Bound<'py, PyAny>),
}

impl<'py> Points<'py> {
    /// The points and their coordinates.
    pub fn read(obj: &Bound<'py, PyAny>) -> PyResult<(Self, Vec<[f64; 2]>)> {
        if let Ok(array) = obj.cast::<PyUntypedArray>() {
            if array.ndim() != 1 {
                return Self::rows(array);
            }
        }
        // A list, a 1-D array (empty, or of point objects) or any iterable:
        // point by point, as the baseline's `for point in points` reads it.
        let objects = items("points", obj)?;
        let coords = objects
            .iter()
            .enumerate()
            .map(|(k, p)| point(p, || format!("points[{k}]")))
            .collect::<PyResult<_>>()?;
        Ok((Points::Objects(objects), coords))
    }

    /// An (N, 2) array, read through a view taken now: another thread that
    /// reshapes the caller's array while a stage runs without the GIL cannot
    /// change the rows the pairs hold (and numpy refuses to resize an array a
    /// view still uses).
    fn rows(array: &Bound<'py, PyUntypedArray>) -> PyResult<(Self, Vec<[f64; 2]>)> {
        let view = array.call_method0(intern!(array.py(), "view"))?;
        // The common float64 array: read in place, through its strides, no numpy call.
        if let Ok(floats) = view.cast::<PyArray2<f64>>() {
            if floats.shape()[1] == 2 && plain(floats.as_untyped()) {
                let floats = floats.readonly();
                let rows = floats.as_array();
                let coords = rows.rows().into_iter().map(|r| [r[0], r[1]]).collect();
                return Ok((Points::Rows(view), coords));
            }
        }
        let array = real_array("points", &view)?;
        if array.ndim() != 2 || array.shape()[1] != 2 {
            return Err(PyValueError::new_err(format!(
                "points must be a list of points [x, y] or an (N, 2) array, got shape {}",
                shape(&array)?
            )));
        }
        let flat = to_f64_vec(&array)?;
        let coords = flat.chunks_exact(2).map(|xy| [xy[0], xy[1]]).collect();
        Ok((Points::Rows(view), coords))
    }

    fn get(&self, i: usize) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Points::Objects(objects) => Ok(objects[i].clone()),
            Points::Rows(array) => array.get_item(i),
        }
    }
}

/// `[(point, polygon), ...]` for `(point index, polygon index)` picks: the
/// caller's own objects, not copies.
pub fn pairs<'py>(
    py: Python<'py>,
    points: &Points<'py>,
    polygons: &[Bound<'py, PyAny>],
    picks: impl IntoIterator<Item = (usize, usize)>,
) -> PyResult<Bound<'py, PyList>> {
    let pairs = picks
        .into_iter()
        .map(|(p, i)| PyTuple::new(py, [points.get(p)?, polygons[i].clone()]))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, pairs)
}

// --- The Polygon's plumbing (stages 2-4) --------------------------------------------

/// A polygon's vertices as float64, checked: what every stage's `Polygon(x, y)` keeps.
pub struct Vertices {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Vertices {
    /// `x` and `y` as [`coordinates`], of the same length.
    pub fn new(x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (x, y) = (coordinates("x", x)?, coordinates("y", y)?);
        if x.len() != y.len() {
            return Err(PyValueError::new_err(format!(
                "x and y must have the same length, got {} and {}",
                x.len(),
                y.len()
            )));
        }
        Ok(Vertices { x, y })
    }

    /// `[mean(x), mean(y)]`, numpy's to the last bit (see [`numpy_mean`]).
    pub fn center(&self) -> [f64; 2] {
        [numpy_mean(&self.x), numpy_mean(&self.y)]
    }

    /// `Polygon(x=array([...]), y=array([...]))`, with the object's own class name.
    pub fn repr(&self, obj: &Bound<'_, PyAny>) -> PyResult<String> {
        let py = obj.py();
        Ok(format!(
            "{}(x={}, y={})",
            obj.get_type().qualname()?,
            PyArray1::from_slice(py, &self.x).repr()?,
            PyArray1::from_slice(py, &self.y).repr()?,
        ))
    }

    /// The polygon's area: the true area of these float64 vertices, rounded once
    /// ([`exact_area`]), the same on every CPU. Where numpy's own shoelace
    /// overflows to inf or NaN (coordinates near 1e154 and beyond, or not
    /// finite), that inf or NaN: the baseline's area is then not a number a
    /// search can rank, and a stage must not turn it into one.
    pub fn area(&self, py: Python<'_>) -> PyResult<f64> {
        if let Some(area) = exact_area(&self.x, &self.y) {
            return Ok(area);
        }
        let numpy = numpy_area(py, &self.x, &self.y)?;
        if !numpy.is_finite() {
            return Ok(numpy);
        }
        // Finite in numpy, too large for `exact_area` as it stands: the same
        // sum on the vertices scaled by a power of two (exact), scaled back.
        let shift = (largest_abs(&self.x, &self.y).log2().ceil() as i32 - 500).max(0);
        let scale = |v: &Vec<f64>| v.iter().map(|c| c * 2f64.powi(-shift)).collect::<Vec<_>>();
        Ok(match exact_area(&scale(&self.x), &scale(&self.y)) {
            Some(area) => (area * 2f64.powi(shift) * 2f64.powi(shift)).min(f64::MAX),
            None => numpy,
        })
    }

    /// For `__getnewargs__`: `(x, y)`, what `Polygon(x, y)` needs to rebuild it.
    pub fn newargs<'py>(
        &self,
        py: Python<'py>,
    ) -> (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>) {
        (
            PyArray1::from_slice(py, &self.x),
            PyArray1::from_slice(py, &self.y),
        )
    }
}

/// For `__reduce_ex__`: Python's own pickle protocol, `object.__reduce_ex__(obj,
/// 2)`: `copyreg.__newobj__(type(obj), *obj.__getnewargs__())` and the state
/// Python takes from any instance (its `__dict__` and `__slots__`, or what a
/// subclass's `__getstate__` returns), at every protocol. So pickle, `copy` and
/// multiprocessing treat a subclass of a Rust Polygon as they treat a Python class.
pub fn reduce_ex<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    py.get_type::<PyAny>()
        .call_method1(intern!(py, "__reduce_ex__"), (obj, 2))
}

/// For a Rust Polygon's `__init_subclass__`: a TypeError when the new subclass
/// replaces one of `names`. The stage reads those from the Rust struct, filled
/// when the polygon is built, so a replacement would be silently ignored.
pub fn refuse_overrides<T: PyClass>(subclass: &Bound<'_, PyType>, names: &[&str]) -> PyResult<()> {
    let base = subclass.py().get_type::<T>();
    for &name in names {
        if !subclass.getattr(name)?.is(&base.getattr(name)?) {
            let (last, others) = names.split_last().unwrap_or((&name, &[]));
            return Err(PyTypeError::new_err(format!(
                "{} overrides {name}, but the search reads the {name} Rust computed when the \
                 polygon was built and would ignore the override: a subclass of {} may add \
                 methods and attributes, but not replace {} or {last}",
                subclass.qualname()?,
                base.fully_qualified_name()?,
                others.join(", "),
            )));
        }
    }
    Ok(())
}

/// numpy's shoelace, as the baseline writes it:
/// `0.5 * abs(dot(x, roll(y, 1)) - dot(y, roll(x, 1)))`.
fn numpy_area(py: Python<'_>, x: &[f64], y: &[f64]) -> PyResult<f64> {
    let roll = |v: &[f64]| -> Vec<f64> {
        let mut rolled = v.to_vec();
        rolled.rotate_right(1);
        rolled
    };
    let dot = |a: &[f64], b: Vec<f64>| -> PyResult<f64> {
        get_array_module(py)?
            .call_method1(
                intern!(py, "dot"),
                (PyArray1::from_slice(py, a), PyArray1::from_vec(py, b)),
            )?
            .extract()
    };
    Ok(0.5 * (dot(x, roll(y))? - dot(y, roll(x))?).abs())
}

// --- The exact area --------------------------------------------------------------

/// The shoelace area of float64 vertices, `0.5 * |sum x[i]*y[i-1] - y[i]*x[i-1]|`,
/// computed exactly and rounded once: each product is split into its rounded
/// value and its rounding error (exact, with a fused multiply-add), and the
/// terms are added with no rounding at all ([`ExactSum`]). None where a product
/// or a sum could overflow (a coordinate near 1e154 or beyond, or not finite).
///
/// numpy's `dot` rounds after every step, in an order and with fused or separate
/// multiply-adds depending on the CPU's BLAS kernel, and the canonical areas
/// differ only by that rounding; this is the answer every CPU agrees on.
/// (Products below about 1e-290 may lose their rounding error to underflow.)
pub fn exact_area(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    if !x.iter().chain(y).all(|v| v.is_finite()) {
        return None;
    }
    let largest = largest_abs(x, y);
    // Every product is at most largest^2 and every partial sum at most 2n of them.
    if largest * largest * (2 * n) as f64 > 2f64.powi(1020) {
        return None;
    }
    let mut sum = ExactSum::default();
    for i in 0..n {
        let prev = if i == 0 { n - 1 } else { i - 1 };
        sum.add_product(x[i], y[prev]);
        sum.add_product(-y[i], x[prev]);
    }
    Some(0.5 * sum.value().abs())
}

/// The largest magnitude among the coordinates.
fn largest_abs(x: &[f64], y: &[f64]) -> f64 {
    x.iter().chain(y).fold(0.0, |m: f64, v| m.max(v.abs()))
}

/// A sum of f64 values with no rounding until [`ExactSum::value`]: Shewchuk's
/// algorithm, as Python's `math.fsum` implements it (Modules/mathmodule.c). The
/// running sum is kept as a few non-overlapping f64 "partials" whose exact total
/// is the exact sum. Written out rather than taken from a crate: it is 30 lines,
/// and the tests check it against Python's `fractions`.
#[derive(Default)]
pub struct ExactSum {
    partials: Vec<f64>,
}

impl ExactSum {
    /// Adds `x` exactly (finite values only).
    pub fn add(&mut self, mut x: f64) {
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// Adds `a * b` exactly: its rounded value and, from a fused multiply-add,
    /// the rounding error (exact unless the product is tiny enough to underflow).
    pub fn add_product(&mut self, a: f64, b: f64) {
        let p = a * b;
        self.add(p);
        self.add(a.mul_add(b, -p));
    }

    /// The exact sum, rounded once to the nearest f64 (ties to even).
    pub fn value(&self) -> f64 {
        let p = &self.partials;
        let Some((&top, rest)) = p.split_last() else {
            return 0.0;
        };
        let (mut hi, mut lo, mut n) = (top, 0.0, rest.len());
        while n > 0 {
            n -= 1;
            let (x, y) = (hi, p[n]);
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        // Half-way between two floats by `hi`'s rounding, and the partials below
        // push the same way: round the other way.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

/// The mean, summed in numpy's order so it equals numpy's bit for bit. A plain
/// left-to-right sum gives the baseline's center for 891 of the 1000 canonical
/// polygons, and a center one bit off can move a point across `< max_dist`.
pub fn numpy_mean(values: &[f64]) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_or_more_values_are_summed_as_a_tree() {
        // r = [2^53, 1, 1, 1, 1, 1, 1, 1], then the leftover [0, 0]:
        // (2^53 + 1) -> 2^53, + (1 + 1) -> 2^53 + 2, + ((1 + 1) + (1 + 1)) -> 2^53 + 6.
        // Left to right, every +1 is lost and the sum stays 2^53.
        let big = 2f64.powi(53);
        let values = [big, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0];
        assert_eq!(pairwise_sum(&values), big + 6.0);
        assert_eq!(values.iter().sum::<f64>(), big);
        // Under 8 values: left to right.
        assert_eq!(pairwise_sum(&[big, 1.0, 1.0, 1.0]), big);
    }

    fn sum(values: &[f64]) -> f64 {
        let mut sum = ExactSum::default();
        values.iter().for_each(|&v| sum.add(v));
        sum.value()
    }

    #[test]
    fn an_exact_sum_rounds_once() {
        // Left to right, 1.0 is lost to 1e100 and comes back as 0.
        assert_eq!(sum(&[1e100, 1.0, -1e100]), 1.0);
        assert_eq!(sum(&[]), 0.0);
        // 1 + 2^-53 is half-way between 1 and the next float: ties go to even (1),
        // unless anything, however small, lies beyond the half.
        let (half, tiny) = (2f64.powi(-53), 2f64.powi(-200));
        assert_eq!(sum(&[1.0, half]), 1.0);
        assert_eq!(sum(&[1.0, half, tiny]), 1.0 + 2.0 * half);
        assert_eq!(sum(&[1.0, half, -tiny]), 1.0);
    }

    #[test]
    fn the_exact_area_does_not_move_with_the_polygon() {
        // Multiples of 2^-20 near 0 and near 2^30 are exact floats, and so is
        // the area of the polygon near 0 (small integers times 2^-40). Moved by
        // 2^30, the true area is the same; a rounding shoelace loses it.
        let step = 2f64.powi(-20);
        let x = [0.0, 3.0, 5.0, 1.0].map(|v| v * step);
        let y = [0.0, 1.0, 4.0, 6.0].map(|v| v * step);
        let at_zero = exact_area(&x, &y).expect("finite");
        assert_eq!(at_zero, 16.5 * step * step);
        let far = 2f64.powi(30);
        let (fx, fy) = (x.map(|v| v + far), y.map(|v| v + far));
        assert_eq!(exact_area(&fx, &fy), Some(at_zero));
        let naive = |x: &[f64; 4], y: &[f64; 4]| {
            let (mut a, mut b) = (0.0, 0.0);
            for i in 0..4 {
                a += x[i] * y[(i + 3) % 4];
                b += y[i] * x[(i + 3) % 4];
            }
            0.5 * (a - b).abs()
        };
        assert_ne!(naive(&fx, &fy), at_zero);
    }

    #[test]
    fn exact_area_leaves_overflow_and_non_finite_values_to_the_caller() {
        assert_eq!(
            exact_area(&[0.0, 1.0, 1.0, 0.0], &[0.0, 0.0, 1.0, 1.0]),
            Some(1.0)
        );
        assert_eq!(exact_area(&[2.0], &[3.0]), Some(0.0));
        assert_eq!(exact_area(&[0.0, 1e160, 0.0], &[0.0, 0.0, 1e160]), None);
        assert_eq!(exact_area(&[0.0, f64::NAN, 0.0], &[0.0, 0.0, 1.0]), None);
        assert_eq!(
            exact_area(&[0.0, f64::INFINITY, 0.0], &[0.0, 0.0, 1.0]),
            None
        );
    }

    #[test]
    fn long_sums_are_exact_on_integers() {
        // 1 + ... + 1000 is exact in any order: the recursion drops and repeats nothing.
        let values: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(pairwise_sum(&values), 500_500.0);
        assert_eq!(numpy_mean(&values), 500.5);
    }
}
