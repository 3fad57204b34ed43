.PHONY: run test lint bench setup

run:    ## set up and serve the API on SQLite with demo data (http://127.0.0.1:8000/docs)
	scripts/run.sh

test:   ## set up and run linters and the whole test suite on SQLite and PostgreSQL
	scripts/test.sh

setup:
	scripts/setup.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && PYTHONPATH=. .venv/bin/lint-imports

bench:  ## run the benchmarks and print their results
	scripts/setup.sh && .venv/bin/python -m bench
