"""Word banks, message templates and vendor URL builders, so generated text reads like a real workspace.

Templates are `str.format_map` patterns; `Slots` fills each field on first use from the message
context, so a template only pays for the fields it names. Nothing here marks a message's label.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Protocol, TypeVar

from ._common import lower_word
from ._profile import Profile


def _words(spaced: str) -> tuple[str, ...]:
    """Give the words of a space-separated bank."""
    return tuple(spaced.split())


GIVEN = _words(
    "Aisha Alex Alice Amara Ana Andre Anika Arjun Ava Ben Bianca Carlos Chen Chloe Chris Dana Daniel David "
    "Deepa Diego Elena Eli Emma Erik Fatima Felix Gabriel Grace Hana Hannah Hiro Ian Imani Isaac Ivan Jack "
    "Jamal Jane Javier Jin Joao Jonas José Julia Kai Kate Kenji Kofi Lars Laura Leah Leo Liam Lin Lucas "
    "Lucía Maya Mei Mia Miguel Mohammed Nadia Naomi Nina Noah Olga Omar Owen Pablo Priya Rahul Raj Rosa "
    "Ruth Sam Sana Sara Sean Sofia Sophie Tariq Tom Uma Victor Wei Yara Yusuf Zara Zoë Łukasz Ingrid Marta "
    "Nikhil Oscar Paula Quinn Rachel Sven Tanvi Ursula Valentina Wen Xavier Yuki Zainab Bruno Clara Dmitri "
    "Esther Farah Goran Helena Ines Jorge Katarzyna Lena Mateo Nora Pedro Renata Stefan Theo Vera"
)
FAMILY = _words(
    "Adams Ahmed Almeida Andersen Bauer Becker Bianchi Brown Chen Cohen Costa Das Dubois Evans Fischer "
    "Garcia Gupta Hansen Hoffmann Hughes Ibrahim Ito Jansen Johnson Kapoor Kim Kowalski Kumar Larsen Lee "
    "Lopez Martin Meyer Miller Moreau Müller Nakamura Nguyen Novak O'Brien Okafor Olsen Park Patel Perez "
    "Petrov Reddy Reyes Richter Rossi Sato Schmidt Schneider Silva Singh Smith Sousa Suzuki Tanaka Taylor "
    "Thomas Tran Vargas Wagner Walker Wang Weber Williams Wilson Wright Yamamoto Yilmaz Zhang Zimmermann "
    "Abbott Banerjee Castillo Dimitrov Eriksen Fernandes Gallagher Haddad Iyer Jovanovic Kaur Lindqvist "
    "Mensah Nilsen Ortega Pillai Quintero Rahman Santos Takahashi Uddin Varga Watanabe Xu Young Zhou "
    "Smith-Jones"
)
NICKNAMES = {
    "Alexander": "Alex",
    "Daniel": "Dan",
    "David": "Dave",
    "Gabriel": "Gabe",
    "Katarzyna": "Kasia",
    "Jonas": "Jon",
    "Lucas": "Luke",
    "Samuel": "Sam",
    "Valentina": "Vale",
    "Victor": "Vic",
    "Elena": "Lena",
    "Dmitri": "Dima",
    "Benjamin": "Ben",
    "Christopher": "Chris",
    "Rahul": "Rahul K.",
}

DEPARTMENTS = (
    (
        "Engineering",
        0.34,
        (
            "Software Engineer",
            "Senior Software Engineer",
            "Staff Engineer",
            "Site Reliability Engineer",
            "Data Engineer",
            "QA Engineer",
        ),
    ),
    ("Product", 0.06, ("Product Manager", "Senior Product Manager", "Product Analyst")),
    ("Design", 0.07, ("Product Designer", "Senior Product Designer", "UX Researcher")),
    ("Sales", 0.15, ("Account Executive", "Sales Development Rep", "Solutions Engineer")),
    ("Marketing", 0.10, ("Content Marketer", "Growth Marketer", "Product Marketing Manager")),
    ("Support", 0.12, ("Support Engineer", "Support Specialist", "Customer Success Manager")),
    ("Finance", 0.07, ("Financial Analyst", "Accountant", "FP&A Analyst")),
    ("People", 0.09, ("Recruiter", "People Partner", "HR Generalist")),
)
HEAD_TITLES = {
    "Engineering": "VP Engineering",
    "Product": "Head of Product",
    "Design": "Head of Design",
    "Sales": "VP Sales",
    "Marketing": "Head of Marketing",
    "Support": "Head of Support",
    "Finance": "CFO",
    "People": "Head of People",
}
LEAD_TITLES = {
    "Engineering": "Engineering Manager",
    "Product": "Group Product Manager",
    "Design": "Design Manager",
    "Sales": "Sales Manager",
    "Marketing": "Marketing Manager",
    "Support": "Support Lead",
    "Finance": "Finance Manager",
    "People": "Talent Lead",
}
TEAM_NAMES = {
    "Engineering": (
        "Platform",
        "Payments",
        "Mobile",
        "Data",
        "Infra",
        "Growth",
        "Identity",
        "Search",
        "Web",
        "API",
        "Billing",
        "Reliability",
    ),
    "Sales": ("Enterprise", "Mid-Market", "SMB", "EMEA Sales", "APAC Sales"),
    "Support": ("Tier 1", "Tier 2", "Escalations", "Onboarding"),
    "Marketing": ("Brand", "Demand Gen", "Lifecycle"),
    "Design": ("Design Systems", "Research"),
    "Product": ("Core Product", "Platform Product"),
    "Finance": ("FP&A", "Accounting"),
    "People": ("Recruiting", "People Ops"),
}
TIME_ZONES = (
    ("America/New_York", 0.30),
    ("America/Los_Angeles", 0.18),
    ("Europe/London", 0.14),
    ("Europe/Berlin", 0.14),
    ("Asia/Kolkata", 0.12),
    ("America/Sao_Paulo", 0.06),
    ("Australia/Sydney", 0.06),
)
PROJECT_WORDS = _words(
    "atlas nova orion phoenix hermes tundra falcon aurora quartz nimbus zephyr cobalt ember lumen vega "
    "polaris sequoia mosaic beacon summit harbor comet delta echo fjord glacier helix iris juniper kestrel "
    "lotus meridian nebula onyx prism quill raven sierra tidal umbra vortex willow yarrow zenith"
)
PROJECT_SUFFIXES = ("", "-api", "-web", "-mobile", "-infra", "-launch", "-migration", "-v2")
ROOMS = (
    "Everest",
    "Kilimanjaro",
    "Denali",
    "Matterhorn",
    "Fuji",
    "Aconcagua",
    "Olympus",
    "Rainier",
)
COMPANIES = (("partner.example", "Partnerco"), ("client.example", "Client Corp"))
CLIENT_PRODUCTS = ("renewal", "pilot", "integration", "rollout", "QBR", "security review")

TOPICS = (
    "the Q4 roadmap",
    "the pricing page",
    "onboarding flow",
    "the billing migration",
    "SSO rollout",
    "the data pipeline",
    "the mobile release",
    "churn numbers",
    "the hiring plan",
    "the launch checklist",
    "API rate limits",
    "the design system",
    "the support backlog",
    "customer feedback",
    "the brand refresh",
    "the Postgres upgrade",
    "search relevance",
    "the SOC 2 audit",
    "the partner integration",
    "OKR drafts",
    "the budget forecast",
    "interview loops",
    "the incident review",
    "the new dashboard",
    "release notes",
    "the quarterly business review",
    "the webinar",
    "the referral program",
    "cost savings",
    "the beta feedback",
)
AGENDA_ITEMS = (
    "status updates",
    "blockers",
    "Q4 priorities",
    "hiring pipeline",
    "incident follow-ups",
    "launch checklist",
    "metrics review",
    "open questions on the spec",
    "customer escalations",
    "budget check-in",
    "demo of the new flow",
    "retro actions",
    "dependencies with Platform",
    "risks",
    "roadmap changes",
    "capacity for next sprint",
    "feedback from the pilot",
    "pricing experiments",
    "on-call handover",
    "design review",
    "timeline",
    "next steps",
)
TASKS = (
    "send the deck",
    "update the spec",
    "file the tickets",
    "share the numbers",
    "book the follow-up",
    "write up the decision",
    "ping legal",
    "draft the announcement",
    "check the logs",
    "fix the dashboard",
    "schedule the customer call",
    "update the roadmap doc",
    "review the PR",
    "sync with finance",
    "collect feedback",
    "circulate the notes",
)
DEADLINES = ("by Friday", "by EOD", "tomorrow", "before the next sync", "this week", "by Monday", "asap")
THINGS = (
    "the deploy",
    "the PR",
    "the dashboard",
    "the report",
    "the migration",
    "CI",
    "staging",
    "the build",
    "the doc",
    "the sheet",
    "the forecast",
    "the contract",
    "the ticket",
    "the release",
    "the tests",
)
REPOS = ("api", "web", "mobile-app", "infra", "billing-service", "data-pipeline", "design-tokens")
TICKET_PREFIXES = ("ENG", "OPS", "SUP", "MKT", "DES", "FIN")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
REACTIONS = (
    "+1",
    "white_check_mark",
    "eyes",
    "raised_hands",
    "joy",
    "pray",
    "tada",
    "100",
    "fire",
    "thumbsup_all",
    "heart",
    "rocket",
    "thinking_face",
    "ok_hand",
)
DOC_TITLES = (
    "{project} PRD",
    "{project} tech spec",
    "{team} roadmap 2026",
    "Q4 OKRs - {dept}",
    "{dept} budget FY27",
    "Pricing model v{n}",
    "Onboarding checklist",
    "Incident postmortem #{n}",
    "{project} launch plan",
    "Hiring plan - {dept}",
    "{team} runbook",
    "Customer feedback log",
    "Competitive analysis",
    "{project} metrics",
    "Interview rubric - {dept}",
    "Brand guidelines",
    "{project} design review",
)
MEETING_DOC_TITLES = (
    "How we run meetings",
    "Meeting-free Wednesdays policy",
    "Meeting notes template",
    "Calendar hygiene tips",
)

CHATTER = (
    "{open}anyone else seeing {thing} being slow today?",
    "{open}{thing} is green again :tada:",
    "morning all :wave:",
    "{open}I'll be heads-down on {topic} most of today",
    "{open}thanks {mention} for the help with {thing}!",
    "{open}lunch order going in at 12, reply if you want in",
    "{open}{mention} nice work on {topic} :clap:",
    "{open}just merged the fix for {ticket}",
    "{open}does anyone know who owns {topic}?",
    "{open}can someone review <https://github.com/acme/{repo}/pull/{pr}|#{pr}>? small one",
    "{open}opened {ticket} for {topic}, details in the ticket",
    "{open}I'm out {day} afternoon, {mention} is covering",
    "{open}reminder that the doc on {topic} is due {deadline}",
    "{open}FYI {topic} is moving to {channel}",
    "{open}here's the latest on {topic}: {doc}",
    "{open}I put together some notes on {topic} {doc}",
    "{open}updated numbers are in {doc}",
    "{open}{thing} failed again on main, looking",
    "{open}is {thing} expected to take this long?",
    "{open}pushed a branch with a first pass at {topic}",
    "{open}quick poll: tabs or spaces for the new {repo} lint config :upside_down_face:",
    "{open}customer asked about {topic} again, where do we stand?",
    "{open}we hit {n}% of the target on {topic} this week",
    "{open}happy {day} folks",
    "{open}who has context on {ticket}?",
    "{open}coffee machine on 3 is fixed :coffee:",
    "{open}welcome {mention} to the team! :wave:",
    "{open}{mention} can you take a look at {ticket} when you get a sec?",
    "{open}I think {topic} needs another pass before we ship",
    "{open}rolling back {thing}, will post an update",
    "{open}`{repo}` tests are flaky again, retrying",
    "{open}try `make {cmd}` before pushing, it catches most of it",
    "{open}the staging env is back up",
    "{open}draft for {topic} is ready for comments {doc}",
    "{open}what's the ETA on {thing}?",
    "{open}+1 to moving {topic} to next sprint",
    "{open}we should document {topic} somewhere",
    "{open}great turnout at the demo yesterday!",
)
OPENERS = ("", "", "", "", "hey ", "fyi ", "quick q: ", "heads up, ", "ok so ", "<!here> ", "hi all, ")
REPLIES = (
    "+1",
    "makes sense",
    "done",
    "looking now",
    "ty!",
    "on it",
    "thanks!",
    "agreed",
    "nice",
    "same here",
    "yep",
    "can do",
    "👀",
    "good call",
    "will check after lunch",
    "merged",
    "let me know if you need help",
    "I can take it",
    "not sure, {mention} might know",
    "fixed in {ticket}",
    "should be fine now",
    "works for me",
    "lol",
    "great, thanks {mention}",
    "hmm, let me dig in",
    "sounds good",
    "I think it's {thing}",
    "added to {doc}",
    "same issue here",
    "can you share the error?",
)
CODE = (
    "seeing `TimeoutError: read timed out` from {repo} again",
    "```\n$ make {cmd}\nFAILED tests/test_{repo_mod}.py::test_{cmd} - AssertionError\n```",
    "the query is doing a seq scan, adding an index on `{repo_mod}_id` should fix it",
    "bumped `{repo_mod}` to {n}.{m}.0 in {repo}",
    "anyone know why `{cmd}` hangs on CI? works locally",
    "config flag is `{repo_mod}.enabled=true`, it's off in prod",
    "`git bisect` points at <https://github.com/acme/{repo}/commit/{sha}|{sha}>",
)
CMDS = ("test", "lint", "build", "migrate", "deploy", "bench", "fmt", "check")

HARD_NEGATIVES = (
    ("this meeting could have been an email", "meeting complaint, no meeting"),
    ("honestly that whole meeting could have been an email :sweat_smile:", "meeting complaint, no meeting"),
    ("projector in the {room} room is broken again", "facilities talk about a meeting room"),
    ("the {room} room screen won't connect to laptops, ticket filed", "facilities talk about a meeting room"),
    ("should we meet next week to talk about {topic}?", "meeting proposal without follow-up"),
    ("we should set up a call about {topic} at some point", "meeting proposal without follow-up"),
    ("recording from last week's demo: <{zoom_rec}>", "call recording link, not a call"),
    ("here's the recording if you missed it <{zoom_rec}|recording>", "call recording link, not a call"),
    ("please read {meeting_doc} before booking new meetings", "document about meetings"),
    ("new {meeting_doc} is up, feedback welcome", "document about meetings"),
    ("what's the agenda behind this change? feels rushed", "'agenda' in another sense"),
    ("not trying to push an agenda, but {topic} really needs an owner", "'agenda' in another sense"),
    ("Recap of Q{q} numbers: revenue up {n}%, churn flat", "recap of a report, no meeting"),
    ("running late on {topic}, will have it by EOD", "late on a deliverable, not a meeting"),
    ("pushing the release an hour, CI is slow", "reschedule of a deploy, not a meeting"),
    ("let's take this offline", "figure of speech"),
    ("joining the {team} team next month, excited!", "'joining' in another sense"),
    ("can't make the offsite in November :(", "event talk, no meeting in range"),
    ("calendar is a mess this week lol", "calendar talk, no meeting"),
)

AGENDA = (
    "Agenda for {title} later today:\n• {item1}\n• {item2}\n• {item3}",
    "agenda for today's {title}: {item1}, {item2}. add anything else to {doc}",
    "For {title} at {clock}, let's cover: 1) {item1} 2) {item2}",
    "Dropping the agenda for {title} here — {doc}",
    "Topics for {title} today: {item1} and {item2}. Anything else?",
    "*{title}* agenda\n1. {item1}\n2. {item2}\n3. {item3}",
    "Prep for {title} at {clock}: please skim {doc} before we start",
)
AGENDA_REPLIES = (
    "can we also cover {item1}?",
    "added a point on {item1}",
    "+1, I'll bring the numbers",
    "I might be 5 min late to this one",
)
CALENDAR_BOT = (
    "Event starting in {minutes} minutes:",
    "Event starting in {minutes} minutes:",
    "Reminder: event starting soon",
)
JOINING = (
    "joining now {link}",
    "hopping on <{url}|the call>",
    "running 5 min late, start without me",
    "be there in 2",
    "I'm in the room, where is everyone?",
    "can someone admit me? stuck in the lobby",
    "starting {title} now — {link}",
    "on my way, 2 min",
    "joining from my phone today",
)
CALL_LINK = (
    "link for {title}: {link}",
    "here's the link {link}",
    "we're using this today: <{url}|join>",
    "new link for {title} (the old one is broken): {link}",
)
DURING = (
    "can everyone see my screen?",
    "sorry my audio dropped",
    "sharing the deck now {doc}",
    "notes are in {doc}",
    "brb 2 min",
    "can you repeat the last point?",
    "+1 to what {mention} said",
    "dropping the link we discussed: {doc}",
    "is the recording on?",
    "lagging a bit, will catch up",
)
RECAP = (
    "Recap of {title}: {item1} on track, {item2} needs an owner",
    "Notes from today's {title}: {doc}",
    "Summary of {title} — decisions: go with option B for {item1}; revisit {item2} next week",
    "tl;dr from {title}: {item1} slipped a week, {item2} is fine",
    "quick recap of {title} for those who missed it: {item1}, {item2}, details in {doc}",
    "{title} notes are up {doc}",
)
ACTION_ITEMS = (
    "AI: {mention} to {task} {deadline}",
    "Action items:\n• {mention} — {task}\n• {mention2} — {task2}",
    "follow-ups from {title}: {mention} {task} {deadline}",
    "AIs\n- {mention}: {task}\n- {mention2}: {task2} {deadline}",
)
RESCHEDULE = (
    "pushing the {title} {shift}",
    "can we move {title} {shift}? conflict on my side",
    "moving today's {title} {shift}, sorry for the shuffle",
    "heads up: {title} is now {shift}",
)
# Reschedules whose shift is a clock time ("to 3pm") or "... earlier", where "pushing the ..." reads oddly.
RESCHEDULE_TO = ("moving {title} {shift}", "heads up: {title} is now {shift}")
CANCELLATION = (
    "cancelling today's {title}, nothing to discuss",
    "no {title} today — enjoy the time back",
    "skipping {title} this week",
    "{title} is cancelled, async updates in thread please",
    "let's skip today's {title}, half the team is out",
)
QUICK_CALL = (
    "quick call?",
    "{mention} got 5 min for a quick call?",
    "can we hop on a call re {topic}?",
    "easier to talk this through live, call?",
    "{mention} huddle or zoom? whichever",
    "got a sec to jump on a call about {topic}?",
)
CALL_ANSWER = ("sure {link}", "here: {link}", "yep, joining {link}", "{link}", "ok <{url}|join here>")
CALL_THANKS = ("thanks, that helped", "ok that's sorted, thx", "great chat, writing it up")
HUDDLE_REPLIES = (
    "notes from the huddle: {item1}, {item2}",
    "thanks all, that was quick",
    "sharing link: {doc}",
    "decision: {item1} goes first",
    "I'll write this up in {doc}",
)


class SlotContext(Protocol):
    """What a message context offers the templates: mentions, channel links and documents."""

    def mention(self) -> str: ...

    def channel_ref(self) -> str: ...

    def doc(self) -> str: ...

    def meeting_doc(self) -> str: ...


def _ticket(rng: random.Random) -> str:
    return f"{rng.choice(TICKET_PREFIXES)}-{rng.randint(100, 4999)}"


_MAKERS: dict[str, Callable[[random.Random, SlotContext], str]] = {
    "open": lambda r, c: r.choice(OPENERS),
    "thing": lambda r, c: r.choice(THINGS),
    "topic": lambda r, c: r.choice(TOPICS),
    "mention": lambda r, c: c.mention(),
    "mention2": lambda r, c: c.mention(),
    "channel": lambda r, c: c.channel_ref(),
    "doc": lambda r, c: c.doc(),
    "ticket": lambda r, c: _ticket(r),
    "repo": lambda r, c: r.choice(REPOS),
    "repo_mod": lambda r, c: r.choice(REPOS).replace("-", "_"),
    "pr": lambda r, c: str(r.randint(120, 9800)),
    "day": lambda r, c: r.choice(DAYS),
    "deadline": lambda r, c: r.choice(DEADLINES),
    "n": lambda r, c: str(r.randint(2, 40)),
    "m": lambda r, c: str(r.randint(0, 12)),
    "q": lambda r, c: str(r.randint(1, 4)),
    "cmd": lambda r, c: r.choice(CMDS),
    "sha": lambda r, c: f"{r.getrandbits(28):07x}",
    "room": lambda r, c: r.choice(ROOMS),
    "zoom_rec": lambda r, c: zoom_recording_url(r),
    "meeting_doc": lambda r, c: c.meeting_doc(),
    "team": lambda r, c: r.choice(TEAM_NAMES["Engineering"]),
    "item1": lambda r, c: r.choice(AGENDA_ITEMS),
    "item2": lambda r, c: r.choice(AGENDA_ITEMS),
    "item3": lambda r, c: r.choice(AGENDA_ITEMS),
    "task": lambda r, c: r.choice(TASKS),
    "task2": lambda r, c: r.choice(TASKS),
}


class Slots(dict[str, str]):
    """A format_map mapping that makes each template field on first use."""

    def __init__(self, rng: random.Random, ctx: SlotContext, **fixed: str) -> None:
        super().__init__(fixed)
        self._rng = rng
        self._ctx = ctx

    def __missing__(self, key: str) -> str:
        value = _MAKERS[key](self._rng, self._ctx)
        self[key] = value
        return value


def fill(rng: random.Random, template: str, ctx: SlotContext, **fixed: str) -> str:
    """Give `template` with its fields filled from `fixed` first, then made from `ctx`."""
    return template.format_map(Slots(rng, ctx, **fixed))


def meet_url(rng: random.Random) -> str:
    """Give a Google Meet link such as `https://meet.google.com/abc-defg-hij`."""
    return f"https://meet.google.com/{lower_word(rng, 3)}-{lower_word(rng, 4)}-{lower_word(rng, 3)}"


def zoom_url(rng: random.Random) -> str:
    """Give a Zoom join link with a meeting number and passcode token."""
    token = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=32))
    return f"https://acme.zoom.us/j/{rng.randint(81_000_000_000, 99_999_999_999)}?pwd={token}"


def zoom_recording_url(rng: random.Random) -> str:
    """Give a Zoom cloud-recording share link (a recording, not a call)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return (
        f"https://acme.zoom.us/rec/share/{''.join(rng.choices(alphabet, k=48))}."
        f"{''.join(rng.choices(alphabet, k=16))}"
    )


def teams_url(rng: random.Random) -> str:
    """Give a Microsoft Teams meetup-join link."""
    thread = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=48))
    tenant = f"{rng.getrandbits(128):032x}"
    tid = f"{tenant[:8]}-{tenant[8:12]}-{tenant[12:16]}-{tenant[16:20]}-{tenant[20:]}"
    return (
        f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0"
        f"?context=%7b%22Tid%22%3a%22{tid}%22%7d"
    )


def webex_url(rng: random.Random) -> str:
    """Give a Webex join link."""
    return f"https://acme.webex.com/acme/j.php?MTID=m{rng.getrandbits(128):032x}"


def conference_url(rng: random.Random, kind: str) -> str:
    """Give a join link of the conference `kind` (meet, zoom, teams, webex)."""
    return {"meet": meet_url, "zoom": zoom_url, "teams": teams_url, "webex": webex_url}[kind](rng)


def drive_url(rng: random.Random, file_id: str, mime: str) -> str:
    """Give one of the several URL forms people paste for a Drive file."""
    form = rng.random()
    if form < 0.15:
        return f"https://drive.google.com/open?id={file_id}"
    if form < 0.27 or mime == "application/pdf":
        return f"https://drive.google.com/file/d/{file_id}/view?usp=sharing"
    if mime.endswith("spreadsheet"):
        return f"https://docs.google.com/spreadsheets/d/{file_id}/edit#gid=0"
    if mime.endswith("presentation"):
        return f"https://docs.google.com/presentation/d/{file_id}/edit#slide=id.p"
    suffix = rng.choice(("edit", "edit", "edit?usp=sharing", "edit#heading=h.3znysh7"))
    return f"https://docs.google.com/document/d/{file_id}/{suffix}"


def slack_link(rng: random.Random, url: str, label: str) -> str:
    """Give Slack markup for a link, labelled about half the time."""
    return f"<{url}|{label}>" if rng.random() < 0.5 else f"<{url}>"


def email_local(given: str, family: str) -> str:
    """Give the ASCII `first.last` local part of a name (accents dropped, apostrophes removed)."""
    return f"{ascii_fold(given)}.{ascii_fold(family)}"


def ascii_fold(word: str) -> str:
    """Give `word` lowercased with accents folded to ASCII and spaces/apostrophes removed."""
    folded = unicodedata.normalize("NFKD", word.replace("Ł", "L").replace("ł", "l"))
    return "".join(ch for ch in folded if ch.isascii() and (ch.isalnum() or ch == "-")).lower()


# ---- hard profile: casual evidence phrasings and near-miss noise (the standard profile never uses them) ----

HARD_BANKS: dict[str, tuple[str, ...]] = {
    "AGENDA": (
        "things to cover in {title}: {item1}, {item2}",
        "{title} at {clock} — topics so far: {item1}; {item2}. add yours in thread",
    ),
    "JOINING": (
        "omw, 2 min",
        "2 min late to {title}, sorry",
        "dialing in now",
        "jumping on {link}",
    ),
    "RECAP": (
        "wrap-up from {title}: {item1} done, {item2} next week",
        "{title} takeaways: {item1}, {item2}",
    ),
    "ACTION_ITEMS": ("owners from {title}:\n• {mention} — {task}\n• {mention2} — {task2}",),
    "RESCHEDULE": ("bumping {title} {shift}", "{title} moved {shift} today, calendar is updated"),
    "CANCELLATION": (
        "calling off {title} today, nothing urgent",
        "{title} won't happen today, see you next time",
    ),
    "QUICK_CALL": (
        "{mention} free for a call?",
        "{mention} 5 min to talk this through?",
        "can I grab you for 10 min?",
    ),
}

# Near misses: meeting words in messages that are not meeting activity (text, why).
NEAR_MISSES = (
    ("zoom keeps crashing on my laptop since the update", "tool talk, no call"),
    ("does anyone have a Webex license? a customer insists on it", "tool talk, no call"),
    ("recording of the {team} demo is up: <{zoom_play}>", "call recording link, not a call"),
    ("let's skip the flaky {cmd} checks this week", "skipping something that is not a meeting"),
    ("cancelling the {repo} build, wrong branch", "cancelling something that is not a meeting"),
    ("moving {thing} to next week, not ready yet", "moving a deliverable, not a meeting"),
    ("joining {channel} too, for the {topic} updates", "'joining' a channel"),
    ("I'll recap {topic} in the newsletter", "'recap' of a newsletter"),
    ("sharing my screen recording of the bug, see thread", "screen recording, no call"),
    ("starting the {repo} rollout now, shout if anything breaks", "starting a rollout, not a meeting"),
    ("our weekly sync doc is a mess, can someone tidy {doc}?", "talk about a meeting doc, no meeting"),
    ("hopping on a plane, back online tomorrow", "'hopping on' a plane"),
)


# ---- held-out phrasing: each template bank splits into two disjoint halves, `a` and `b` ----

PHRASINGS = ("a", "b")
# The banks a detector's wording could be tuned to, split by `half`: evidence, call requests and answers,
# and the noise around them. Not split: CALENDAR_BOT (the calendar app's own fixed reminder text, the
# same in every workspace) and the slot vocabularies (topics, agenda items, tasks, openers), which fill
# evidence and noise alike. New phrases go at the end of their bank, so no phrase changes half.
SPLIT_BANKS = (
    "AGENDA",
    "AGENDA_REPLIES",
    "JOINING",
    "CALL_LINK",
    "DURING",
    "RECAP",
    "ACTION_ITEMS",
    "RESCHEDULE",
    "RESCHEDULE_TO",
    "CANCELLATION",
    "QUICK_CALL",
    "CALL_ANSWER",
    "CALL_THANKS",
    "HUDDLE_REPLIES",
    "CHATTER",
    "REPLIES",
    "CODE",
)
TRAP_BANKS = ("HARD_NEGATIVES", "NEAR_MISSES")  # (text, why) pairs, split the same way

_Entry = TypeVar("_Entry")


def half(entries: tuple[_Entry, ...], phrasing: str | None) -> tuple[_Entry, ...]:
    """Give half `phrasing` of a bank: `a` its even positions, `b` its odd ones; None gives the whole bank."""
    return entries if phrasing is None else entries[PHRASINGS.index(phrasing) :: 2]


@cache
def bank(profile: Profile, name: str) -> tuple[str, ...]:
    """Give bank `name` in the profile's phrasing, plus its casual variants under the hard profile.

    Each part is halved on its own, so a phrase sits in the same half under both profiles.
    """
    base: tuple[str, ...] = half(globals()[name], profile.phrasing)
    return base + half(HARD_BANKS.get(name, ()), profile.phrasing) if profile.hard else base


@cache
def near_misses(profile: Profile) -> tuple[tuple[str, str], ...]:
    """Give the near misses (text, why) in the profile's phrasing."""
    return half(NEAR_MISSES, profile.phrasing)


@cache
def hard_negatives(profile: Profile) -> tuple[tuple[str, str], ...]:
    """Give the hard negatives (text, why) in the profile's phrasing, plus the near misses if hard."""
    own = half(HARD_NEGATIVES, profile.phrasing)
    return own + near_misses(profile) if profile.hard else own


def zoom_play_url(rng: random.Random) -> str:
    """Give a Zoom cloud-recording playback link (a recording, not a call)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return f"https://acme.zoom.us/rec/play/{''.join(rng.choices(alphabet, k=40))}"


_MAKERS["zoom_play"] = lambda r, c: zoom_play_url(r)
