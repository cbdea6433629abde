//! Builds nothing of its own: `make` builds inferno-flamegraph from this package's
//! dependencies, so that its Cargo.lock pins inferno's.
