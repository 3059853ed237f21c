# Everyday tasks. The README's two commands need nothing but Python and git;
# these are shortcuts for developers with a .venv already set up.
PY ?= .venv/bin/python
# The fast tests: every test not marked slow (1.5 s or more each, see CONTRIBUTING.md) or browser.
FAST = -m "not slow and not browser"

.PHONY: run check test test-fast lint format bench i18n lock

run:
	$(PY) -m wiki serve

# Before every commit: formatting, lint, types, import rules and the fast tests (under two minutes).
check:
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(dir $(PY))lint-imports
	$(PY) -m pytest -q $(FAST)

# Everything: the slow tests and the browser tests too (what CI runs).
test:
	$(PY) -m pytest

test-fast:
	$(PY) -m pytest -q $(FAST)

lint:
	$(PY) -m ruff check .

format:
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench:
	$(PY) bench/bench_pages.py --pages 2000 --commits 20000

# Extract interface strings, merge them into the French catalogue, compile it.
i18n:
	mkdir -p build
	$(PY) -m babel.messages.frontend extract -F babel.cfg -k N_ --no-location --sort-output -o build/messages.pot .
	$(PY) -m babel.messages.frontend update -i build/messages.pot -d wiki/translations --no-fuzzy-matching
	$(PY) -m babel.messages.frontend compile -d wiki/translations

# Pin every dependency with its hashes, for Python 3.11 on Linux (run it there):
# requirements/lock.txt (runtime and the test extra) and requirements/runtime.txt
# (the same versions, runtime only). Pins already there are kept unless pyproject.toml
# no longer allows them; `make lock LOCK_ARGS=--upgrade` moves everything to the newest.
LOCK = CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile --quiet --generate-hashes --strip-extras \
	--allow-unsafe --no-emit-index-url --no-emit-find-links --pip-args=--isolated $(LOCK_ARGS)
lock:
	$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11) and sys.platform == "linux", "lock with Python 3.11 on Linux"'
	$(PY) -m pip install --quiet pip-tools
	$(LOCK) --extra test --output-file requirements/lock.txt pyproject.toml
	$(LOCK) --constraint requirements/lock.txt --output-file requirements/runtime.txt pyproject.toml
