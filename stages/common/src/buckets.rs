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

/// Whether to split the work: asked for, and more than one thread to share it.
fn split(parallel: bool) -> bool {
    threads(parallel) > 1
}

/// `vec![value; n]`, written by every thread of the current pool when `parallel`.
pub fn filled<T: Clone + Send>(
    value: T,
    n: usize,
    parallel: bool,
) -> Result<Vec<T>, TryReserveError> {
    if !split(parallel) {
        return try_filled(value, n);
    }
    let mut items = try_vec(n)?;
    // Into the room made above: extending asks for no more memory.
    items.par_extend(rayon::iter::repeat_n(value, n));
    Ok(items)
}

/// `items.map(f)` as a Vec, computed on every thread of the current pool when
/// `parallel`.
pub fn map<T: Sync, U: Send>(
    items: &[T],
    f: impl Fn(&T) -> U + Sync + Send,
    parallel: bool,
) -> Result<Vec<U>, TryReserveError> {
    let mut out = try_vec(items.len())?;
    match split(parallel) {
        // Into the room made above: extending asks for no more memory.
        true => out.par_extend(items.par_iter().map(f)),
        false => out.extend(items.iter().map(f)),
    }
    Ok(out)
}

/// Whether `f` holds for any item, asked on every thread of the current pool
/// when `parallel`.
pub fn any<T: Sync>(items: &[T], f: impl Fn(&T) -> bool + Sync + Send, parallel: bool) -> bool {
    match split(parallel) {
        true => items.par_iter().any(f),
        false => items.iter().any(f),
    }
}

/// `f(i, &mut items[i])` for every item, on every thread of the current pool
/// when `parallel`, else in this thread.
pub fn each<T: Send>(items: &mut [T], parallel: bool, f: impl Fn(usize, &mut T) + Sync) {
    let chunk = |(k, items): (usize, &mut [T])| {
        for (i, item) in (k * CHUNK..).zip(items) {
            f(i, item);
        }
    };
    match split(parallel) {
        true => items.par_chunks_mut(CHUNK).enumerate().for_each(chunk),
        false => items.chunks_mut(CHUNK).enumerate().for_each(chunk),
    }
}

/// How many `keys` fall in each bucket `0..buckets` (a larger key: in none).
/// In one thread: a pass this cheap gains nothing from a second one.
pub fn count(keys: &[usize], buckets: usize) -> Result<Vec<usize>, TryReserveError> {
    let mut counts = try_filled(0, buckets)?;
    for &key in keys {
        if let Some(count) = counts.get_mut(key) {
            *count += 1;
        }
    }
    Ok(counts)
}

/// `out[at[keys[i]]] = item(i)` for every `i` in order, each bucket's `at`
/// then moving on: `at[b]` is where bucket `b`'s items begin in `out`, in
/// their order. A key with no bucket (`>= at.len()`) puts its item nowhere.
/// When `parallel`, the buckets must begin in rising order from 0 (bucket `b`
/// filling `out[at[b]..at[b + 1]]`, the last up to the end of `out`): each
/// thread reads every key and writes the items of its band of buckets.
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
        let buckets = at.len();
        let mut put = |i: usize, key: usize| {
            let next = &mut at[key - bucket];
            out[*next - start] = item(i);
            *next += 1;
        };
        if threads == 1 {
            for (i, &key) in keys.iter().enumerate() {
                if key < buckets {
                    put(i, key);
                }
            }
            return;
        }
        // Each block's keys of this band listed first, with no branch: one per
        // key, taken half the time at random on two threads, costs more than
        // the placing.
        const BLOCK: usize = 1024;
        let mut mine = [0; BLOCK];
        for (b, block) in keys.chunks(BLOCK).enumerate() {
            let mut m = 0;
            for (k, &key) in block.iter().enumerate() {
                mine[m] = k;
                m += usize::from(key.wrapping_sub(bucket) < buckets);
            }
            for &k in &mine[..m] {
                put(b * BLOCK + k, block[k]);
            }
        }
    };
    match threads > 1 {
        true => bands.into_par_iter().for_each(fill),
        false => bands.into_iter().for_each(fill),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items grouped by bucket in the order given by `at`, each bucket's in
    /// their order, the same on every core as on one; keys with no bucket dropped.
    #[test]
    fn every_core_places_as_one() {
        let mut s = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for (n, buckets) in [(50_000, 3000), (20_000, 7), (9000, 40_000), (0, 5), (10, 1)] {
            // A few keys beyond the buckets, and buckets crowded at one end.
            let keys: Vec<usize> = (0..n)
                .map(|_| match next() % 10 {
                    0 => usize::MAX - (next() % 3) as usize,
                    1 | 2 => (next() % 3) as usize % buckets,
                    _ => (next() % buckets as u64) as usize,
                })
                .collect();
            let counts = count(&keys, buckets).expect("memory");
            let mut at = vec![0; buckets];
            let mut total = 0;
            for (a, c) in at.iter_mut().zip(&counts) {
                (*a, total) = (total, total + c);
            }
            let mut expected: Vec<usize> = (0..n).filter(|&i| keys[i] < buckets).collect();
            expected.sort_by_key(|&i| keys[i]);
            for parallel in [false, true] {
                let mut out = filled(usize::MAX, total, parallel).expect("memory");
                place(&keys, &mut at.clone(), &mut out, |i| i, parallel);
                assert_eq!(out, expected, "{n} keys, {buckets} buckets, {parallel}");
                let cells = map(&keys, |k| k / 2, parallel).expect("memory");
                assert_eq!(cells, keys.iter().map(|k| k / 2).collect::<Vec<_>>());
            }
        }
    }
}
