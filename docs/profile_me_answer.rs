// One way to write `close_counts_loop` for the crate `workshop new profile_me.py
// close_counts_loop` writes (the walkthrough's wrap-up): the lines that go between the
// markers `// ---- your port: start.` and `// ---- your port: end.` of its src/lib.rs.
// Try yours first; tests/test_newcrate.py builds this one and runs the crate's tests.
    let mut counts = Vec::with_capacity(points.nrows());
    for p in points.rows() {
        check()?; // Ctrl-C: once per point
        let close = points
            .rows()
            .into_iter()
            .filter(|q| (p[0] - q[0]).hypot(p[1] - q[1]) < radius)
            .count();
        counts.push(close as i64 - 1);
    }
    Ok(counts)
