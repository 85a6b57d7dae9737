"""Checkpoints and resume: a long run committed in slices, restartable where it stopped.

Owns the frontier (`frontier.py`: where each unfinished chain restarts, as plain data, without
secrets), the driver (`driver.py`: `run(pipeline, source, ...)`, slices, resume) and a killed
run's pending package (`pending.py`: jobs the destination may have committed unmarked, undone
before dlt runs them again). The engine
(`Engine.pause`, `Engine.snapshot`, a resume `Snapshot`) and the runtime (`Checkpoints`, one
`Run` across slices) give it the means; dlt's own state carries the frontier.

How a checkpointed run goes:
- Slices. One engine run spans several dlt loads: the driver calls `pipeline.run(source)` until
  the run is over. After `every` records (or `seconds`) went to dlt, the engine closes its gate
  (no new request starts), lets requests in flight land, and snapshots the frontier; every
  stream of the slice then ends, and the last one writes the frontier into the source's dlt
  state from inside the extraction, so it commits atomically with the slice's data (a slice
  killed before dlt commits it leaves the previous checkpoint in place). The engine does not
  wait for dlt's commit: it goes on at once into the next slice's bridge (pages fetched after
  the snapshot belong to the next slice), which the next `pipeline.run(source)` reads; one
  slice ahead at most, then it waits for dlt.
- The frontier names, per chain (resource x parent record [x window]), the first page not yet
  handed to dlt: pages waiting behind the head of their resource's order at a checkpoint are
  not in the slice, their chain restarts at them. A chain stopped in the middle of its own
  release (the page went to dlt, the next request was not computed yet) restarts at that page
  with `skip`: fetched again for the paginator, its records dropped. Children not started yet
  for parent records already loaded are in it too (their parent record, which placeholders and
  include_from_parent read), as is the next window of a windowed walk. Its size is bounded by
  the open chains and those waiting parent records, never by the parents done.
- Order. Within a slice pages reach dlt in dlt's order; a resumed run restarts its chains in
  the frontier's order, then new ones, so rows after a resume may come in another order than an
  uninterrupted run's (same rows).
- Write dispositions. merge is exact by itself; append loads each record once (every record is
  in exactly one slice); replace would truncate the earlier slices of its own run, so every
  slice after the first, and every slice of a resumed run, loads with append.
- Incremental. The run's start (dlt's start value and dedup hashes when the run began) is kept
  for every slice and in the frontier, so dlt filters slice 2 from where the run started, not
  from slice 1's last value (unsorted APIs lose nothing); the committed last value advances
  only with committed slices.
- Secrets never reach the frontier: auth is applied at send time, headers are rendered again
  on resume, and a string holding a secret stores a reference to it.
- A frontier written by another configuration of a resource (a hash of its spec) is not
  applied: that resource's family (its root and descendants) starts fresh, with a warning.
"""

# The driver is imported where it is used (`sluice.run`, the CLI): it needs the runtime, and the
# engine imports the frontier model from this package.
