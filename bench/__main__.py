"""``python -m bench [sync|geocoding|placement] [--db sqlite|postgresql|both] [--no-write]``.

Runs the benchmarks (all of them without a name), prints their tables and writes their reports:
``bench/RESULTS.md`` for sync (the part below the notes marker of an existing file is kept:
hand-written analysis survives runs), ``bench/results/NAME.md`` for the others.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import BENCHMARKS
from bench.common import machine, table

RESULTS = Path(__file__).with_name("RESULTS.md")
MARKER = "<!-- Everything below this line is kept when the benchmarks rewrite this file. -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "benchmark", nargs="?", choices=BENCHMARKS, help="one benchmark (default: all)"
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args(argv)
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    names = [args.benchmark] if args.benchmark else list(BENCHMARKS)
    command = "python -m bench " + shlex.join(sys.argv[1:] if argv is None else argv)
    started = datetime.now(UTC)
    sections: list[str] = []
    status = 0
    for name in names:
        module = __import__(f"bench.{name}", fromlist=["run"])
        if not hasattr(module, "run"):  # a benchmark with its own command line and report
            own = ["--db", args.db, *(["--no-write"] if args.no_write else [])]
            status = max(status, module.main(own))
            continue
        results = module.run(databases, log=lambda line: print(line, flush=True))
        headers = ["figure", "goal", *(r.database for r in results)]
        rendered = table(headers, module.summary_rows(results))
        print(f"\n{name}\n{rendered}\n", flush=True)
        sections.append(f"## {name}\n\n{rendered}\n\n### How it is measured\n\n{module.NOTES}")
    if sections and not args.no_write:
        write_results(command.strip(), started, sections)
        print(f"wrote {RESULTS}")
    return status


def write_results(command: str, started: datetime, sections: list[str]) -> None:
    info = machine()
    kept = ""
    if RESULTS.exists() and MARKER in RESULTS.read_text():
        kept = RESULTS.read_text().split(MARKER, 1)[1].lstrip("\n")
    lines = [
        "# Benchmark results",
        "",
        "Measured figures only; rewritten by `python -m bench` (`make bench`).",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Command: `{command}` (from the repository root, `.venv/bin/python`)",
        f"- Machine: {info['cpus']} CPUs ({info['cpu']}), {info['memory']} memory, {info['os']}",
        f"- Python {info['python']}, SQLite {info['sqlite']}, PostgreSQL {info['postgresql']}",
        "- The client, the server and the database share the machine; other jobs may have run "
        "at the same time, so timings are noisy.",
        "",
        *sections,
        "",
        MARKER,
        "",
        kept,
    ]
    RESULTS.write_text("\n".join(lines).rstrip() + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
