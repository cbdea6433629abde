"""Stage 3 (skeleton)."""
