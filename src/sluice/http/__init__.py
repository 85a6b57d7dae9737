"""HTTP: one shared client per source, pacing, retries, rate-limit headers."""
