"""Stage 2 (skeleton)."""
