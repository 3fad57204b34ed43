#!/usr/bin/env bash
# Set everything up and serve the API on the embedded default: SQLite, offline gazetteer, demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export FIELDSYNC_DATABASE_URL="${FIELDSYNC_DATABASE_URL:-sqlite:///$PWD/instance/fieldsync.db}"
mkdir -p instance
.venv/bin/fieldsync db upgrade
.venv/bin/fieldsync demo
exec .venv/bin/fieldsync serve --host "${FIELDSYNC_HOST:-127.0.0.1}" --port "${FIELDSYNC_PORT:-8000}"
