"""Held-out identity quirks: every quirk family's forms split into halves `a` and `b`, an org generated with
one phrasing shows only its half's forms (read back from the generated people, not from the generator's
own labels), both halves keep every family, and the default org keeps its bytes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from sandbox import _text as text
from sandbox import generate_workspace
from sandbox._org import DOMAIN_ALIAS, QUIRK_FORMS, Org, Person, build_org
from sandbox._profile import HARD, STANDARD

START = date(2026, 9, 7)
SEEDS, PEOPLE = (1, 2, 3), 60
# The marks a name may carry, by accents-family form (the test's own table, not the generator's).
MARKS = {
    "acute": "áéíóú",
    "diaeresis": "äëïöü",
    "stroke": "łŁ",
    "tilde": "ñã",
    "apostrophe": "'",
    "hyphen": "-",
}
# sha256 of every file of a default org (12 people, 3 days, seed 7) of each profile: identity forms under a
# phrasing must leave the default draws alone.
DEFAULT_DIGESTS = {
    "standard": "f0d5827f9b7093cdc6502ef8bc1141c80083f2a10f036756748ffe8185f227d6",
    "hard": "5887d63f280c94b307f0c14798b4ba53314fd9a83aa3ddf6a6465f77544b6886",
}


def _fold(word: str) -> str:
    return text.ascii_fold(word)


def _alias_forms(p: Person) -> Iterator[str]:
    given, family = _fold(p.given), _fold(p.family)
    for alias in p.aliases:
        local = alias.split("@")[0]
        if local == f"{given[:1]}{family}":
            yield "flast"
        elif local == f"{given}{family[:1]}":
            yield "firstl"
        elif re.fullmatch(rf"{re.escape(given)}\d\d", local):
            yield "first_nn"
        elif re.fullmatch(r"[a-z'-]+\d\d", local) and local.rstrip("0123456789") in family:
            yield "family_nn"
        else:
            yield f"unknown alias {alias}"


def _case_form(p: Person) -> str:
    local, domain = p.email.split("@")
    shown = {
        f"{'.'.join(x.capitalize() for x in local.split('.'))}@{domain.capitalize()}": "title",
        p.email.upper(): "upper",
        f"{local}@{domain.upper()}": "upper_domain",
        f"{local.upper()}@{domain}": "upper_local",
    }
    return shown.get(p.slack_email or "", f"unknown case {p.slack_email}")


def _hidden_form(p: Person) -> str:
    full = p.full_name
    folded = f"{_fold(p.given).capitalize()} {_fold(p.family).capitalize()}"
    # A name without accents folds to itself: it reads as the first form that fits, `full`.
    shown = (
        (full, "full"),
        (full.lower(), "lower"),
        (folded, "folded"),
        (f" {p.given}  {p.family} ", "spaced"),
    )
    return next((form for name, form in shown if name == p.slack_real_name), f"unknown {p.slack_real_name!r}")


def _renamed_form(p: Person) -> str:
    name = p.slack_real_name
    if name == p.full_name.lower():
        return "lower"
    if name == f"{text.NICKNAMES.get(p.given)} {p.family}":
        return "nickname"
    if name == f"{p.given} {p.family[:1]}.":
        return "initial"
    if re.fullmatch(rf"{re.escape(p.given)} [A-Z]\. {re.escape(p.family)}", name):
        return "middle_initial"
    return f"unknown renamed {name!r}"


def _name_address_form(p: Person) -> str:
    local = (p.slack_email or "").split("@")[0].rstrip("0123456789")
    given, family = _fold(p.given), _fold(p.family)
    if local == f"{given[:1]}.{family}":
        return "initial_dot_family"
    if local == f"{family}.{given}":
        return "family_dot_given"
    return f"unknown name address {p.slack_email}"


def _person_forms(p: Person) -> Iterator[tuple[str, str]]:
    """Give (family, form) for every identity quirk form person `p` shows."""
    yield from (("alias", f) for f in _alias_forms(p))
    for word in (p.given, p.family):
        yield from (("accents", form) for form, marks in MARKS.items() if any(c in marks for c in word))
    if p.quirk == "case":
        yield "case", _case_form(p)
    if p.quirk == "hidden":
        yield "hidden_name", _hidden_form(p)
    if p.quirk in ("name", "ambiguous_name"):
        order = "family_given" if p.slack_real_name == f"{p.family}, {p.given}" else "given_family"
        yield "name_order", order
        yield "name_address", _name_address_form(p)
    elif p.quirk != "hidden" and p.slack_id and p.slack_real_name != p.full_name:
        yield "renamed", _renamed_form(p)
    for other in p.other_emails:
        local = other.split("@")[0]
        yield "other_email", "underscore" if local == f"{_fold(p.given)}_{_fold(p.family)}" else "former_name"
    for alias in p.non_editable_aliases:
        yield "non_editable", "google_alias" if alias.endswith(f"@{DOMAIN_ALIAS}") else "secondary_domain"


def _org_forms(org: Org) -> set[tuple[str, str]]:
    """Give every (family, form) the org shows: its people's and its Slack guests'."""
    forms = {f for p in org.people for f in _person_forms(p)}
    staff = {p.full_name for p in org.people}
    for e in org.externals:
        for word in e.name.split(" "):
            forms |= {("accents", form) for form, marks in MARKS.items() if any(c in marks for c in word)}
        if e.slack_id:
            forms.add(("guest", "namesake" if e.name in staff else "plain"))
    return forms


@pytest.fixture(scope="module")
def forms() -> dict[str | None, set[tuple[str, str]]]:
    """The forms shown by orgs of 60 people (seeds 1-3, both profiles), per phrasing (None: the default)."""
    return {
        phrasing: {
            f
            for profile in (STANDARD, HARD)
            for seed in SEEDS
            for f in _org_forms(build_org(seed, PEOPLE, START, replace(profile, phrasing=phrasing)))
        }
        for phrasing in (None, *text.PHRASINGS)
    }


def test_every_family_splits_into_two_disjoint_non_empty_halves() -> None:
    """Each family's halves share no form, together give all its forms, and neither is empty."""
    for family, all_forms in QUIRK_FORMS.items():
        a, b = text.half(all_forms, "a"), text.half(all_forms, "b")
        assert a and b and not set(a) & set(b), family
        assert sorted(a + b) == sorted(all_forms), family


@pytest.mark.parametrize("phrasing", text.PHRASINGS)
def test_an_org_of_one_half_shows_only_that_halfs_forms(
    forms: dict[str | None, set[tuple[str, str]]], phrasing: str
) -> None:
    """Every identity form read back from an `a` (or `b`) org is one of that half's, none unknown."""
    own = {(family, f) for family, fs in QUIRK_FORMS.items() for f in text.half(fs, phrasing)}
    assert forms[phrasing] - own == set()


def test_the_halves_use_disjoint_forms_and_keep_every_family(
    forms: dict[str | None, set[tuple[str, str]]],
) -> None:
    """No form shows in both an `a` and a `b` org, and every family shows in both."""
    assert forms["a"] & forms["b"] == set()
    for phrasing in text.PHRASINGS:
        assert {family for family, _ in forms[phrasing]} == set(QUIRK_FORMS), phrasing


def test_the_default_org_still_reads_as_known_forms(forms: dict[str | None, set[tuple[str, str]]]) -> None:
    """The default org (no phrasing) shows only forms the families list."""
    known = {(family, f) for family, fs in QUIRK_FORMS.items() for f in fs}
    assert forms[None] - known == set()


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("profile", ["standard", "hard"])
def test_the_default_org_keeps_its_bytes(tmp_path: Path, profile: str) -> None:
    """A fixed-seed default org hashes as it did before identity forms were split."""
    generate_workspace(tmp_path / "ws", 12, 3, 7, profile=profile)
    assert _digest(tmp_path / "ws") == DEFAULT_DIGESTS[profile]
