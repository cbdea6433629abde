//! What every stage needs and none of them teaches: Python input turned into Rust
//! values, with errors that name the argument, and the results turned back; the
//! Polygon's plumbing (its vertices, center, exact area and pickling); and, in
//! `parallel`, work on every core that survives `fork()` and answers Ctrl-C.
//!
//! Stages 1-4 call these, so a stage's own file holds only its lesson. Nothing
//! here trusts the caller: lengths come from iterating, never from `__len__`;
//! arrays numpy cannot hand over as plain aligned f64 are copied by numpy first
//! (or, for stage 1's borrowed views, refused with a ValueError). Memory whose
//! size the caller decides is asked for fallibly (MemoryError, not an abort,
//! under a memory limit), and the loops over the caller's objects let Python
//! handle Ctrl-C every few thousand items.
use std::collections::TryReserveError;

use numpy::prelude::*;
use numpy::{
    PyArray1, PyArray2, PyArrayDescr, PyArrayDyn, PyReadonlyArray1, PyUntypedArray,
    get_array_module, npyffi,
};
use pyo3::PyClass;
use pyo3::exceptions::{PyMemoryError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pyclass::boolean_struct::True;
use pyo3::sync::PyOnceLock;
use pyo3::types::{IntoPyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use pyo3::{ffi, intern};

pub mod buckets;
pub mod columns;
pub mod parallel;

// --- Memory and Ctrl-C in long loops ---------------------------------------------

/// An empty Vec with room for `n` items, or MemoryError.
///
/// `Vec::with_capacity` and a growing `push` abort the process when the memory
/// is not there (under `ulimit -v`, in a container): numpy raises MemoryError
/// then, and so do the stages.
pub fn vec_for<T>(n: usize) -> PyResult<Vec<T>> {
    try_vec(n).map_err(no_memory)
}

/// [`vec_for`] for code with no Python in it (it maps the error with [`no_memory`]).
pub fn try_vec<T>(n: usize) -> Result<Vec<T>, TryReserveError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)?;
    Ok(v)
}

/// `vec![value; n]`, or the error where the memory is not there.
pub fn try_filled<T: Clone>(value: T, n: usize) -> Result<Vec<T>, TryReserveError> {
    let mut v = try_vec(n)?;
    v.resize(n, value);
    Ok(v)
}

/// `v.push(item)`, or MemoryError where the Vec cannot grow.
#[inline]
pub fn push<T>(v: &mut Vec<T>, item: T) -> PyResult<()> {
    if v.len() == v.capacity() {
        v.try_reserve(1).map_err(no_memory)?;
    }
    v.push(item);
    Ok(())
}

/// The MemoryError for a failed reservation.
pub fn no_memory(err: TryReserveError) -> PyErr {
    PyMemoryError::new_err(err.to_string())
}

/// Python's signal handlers (Ctrl-C's KeyboardInterrupt) run only when asked
/// while Rust holds the GIL: the loops over the caller's objects ask every
/// this many items, a few hundred microseconds apart.
const SIGNAL_EVERY: usize = 4096;

/// Before item `k` of a long loop: every [`SIGNAL_EVERY`] items, let Python
/// handle signals (and raise what a handler raises).
#[inline]
fn tick(py: Python<'_>, k: usize) -> PyResult<()> {
    if k % SIGNAL_EVERY == SIGNAL_EVERY - 1 {
        py.check_signals()?;
    }
    Ok(())
}

// --- Sequences -------------------------------------------------------------------

/// The objects of `obj` (a list, a tuple or any iterable), our own references.
///
/// Iterated, not sized first: a `__len__` that lies cannot make us allocate. Our
/// own references also mean another thread editing the caller's list while a
/// stage runs without the GIL cannot change which objects we return. Only an
/// exact `list` is read from its storage: a subclass may override `__iter__`,
/// and `for poly in polygons` in the baseline would see what it yields.
pub fn items<'py>(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut out = vec_for(list_len(obj))?;
    read_each(
        name,
        obj,
        #[inline(always)]
        |_, item| push(&mut out, item),
    )?;
    Ok(out)
}

/// The length of an exact list (room to make before [`read_each`]), else 0.
fn list_len(obj: &Bound<'_, PyAny>) -> usize {
    obj.cast_exact::<PyList>().map_or(0, |list| list.len())
}

/// `each(k, item)` for the items of `obj`, in order, as [`items`] reads them.
#[inline(always)]
fn read_each<'py>(
    name: &str,
    obj: &Bound<'py, PyAny>,
    mut each: impl FnMut(usize, Bound<'py, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    let py = obj.py();
    if let Ok(list) = obj.cast_exact::<PyList>() {
        for (k, item) in list.iter().enumerate() {
            tick(py, k)?;
            each(k, item)?;
        }
        return Ok(());
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!("{name} must be a list, not {}", type_name(obj)))
    })?;
    for (k, item) in iter.enumerate() {
        tick(py, k)?;
        each(k, item?)?;
    }
    Ok(())
}

/// The polygons of one search, each a `T` (the stage's Polygon or a subclass),
/// read as [`items`] reads them, or a TypeError naming the first that is not.
///
/// No class met may replace one of `fields` ([`refuse_overrides`], once per
/// class per call).
pub fn polygons<'py, T: PyClass>(
    obj: &Bound<'py, PyAny>,
    fields: &RustFields,
) -> PyResult<Vec<Bound<'py, T>>> {
    Ok(polygons_and(obj, fields, |_| ())?.0)
}

/// [`polygons`], and `read(polygon)` for each: what the search needs of it,
/// taken in the same pass, while the object is in the CPU's cache (a second
/// loop over a thousand objects costs about as much again).
pub fn read_polygons<'py, T: PyClass<Frozen = True> + Sync, S>(
    obj: &Bound<'py, PyAny>,
    fields: &RustFields,
    mut read: impl FnMut(&T) -> S,
) -> PyResult<(Vec<Bound<'py, T>>, Vec<S>)> {
    polygons_and(obj, fields, |poly| read(poly.get()))
}

/// [`polygons`], and `read(polygon)` for each, in the same pass.
#[inline(always)]
fn polygons_and<'py, T: PyClass, S>(
    obj: &Bound<'py, PyAny>,
    fields: &RustFields,
    mut read: impl FnMut(&Bound<'py, T>) -> S,
) -> PyResult<(Vec<Bound<'py, T>>, Vec<S>)> {
    let (mut checked, n) = (Vec::new(), list_len(obj));
    let (mut polygons, mut values) = (vec_for(n)?, vec_for(n)?);
    // Inlined, with the rare paths in functions of their own: the loop stays
    // small enough for the CPU to fetch several polygons from memory at once.
    read_each(
        "polygons",
        obj,
        #[inline(always)]
        |i, item| {
            let poly = item
                .cast_into::<T>()
                .map_err(|err| not_a::<T>(i, &err.into_inner()))?;
            // The class's address, compared: no reference to the class taken per polygon.
            if checked.last() != Some(&poly.as_any().get_type_ptr()) {
                check_class::<T>(&mut checked, poly.as_any(), fields)?;
            }
            push(&mut values, read(&poly))?;
            push(&mut polygons, poly)
        },
    )?;
    Ok((polygons, values))
}

/// [`refuse_overrides`] for `obj`'s class, unless it is among `checked`; then
/// that class goes last in `checked`, where the next polygon's is looked for first.
#[cold]
#[inline(never)]
fn check_class<T: PyClass>(
    checked: &mut Vec<*mut ffi::PyTypeObject>,
    obj: &Bound<'_, PyAny>,
    fields: &RustFields,
) -> PyResult<()> {
    let class = obj.get_type_ptr();
    match checked.iter().position(|&c| c == class) {
        Some(k) => checked.remove(k),
        None => {
            refuse_overrides::<T>(&obj.get_type(), fields)?;
            checked.try_reserve(1).map_err(no_memory)?;
            class
        }
    };
    checked.push(class);
    Ok(())
}

/// A TypeError for a one-shot iterator (a generator, `iter(...)`, a file):
/// for `main`, which reads `name` once for all the points. The baseline reads
/// it once per point, so the first point uses it up and no other finds a
/// polygon: an answer no caller wants, and not one a single reading can give.
pub fn refuse_one_shot(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    if obj.is_exact_instance_of::<PyList>() || obj.is_exact_instance_of::<PyTuple>() {
        return Ok(()); // the usual case, known without making an iterator
    }
    match obj.try_iter() {
        Ok(iter) if iter.is(obj) => Err(PyTypeError::new_err(format!(
            "{name} is a one-shot iterator ({}): the baseline's loop would use it up on \
             the first point; pass a list, e.g. list({name})",
            type_name(obj)
        ))),
        _ => Ok(()),
    }
}

/// `polygons[i]` as the stage's Polygon class `T`, or a TypeError naming both.
pub fn polygon<'a, 'py, T: PyClass>(
    i: usize,
    item: &'a Bound<'py, PyAny>,
) -> PyResult<&'a Bound<'py, T>> {
    item.cast::<T>().map_err(|_| not_a::<T>(i, item))
}

#[cold]
#[inline(never)]
fn not_a<T: PyClass>(i: usize, item: &Bound<'_, PyAny>) -> PyErr {
    let expected = item.py().get_type::<T>();
    let expected = expected
        .fully_qualified_name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    PyTypeError::new_err(format!(
        "polygons[{i}] must be a {expected}, not {}",
        type_name(item)
    ))
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
    if let Some(xy) = float64_pair(obj) {
        return Ok(xy);
    }
    let array = point_values(&name(), obj).map_err(|err| {
        if !obj.is_instance_of::<PyString>() {
            return err;
        }
        PyTypeError::new_err(format!(
            "{}: iterating a pandas DataFrame gives its column names, not its rows; pass \
             its values, e.g. df[[\"x\", \"y\"]].to_numpy()",
            err.value(obj.py())
        ))
    })?;
    if array.ndim() != 1 || array.len() != 2 {
        return Err(PyValueError::new_err(format!(
            "{} must be a point [x, y], got shape {}",
            name(),
            shape(&array)?
        )));
    }
    let xy = to_f64_vec(&array)?;
    Ok([xy[0], xy[1]])
}

/// The baseline's points, float64 arrays `[x, y]`, read with no numpy call:
/// only a plain ndarray (a masked array's values may not count) of numpy's own
/// native float64 dtype (the one object numpy hands out for it: a pointer
/// comparison, not a dtype comparison through numpy's API), aligned and with a
/// whole-item stride, where rust-numpy reads it right. None for anything else.
fn float64_pair(obj: &Bound<'_, PyAny>) -> Option<[f64; 2]> {
    static FLOAT64: PyOnceLock<Py<PyArrayDescr>> = PyOnceLock::new();
    let array = obj.cast_exact::<PyUntypedArray>().ok()?;
    let float64 = FLOAT64.get_or_init(obj.py(), || numpy::dtype::<f64>(obj.py()).unbind());
    // SAFETY: an exact ndarray is a PyArrayObject. Its `dimensions` and
    // `strides` hold `nd` numbers; with `nd == 1`, a length of 2, numpy's
    // float64 dtype, the aligned flag and a stride of whole items, `data` and
    // `data + stride` are two aligned f64 inside the array.
    unsafe {
        let a = &*npyffi::_PyArray_GET_ITEM_DATA(array.as_array_ptr());
        let ok = a.nd == 1 && *a.dimensions == 2 && a.descr.cast() == float64.as_ptr();
        let stride = if a.nd == 1 { *a.strides } else { 1 };
        if !(ok && a.flags & npyffi::NPY_ARRAY_ALIGNED != 0 && stride % 8 == 0) {
            return None;
        }
        let x = a.data.cast::<f64>();
        Some([*x, *x.byte_offset(stride)])
    }
}

/// `np.asarray(obj)` for points, whose distances the stages compute in float64:
/// real numbers no wider than float64, nothing masked.
fn point_values<'py>(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyUntypedArray>> {
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        refuse_masked(name, array)?;
    }
    let array = real_array(name, obj)?;
    let dtype = array.dtype();
    if dtype.kind() == b'f' && dtype.itemsize() > 8 {
        return Err(PyTypeError::new_err(format!(
            "{name} is {dtype}, wider than float64: the baseline would compute its distances \
             in that precision, the stages compute them in float64; to get that answer, \
             pass .astype(np.float64)"
        )));
    }
    Ok(array)
}

/// A ValueError when a numpy.ma masked array has masked values (a plain
/// ndarray costs one type check). The baseline computes `center - point`, and
/// numpy.ma keeps the center's coordinate where the point's is masked: a masked
/// coordinate counts as no distance at all. No search here can give that
/// answer, and no caller means it. Masked arrays with nothing masked are read
/// as their values, as the baseline reads them.
fn refuse_masked(name: &str, array: &Bound<'_, PyUntypedArray>) -> PyResult<()> {
    if array.is_exact_instance_of::<PyUntypedArray>() {
        return Ok(());
    }
    let py = array.py();
    let masked = py
        .import(intern!(py, "numpy.ma"))?
        .call_method1(intern!(py, "is_masked"), (array,))?
        .is_truthy()?;
    if masked {
        return Err(PyValueError::new_err(format!(
            "{name} has masked values (numpy.ma): the baseline would count a masked \
             coordinate as no distance at all (numpy.ma keeps the center's coordinate in \
             center - point), an answer the stages do not give; fill them \
             (.filled(np.nan) is close to nothing) or leave those points out"
        )));
    }
    Ok(())
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
    let floats = floats.readonly();
    let floats = floats.as_slice()?;
    let mut values = vec_for(floats.len())?;
    values.extend_from_slice(floats);
    Ok(values)
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
        let mut coords = vec_for(objects.len())?;
        for (k, p) in objects.iter().enumerate() {
            tick(obj.py(), k)?;
            coords.push(point(p, || format!("points[{k}]"))?);
        }
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
            let exact = floats.is_exact_instance_of::<PyUntypedArray>();
            if floats.shape()[1] == 2 && plain(floats.as_untyped()) && exact {
                let floats = floats.readonly();
                let rows = floats.as_array();
                let mut coords = vec_for(rows.nrows())?;
                coords.extend(rows.rows().into_iter().map(|r| [r[0], r[1]]));
                return Ok((Points::Rows(view), coords));
            }
        }
        let array = point_values("points", &view)?;
        if array.ndim() != 2 || array.shape()[1] != 2 {
            return Err(PyValueError::new_err(format!(
                "points must be a list of points [x, y] or an (N, 2) array, got shape {}",
                shape(&array)?
            )));
        }
        let flat = to_f64_vec(&array)?;
        let mut coords = vec_for(flat.len() / 2)?;
        coords.extend(flat.chunks_exact(2).map(|xy| [xy[0], xy[1]]));
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
pub fn pairs<'py, T>(
    py: Python<'py>,
    points: &Points<'py>,
    polygons: &[Bound<'py, T>],
    picks: impl IntoIterator<IntoIter = impl ExactSizeIterator<Item = (usize, usize)>>,
) -> PyResult<Bound<'py, PyList>> {
    let picks = picks.into_iter();
    let list = new_list(py, picks.len())?;
    for (k, (p, i)) in picks.enumerate() {
        tick(py, k)?;
        let (point, polygon) = (points.get(p)?, polygons[i].clone());
        // SAFETY: PyTuple_New returns a new tuple, or NULL with an exception
        // set; PyTuple_SetItem fills its two empty slots (in range: it cannot
        // fail) with references we own (it takes them over), before anything
        // else can see the tuple.
        let pair = unsafe {
            let pair = Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(2))?;
            ffi::PyTuple_SetItem(pair.as_ptr(), 0, point.into_ptr());
            ffi::PyTuple_SetItem(pair.as_ptr(), 1, polygon.into_any().into_ptr());
            pair
        };
        list.set_item(k, pair)?;
    }
    Ok(list)
}

/// A list of `n` Nones, or MemoryError. (PyO3's list and tuple constructors
/// panic where Python cannot allocate one; the C API's raise MemoryError.)
fn new_list(py: Python<'_>, n: usize) -> PyResult<Bound<'_, PyList>> {
    let n = isize::try_from(n)?;
    // SAFETY: PyList_New returns a new reference, or NULL with an exception
    // set. Its n slots are empty (NULL) until set, and no Python code may see
    // it so: each gets None, with no Python code running before they all have.
    unsafe {
        let list = Bound::from_owned_ptr_or_err(py, ffi::PyList_New(n))?;
        for k in 0..n {
            ffi::PyList_SetItem(list.as_ptr(), k, py.None().into_ptr());
        }
        Ok(list.cast_into_unchecked())
    }
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
            array(py, &self.x)?.repr()?,
            array(py, &self.y)?.repr()?,
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
        let scale = |v: &[f64]| -> PyResult<Vec<f64>> {
            let mut scaled = vec_for(v.len())?;
            scaled.extend(v.iter().map(|c| c * 2f64.powi(-shift)));
            Ok(scaled)
        };
        Ok(match exact_area(&scale(&self.x)?, &scale(&self.y)?) {
            Some(area) => (area * 2f64.powi(shift) * 2f64.powi(shift)).min(f64::MAX),
            None => numpy,
        })
    }

    /// For `__getnewargs__`: `(x, y)`, what `Polygon(x, y)` needs to rebuild it.
    pub fn newargs<'py>(&self, py: Python<'py>) -> PyResult<XY<'py>> {
        Ok((array(py, &self.x)?, array(py, &self.y)?))
    }
}

/// A polygon's `(x, y)` as two numpy arrays.
pub type XY<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

/// `values` as a new float64 numpy array, or MemoryError: what a Polygon's
/// `x`, `y` and `center` return. (rust-numpy's constructors panic where numpy
/// cannot allocate; `np.empty` raises MemoryError.)
pub fn array<'py>(py: Python<'py>, values: &[f64]) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let array = get_array_module(py)?
        .call_method1(intern!(py, "empty"), (values.len(),))?
        .cast_into::<PyArray1<f64>>()?;
    array
        .try_readwrite()?
        .as_slice_mut()?
        .copy_from_slice(values);
    Ok(array)
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

/// What a Rust Polygon computes when it is built and the search reads from
/// the struct, never through Python (`x`, `y`, `center`, ...): a subclass that
/// replaced one would be silently ignored, so none may. A stage declares one
/// `static`: the names are interned once, and the Rust class's own attributes
/// kept as first seen, so a check is a pointer comparison per name (a fresh
/// name string would miss CPython's attribute cache every time).
pub struct RustFields {
    names: &'static [&'static str],
    originals: PyOnceLock<Vec<(Py<PyString>, Py<PyAny>)>>,
}

impl RustFields {
    pub const fn new(names: &'static [&'static str]) -> Self {
        RustFields {
            names,
            originals: PyOnceLock::new(),
        }
    }
}

/// A TypeError when `class` (a subclass of the Rust Polygon `T`, or `T`
/// itself) replaces one of `fields`. For `__init_subclass__`, when the class
/// statement runs, and for [`polygons`], once per class per call: `Sub.area =
/// ...` can replace a method after the class statement.
pub fn refuse_overrides<T: PyClass>(
    class: &Bound<'_, PyType>,
    fields: &RustFields,
) -> PyResult<()> {
    let py = class.py();
    let base = py.get_type::<T>();
    let originals = fields.originals.get_or_try_init(py, || {
        let interned = |&name| -> PyResult<_> {
            let name = PyString::intern(py, name);
            Ok((name.clone().unbind(), base.getattr(name)?.unbind()))
        };
        fields
            .names
            .iter()
            .map(interned)
            .collect::<PyResult<Vec<_>>>()
    })?;
    for (name, original) in originals {
        if !class.getattr(name)?.is(original) {
            let (last, others) = fields.names.split_last().unwrap_or((&"", &[]));
            return Err(PyTypeError::new_err(format!(
                "{} overrides {name}, but the search reads the {name} Rust computed when the \
                 polygon was built and would ignore the override: a subclass of {} may add \
                 methods and attributes, but not replace {} or {last}",
                class.qualname()?,
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
    let rolled = |v: &[f64]| -> PyResult<_> {
        let rolled = array(py, v)?;
        rolled.try_readwrite()?.as_slice_mut()?.rotate_right(1);
        Ok(rolled)
    };
    let dot = |a: &[f64], b| -> PyResult<f64> {
        get_array_module(py)?
            .call_method1(intern!(py, "dot"), (array(py, a)?, b))?
            .extract()
    };
    Ok(0.5 * (dot(x, rolled(y)?)? - dot(y, rolled(x)?)?).abs())
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
