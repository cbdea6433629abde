#!/bin/sh
# RUSTC_WORKSPACE_WRAPPER for `cargo test` and `cargo bench` (see the Makefile): cargo runs
# this instead of rustc for the workspace's own crates, never for their dependencies.
# Everything passes through unchanged, except that executables (test harnesses, the
# criterion bench) also link libpython: they embed Python, while the extension modules
# must not link it (PYO3_BUILD_EXTENSION_MODULE). Cargo has no link flag for a library's
# unit tests alone, and changing the dependencies' flags would compile them a second time.
set -eu
rustc=$1
shift
case " $* " in
*" --print"*) ;;
*" --test "* | *" --crate-type bin "*)
	# What pyo3's build script links when it links libpython (dylib, or static for an
	# interpreter built without a shared library), and an rpath so the tests find it.
	set -- "$@" $("$PYO3_PYTHON" -c 'import sysconfig as s
d, v = s.get_config_var("LIBDIR"), s.get_config_var("LDVERSION")
kind = "dylib" if s.get_config_var("Py_ENABLE_SHARED") else "static"
print(f"-L native={d} -l {kind}=python{v} -C link-arg=-Wl,-rpath,{d}")')
	;;
esac
exec "$rustc" "$@"
