// Exercise 3, the answer: the lines that go between the markers of src/lib.rs,
// `// ---- exercise: start` and `// ---- exercise: end`: stage 3's selector loop, and the
// shoelace area as numpy computes it (stage 3 itself, stages/stage3_selector/src/lib.rs,
// computes the exact area). Read them once your version passes
// `make check-exercise STAGE=3`, or when the hints ran out; pasted between the markers,
// they pass.

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
