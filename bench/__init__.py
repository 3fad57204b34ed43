"""Benchmarks of FieldSync: ``python -m bench`` runs them all, ``python -m bench NAME`` one.

``sync`` runs against a real server over HTTP and writes ``bench/RESULTS.md``; ``geocoding``,
``placement``, ``field_sales`` and ``imports`` (their own command lines,
``python -m bench.NAME``) write ``bench/results/NAME.md``. ``bench.solomon`` is a separate
runner over instance files (``python -m bench.solomon FILE...``).
"""

BENCHMARKS = ("sync", "geocoding", "placement", "field_sales", "imports")
