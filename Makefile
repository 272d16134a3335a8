# Two entry points, as in the README: `make app` and `make test`.
# Both create .venv with the project installed; `make test` also installs Debian's chromium
# for the browser test (root, or sudo, needed once).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup app test chromium bench lint

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

app: setup
	$(BIN)/placesim app

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

test: setup chromium
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/run.py

lint: setup
	$(BIN)/ruff check placesim tests benchmarks geodata streamlit_app.py
