"""10⁵ broken configuration files: each gets a located error (FILE:LINE: field.path: reason), none a traceback.

The mutations and their oracle are in :mod:`tests.support.config_fuzz`; a failure prints its seed,
reproduced alone with ``config_fuzz.check(config_fuzz.mutate(SEED), base_dir=...)``.
``bench/config_fuzz.py`` runs more seeds and prints the rate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import config_fuzz

#: The aim of issue 12: 0 tracebacks and 100 % located errors on 10⁵ mutated configurations.
CASES = 100_000


@pytest.mark.slow
def test_every_mutated_configuration_is_refused_with_located_errors(tmp_path: Path) -> None:
    failures = config_fuzz.run_parallel(CASES, base_dir=tmp_path)
    assert not failures, f"{len(failures)} of {CASES} cases failed; the first:\n" + "\n\n".join(failures[:3])


def test_the_mutations_reach_every_stage_of_the_loader(tmp_path: Path) -> None:
    """The fuzzer is not idle: among its first cases some are not TOML, some fail validation, some
    fail a cross-check, some are even valid (the oracle is exercised on all four outcomes)."""
    from gateway.config import parse_config

    for name, text in config_fuzz.seeds():  # every starting point is a valid configuration
        parse_config(text, file=name, base_dir=tmp_path)
    outcomes = {"toml": 0, "nested": 0, "invalid": 0, "valid": 0}
    for seed in range(600):
        outcomes[config_fuzz.stage(config_fuzz.mutate(seed).text, base_dir=tmp_path)] += 1
    assert all(count > 0 for count in outcomes.values()), outcomes


def test_a_case_is_a_pure_function_of_its_seed() -> None:
    assert config_fuzz.mutate(1234) == config_fuzz.mutate(1234)
    assert config_fuzz.mutate(1234).text != config_fuzz.mutate(1235).text
