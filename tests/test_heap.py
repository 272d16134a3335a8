"""The engine has glibc keep freed memory for the next run (placesim.heap)."""

import platform
import subprocess
import sys

import pytest

CHECK = ("import placesim.engine, placesim.heap as h; "
         "print(h.keep_freed_memory(), h._done)")


def _run(env_value: str | None) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if k != "PLACESIM_KEEP_FREED"}
    if env_value is not None:
        env["PLACESIM_KEEP_FREED"] = env_value
    out = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting is glibc's")
def test_importing_the_engine_keeps_freed_memory():
    assert _run(None) == "True True"


def test_the_setting_can_be_turned_off():
    assert _run("0") == "False False"
