//! The Rust-only floor of stage 4: what `main` does once the Python objects are
//! read (build the grid, select for every point), on data already in Rust.
//!
//! Run with `make bench-rust`: it writes the canonical workload as text
//! (`python -m workshop.workloads FILE`) and points POLY_MATCH_WORKLOAD at it,
//! so Rust and Python time the same polygons and points; and 100k polygons x
//! 10k points (POLY_MATCH_LARGE_WORKLOAD), on every thread, then again on one
//! (RAYON_NUM_THREADS=1): what a second core gives the search with no Python.
//! Results: target/criterion/stage4/*/new/estimates.json.
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use std::convert::Infallible;

use stage4_grid::{Site, grid, select};

/// The workload file named by the variable `var` (format:
/// `workshop.workloads.write_text`), as sites and points; None if it is not set.
fn load_workload(var: &str) -> Option<(Vec<Site>, Vec<[f64; 2]>)> {
    let path = std::env::var(var).ok()?;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| fail(&path, &err.to_string()));
    Some(parse(&text).unwrap_or_else(|err| fail(&path, &err)))
}

fn fail(path: &str, why: &str) -> ! {
    eprintln!("cannot read the workload {path}: {why}");
    std::process::exit(2);
}

fn parse(text: &str) -> Result<(Vec<Site>, Vec<[f64; 2]>), String> {
    let mut lines = text.lines();
    let n_polygons = header(lines.next(), "polygons")?;
    let mut sites = Vec::with_capacity(n_polygons);
    for line in lines.by_ref().take(n_polygons) {
        let values = numbers(line)?;
        let k = *values.first().ok_or("empty polygon line")? as usize;
        if values.len() != 1 + 2 * k {
            return Err(format!(
                "a polygon line with k={k} must hold 2k coordinates"
            ));
        }
        let (x, y) = values[1..].split_at(k);
        sites.push(Site {
            center: [common::numpy_mean(x), common::numpy_mean(y)],
            area: common::exact_area(x, y).ok_or("a coordinate too large for the exact area")?,
        });
    }
    let n_points = header(lines.next(), "points")?;
    let points = lines
        .take(n_points)
        .map(|line| match numbers(line)?[..] {
            [x, y] => Ok([x, y]),
            _ => Err(format!("a point line must hold 2 numbers: {line:?}")),
        })
        .collect::<Result<Vec<_>, String>>()?;
    if sites.len() != n_polygons || points.len() != n_points {
        return Err("the file ends early".to_owned());
    }
    Ok((sites, points))
}

/// `N` from a line `name N`.
fn header(line: Option<&str>, name: &str) -> Result<usize, String> {
    let line = line.unwrap_or_default();
    match line.split_once(' ') {
        Some((word, n)) if word == name => n.trim().parse().map_err(|e| format!("{line}: {e}")),
        _ => Err(format!("expected `{name} N`, got {line:?}")),
    }
}

fn numbers(line: &str) -> Result<Vec<f64>, String> {
    line.split_whitespace()
        .map(|v| v.parse().map_err(|e| format!("{v}: {e}")))
        .collect()
}

/// Stage 4's `main` without Python: the grid on one core (the canonical size
/// stays below `grid::LARGE`, so `main` does not split it either).
fn grid_select(sites: &[Site], points: &[[f64; 2]], max_dist: f64) -> Vec<(usize, usize)> {
    grid::select(sites, points, max_dist, &|| false).expect("memory for the grid")
}

/// The plain double loop, with nothing to interrupt it.
fn plain_loop(sites: &[Site], points: &[[f64; 2]], max_dist: f64) -> Vec<(usize, usize)> {
    let picks = Vec::with_capacity(points.len());
    let Ok(picks) = select(sites, points, max_dist, picks, || Ok::<(), Infallible>(()));
    picks
}

fn floor(c: &mut Criterion) {
    let Some((sites, points)) = load_workload("POLY_MATCH_WORKLOAD") else {
        eprintln!(
            "POLY_MATCH_WORKLOAD is not set: run `make bench-rust`, or set it to a file \
             written by `python -m workshop.workloads FILE`"
        );
        std::process::exit(2);
    };
    let picks = grid_select(&sites, &points, 10.0);
    assert_eq!(
        picks,
        plain_loop(&sites, &points, 10.0),
        "grid != plain loop"
    );
    eprintln!(
        "{} polygons, {} points, {} picks",
        sites.len(),
        points.len(),
        picks.len()
    );

    let mut group = c.benchmark_group("stage4");
    group.bench_function("floor_canonical", |b| {
        b.iter(|| grid_select(black_box(&sites), black_box(&points), black_box(10.0)))
    });
    group.bench_function("plain_loop_canonical", |b| {
        b.iter(|| plain_loop(black_box(&sites), black_box(&points), black_box(10.0)))
    });
    if let Some((sites, points)) = load_workload("POLY_MATCH_LARGE_WORKLOAD") {
        // The size `make bench-threads` times `main` at, here with no GIL and no Python
        // objects, on rayon's pool: every core, or one where RAYON_NUM_THREADS=1.
        let threads = match std::env::var("RAYON_NUM_THREADS").as_deref() {
            Ok("1") => "one_thread",
            _ => "every_thread",
        };
        group.sample_size(20);
        group.bench_function(format!("floor_100k_10k_{threads}"), |b| {
            b.iter(|| grid_select(black_box(&sites), black_box(&points), black_box(10.0)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: `make bench` should stay quick; the medians are stable enough.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = floor
}
criterion_main!(benches);
