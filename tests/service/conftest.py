"""Fixtures of the service tests: one published org per session, served over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.served import Org, Served, build_org, config_for, serve


@pytest.fixture(scope="session")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    """A state and reports made by a real pipeline run over a generated 12-person, 3-day org."""
    return build_org(tmp_path_factory.mktemp("org"))


@pytest.fixture(scope="session")
def served(org: Org) -> Iterator[Served]:
    """The service over `org`, on a free loopback port."""
    with serve(config_for(org)) as s:
        yield s
