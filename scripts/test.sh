#!/usr/bin/env bash
# Set everything up and run the whole test suite on SQLite and PostgreSQL, plus the linters.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/services.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
PYTHONPATH=. .venv/bin/lint-imports --no-cache >/dev/null
.venv/bin/python -m pytest -n 2 "$@"
