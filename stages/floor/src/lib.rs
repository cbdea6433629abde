//! Nothing here: the crate is its benchmark, `benches/floor.rs` (`make bench-rust`).
