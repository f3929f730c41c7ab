"""The benchmark's phases: one module per phase, each with
``run(config) -> dict`` returning its result keys (merged into the JSON by
``bench/run.py``). Keep this file empty of imports: the peak-memory child
(``python -m bench.phases.rss``) imports this package, and its memory is
what it measures.

Authors
 * speechbrain-gemo developers 2026
"""
