"""requirements.lock: it satisfies pyproject.toml, and ``make setup`` installed exactly it.

The lock is universal (every platform, Python 3.11 and later; markers choose what a machine
needs), so the checks read it as pip does: for this interpreter and, where stated, for Linux on
Python 3.11 and 3.12, the versions ``make setup`` supports.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from placesim.provenance import LOCK_FILE, lock_digest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
NOT_LOCKED = {"pip", "placesim"}  # the venv's own installer; the project, installed in place


def _lock() -> list[tuple[Requirement, list[str]]]:
    """The lock's pins, ``name==version ; marker``, each with its hashes."""
    text = LOCK_FILE.read_text().replace("\\\n", " ")
    pins = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            spec, *hashes = line.split(" --hash=")
            pins.append((Requirement(spec), [h.strip() for h in hashes]))
    return pins


def _environment(python: str | None = None) -> dict[str, str]:
    env = default_environment()
    if python:
        env.update(python_version=python, python_full_version=f"{python}.0",
                   sys_platform="linux", platform_system="Linux", os_name="posix",
                   platform_machine="x86_64", implementation_name="cpython",
                   platform_python_implementation="CPython")
    return env


def _pins(env: dict[str, str]) -> dict[str, str]:
    """Package -> version that the lock installs in environment ``env``."""
    out = {}
    for req, _ in _lock():
        if req.marker is None or req.marker.evaluate(env):
            name = canonicalize_name(req.name)
            assert name not in out, f"{name} pinned twice for one environment"
            (spec,) = req.specifier
            assert spec.operator == "==", f"{req} is not an exact pin"
            out[name] = spec.version
    return out


def _requirements() -> list[Requirement]:
    """Everything pyproject.toml asks for: dependencies, every extra, the build backend."""
    project = PYPROJECT["project"]
    texts = [*project["dependencies"], *PYPROJECT["build-system"]["requires"]]
    for extra in project["optional-dependencies"].values():
        texts += extra
    return [Requirement(t) for t in texts]


def test_every_pin_is_exact_and_hashed():
    pins = _lock()
    assert len(pins) > 50
    for req, hashes in pins:
        assert hashes and all(h.startswith("sha256:") and len(h) == 71 for h in hashes), req


@pytest.mark.parametrize("python", ["3.11", "3.12"])
def test_lock_satisfies_pyproject_on_linux(python):
    env = _environment(python)
    pins = _pins(env)
    for req in _requirements():
        if req.marker is None or req.marker.evaluate(env):
            name = canonicalize_name(req.name)
            assert name in pins, f"{req} is not in requirements.lock: run `make lock`"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"requirements.lock pins {name}=={pins[name]}, pyproject.toml asks {req}: "
                "run `make lock`")


def test_setup_installed_exactly_the_lock():
    """Same packages, same versions: nothing missing, nothing extra, nothing else."""
    want = _pins(_environment())
    have = {canonicalize_name(d.metadata["Name"]): d.version for d in md.distributions()}
    for name in NOT_LOCKED:
        have.pop(name, None)
    assert have == want


def test_lock_holds_only_what_pyproject_needs():
    """Every pin is reached from pyproject.toml's requirements (installed metadata), so a
    dependency dropped from pyproject.toml does not linger in the lock."""
    env = _environment()
    pins = _pins(env)
    todo = [(r, ()) for r in _requirements()]
    seen: set[str] = set()
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        wanted = [{**env, "extra": e} for e in (extras or ("",))]
        if req.marker is not None and not any(req.marker.evaluate(w) for w in wanted):
            continue
        key = f"{name}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        todo += [(Requirement(r), tuple(req.extras)) for r in md.requires(name) or []]
    reached = {k.split("[")[0] for k in seen}
    assert set(pins) - reached == set()


def test_installed_requirements_are_consistent():
    out = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_lock_digest_is_recorded_in_manifests_and_the_batch_code_digest(tmp_path,
                                                                      monkeypatch):
    from placesim import batch
    from placesim.results import write_results
    from placesim.simulation import simulate

    from .helpers import synthetic_package, synthetic_scenario

    digest = lock_digest()
    assert len(digest) == 12 and digest != "unlocked"
    res = simulate(synthetic_scenario(waves=False), synthetic_package(), replications=1,
                   mode="expected")
    write_results(res, tmp_path / "run")
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["lock_digest"] == digest
    assert batch._code_digest() == batch.CODE_DIGEST
    monkeypatch.setattr(batch, "lock_digest", lambda: "0123456789ab")  # another lock
    assert batch._code_digest() != batch.CODE_DIGEST
