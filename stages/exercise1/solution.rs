// Exercise 1, the answer: the lines that go between the markers of src/lib.rs,
// `// ---- exercise: start` and `// ---- exercise: end`. They are stage 1's own
// search (stages/stage1_getattr/src/lib.rs), with comments that say why. Read them once
// your version passes `make check-exercise STAGE=1`, or when the hints ran out; pasted
// between the markers, they pass.

    let mut close_polygons = Vec::new();
    for (i, poly) in common::items("polygons", polygons)?.into_iter().enumerate() {
        // `intern!` makes the Python string "center" once and reuses it; a plain
        // "center" would build a new string per polygon, and CPython's attribute
        // cache matches names by identity, so every lookup would miss it.
        let center = poly
            .getattr(intern!(py, "center"))
            .map_err(common::at(py, "polygons", i))?;
        // A `let` of its own: the view on the next line borrows from it, so it
        // must live until the end of the loop body (E0716 otherwise).
        let center: PyReadonlyArray1<'py, f64> =
            common::borrowed_pair(&center, || format!("polygons[{i}].center"))?;
        let center = center.as_array();
        // The original post's copy: an array Rust owns, which `center - point`
        // writes the difference into (two views cannot be subtracted: E0369).
        let center = center.to_owned();
        let diff = center - point;
        // np.linalg.norm of a 1-D float array is sqrt(dot(x, x)): same operations,
        // same rounding, so the same polygons pass the strict `<`.
        if diff.dot(&diff).sqrt() < max_dist.0 {
            close_polygons.push(poly);
        }
    }
    Ok(close_polygons)
