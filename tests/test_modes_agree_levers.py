"""The expected mode agrees with the stochastic engine for every lever on its own (the rule
and thresholds of :mod:`tests.test_modes_agree`; a file of its own so that the two halves of
the check run on different cores under ``make test``)."""

from __future__ import annotations

import pytest

from .test_modes_agree import LEVERS, check_agreement


@pytest.mark.parametrize("name", LEVERS)
def test_stochastic_mean_agrees_with_expected_mode_for_each_lever(name):
    check_agreement(name)
