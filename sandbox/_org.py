"""The synthetic company: people, teams, identity quirks, external contacts, channels and Drive files.

Everything here derives from an RNG seeded with (seed, "org") and the head count, never from the
number of days, so a longer run sees the same org as a shorter one. `--phrasing a|b` also keeps every
identity quirk family to one half of its forms (QUIRK_FORMS), drawing exactly what the default draws.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

from . import _text as text
from ._common import DOMAIN, UTC, drive_id, rng_for, slack_id
from ._profile import STANDARD, Profile

EXECUTIVE = "Executive"

# Identity quirk families and their forms. A phrasing keeps each family to one half of its forms
# (`_text.half`: `a` the even positions, `b` the odd ones), so people mapping can be measured on identity
# forms it was not tuned on. The RNGs draw as without a phrasing; a form of the other half is then swapped
# for its counterpart (`_form`). Without a phrasing the draws stand, so the default org keeps its bytes.
QUIRK_FORMS: dict[str, tuple[str, ...]] = {
    "alias": ("flast", "firstl", "first_nn", "family_nn"),  # directory alias local parts
    "case": ("title", "upper", "upper_domain", "upper_local"),  # a Slack email's case
    "hidden_name": ("full", "lower", "folded", "spaced"),  # real_name when the email is hidden
    "renamed": ("lower", "nickname", "initial", "middle_initial"),  # real_name unlike the directory's
    "name_order": ("given_family", "family_given"),  # real_name of a name or ambiguous_name quirk
    "accents": ("acute", "diaeresis", "stroke", "tilde", "apostrophe", "hyphen"),  # marks in names
    "other_email": ("underscore", "former_name"),  # an emails[] address that is no alias (an old one)
    "non_editable": ("google_alias", "secondary_domain"),  # the domain of a nonEditableAlias
    "name_address": ("initial_dot_family", "family_dot_given"),  # a company address unknown to the directory
    "guest": ("plain", "namesake"),  # a Slack guest with a name of their own, or an employee's
}
# Names whose marks fall in the other half, respelled with a mark of this one (see `accent_form`).
RESPELL = {
    "Zoë": "Zoé",
    "Müller": "Sánchez",
    "Smith-Jones": "D'Souza",
    "José": "Jürgen",
    "Lucía": "Anaïs",
    "Łukasz": "Iñaki",
    "O'Brien": "Lloyd-Evans",
}
_MARKS = (
    ("acute", "áéíóú"),
    ("diaeresis", "äëïöü"),
    ("stroke", "łŁ"),
    ("tilde", "ñã"),
    ("apostrophe", "'"),
    ("hyphen", "-"),
)
SECONDARY_DOMAIN = "acme-corp.example"  # a second company domain, as a nonEditableAlias


def _form(family: str, drawn: str, phrasing: str | None) -> str:
    """Give the form of `family` to use: `drawn` when it lies in the phrasing's half, else its counterpart."""
    own = text.half(QUIRK_FORMS[family], phrasing)
    if drawn in own:
        return drawn
    return own[(QUIRK_FORMS[family].index(drawn) // 2) % len(own)]


def accent_form(word: str) -> str | None:
    """Give the accents-family form of a name (the kind of mark it carries), None for a plain name."""
    return next((form for form, marks in _MARKS if any(ch in marks for ch in word.lower())), None)


def _spelled(word: str, phrasing: str | None) -> str:
    """Give a drawn name, respelled when its mark belongs to the other half of the accents family."""
    form = accent_form(word)
    return word if form is None or _form("accents", form, phrasing) == form else RESPELL[word]


@dataclass(frozen=True)
class Person:
    """An employee: directory record, Slack account (maybe with an identity quirk) and calendar."""

    index: int
    given: str
    family: str
    email: str  # directory primary email, lowercase
    aliases: tuple[str, ...]
    department: str
    title: str
    manager: int | None
    tz: str
    directory_id: str
    handle: str
    slack_id: str | None  # None: never had a Slack account
    slack_email: str | None  # what Slack's profile shows; None when the workspace hides it
    slack_real_name: str
    display_name: str
    quirk: str | None  # alias | case | hidden | no_slack | one of ADDRESS_QUIRKS | None
    suspended: bool  # left: directory suspended, Slack account deactivated
    named_in_calendar: bool  # whether attendee entries carry a displayName
    other_emails: tuple[str, ...] = ()  # Directory emails[] addresses that are no alias
    non_editable_aliases: tuple[str, ...] = ()  # Directory nonEditableAliases (a domain alias)

    @property
    def full_name(self) -> str:
        """Give the directory full name."""
        return f"{self.given} {self.family}"

    @property
    def posts(self) -> bool:
        """Give whether this person can write in Slack."""
        return self.slack_id is not None and not self.suspended


@dataclass(frozen=True)
class External:
    """A contact at a partner or client: a calendar attendee, sometimes a Slack guest."""

    email: str
    name: str
    company: str
    tz: str
    slack_id: str | None


@dataclass(frozen=True)
class Team:
    """A manager and their direct reports."""

    name: str
    department: str
    manager: int
    members: tuple[int, ...]


@dataclass(frozen=True)
class Channel:
    """A public Slack channel and who is in it."""

    id: str
    name: str
    kind: str  # general | random | team | project | external
    people: tuple[int, ...]  # internal members who can post
    guests: tuple[int, ...]  # indexes into Org.externals
    created: int
    creator: str
    topic: str
    purpose: str
    department: str | None = None


@dataclass(frozen=True)
class DriveFile:
    """A Drive file owned by someone, linked from events and messages."""

    id: str
    name: str
    mime: str
    owner: str  # owner email
    created_ms: int
    modified_ms: int


@dataclass(frozen=True)
class Bot:
    """An app that posts into Slack (the calendar app, GitHub, Jira)."""

    user_id: str
    bot_id: str
    app_id: str
    handle: str
    name: str


@dataclass
class Org:
    """The whole company plus indexes the daily generators need."""

    seed: int
    start: date
    people: tuple[Person, ...]
    externals: tuple[External, ...]
    teams: tuple[Team, ...]
    channels: tuple[Channel, ...]
    files: tuple[DriveFile, ...]
    meeting_docs: tuple[int, ...]  # indexes of files that are documents *about* meetings
    bots: dict[str, Bot]
    person_channels: dict[int, tuple[tuple[int, ...], tuple[float, ...]]] = field(default_factory=dict)
    channel_index: dict[str, int] = field(default_factory=dict)
    colleagues: dict[str, tuple[int, ...]] = field(default_factory=dict)  # department -> active people
    reports: dict[int, tuple[int, ...]] = field(default_factory=dict)  # manager -> active direct reports
    profile: Profile = STANDARD

    def channel_of(self, channel_id: str) -> Channel:
        """Give the channel with id `channel_id`."""
        return self.channels[self.channel_index[channel_id]]


def build_org(seed: int, people: int, start: date, profile: Profile = STANDARD) -> Org:
    """Give the company of `people` employees for `seed`, the same whatever the number of days."""
    rng = rng_for(seed, "org", people)
    staff = _people(rng, people, start, profile, rng_for(seed, "identity", people))
    externals = _guest_forms(_externals(rng, people, profile.phrasing), staff, profile.phrasing)
    teams = _teams(staff)
    channels = _channels(rng, staff, externals, start)
    files, meeting_docs = _drive_pool(rng, staff, channels, start)
    bots = {
        key: Bot(slack_id(rng, "U"), slack_id(rng, "B"), slack_id(rng, "A"), handle, name)
        for key, handle, name in (
            ("calendar", "google_calendar", "Google Calendar"),
            ("github", "github", "GitHub"),
            ("jira", "jira_cloud", "Jira Cloud"),
        )
    }
    org = Org(seed, start, staff, externals, teams, channels, files, meeting_docs, bots, profile=profile)
    org.channel_index = {c.id: i for i, c in enumerate(channels)}
    org.person_channels = _person_channels(org)
    active = [p for p in staff if not p.suspended]
    for p in active:
        org.colleagues[p.department] = (*org.colleagues.get(p.department, ()), p.index)
        if p.manager is not None:
            org.reports[p.manager] = (*org.reports.get(p.manager, ()), p.index)
    return org


def _allocate(n: int, weights: list[float]) -> list[int]:
    """Give `n` split by `weights` with the largest-remainder method (sums exactly to `n`)."""
    total = sum(weights)
    raw = [n * w / total for w in weights]
    counts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def _hierarchy(rng: random.Random, n: int) -> tuple[list[str], list[str], list[int | None]]:
    """Give each person's department, title and manager: a CEO, department heads, leads, reports."""
    depts, titles = [EXECUTIVE], ["CEO"]
    managers: list[int | None] = [None]
    counts = _allocate(n - 1, [w for _, w, _ in text.DEPARTMENTS])
    if n - 1 >= 3 and counts[0] < 3:  # keep a real engineering team even in tiny orgs
        counts[counts.index(max(counts))] -= 3 - counts[0]
        counts[0] = 3
    for (dept, _, dept_titles), k in zip(text.DEPARTMENTS, counts, strict=True):
        if k == 0:
            continue
        head = len(depts)
        rest = list(range(head + 1, head + k))
        depts += [dept] * k
        titles.append(text.HEAD_TITLES[dept])
        managers.append(0)
        role: dict[int, tuple[str, int]] = {}
        for lead, group in zip(*_split_teams(head, rest), strict=True):
            if lead != head:
                role[lead] = (text.LEAD_TITLES[dept], head)
            for p in group:
                role[p] = (rng.choice(dept_titles), lead)
        for p in rest:
            titles.append(role[p][0])
            managers.append(role[p][1])
    return depts, titles, managers


def _split_teams(head: int, rest: list[int]) -> tuple[list[int], list[list[int]]]:
    """Give team leads and their reports; departments of up to eight report straight to the head."""
    if len(rest) <= 7:
        return [head], [rest]
    n_teams = math.ceil(len(rest) / 7)
    leads, others = rest[:n_teams], rest[n_teams:]
    return leads, [others[i::n_teams] for i in range(n_teams)]


def _people(
    rng: random.Random, n: int, start: date, profile: Profile, ids: random.Random
) -> tuple[Person, ...]:
    """Give the employees with names, emails, aliases, time zones, Slack accounts and quirks.

    `ids` draws the address quirks (ADDRESS_QUIRKS), so `rng` is consumed exactly as before them.
    """
    depts, titles, managers = _hierarchy(rng, n)
    phrasing = profile.phrasing
    names = [(rng.choice(text.GIVEN), rng.choice(text.FAMILY)) for _ in range(n)]
    names = [(_spelled(given, phrasing), _spelled(family, phrasing)) for given, family in names]
    emails, aliases = _emails(rng, names, phrasing)
    tzs = _time_zones(rng, managers)
    quirks, suspended = _quirks(rng, managers, emails, aliases, profile)
    if profile.hard:
        _namesake(names, emails, aliases, quirks, suspended)
    drawn = list(names)  # _real_name draws by the name, so it gets the name drawn before any renaming
    shown = _address_quirks(ids, names, emails, aliases, quirks, suspended, phrasing)
    handles: set[str] = set()
    out = []
    for i, (given, family) in enumerate(names):
        quirk = quirks.get(i)
        has_slack = quirk != "no_slack"
        address = shown.get(i)
        out.append(
            Person(
                index=i,
                given=given,
                family=family,
                email=emails[i],
                aliases=aliases[i],
                department=depts[i],
                title=titles[i],
                manager=managers[i],
                tz=tzs[i],
                directory_id=str(rng.randint(10**20, 10**21 - 1)),
                handle=_handle(rng, emails[i], handles),
                slack_id=slack_id(rng, "U") if has_slack else None,
                slack_email=address
                or (_slack_email(rng, emails[i], aliases[i], quirk, phrasing) if has_slack else None),
                slack_real_name=_name_shown(
                    ids, _real_name(rng, *drawn[i], quirk, profile), names[i], quirk, phrasing
                ),
                display_name=rng.choice(("", given, given.lower(), emails[i].split("@")[0])),
                quirk=quirk,
                suspended=i in suspended,
                named_in_calendar=rng.random() < 0.5,
                other_emails=(address,) if quirk == "other_email" and address else (),
                non_editable_aliases=(address,) if quirk == "non_editable" and address else (),
            )
        )
    return tuple(out)


# Address quirks: the Slack email is only in the Directory's emails[] array, only a nonEditableAlias (a
# domain alias), or a company address the Directory does not know (with a unique full name, or shared by
# two people: an ambiguous name that must stay unmapped).
ADDRESS_QUIRKS = ("other_email", "non_editable", "name", "ambiguous_name")
DOMAIN_ALIAS = f"{DOMAIN.split('.')[0]}.test-google-a.com"


def _address_quirks(
    ids: random.Random,
    names: list[tuple[str, str]],
    emails: list[str],
    aliases: list[tuple[str, ...]],
    quirks: dict[int, str],
    suspended: set[int],
    phrasing: str | None = None,
) -> dict[int, str]:
    """Give the people with an address quirk (set in `quirks`) and the address their Slack shows.

    At least one of each kind when the org has people to spare; the ambiguous pair takes the first
    person's name for the second (whose primary email then gets a digit, as on a collision).
    """
    n = len(names)
    free = [i for i in range(1, n) if i not in quirks and i not in suspended]
    ids.shuffle(free)
    shown: dict[int, str] = {}
    taken = {e.split("@")[0] for e in emails} | {a.split("@")[0] for al in aliases for a in al}
    counts = Counter(names)
    for kind, rate in (("other_email", 0.03), ("non_editable", 0.02), ("name", 0.02)):
        # A name match needs a full name nobody else in the directory has.
        pool = [i for i in free if kind != "name" or counts[names[i]] == 1]
        for i in pool[: max(1, round(rate * n))]:
            quirks[i] = kind
            shown[i] = _quirk_address(kind, names[i], emails[i], taken, phrasing)
            free.remove(i)
    unique = [i for i in free if counts[names[i]] == 1]
    if len(unique) >= 2:
        first, second = unique[:2]
        names[second] = names[first]
        local = text.email_local(*names[first])
        k = 2
        while f"{local}{k}" in taken:
            k += 1
        emails[second] = f"{local}{k}@{DOMAIN}"
        aliases[second] = ()
        taken.add(f"{local}{k}")
        for i in (first, second):
            quirks[i] = "ambiguous_name"
            shown[i] = _quirk_address("name", names[i], emails[i], taken, phrasing)
    return shown


def _name_shown(
    ids: random.Random, real_name: str, name: tuple[str, str], quirk: str | None, phrasing: str | None = None
) -> str:
    """Give Slack's real_name; for a name quirk the directory name, "Given Family" or "Family, Given"."""
    if quirk not in ("name", "ambiguous_name"):
        return real_name
    given, family = name
    drawn = "family_given" if ids.random() < 0.5 else "given_family"
    return (
        f"{family}, {given}"
        if _form("name_order", drawn, phrasing) == "family_given"
        else f"{given} {family}"
    )


def _quirk_address(
    kind: str, name: tuple[str, str], primary: str, taken: set[str], phrasing: str | None = None
) -> str:
    """Give the address an address quirk's Slack profile shows (unused by anyone else)."""
    local = primary.split("@")[0]
    if kind == "non_editable":
        domain = "google_alias" if _form("non_editable", "google_alias", phrasing) == "google_alias" else ""
        return f"{local}@{DOMAIN_ALIAS if domain else SECONDARY_DOMAIN}"
    given, family = (text.ascii_fold(part).lower().replace(" ", "") for part in name)
    if kind == "other_email":
        form = _form("other_email", "underscore", phrasing)
        candidate = f"{given}_{family}" if form == "underscore" else f"{given}.{_former(given, family)}"
    else:
        form = _form("name_address", "initial_dot_family", phrasing)
        candidate = f"{given[:1]}.{family}" if form == "initial_dot_family" else f"{family}.{given}"
    k = 1
    while (candidate if k == 1 else f"{candidate}{k}") in taken:
        k += 1
    chosen = candidate if k == 1 else f"{candidate}{k}"
    taken.add(chosen)
    return f"{chosen}@{DOMAIN}"


def _former(given: str, family: str) -> str:
    """Give a family name the person had before (an old address keeps it), other than `family`."""
    pool = [text.ascii_fold(f) for f in text.FAMILY if text.ascii_fold(f) != family]
    return pool[sum(map(ord, given + family)) % len(pool)]


def _emails(
    rng: random.Random, names: list[tuple[str, str]], phrasing: str | None = None
) -> tuple[list[str], list[tuple[str, ...]]]:
    """Give primary emails (`first.last`, a digit on collision) and aliases for ~40%: `flast`, or `firstl`
    in phrasing b."""
    taken: set[str] = set()
    emails = []
    for given, family in names:
        local = text.email_local(given, family)
        candidate, k = local, 1
        while candidate in taken:
            k += 1
            candidate = f"{local}{k}"
        taken.add(candidate)
        emails.append(f"{candidate}@{DOMAIN}")
    alias_out: list[tuple[str, ...]] = []
    for given, family in names:
        g, f = text.ascii_fold(given), text.ascii_fold(family)
        short = f"{g[:1]}{f}" if _form("alias", "flast", phrasing) == "flast" else f"{g}{f[:1]}"
        if rng.random() < 0.4 and short not in taken:
            taken.add(short)
            alias_out.append((f"{short}@{DOMAIN}",))
        else:
            alias_out.append(())
    return emails, alias_out


def _time_zones(rng: random.Random, managers: list[int | None]) -> list[str]:
    """Give each person a time zone; reports often sit in their manager's zone."""
    zones = [name for name, _ in text.TIME_ZONES]
    weights = [w for _, w in text.TIME_ZONES]
    out: list[str] = []
    for i, manager in enumerate(managers):
        if i == 0:
            out.append("America/New_York")
        elif manager is not None and manager != 0 and rng.random() < 0.6:
            out.append(out[manager])
        else:
            out.append(rng.choices(zones, weights)[0])
    return out


def _quirks(
    rng: random.Random,
    managers: list[int | None],
    emails: list[str],
    aliases: list[tuple[str, ...]],
    profile: Profile,
) -> tuple[dict[int, str], set[int]]:
    """Give the identity quirk of the people who have one, and who left the company.

    Every kind appears at least once whatever the head count, so small test orgs cover them all.
    """
    n = len(managers)
    is_manager = {m for m in managers if m is not None}
    pool = [i for i in range(1, n) if i not in is_manager]
    rng.shuffle(pool)
    leavers = set(pool[: max(1, round(profile.leaver_rate * n))])
    rest = [i for i in range(1, n) if i not in leavers]
    rng.shuffle(rest)
    quirks: dict[int, str] = {}
    with_alias = [i for i in rest if aliases[i]]
    for i in with_alias[: max(1, round(profile.alias_rate * n))]:
        quirks[i] = "alias"
    free = [i for i in rest if i not in quirks]
    rates = (
        ("case", profile.case_rate, 1),
        ("hidden", profile.hidden_rate, 1),
        ("no_slack", profile.no_slack_rate, 0),
    )
    for kind, rate, floor in rates:
        count = max(floor, round(rate * n))
        for i in free[:count]:
            quirks[i] = kind
        free = free[count:]
    if "alias" not in quirks.values() and free:  # nobody drew an alias: give one to make the quirk
        quirks[free[0]] = "alias"
        parts = emails[free[0]].split("@")[0].split(".")
        first = (
            parts[0]
            if _form("alias", "first_nn", profile.phrasing) == "first_nn"
            else parts[-1].rstrip("0123456789")
        )
        aliases[free[0]] = (f"{first}{rng.randint(10, 99)}@{DOMAIN}",)
    return quirks, leavers


def _namesake(
    names: list[tuple[str, str]],
    emails: list[str],
    aliases: list[tuple[str, ...]],
    quirks: dict[int, str],
    suspended: set[int],
) -> None:
    """Give the first person with a hidden Slack email a namesake colleague (hard profile).

    The namesake keeps a visible email, so their Slack account maps by email and the hidden one is the
    only directory person of that name left; the namesake's email gets a digit, as on a collision.
    """
    hidden = next((i for i in sorted(quirks) if quirks[i] == "hidden"), None)
    other = next(
        (i for i in range(1, len(names)) if i not in quirks and i not in suspended and i != hidden), None
    )
    if hidden is None or other is None:
        return
    names[other] = names[hidden]
    local = text.email_local(*names[other])
    taken = {e.split("@")[0] for e in emails} | {a.split("@")[0] for al in aliases for a in al}
    k = 2
    while f"{local}{k}" in taken:
        k += 1
    emails[other] = f"{local}{k}@{DOMAIN}"
    aliases[other] = ()


def _handle(rng: random.Random, email: str, taken: set[str]) -> str:
    """Give a unique Slack handle: `jane.doe`, `jdoe` or `jane`."""
    local = email.split("@")[0]
    first, _, last = local.partition(".")
    options = (local, f"{first[:1]}{last}", first)
    choice = rng.choices(options, (0.6, 0.25, 0.15))[0]
    if choice in taken:
        choice = local
    taken.add(choice)
    return choice


def _slack_email(
    rng: random.Random, primary: str, aliases: tuple[str, ...], quirk: str | None, phrasing: str | None = None
) -> str | None:
    """Give the email Slack shows: the primary, an alias, a case variant, or nothing (hidden)."""
    if quirk == "hidden":
        return None
    if quirk == "alias":
        return aliases[0]
    if quirk == "case":
        local, domain = primary.split("@")
        variants = {
            "title": f"{'.'.join(p.capitalize() for p in local.split('.'))}@{domain.capitalize()}",
            "upper": primary.upper(),
            "upper_domain": f"{local}@{domain.upper()}",
            "upper_local": f"{local.upper()}@{domain}",
        }
        return variants[_form("case", rng.choice(("title", "upper", "upper_domain")), phrasing)]
    return primary


def _real_name(rng: random.Random, given: str, family: str, quirk: str | None, profile: Profile) -> str:
    """Give Slack's real_name: usually the directory name, sometimes a nickname or a variant.

    A hidden email leaves the name as the only clue: the standard profile keeps it equal to the
    directory's; the hard one also writes it lower-cased, without accents or with stray spaces.
    """
    full = f"{given} {family}"
    if quirk == "hidden":
        folded = f"{text.ascii_fold(given).capitalize()} {text.ascii_fold(family).capitalize()}"
        hidden = {"full": full, "lower": full.lower(), "folded": folded, "spaced": f" {given}  {family} "}
        drawn = rng.choice(QUIRK_FORMS["hidden_name"]) if profile.hard else "full"
        return hidden[_form("hidden_name", drawn, profile.phrasing)]
    if rng.random() > profile.renamed_share:
        return full
    initial = "" if given in text.NICKNAMES else rng.choice("ABCDEJKLMRS")
    drawn = "nickname" if given in text.NICKNAMES else rng.choice(("lower", "initial", "middle_initial"))
    form = _form("renamed", drawn, profile.phrasing)
    if form == "nickname" and given not in text.NICKNAMES:
        form = "middle_initial"  # the lower-case name's counterpart when the name has no nickname
    renamed = {
        "nickname": f"{text.NICKNAMES.get(given, given)} {family}",
        "lower": full.lower(),
        "initial": f"{given} {family[:1]}.",
        "middle_initial": f"{given} {initial or 'J'}. {family}",
    }
    return renamed[form]


def _externals(rng: random.Random, n: int, phrasing: str | None = None) -> tuple[External, ...]:
    """Give partner and client contacts; two partner contacts are Slack guests."""
    out: list[External] = []
    taken: set[str] = set()
    zones = [name for name, _ in text.TIME_ZONES]
    for i in range(max(4, n // 6)):
        domain, company = text.COMPANIES[0] if i % 5 in (0, 2) else text.COMPANIES[1]
        given = _spelled(rng.choice(text.GIVEN), phrasing)
        family = _spelled(rng.choice(text.FAMILY), phrasing)
        local = text.email_local(given, family)
        while local in taken:
            local += str(rng.randint(1, 9))
        taken.add(local)
        guest = i in (0, 2)  # the first two partner contacts joined the shared channel
        out.append(
            External(
                f"{local}@{domain}",
                f"{given} {family}",
                company,
                rng.choice(zones),
                slack_id(rng, "U") if guest else None,
            )
        )
    return tuple(out)


def _guest_forms(
    externals: tuple[External, ...], staff: tuple[Person, ...], phrasing: str | None
) -> tuple[External, ...]:
    """Give the contacts, the Slack guests renamed after employees when the guest family's form is a namesake.

    Each guest takes the full name of a different employee who posts under their own visible email, so
    the guest's address (at the partner's domain) is the only thing telling the two apart.
    """
    if _form("guest", "plain", phrasing) == "plain":
        return externals
    hosts = iter(p for p in staff if p.index and p.posts and p.quirk is None)
    taken = {e.email.split("@")[0] for e in externals}
    out = []
    for e in externals:
        host = next(hosts, None) if e.slack_id else None
        if host is None:
            out.append(e)
            continue
        local, k = text.email_local(host.given, host.family), 1
        while (local if k == 1 else f"{local}{k}") in taken:
            k += 1
        local = local if k == 1 else f"{local}{k}"
        taken.add(local)
        out.append(replace(e, email=f"{local}@{e.email.split('@')[1]}", name=host.full_name))
    return tuple(out)


def _teams(staff: tuple[Person, ...]) -> tuple[Team, ...]:
    """Give every manager's team, plus the leadership team of the CEO and department heads."""
    reports: dict[int, list[int]] = {}
    for p in staff:
        if p.manager is not None:
            reports.setdefault(p.manager, []).append(p.index)
    out: list[Team] = []
    per_dept: dict[str, int] = {}
    for manager, members in reports.items():
        dept = staff[manager].department
        if dept == EXECUTIVE:
            out.append(Team("Leadership", EXECUTIVE, manager, tuple(members)))
            continue
        k = per_dept.get(dept, 0)
        per_dept[dept] = k + 1
        names = text.TEAM_NAMES[dept]
        name = names[k % len(names)] + (f" {k // len(names) + 1}" if k >= len(names) else "")
        out.append(Team(name, dept, manager, tuple(members)))
    return tuple(out)


def _epoch_before(rng: random.Random, start: date, lo_days: int, hi_days: int) -> int:
    """Give a random epoch second between `hi_days` and `lo_days` days before `start`."""
    base = int(datetime.combine(start, time(), UTC).timestamp())
    return base - rng.randint(lo_days * 86400, hi_days * 86400)


def _channels(
    rng: random.Random, staff: tuple[Person, ...], externals: tuple[External, ...], start: date
) -> tuple[Channel, ...]:
    """Give general, random, one channel per department, project channels and a partner channel."""
    posters = [p.index for p in staff if p.posts]
    make = _ChannelMaker(rng, staff, start)
    out = [
        make("general", "general", posters, "Company-wide announcements", "This channel is for everyone"),
        make("random", "random", [p for p in posters if rng.random() < 0.85], "", "Non-work banter"),
    ]
    for dept, _, _ in text.DEPARTMENTS:
        members = [p.index for p in staff if p.department == dept]
        if len(members) >= 2:
            out.append(
                make(f"team-{dept.lower()}", "team", members, f"{dept} team", f"All things {dept}", dept=dept)
            )
    engineers = [p.index for p in staff if p.department == "Engineering"] or posters
    for k in range(max(2, len(staff) // 8)):
        out.append(_project_channel(rng, make, k, engineers, posters))
    partner_guests = tuple(i for i, e in enumerate(externals) if e.slack_id)
    liaisons = [p.index for p in staff if p.department in ("Sales", "Support", "Engineering")]
    out.append(
        make(
            "ext-partnerco",
            "external",
            rng.sample(liaisons, min(len(liaisons), rng.randint(3, 6))),
            "Shared with Partnerco",
            "Integration work with Partnerco",
            partner_guests,
        )
    )
    return tuple(out)


class _ChannelMaker:
    """Makes channels with fresh ids, keeping only members who can post."""

    def __init__(self, rng: random.Random, staff: tuple[Person, ...], start: date) -> None:
        self.rng, self.staff, self.start = rng, staff, start

    def __call__(
        self,
        name: str,
        kind: str,
        people: list[int],
        topic: str,
        purpose: str,
        guests: tuple[int, ...] = (),
        dept: str | None = None,
    ) -> Channel:
        """Give a channel whose members are the posting people among `people`."""
        members = sorted({p for p in people if self.staff[p].posts})
        creator = self.staff[members[0] if members else 0].slack_id or ""
        created = _epoch_before(self.rng, self.start, 60, 1500)
        return Channel(
            slack_id(self.rng, "C"),
            name,
            kind,
            tuple(members),
            guests,
            created,
            creator,
            topic,
            purpose,
            dept,
        )


def _project_channel(
    rng: random.Random, make: _ChannelMaker, k: int, engineers: list[int], posters: list[int]
) -> Channel:
    """Give the k-th `proj-<word>` channel, half engineers and half anyone."""
    words, suffixes = text.PROJECT_WORDS, text.PROJECT_SUFFIXES
    word = words[k % len(words)]
    suffix = suffixes[(k // len(words)) % len(suffixes)]
    serial = k // (len(words) * len(suffixes))
    name = f"proj-{word}{suffix}" + (f"-{serial + 1}" if serial else "")
    size = rng.randint(4, 12)
    core = rng.sample(engineers, min(len(engineers), max(2, size // 2)))
    others = rng.sample(posters, min(len(posters), size - len(core)))
    return make(
        name,
        "project",
        core + others,
        f"Project {word.capitalize()}",
        f"Working channel for {word.capitalize()}",
    )


def _drive_pool(
    rng: random.Random, staff: tuple[Person, ...], channels: tuple[Channel, ...], start: date
) -> tuple[tuple[DriveFile, ...], tuple[int, ...]]:
    """Give the Drive files that exist before the first day, and which of them are about meetings."""
    projects = [c.name[5:].split("-")[0].capitalize() for c in channels if c.kind == "project"]
    owners = [p for p in staff if not p.suspended]
    files = []
    for _ in range(max(12, int(1.2 * len(staff)))):
        owner = rng.choice(owners)
        name = rng.choice(text.DOC_TITLES).format(
            project=rng.choice(projects),
            team=rng.choice(text.TEAM_NAMES["Engineering"]),
            dept=owner.department,
            n=rng.randint(2, 40),
        )
        files.append(_drive_file(rng, name, owner.email, start))
    meeting_docs = []
    for title in text.MEETING_DOC_TITLES:
        meeting_docs.append(len(files))
        files.append(_drive_file(rng, title, rng.choice(owners).email, start, mime=DOC))
    return tuple(files), tuple(meeting_docs)


DOC = "application/vnd.google-apps.document"
MIMES = (
    DOC,
    "application/vnd.google-apps.spreadsheet",
    "application/vnd.google-apps.presentation",
    "application/pdf",
)


def _drive_file(rng: random.Random, name: str, owner: str, start: date, mime: str | None = None) -> DriveFile:
    """Give a pre-existing Drive file created up to 400 days before `start`."""
    created = _epoch_before(rng, start, 3, 400) * 1000 + rng.randrange(1000)
    start_ms = int(datetime.combine(start, time(), UTC).timestamp()) * 1000
    modified = created + rng.randrange(0, start_ms - created)
    mime = mime or rng.choices(MIMES, (0.55, 0.25, 0.15, 0.05))[0]
    if mime == "application/pdf":
        name += ".pdf"
    return DriveFile(drive_id(rng), name, mime, owner, created, modified)


def _person_channels(org: Org) -> dict[int, tuple[tuple[int, ...], tuple[float, ...]]]:
    """Give, per poster, the channels they write in and cumulative weights (teams and projects busiest)."""
    weight = {"general": 0.6, "random": 1.0, "team": 6.0, "project": 4.5, "external": 3.0}
    chans: dict[int, list[int]] = {}
    for ci, c in enumerate(org.channels):
        for p in c.people:
            chans.setdefault(p, []).append(ci)
    out = {}
    for p, cis in chans.items():
        cum, total = [], 0.0
        for ci in cis:
            total += weight[org.channels[ci].kind]
            cum.append(total)
        out[p] = (tuple(cis), tuple(cum))
    return out
