//! Plain-Rust geometry on slices: no Python here, so `cargo test` checks it alone.
//!
//! Each function reproduces the baseline's floating-point operations in the
//! baseline's order, because in the canonical data the areas differ only by
//! rounding (see the README's floating-point lesson).

/// `[mean(x), mean(y)]`: the baseline's `np.array([x, y]).mean(axis=1)`, bit for bit.
///
/// `[NaN, NaN]` for an empty polygon, as numpy (the bindings refuse those).
pub fn center(x: &[f64], y: &[f64]) -> [f64; 2] {
    [mean(x), mean(y)]
}

/// The mean, summed in numpy's order so it equals numpy's bit for bit. A plain
/// left-to-right sum gives the baseline's center for 891 of the 1000 canonical
/// polygons, and a center one bit off can move a point across `< max_dist`.
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

/// The shoelace area, `0.5 * |x . roll(y, 1) - y . roll(x, 1)|`.
///
/// Each dot product is summed left to right with a separate multiply and add,
/// as OpenBLAS's `ddot` sums short vectors on this machine (an AMD EPYC, where
/// OpenBLAS picks its Haswell kernel): bit for bit on all 1000 canonical
/// polygons. On an AVX-512 machine the same OpenBLAS fuses each step into one
/// multiply-add (`f64::mul_add`) and rounds differently. So callers must accept
/// any area within a relative 1e-9. Uses the first `min(x.len(), y.len())` vertices.
pub fn area(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    let (mut x_dot_rolled_y, mut y_dot_rolled_x) = (0.0_f64, 0.0_f64);
    for i in 0..n {
        // roll(v, 1)[i] = v[i - 1], wrapping around at the start.
        let prev = if i == 0 { n - 1 } else { i - 1 };
        x_dot_rolled_y += x[i] * y[prev];
        y_dot_rolled_x += y[i] * x[prev];
    }
    0.5 * (x_dot_rolled_y - y_dot_rolled_x).abs()
}

/// The smallest `t` with `sqrt(t) >= max_dist`, so that for every squared
/// distance `d2 >= 0`: `d2 < t` exactly when `sqrt(d2) < max_dist`.
///
/// `d2 < max_dist * max_dist` is not the same test: the square rounds, and a
/// point right on the boundary can land on either side. Computed once per call,
/// it lets the hot loop skip the square root and still agree with the baseline.
/// Returns 0.0 (nothing is close) for NaN or non-positive `max_dist`, and
/// infinity when no finite `t` is large enough.
pub fn squared_threshold(max_dist: f64) -> f64 {
    if max_dist.is_nan() || max_dist <= 0.0 {
        return 0.0;
    }
    let mut t = max_dist * max_dist;
    if t.is_infinite() {
        t = f64::MAX;
    }
    // m * m is within an ulp or two of the answer: walk down, then up.
    while t > 0.0 && t.next_down().sqrt() >= max_dist {
        t = t.next_down();
    }
    while t.sqrt() < max_dist {
        t = t.next_up();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_square() {
        let (x, y) = ([0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]);
        assert_eq!(area(&x, &y), 1.0);
        assert_eq!(center(&x, &y), [0.5, 0.5]);
    }

    #[test]
    fn area_ignores_orientation_and_translation() {
        let (x, y) = ([0.0, 4.0, 0.0], [0.0, 0.0, 3.0]);
        assert_eq!(area(&x, &y), 6.0);
        let (xr, yr) = ([0.0, 0.0, 4.0], [0.0, 3.0, 0.0]);
        assert_eq!(area(&xr, &yr), 6.0);
        let shifted: Vec<f64> = x.iter().map(|v| v + 10.0).collect();
        assert_eq!(area(&shifted, &y), 6.0);
    }

    #[test]
    fn degenerate_polygons() {
        assert_eq!(area(&[], &[]), 0.0);
        assert_eq!(area(&[2.0], &[3.0]), 0.0);
        assert_eq!(center(&[2.0], &[3.0]), [2.0, 3.0]);
        assert!(center(&[], &[])[0].is_nan());
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
        // Under 8 values: left to right.
        assert_eq!(pairwise_sum(&[big, 1.0, 1.0, 1.0]), big);
        // Longer than a block: the halves are summed separately, none dropped.
        let long: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(pairwise_sum(&long), 500_500.0);
    }

    /// The sqrt-free test agrees with `sqrt(d2) < m` on and around the boundary.
    #[test]
    fn threshold_matches_sqrt_at_the_boundary() {
        for m in [10.0, 0.1, 1.0 / 3.0, 7.3, 1e-3, 1e150, 3e-160, 12_345.678_9] {
            let t = squared_threshold(m);
            assert!(t.sqrt() >= m, "m={m}");
            assert!(t.next_down().sqrt() < m, "m={m}");
            // Every double near m*m, and every d2 whose root is near m.
            let mut d2 = m * m;
            for _ in 0..8 {
                d2 = d2.next_down();
            }
            for _ in 0..16 {
                assert_eq!(d2 < t, d2.sqrt() < m, "m={m} d2={d2}");
                d2 = d2.next_up();
            }
            let mut r = m;
            for _ in 0..4 {
                r = r.next_down();
            }
            for _ in 0..8 {
                let d2 = r * r;
                assert_eq!(d2 < t, d2.sqrt() < m, "m={m} r={r}");
                r = r.next_up();
            }
        }
    }

    #[test]
    fn threshold_edge_values() {
        assert_eq!(squared_threshold(f64::NAN), 0.0);
        assert_eq!(squared_threshold(0.0), 0.0);
        assert_eq!(squared_threshold(-1.0), 0.0);
        assert_eq!(squared_threshold(f64::INFINITY), f64::INFINITY);
        // sqrt(f64::MAX) is about 1.3e154: no finite t is large enough.
        assert_eq!(squared_threshold(1e200), f64::INFINITY);
        // The smallest positive max_dist: only d2 == 0 is closer.
        let tiny = f64::from_bits(1);
        assert_eq!(squared_threshold(tiny), tiny);
    }
}
