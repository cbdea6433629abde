// Exercise 4, the 40-minute answer: the lines that go between the markers of src/lib.rs,
// `// ---- exercise: start` and `// ---- exercise: end`: a grid of cells max_dist wide, and
// each point tests the centers of the 3 x 3 cells around it. Stage 4 is the full answer
// (stages/stage4_grid/src/grid.rs and kdtree.rs): sorted cells instead of a hash map, a
// k-d tree for crowded cells so that no cluster makes it test every pair, and both cores.
// Read them once your version passes `make check-exercise STAGE=4`, or when the hints ran
// out; pasted between the markers, they pass.

use std::collections::HashMap;

/// `(point, polygon)` indices: for every point with a polygon whose center is
/// closer than `max_dist`, the one of least area (the first on a tie), as
/// `plain_select` finds them, without testing every pair.
pub fn select(sites: &[Site], points: &[[f64; 2]], max_dist: f64) -> PyResult<Vec<(usize, usize)>> {
    let t = squared_threshold(max_dist);
    // A close center is less than max_dist away on each axis, so it is in the point's
    // cell or a neighbour. Not narrower than 1e-150: a square below ~1e-308 rounds to 0,
    // and `0 < t` calls centers up to ~1e-162 away close whatever the tiny max_dist.
    let cell = max_dist.max(1e-150);
    // `as i64` saturates: NaN goes to cell 0, +-inf and huge values to the end cells.
    let cell_of = |v: f64| (v / cell).floor() as i64;
    let mut cells: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (i, site) in sites.iter().enumerate() {
        let [x, y] = site.center;
        cells.entry((cell_of(x), cell_of(y))).or_default().push(i);
    }
    let mut picks = Vec::new();
    for (p, &point) in points.iter().enumerate() {
        let (col, row) = (cell_of(point[0]), cell_of(point[1]));
        let mut best: Option<usize> = None;
        // Saturating: at the end cells `+ 1` would overflow.
        for y in row.saturating_sub(1)..=row.saturating_add(1) {
            for x in col.saturating_sub(1)..=col.saturating_add(1) {
                for &i in cells.get(&(x, y)).into_iter().flatten() {
                    let site = &sites[i];
                    // Cells come in any order: the least (area, index), not the first
                    // seen, is the plain loop's "first on a tie". `d2 < t` is false for
                    // the NaN and infinite centers that share cell 0 and the end cells.
                    if squared_distance(site.center, point) < t
                        && best.is_none_or(|b| (site.area, i) < (sites[b].area, b))
                    {
                        best = Some(i);
                    }
                }
            }
        }
        if let Some(i) = best {
            picks.push((p, i));
        }
    }
    Ok(picks)
}
