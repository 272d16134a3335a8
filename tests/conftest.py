"""Hypothesis profiles: the same examples on every run by default, more and random ones on request.

``ci`` (the default, and what ``make test`` runs) is derandomised: each property test draws the
same examples on every machine and every run, with no example database and no deadline, so a
commit's result cannot depend on luck or on how busy the machine is. ``deep`` (``make
test-deep``) draws ten times as many fresh random examples and keeps failures in the local
database, to find what ``ci`` does not. Choose one with ``--hypothesis-profile=NAME``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "deep", max_examples=1000, derandomize=False, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")
