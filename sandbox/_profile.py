"""Generation profiles: how noisy and tricky the synthetic org is.

`standard` holds the rates the generator always had (its output is pinned byte for byte); `hard` raises
noise, near-miss phrasing, identity quirks, moved and cancelled instances and meeting density, and adds
bursts of unrelated chatter around meetings. Every hard-only feature draws from its own RNG stream, and
every rate is read from here, so the standard profile consumes its RNGs exactly as before. `phrasing`
restricts every phrase bank to one of its two halves, to measure detection on wording it was not tuned on,
and every identity quirk family (alias forms, case, hidden-email names, name order and accents, old
addresses, domain aliases, guests: `_org.QUIRK_FORMS`) to one half of its forms, to measure people
mapping the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """The knobs a profile sets; `hard` switches on the features standard never had."""

    name: str
    hard: bool = False
    hard_negative_share: float = 0.025  # of top-level noise messages
    noise_factor: float = 1.0  # top-level noise volume
    cancel_rate: float = 0.05  # recurring instances cancelled
    move_rate: float = 0.05  # recurring instances moved
    one_offs_per_person: float = 0.28
    alias_rate: float = 0.08
    case_rate: float = 0.05
    hidden_rate: float = 0.04
    no_slack_rate: float = 0.02
    leaver_rate: float = 0.02
    renamed_share: float = 0.08  # Slack real_name differs from the directory
    bare_huddle_share: float = 0.1  # huddles carrying `room` without the subtype
    burst_share: float = 0.0  # held meetings with a channel that get a burst of unrelated chatter
    # The hard profile also draws evidence and hard negatives from the casual banks of _text (HARD_BANKS).
    # "a" or "b": one half of every phrase bank (_text.half) and identity quirk family; None: both, as before
    phrasing: str | None = None


STANDARD = Profile("standard")
HARD = Profile(
    "hard",
    hard=True,
    hard_negative_share=0.08,
    noise_factor=1.25,
    cancel_rate=0.12,
    move_rate=0.12,
    one_offs_per_person=0.45,
    alias_rate=0.15,
    case_rate=0.1,
    hidden_rate=0.1,
    no_slack_rate=0.04,
    leaver_rate=0.04,
    renamed_share=0.2,
    bare_huddle_share=0.3,
    burst_share=0.6,
)
PROFILES: dict[str, Profile] = {p.name: p for p in (STANDARD, HARD)}
