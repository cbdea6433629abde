//! A counting sort split across the threads of the current rayon pool: items
//! grouped by bucket, each bucket's items in their order, each thread writing
//! only its own band of buckets (no locks, no unsafe). Hand-written: sorting
//! crates order items by key, where here the caller decides where each bucket
//! goes and which items go nowhere.
use std::collections::TryReserveError;

use rayon::prelude::*;

use crate::{try_filled, try_vec};

/// Items per rayon task in [`each`]: large enough that splitting costs little.
const CHUNK: usize = 4096;

/// The threads that share the work: the current rayon pool's when `parallel`.
fn threads(parallel: bool) -> usize {
    if parallel {
        rayon::current_num_threads()
    } else {
        1
    }
}

/// `vec![value; n]`, written by every thread of the current pool when `parallel`.
pub fn filled<T: Clone + Send>(
    value: T,
    n: usize,
    parallel: bool,
) -> Result<Vec<T>, TryReserveError> {
    if !parallel {
        return try_filled(value, n);
    }
    let mut items = try_vec(n)?;
    // Into the room made above: extending asks for no more memory.
    items.par_extend(rayon::iter::repeat_n(value, n));
    Ok(items)
}

/// `f(i, &mut items[i])` for every item, on every thread of the current pool
/// when `parallel`, else in this thread.
pub fn each<T: Send>(items: &mut [T], parallel: bool, f: impl Fn(usize, &mut T) + Sync) {
    let chunk = |(k, items): (usize, &mut [T])| {
        for (i, item) in (k * CHUNK..).zip(items) {
            f(i, item);
        }
    };
    match parallel {
        true => items.par_chunks_mut(CHUNK).enumerate().for_each(chunk),
        false => items.chunks_mut(CHUNK).enumerate().for_each(chunk),
    }
}

/// `f(first, band)` for `items` cut into one band per thread of the current
/// pool (`first`: the band's first index), in parallel when `parallel`.
fn bands<T: Send>(items: &mut [T], parallel: bool, f: impl Fn(usize, &mut [T]) + Sync) {
    let size = items.len().div_ceil(threads(parallel)).max(1);
    let band = |(k, band): (usize, &mut [T])| f(k * size, band);
    match parallel {
        true => items.par_chunks_mut(size).enumerate().for_each(band),
        false => items.chunks_mut(size).enumerate().for_each(band),
    }
}

/// How many `keys` fall in each bucket `0..buckets` (a larger key: in none).
/// When `parallel`, each thread reads every key and counts its band of buckets.
pub fn count(
    keys: &[usize],
    buckets: usize,
    parallel: bool,
) -> Result<Vec<usize>, TryReserveError> {
    let mut counts = filled(0, buckets, parallel)?;
    bands(&mut counts, parallel, |first, counts| {
        for &key in keys {
            // A key before the band wraps around to far beyond it.
            if let Some(count) = counts.get_mut(key.wrapping_sub(first)) {
                *count += 1;
            }
        }
    });
    Ok(counts)
}

/// `out[at[keys[i]]] = item(i)` for every `i` in order, each bucket's `at`
/// then moving on: bucket `b`'s items fill `out[at[b]..at[b + 1]]` (`at`
/// rising from 0, its last bucket's room up to the end of `out`), in their order. A
/// key with no bucket (`>= at.len()`) puts its item nowhere. When `parallel`,
/// each thread reads every key and writes the items of its band of buckets.
pub fn place<T: Send>(
    keys: &[usize],
    at: &mut [usize],
    out: &mut [T],
    item: impl Fn(usize) -> T + Sync,
    parallel: bool,
) {
    // Bands of buckets, each with its part of `out`: cut at the buckets that
    // begin each thread's equal share of `out`.
    let (total, threads) = (out.len(), threads(parallel));
    let (mut bands, mut at, mut out, mut bucket) = (Vec::new(), at, out, 0);
    for k in 1..=threads {
        let cut = match k == threads {
            true => at.len(),
            false => at.partition_point(|&p| p < total / threads * k),
        };
        let (band, rest) = at.split_at_mut(cut);
        let start = total - out.len();
        let (room, more) = out.split_at_mut(rest.first().map_or(out.len(), |&p| p - start));
        bands.push((bucket, start, band, room));
        (at, out, bucket) = (rest, more, bucket + cut);
    }
    let fill = |(bucket, start, at, out): (usize, usize, &mut [usize], &mut [T])| {
        for (i, &key) in keys.iter().enumerate() {
            if let Some(next) = at.get_mut(key.wrapping_sub(bucket)) {
                out[*next - start] = item(i);
                *next += 1;
            }
        }
    };
    match parallel {
        true => bands.into_par_iter().for_each(fill),
        false => bands.into_iter().for_each(fill),
    }
}
