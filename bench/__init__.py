"""Benchmarks of FieldSync, run against a real server over HTTP: ``python -m bench``.

Each benchmark module exposes ``run(databases, options) -> list[Result]``; ``bench/RESULTS.md``
holds the figures last measured and how.
"""

BENCHMARKS = ("sync",)
