"""The workshop harness: one registry of stages, one runner, the answer checks.

The benchmark, the profiler targets and the tests all go through this package,
so a stage is added in one place: ``workshop.stages.STAGES``.
"""
