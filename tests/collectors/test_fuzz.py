"""The offline parsers under hypothesis: any file content is parsed or refused with a DataError naming it.

The CI budget is small (50 examples per parser, derandomised so CI is repeatable); `benchmarks/fuzz.py`
runs the same targets with a large random budget.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.collectors.fuzz_targets import TARGETS, Target, check

CI_EXAMPLES = 50


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_parser_raises_nothing_but_classified_errors_naming_the_file(target: Target) -> None:
    with tempfile.TemporaryDirectory(prefix="meetintel-fuzz-") as folder:

        @settings(
            max_examples=CI_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(target.contents)
        def parse(content: bytes) -> None:
            assert check(target, Path(folder), content) in ("parsed", "quarantined", "refused")

        parse()
