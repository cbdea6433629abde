"""The workshop harness: one registry of stages, one runner, the answer checks.

The benchmark, the profiler targets and the tests all go through this package,
so a stage is added in one place: ``workshop.stages.STAGES``.
"""

# One BLAS thread: the stages are single-threaded, and so is the comparison. OpenBLAS
# reads these once, when numpy is imported; child processes get ``ONE_BLAS_THREAD``.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
ONE_BLAS_THREAD = dict.fromkeys(BLAS_THREAD_VARS, "1")
