"""HTML report: one offline file, exact figures and charts, escaped data; driven in headless Chromium for
search, filters, sorting, the detail view, inert XSS payloads and a screenshot."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import pytest

from exports.html import write_html
from tests.exports.report_builders import (
    FORMULA,
    JS_URL,
    M1,
    M2,
    M3,
    M4,
    M5,
    M6,
    XSS_IMG,
    XSS_NAME,
    XSS_SCRIPT,
    hostile_reports,
)

NEWEST_FIRST = [M6, M5, M4, M3, M2, M1]
# Every element the page itself creates; a payload that became markup would add img, b, i, script ...
PAGE_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "div",
    "h1",
    "h2",
    "h3",
    "p",
    "main",
    "section",
    "figure",
    "figcaption",
    "svg",
    "g",
    "rect",
    "line",
    "text",
    "input",
    "select",
    "option",
    "span",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "noscript",
    "aside",
    "button",
    "script",
    "dl",
    "dt",
    "dd",
    "ul",
    "li",
    "a",
}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    hostile_reports(c)
    return c


@pytest.fixture
def page(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> Path:
    return write_html(con, tmp_path / "report.html", tz="Europe/Berlin")


# ---- a small DOM for what Chromium dumps -----------------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> list[Node]:
        out = [self]
        for c in self.children:
            if isinstance(c, Node):
                out += c.walk()
        return out

    def find(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.walk()
            if (tag is None or n.tag == tag)
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    return builder.root


def chromium() -> str:
    """Give the Chromium executable; fail (not skip) with what to do when it is missing."""
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    pytest.fail("Chromium is not installed: run `make test`, which installs it (apt-get install -y chromium)")


def browse(
    page: Path, tmp_path: Path, fragment: dict[str, str] | None = None, *, screenshot: Path | None = None
) -> Node:
    """Open `page` in headless Chromium (fresh profile, no network) and give the DOM after its script ran."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    args = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-extensions",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--window-size=1400,1800",
        "--virtual-time-budget=5000",
    ]
    args.append(f"--screenshot={screenshot}" if screenshot else "--dump-dom")
    url = page.as_uri() + ("#" + urlencode(fragment) if fragment else "")
    done = subprocess.run([*args, url], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return parse(done.stdout)


def _data(html: str) -> str:
    """Give the text of the page's embedded JSON script."""
    found = re.search(r'<script type="application/json" id="meetintel-data">(.*?)</script>', html, re.S)
    assert found is not None
    return found.group(1)


def shown_ids(dom: Node) -> list[str]:
    (table,) = dom.find("table", id="meetings")
    return [tr.attrs["data-id"] for tr in table.find("tr") if "data-id" in tr.attrs]


# ---- the file itself -------------------------------------------------------------------------------------


def test_page_is_one_offline_file_with_a_strict_content_policy(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    dom = parse(html)
    assert [s.attrs for s in dom.find("script")][0] == {"type": "application/json", "id": "meetintel-data"}
    assert len(dom.find("script")) == 2 and html.count("</script>") == 2
    assert not dom.find("link") and not dom.find("img") and not dom.find("iframe")
    assert not [n for n in dom.walk() if "src" in n.attrs]
    assert "@import" not in html and "url(" not in html
    (csp,) = dom.find("meta", http_equiv="Content-Security-Policy")
    nonce = dom.find("script")[1].attrs["nonce"]
    assert csp.attrs["content"].startswith(
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'"
    )


def test_embedded_data_is_inert_json_with_the_raw_text(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    body = _data(html)
    assert "<" not in body and ">" not in body and "&" not in body
    meetings = json.loads(body)
    assert [m["id"] for m in meetings] == NEWEST_FIRST
    by_id = {m["id"]: m for m in meetings}
    assert by_id[M2]["title"] == FORMULA and by_id[M3]["title"] == XSS_IMG
    assert by_id[M5]["title"] == "Quarterly planning " + XSS_SCRIPT
    assert by_id[M1]["start"] == "2026-09-07 11:00" and by_id[M1]["ch"] == ["#general"]
    assert by_id[M3]["ch"] == ["#<i>design</i>"]
    assert by_id[M3]["d"] == [
        {"n": XSS_IMG + ".pdf", "u": None, "m": "application/pdf", "s": "slack_message"}
    ]
    assert [e["m"] for e in by_id[M3]["e"]] == ["huddle", XSS_IMG, "action items"]
    assert by_id[M1]["cal"] == "https://www.google.com/calendar/event?eid=ZXYxXzIwMjYwOTA3VDA5MDAwMFo"
    assert by_id[M6]["cal"] is None  # a javascript: link is never offered
    assert by_id[M1]["why"] == ["conference_url", "participant_overlap"]
    assert [p["n"] for p in by_id[M1]["p"]] == ["Ana Ruiz", XSS_NAME, "Chen Novak", "Vera Vendor"]


def test_headline_cards_show_the_figures(page: Path) -> None:
    dom = parse(page.read_text(encoding="utf-8"))
    cards = {
        c.attrs["data-key"]: c.find("div", **{"class": "value"})[0].text()
        for c in dom.find("div", **{"class": "card"})
    }
    assert cards == {
        "meetings": "6",
        "held": "5",
        "cancelled": "1",
        "scheduled": "3",
        "adhoc": "2",
        "hours": "4.3",
        "person_hours": "11.7",
        "people": "5",
        "linked": "9",
        "documents": "3",
    }


def test_charts_are_inline_svg_with_escaped_labels(page: Path) -> None:
    dom = parse(page.read_text(encoding="utf-8"))
    figures = dom.find("figure")
    assert [f.attrs["id"] for f in figures] == [
        "chart-weekly",
        "chart-kinds",
        "chart-channels",
        "chart-teams",
        "chart-followups",
        "chart-people",
    ]
    assert all(len(f.find("svg")) == 1 for f in figures)
    hints = {f.attrs["id"]: [t.text() for t in f.find("title")] for f in figures}
    assert hints["chart-weekly"] == [
        "07 Sep: scheduled 1 h",
        "07 Sep: ad hoc 0.3 h",
        "14 Sep: scheduled 2.2 h",
        "14 Sep: ad hoc 0.8 h",
    ]
    assert hints["chart-channels"] == [
        "#general: 5 messages about 3 meetings",
        "#<i>design</i>: 3 messages about 1 meetings",
        "#planning: 1 messages about 1 meetings",
    ]
    assert hints["chart-teams"] == [
        "Engineering: 6.9 person-hours in 4 meetings",
        "Sales: 3.8 person-hours in 3 meetings",
        "=Ops: 1.0 person-hours in 2 meetings",
    ]
    assert hints["chart-people"] == [
        f"{XSS_NAME} (Sales): 3.8 h in 3 meetings",
        "Chen Novak (Engineering): 3.6 h in 4 meetings",
        "Ana Ruiz (Engineering): 3.3 h in 3 meetings",
        "Dee Ops (=Ops): 1.0 h in 2 meetings",
    ]
    assert hints["chart-kinds"] == [
        "recurring: 2 meetings, 1.2 h",
        "adhoc_call: 1 meetings, 0.8 h",
        "huddle: 1 meetings, 0.3 h",
        "one_off: 1 meetings, 2.0 h",
    ]
    # metrics.followup_latency_minutes: M1 10, M3 200, M5 5000 minutes (report_builders).
    followups = figures[4]
    assert followups.find("h2")[0].text() == "Follow-up latency"
    assert [t.text() for t in followups.find("title")] == [
        "< 1 h: 1 meetings",
        "1-4 h: 1 meetings",
        "4-24 h: 0 meetings",
        "1-3 days: 0 meetings",
        "> 3 days: 1 meetings",
    ]
    assert "(followup_latency_minutes)" in followups.find("figcaption")[0].text()


def test_a_report_without_latency_shows_follow_ups_per_meeting(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    con.execute("ALTER TABLE report_meetings DROP COLUMN followup_latency_minutes")
    dom = parse(write_html(con, tmp_path / "r.html").read_text(encoding="utf-8"))
    (chart,) = dom.find("figure", id="chart-followups")
    assert [t.text() for t in chart.find("title")] == [
        "none: 2 meetings",
        "1: 3 meetings",
        "2: 0 meetings",
        "3: 0 meetings",
        "4: 0 meetings",
        "5 or more: 0 meetings",
    ]
    assert "has no follow-up latency yet" in chart.find("figcaption")[0].text()


def test_a_huge_org_lists_only_the_newest_meetings_and_says_so(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    html = write_html(con, tmp_path / "r.html", max_meetings=4).read_text(encoding="utf-8")
    body = _data(html)
    assert [m["id"] for m in json.loads(body)] == [M6, M5, M4, M3]
    (note,) = parse(html).find("p", id="cap-note")
    assert note.text().startswith("Showing the 4 most recent of 6 meetings")


# ---- in the browser --------------------------------------------------------------------------------------


@pytest.mark.slow  # headless Chromium
def test_browser_lists_every_meeting_newest_first(page: Path, tmp_path: Path) -> None:
    dom = browse(page, tmp_path)
    assert shown_ids(dom) == NEWEST_FIRST
    (count,) = dom.find("span", id="count")
    assert (count.attrs["data-shown"], count.attrs["data-total"], count.text()) == ("6", "6", "6 meetings")
    first = dom.find("table", id="meetings")[0].find("tbody")[0].find("tr")[0]
    assert [td.text() for td in first.find("td")] == [
        "2026-09-17 09:00",
        "bell\x07ring _x0041_ @standup",
        "held",
        "calendar",
        "recurring",
        "15",
        "2",
        "0",
        "0",
        "1",
    ]


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ({"search": "sync"}, [M1]),
        ({"search": "chen novak"}, [M6, M5, M3, M1]),  # participants are searchable
        ({"search": "#planning"}, [M5]),  # channel names too
        ({"search": "pwned=1"}, [M3]),  # a payload is just text to search
        ({"status": "cancelled"}, [M2]),
        ({"origin": "slack"}, [M4, M3]),
        ({"origin": "slack", "search": "sum"}, [M4]),
        ({"sort": "dur", "dir": "asc"}, [M6, M3, M2, M4, M1, M5]),
        ({"sort": "score", "dir": "desc"}, [M6, M2, M1, M5, M3, M4]),
    ],
)
@pytest.mark.slow  # headless Chromium
def test_search_filters_and_sorting_narrow_and_order_the_table(
    page: Path, tmp_path: Path, fragment: dict[str, str], expected: list[str]
) -> None:
    dom = browse(page, tmp_path, fragment)
    assert shown_ids(dom) == expected
    assert dom.find("span", id="count")[0].attrs["data-shown"] == str(len(expected))


@pytest.mark.slow  # headless Chromium
def test_detail_view_shows_evidence_documents_and_reasons(page: Path, tmp_path: Path) -> None:
    dom = browse(page, tmp_path, {"open": M1})
    (detail,) = dom.find("aside", id="detail")
    assert "hidden" not in detail.attrs
    assert [h.text() for h in detail.find("h3")] == [
        "Why these belong together",
        "Participants (4)",
        "Slack evidence (3)",
        "Documents (1)",
    ]
    assert [li.text() for li in detail.find("li")] == ["conference_url", "participant_overlap"]
    tables = detail.find("table")
    assert [[td.text() for td in tr.find("td")] for tr in tables[1].find("tbody")[0].find("tr")] == [
        [
            "2026-09-07 09:00",
            "#general",
            "agenda",
            "pre",
            "agenda",
            "0.8",
            "time_proximity; participant_overlap",
            "open",
        ],
        [
            "2026-09-07 11:00",
            "#general",
            "call_link",
            "signal",
            "https://meet.google.com/abc-defg-hij",
            "0.95",
            "conference_url",
            "open",
        ],
        [
            "2026-09-07 12:10",
            "#general",
            "recap",
            "post",
            "=cmd|' /C calc'!A0",
            "0.7",
            "thread; time_proximity",
            "open",
        ],
    ]
    hrefs = [a.attrs["href"] for a in detail.find("a")]
    assert hrefs == [
        "https://www.google.com/calendar/event?eid=ZXYxXzIwMjYwOTA3VDA5MDAwMFo",
        "https://meet.google.com/abc-defg-hij",
        "https://slack.com/app_redirect?channel=C1&message_ts=1788764400.000100",
        "https://slack.com/app_redirect?channel=C1&message_ts=1788771600.000200",
        "https://slack.com/app_redirect?channel=C1&message_ts=1788775800.000300",
        "https://docs.google.com/document/d/F1/edit",
    ]
    assert shown_ids(dom) == NEWEST_FIRST
    assert [tr.attrs.get("class") for tr in dom.find("tr") if tr.attrs.get("data-id") == M1] == ["selected"]


@pytest.mark.slow  # headless Chromium
def test_xss_payloads_stay_inert_text(page: Path, tmp_path: Path) -> None:
    """Titles, names, channel names, messages and file names full of markup render as text and never run."""
    for open_id in (M3, M5, M1):
        dom = browse(page, tmp_path, {"open": open_id})
        (html,) = dom.find("html")
        assert "data-pwned" not in html.attrs
        assert {n.tag for n in dom.walk()[1:]} <= PAGE_TAGS
        assert [(n.tag, k) for n in dom.walk() for k in n.attrs if k.startswith("on")] == []
        assert all(a.attrs["href"].startswith("https://") for a in dom.find("a"))
        assert len(dom.find("script")) == 2
    body = dom.find("div", id="detail-body")[0].text()
    assert XSS_NAME in body  # M1's participant Bo, as text
    m3 = browse(page, tmp_path, {"open": M3})
    detail = m3.find("div", id="detail-body")[0]
    assert detail.find("h2")[0].text() == XSS_IMG
    assert [td.text() for td in detail.find("table")[2].find("td")] == [
        XSS_IMG + ".pdf",
        "application/pdf",
        "slack_message",
    ]
    assert JS_URL not in [a.attrs.get("href") for a in m3.find("a")]
    assert "#<i>design</i>" in detail.text()


@pytest.mark.slow  # headless Chromium
def test_screenshot_of_the_page_and_of_a_detail_view(page: Path, tmp_path: Path) -> None:
    """Keeps overview.png and detail.png in the test's tmp folder to look at."""
    for name, fragment in (("overview.png", None), ("detail.png", {"open": M3})):
        shot = tmp_path / name
        browse(page, tmp_path, fragment, screenshot=shot)
        png = shot.read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (1400, 1800)


def test_an_org_without_meetings_renders_empty_charts_and_table(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    for name in ("meetings", "participants", "evidence", "documents", "people"):
        con.execute(f"DELETE FROM report_{name}")
    html = write_html(con, tmp_path / "r.html").read_text(encoding="utf-8")
    dom = parse(html)
    assert _data(html) == "[]"
    assert [f.find("text")[0].text() for f in dom.find("figure")] == ["No data"] * 6
    assert dom.find("p", **{"class": "sub"})[0].text().startswith("No meetings in this report · times in UTC")
