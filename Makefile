# Everyday tasks. The README's two commands need nothing but Python and git;
# these are shortcuts for developers with a .venv already set up.
PY ?= .venv/bin/python

.PHONY: run test lint bench i18n

run:
	$(PY) -m wiki serve

test:
	$(PY) -m pytest

lint:
	$(PY) -m ruff check .

bench:
	$(PY) bench/bench_pages.py --pages 2000 --commits 20000

# Extract interface strings, merge them into the French catalogue, compile it.
i18n:
	mkdir -p build
	$(PY) -m babel.messages.frontend extract -F babel.cfg -k site_message --no-location --sort-output -o build/messages.pot .
	$(PY) -m babel.messages.frontend update -i build/messages.pot -d wiki/translations --no-fuzzy-matching
	$(PY) -m babel.messages.frontend compile -d wiki/translations
