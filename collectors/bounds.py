"""How far the offline readers go: a plain dataclass, so settings can name it without the record schemas."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputBounds:
    """How far the offline readers expand and extract: each field is the MEETINTEL_<FIELD> setting.

    Errors and quarantine notes name the setting, so a user who trusts a file knows what to raise.
    """

    ics_horizon_days: int = 90  # .ics series expand up to this many days past the run's time
    ics_max_instances: int = 5000  # instances one .ics series may give; later ones are quarantined
    zip_max_bytes: int = 4 << 30  # total uncompressed size of a Slack export ZIP
    zip_max_entry_bytes: int = 512 << 20  # uncompressed size of one ZIP entry
    zip_max_entries: int = 500_000  # entries in one ZIP
    zip_max_ratio: int = 200  # uncompressed / compressed size of one entry (a ZIP bomb is 1000s)
    max_text_chars: int = 100_000  # message text longer than this is cut (Slack itself caps at 40,000)
    max_title_chars: int = 2_000  # event titles and Drive file names longer than this are cut
