//! Columns in, columns out (stage 5): the polygons as vertex arrays `x`, `y` and
//! `offsets`, the points as an (N, 2) array, the pairs as two index arrays; and
//! a polygon's center and area from its slice of the columns, computed as the
//! Polygon of stages 2-4 computes them, with no Python.
//!
//! Every layout and dtype numpy makes is read right or refused naming the
//! argument: the plain case (a C-contiguous, aligned float64 ndarray in native
//! byte order) is read where it lies; anything else is first copied by numpy's
//! own cast (a column-major, strided, reversed, byte-swapped, int or float32
//! array). The offsets are always copied: they are checked once and then index
//! the vertices, so another thread must not change them afterwards.
use std::collections::TryReserveError;

use numpy::ndarray::{Dimension, Ix1, IxDyn};
use numpy::prelude::*;
use numpy::{
    Element, PyArray, PyArray1, PyArrayDyn, PyReadonlyArrayDyn, PyUntypedArray, get_array_module,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::IntoPyDict;

use crate::{
    exact_area, largest_abs, naming, point_values, real_array, refuse_masked, shape, to_f64_vec,
    try_vec, type_name, vec_for,
};

/// The polygons' columns, checked: `x` and `y` (read in place where they are
/// plain float64, else numpy's float64 copy) and `offsets`, where each polygon
/// starts, then the end: `x[offsets[i]..offsets[i + 1]]` is polygon `i`.
pub struct Columns<'py> {
    pub x: PyReadonlyArrayDyn<'py, f64>,
    pub y: PyReadonlyArrayDyn<'py, f64>,
    pub offsets: Vec<usize>,
}

/// `x`, `y` and `offsets` as a stage takes them: ragged (1-D `x` and `y`, one
/// value per vertex, and `offsets`, see [`offsets`]) or, with `offsets=None`,
/// every polygon the same number of vertices: `x` and `y` of shape (P, V), one
/// row per polygon. ValueError when `x` and `y` differ in shape.
pub fn polygons<'py>(
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    offsets: &Bound<'py, PyAny>,
) -> PyResult<Columns<'py>> {
    let rows = offsets.is_none();
    let (x, y) = (vertices("x", x, rows)?, vertices("y", y, rows)?);
    if x.shape() != y.shape() {
        return Err(PyValueError::new_err(format!(
            "x and y must have the same shape, got {:?} and {:?}",
            x.shape(),
            y.shape()
        )));
    }
    let offsets = match x.shape() {
        &[n_polygons, n_vertices] => {
            if n_vertices == 0 && n_polygons > 0 {
                return Err(PyValueError::new_err(
                    "x and y have no columns: each row is a polygon, and a polygon needs \
                     at least one vertex",
                ));
            }
            let mut starts = vec_for(n_polygons + 1)?;
            starts.extend((0..=n_polygons).map(|i| i * n_vertices));
            starts
        }
        _ => self::offsets(offsets, x.len())?,
    };
    Ok(Columns { x, y, offsets })
}

/// `x` or `y`: an array of real numbers (or anything numpy turns into one: a
/// pandas Series, a list), 1-D, or 2-D when `rows` (one row per polygon), as
/// float64, the caller's own memory where it already is plain float64. Floats
/// wider than float64 are rounded to it, as the baseline's `Polygon` stores
/// them; masked values are refused.
fn vertices<'py>(
    name: &str,
    obj: &Bound<'py, PyAny>,
    rows: bool,
) -> PyResult<PyReadonlyArrayDyn<'py, f64>> {
    let py = obj.py();
    let ndim = if rows { 2 } else { 1 };
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        refuse_masked(name, array)?;
    }
    // An ndarray as it is, a pandas Series' own values.
    let array = real_array(name, obj)?;
    if array.ndim() != ndim {
        let what = if rows {
            "2-D with offsets=None (one row of vertices per polygon)"
        } else {
            "1-D (one value per vertex; or 2-D, one row per polygon, with offsets=None)"
        };
        return Err(PyValueError::new_err(format!(
            "{name} must be {what}, got shape {}",
            shape(&array)?
        )));
    }
    if let Ok(floats) = array.cast::<PyArrayDyn<f64>>() {
        if in_place(floats.as_untyped()) {
            return Ok(floats.try_readonly()?);
        }
    }
    Ok(c_order::<f64, IxDyn>(py, &array)?.try_readonly()?)
}

/// A plain ndarray (not a subclass: a masked array's values may not count),
/// C-contiguous, aligned, in this machine's byte order: what a slice can read.
fn in_place(array: &Bound<'_, PyUntypedArray>) -> bool {
    array.is_exact_instance_of::<PyUntypedArray>()
        && array.is_c_contiguous()
        && array.is_aligned()
        && array.dtype().is_native_byteorder() != Some(false)
}

/// numpy's own cast of `array` into a new C-contiguous array of `T`.
fn c_order<'py, T: Element, D: Dimension>(
    py: Python<'py>,
    array: &Bound<'py, PyUntypedArray>,
) -> PyResult<Bound<'py, PyArray<T, D>>> {
    let order = [(intern!(py, "order"), intern!(py, "C"))].into_py_dict(py)?;
    Ok(get_array_module(py)?
        .getattr(intern!(py, "array"))?
        .call((array, numpy::dtype::<T>(py)), Some(&order))?
        .cast_into::<PyArray<T, D>>()?)
}

/// `offsets`: where each polygon's vertices start in `x` and `y`, then where the
/// last one ends (GeoArrow's and `shapely.from_ragged_array`'s layout), so
/// polygon `i` is `x[offsets[i]:offsets[i + 1]]`. Integers of any width;
/// starting at 0, every polygon at least one vertex, ending at `vertices`
/// (the length of `x`), or a ValueError saying which entry is wrong.
fn offsets(obj: &Bound<'_, PyAny>, vertices: usize) -> PyResult<Vec<usize>> {
    let py = obj.py();
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        refuse_masked("offsets", array)?;
    }
    let array = get_array_module(py)?
        .call_method1(intern!(py, "asarray"), (obj,))
        .map_err(|err| naming(py, "offsets", err))?;
    let array = array.cast_into::<PyUntypedArray>()?;
    if array.ndim() != 1 || array.is_empty() {
        return Err(PyValueError::new_err(format!(
            "offsets must be 1-D with one entry per polygon and one more (0 first, len(x) \
             last), got shape {}",
            shape(&array)?
        )));
    }
    let kind = array.dtype().kind();
    if !matches!(kind, b'i' | b'u') {
        return Err(PyTypeError::new_err(format!(
            "offsets must be integers (where each polygon's vertices start, then the end), \
             not {} (numpy dtype {})",
            type_name(obj),
            array.dtype()
        )));
    }
    // Both casts are exact: every signed int fits int64, every unsigned one uint64.
    if kind == b'u' {
        starts(&c_order::<u64, Ix1>(py, &array)?, vertices)
    } else {
        starts(&c_order::<i64, Ix1>(py, &array)?, vertices)
    }
}

/// The offsets as indices, each checked as it is read.
fn starts<T: Element + Copy + Into<i128>>(
    array: &Bound<'_, PyArray1<T>>,
    vertices: usize,
) -> PyResult<Vec<usize>> {
    let array = array.try_readonly()?;
    let values = array.as_slice()?;
    let mut starts = vec_for(values.len())?;
    for (i, &v) in values.iter().enumerate() {
        let v: i128 = v.into();
        let previous = starts.last().map_or(-1, |&s: &usize| s as i128);
        let why = if i == 0 && v != 0 {
            "the first must be 0"
        } else if v <= previous {
            "each must be larger than the one before (a polygon needs at least one vertex)"
        } else if v > vertices as i128 {
            "none may be larger than len(x)"
        } else {
            starts.push(v as usize);
            continue;
        };
        return Err(PyValueError::new_err(format!(
            "offsets[{i}] is {v}: {why}; offsets hold where each polygon's vertices start, \
             then the end (len(x) = {vertices})"
        )));
    }
    match starts.last() {
        Some(&end) if end == vertices => Ok(starts),
        end => Err(PyValueError::new_err(format!(
            "offsets end at {}, but x has {vertices} vertices: the last offset is len(x)",
            end.copied().unwrap_or(0)
        ))),
    }
}

/// The points as an (N, 2) array of real numbers, row `i` the point `i` (any
/// layout: pandas' column-major `to_numpy()` included), as float64 pairs.
/// Refused, as stages 3-4 refuse them: floats wider than float64, masked values.
pub fn points(obj: &Bound<'_, PyAny>) -> PyResult<Vec<[f64; 2]>> {
    let array = point_values("points", obj)?;
    if array.ndim() != 2 || array.shape()[1] != 2 {
        return Err(PyValueError::new_err(format!(
            "points must be an (N, 2) array, one row [x, y] per point, got shape {}",
            shape(&array)?
        )));
    }
    let flat = to_f64_vec(&array)?;
    let mut coords = vec_for(flat.len() / 2)?;
    coords.extend(flat.chunks_exact(2).map(|xy| [xy[0], xy[1]]));
    Ok(coords)
}

/// `(point_index, polygon_index)`: two numpy `np.intp` arrays of one length.
pub type Indices<'py> = (Bound<'py, PyArray1<isize>>, Bound<'py, PyArray1<isize>>);

/// `(point_index, polygon_index)` as two new numpy int arrays (`np.intp`), or MemoryError.
pub fn indices<'py>(py: Python<'py>, picks: &[(usize, usize)]) -> PyResult<Indices<'py>> {
    let column = |which: fn(&(usize, usize)) -> usize| -> PyResult<_> {
        let array = get_array_module(py)?
            .call_method1(
                intern!(py, "empty"),
                (picks.len(), numpy::dtype::<isize>(py)),
            )?
            .cast_into::<PyArray1<isize>>()?;
        let mut out = array.try_readwrite()?;
        for (o, pick) in out.as_slice_mut()?.iter_mut().zip(picks) {
            // An index of a Rust slice is at most isize::MAX.
            *o = which(pick) as isize;
        }
        drop(out);
        Ok(array)
    };
    Ok((column(|p| p.0)?, column(|p| p.1)?))
}

// --- A polygon's area, as the Polygon computes it, without Python ---------------

/// The area `Polygon(x, y).area()` has in stages 2-4 (`Vertices::area`), bit for
/// bit, computed here with no Python: the exact shoelace area rounded once;
/// where numpy's own shoelace overflows, numpy's inf or NaN ([`numpy_shoelace`]).
/// An error only where the rare scaled path cannot get its memory.
pub fn area(x: &[f64], y: &[f64]) -> Result<f64, TryReserveError> {
    if let Some(area) = integer_area(x, y).or_else(|| exact_area(x, y)) {
        return Ok(area);
    }
    let numpy = numpy_shoelace(x, y);
    if !numpy.is_finite() {
        return Ok(numpy);
    }
    // As `Vertices::area`: the vertices scaled by a power of two, scaled back.
    let shift = (largest_abs(x, y).log2().ceil() as i32 - 500).max(0);
    let scale = |v: &[f64]| -> Result<Vec<f64>, TryReserveError> {
        let mut scaled = try_vec(v.len())?;
        scaled.extend(v.iter().map(|c| c * 2f64.powi(-shift)));
        Ok(scaled)
    };
    Ok(match exact_area(&scale(x)?, &scale(y)?) {
        Some(area) => (area * 2f64.powi(shift) * 2f64.powi(shift)).min(f64::MAX),
        None => numpy,
    })
}

/// numpy's shoelace as the baseline writes it, `0.5 * abs(dot(x, roll(y, 1)) -
/// dot(y, roll(x, 1)))`, each dot summed left to right from 0.0 as OpenBLAS sums
/// fewer than 16 values. Only read where it is not finite (inf or NaN), which
/// does not depend on the order but where a partial sum overflows in one order
/// and not in another.
pub fn numpy_shoelace(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    let dot = |a: &[f64], b: &[f64]| (0..n).fold(0.0, |sum, i| sum + a[i] * b[(i + n - 1) % n]);
    0.5 * (dot(x, y) - dot(y, x)).abs()
}

/// [`exact_area`]'s value, faster where the vertices allow it: each axis's
/// coordinates are integers times one power of two (`x[i] = mx[i] * 2^sx`, the
/// usual case: coordinates of similar size), so the shoelace in the form
/// `sum mx[i] * (my[i - 1] - my[i + 1])` is an exact integer sum (i128), rounded
/// once. None where that does not hold or [`exact_area`] would not answer:
/// then the caller asks it.
pub fn integer_area(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let (big_x, big_y) = (largest_abs(x, &[]), largest_abs(y, &[]));
    let largest = big_x.max(big_y);
    // `exact_area`'s own limit: beyond it the Polygon's area comes from numpy.
    // False for NaN too.
    let within = largest * largest * (2 * n) as f64 <= 2f64.powi(1020);
    if n < 3 || !within {
        return None;
    }
    // |m| < 2^bits on each axis: n products below 2^(2 bits + 1) fit in an i128.
    let bits = (125 - n.next_power_of_two().trailing_zeros() as i32) / 2;
    let (sx, sy) = (step(big_x, bits)?, step(big_y, bits)?);
    // Products and their rounding errors are whole multiples of 2^(sx + sy):
    // above 2^-1074 `exact_area` loses none of them to underflow, and agrees.
    let k = sx + sy;
    if k < -1074 {
        return None;
    }
    let (down_x, down_y) = (pow2(-sx), pow2(-sy));
    let mut exact = true;
    let mut int = |v: f64, down: f64| {
        let scaled = v * down;
        let m = scaled as i64;
        exact &= m as f64 == scaled;
        m
    };
    let (first, mut prev) = (int(y[0], down_y), int(y[n - 1], down_y));
    let (mut sum, mut current) = (0i128, first);
    for i in 0..n {
        let next = if i + 1 < n {
            int(y[i + 1], down_y)
        } else {
            first
        };
        sum += i128::from(int(x[i], down_x)) * i128::from(prev - next);
        (prev, current) = (current, next);
    }
    // Rounded once (an int-to-float `as` rounds to nearest, ties to even), then
    // scaled by a power of two: exact while the result stays a normal float.
    let rounded = sum.unsigned_abs() as f64;
    let area = match k {
        -1022..=1023 => rounded * pow2(k),
        ..-1022 => rounded * pow2(k + 200) * pow2(-200),
        _ => f64::INFINITY,
    };
    (exact && area.is_finite() && (sum == 0 || area >= f64::MIN_POSITIVE)).then_some(0.5 * area)
}

/// `s` with every value of magnitude at most `largest` below 2^bits times 2^s,
/// or None for 0, subnormal and non-finite `largest` or an `s` with no float 2^-s.
fn step(largest: f64, bits: i32) -> Option<i32> {
    if !(f64::MIN_POSITIVE..=f64::MAX).contains(&largest) {
        return None;
    }
    let exponent = ((largest.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    let s = exponent + 1 - bits;
    (-1022..=1022).contains(&s).then_some(s)
}

/// 2^k for -1022 <= k <= 1023.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic generator (xorshift), so the tests need no crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn the_integer_area_is_the_exact_area() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut used = 0;
        for case in 0..200_000 {
            let n = 1 + (rng.next() % 40) as usize;
            // Coordinates of one size (the integer path), of any size (the
            // fallback), on coarse grids (exact ties), huge, tiny, negative.
            let scale = match case % 5 {
                0 => 1.0,
                1 => 1e6,
                2 => 1e-300,
                3 => 1e150,
                _ => 2f64.powi((rng.next() % 200) as i32 - 100),
            };
            let coordinate = |rng: &mut Rng| match case % 3 {
                0 => (rng.unit() - 0.3) * scale,
                1 => ((rng.next() % 64) as f64 - 20.0) * scale / 8.0,
                _ => (rng.next() % 100) as f64 + rng.unit(),
            };
            let x: Vec<f64> = (0..n).map(|_| coordinate(&mut rng)).collect();
            let y: Vec<f64> = (0..n).map(|_| coordinate(&mut rng)).collect();
            if let Some(fast) = integer_area(&x, &y) {
                used += 1;
                assert_eq!(Some(fast), exact_area(&x, &y), "x={x:?} y={y:?}");
            }
        }
        // The fast path is taken often enough for the comparison to mean something.
        assert!(used > 50_000, "{used}");
    }

    #[test]
    fn area_falls_back_to_numpy_where_it_overflows() {
        // A product near 1e320 overflows in numpy's dot: |0 - inf| is inf, and where
        // both dots overflow, inf - inf is NaN.
        let (x, y) = ([0.0, 1e160, 0.0], [0.0, 0.0, 1e160]);
        assert_eq!(area(&x, &y).expect("memory"), f64::INFINITY);
        let (x, y) = ([0.0, 1e160, 1e160], [1e160, 0.0, 1e160]);
        assert!(area(&x, &y).expect("memory").is_nan());
        assert!(
            area(&[0.0, f64::NAN, 0.0], &[0.0, 0.0, 1.0])
                .expect("memory")
                .is_nan()
        );
        // An infinite vertex: both of numpy's dots are inf, and so NaN, as the
        // Polygon's area is (tests/test_stage5.py picks as stage 3 on such vertices).
        let (x, y) = ([0.0, f64::INFINITY, 1.0], [1.0, 1.0, 2.0]);
        assert!(area(&x, &y).expect("memory").is_nan());
        assert!(numpy_shoelace(&x, &y).is_nan());
        // Large but finite in numpy: the scaled exact area.
        let (x, y) = ([0.0, 2e153, 0.0], [0.0, 0.0, 2e153]);
        assert_eq!(area(&x, &y).expect("memory"), 2e153 * 2e153 / 2.0);
        assert_eq!(area(&[1.0], &[2.0]).expect("memory"), 0.0);
    }

    #[test]
    fn exact_ties_and_cancellation() {
        // The unit square moved by 2^40 on both axes: the true area is 1, and the
        // products cancel to 1 part in 2^80.
        let far = 2f64.powi(40);
        let x = [0.0, 1.0, 1.0, 0.0].map(|v| v + far);
        let y = [0.0, 0.0, 1.0, 1.0].map(|v| v + far);
        assert_eq!(integer_area(&x, &y), Some(1.0));
        assert_eq!(exact_area(&x, &y), Some(1.0));
    }
}
