# Two entry points, as in the README: `make app` and `make test`.
# Both create .venv with exactly the versions pinned in requirements.lock (hash-checked) and the
# project installed; `make test` also installs Debian's chromium (the browser test) and nginx
# (the sign-in proxy example's test) when missing (root, or sudo, needed once).
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
PYTEST := $(BIN)/python -m pytest --durations=10 -n auto --dist loadfile
UV := $(BIN)/uv

.PHONY: setup app test test-deep system-packages bench lint lock lock-upgrade

# placesim's own modules are compiled at every setup (in a moment when nothing changed): with
# PYTHONDONTWRITEBYTECODE set, Python would never refresh them after a pull.
setup: $(VENV)/.installed
	$(BIN)/python -m compileall -q placesim placesim_app

# A new venv each time the lock changes, so nothing unlocked is left behind. The machine's pip
# installs uv at the lock's version and hashes; uv then installs exactly the lock (every file
# hash-checked) and the project, in seconds where pip takes minutes. Unlike pip, uv writes no
# bytecode unless asked: where PYTHONDONTWRITEBYTECODE is set (as on the machines we run on) Python
# then never writes it either, and every process compiled pandas, numba, matplotlib... from
# source again (4.5 s to import the engine, the brief and pyplot instead of 1.3 s; every CLI
# command, test subprocess and band worker). So the libraries are compiled once, here.
$(VENV)/.installed: $(LOCK)
	rm -rf $(VENV)
	$(PY) -m venv $(VENV)
	sed -n '/^uv==/,/[^\\]$$/p' $(LOCK) > $(VENV)/uv-requirement.txt
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r $(VENV)/uv-requirement.txt
	$(UV) pip sync -q --compile-bytecode --python $(BIN)/python --require-hashes $(LOCK)
	$(UV) pip install -q --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $@

app: setup
	$(BIN)/placesim app

# nginx is only run by the tests, on a private test network: if installing it started the
# system's nginx service (port 80, every interface), stop and disable that again.
system-packages:
	@missing=""; for p in chromium nginx; do command -v $$p >/dev/null 2>&1 || \
	  [ -x /usr/sbin/$$p ] || missing="$$missing $$p"; done; \
	[ -z "$$missing" ] || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing && \
	  case "$$missing" in *nginx*) ! command -v systemctl >/dev/null 2>&1 || \
	    $$SUDO systemctl disable --now nginx 2>/dev/null || true;; esac; }

# Hypothesis runs the fixed, derandomised `ci` profile (tests/conftest.py); tests marked slow
# and the long randomised `deep` profile run in `make test-deep`.
# The compiled kernels are compiled first, on both cores at once (placesim/warm.py): in a
# fresh clone the test workers compiled them, many twice (291 s; 225 s with them compiled).
test: setup system-packages
	$(BIN)/python -m placesim.warm
	$(PYTEST) -q

test-deep: setup system-packages
	$(BIN)/python -m placesim.warm
	$(PYTEST) -q -m "slow or not slow" --hypothesis-profile=deep

bench: setup
	$(BIN)/python benchmarks/run.py

lint: setup
	$(BIN)/ruff check placesim placesim_app tests benchmarks geodata streamlit_app.py

# Re-resolve requirements.lock after editing pyproject.toml's dependencies, keeping the pins
# that still fit; `make lock-upgrade` moves every pin to the newest release. One universal
# lock: Python 3.11 and later, every platform (markers select what each one needs).
LOCK_CMD = $(PY) -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))\
	['build-system']['requires'], sep='\n')" | $(UV) pip compile pyproject.toml - \
	--all-extras --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command "make lock" -o $(LOCK)

lock: setup
	$(LOCK_CMD)

lock-upgrade: setup
	$(LOCK_CMD) --upgrade
