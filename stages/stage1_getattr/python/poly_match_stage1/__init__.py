"""Stage 1 (skeleton)."""
