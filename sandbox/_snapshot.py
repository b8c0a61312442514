"""The org-level files of the snapshot: Slack users and channels, directory users, Drive files."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time
from pathlib import Path

from ._common import TEAM_ID, dumps, utc_ms, zone
from ._org import Bot, DriveFile, External, Org, Person

_COLORS = ("9f69e7", "4bbe2e", "e7392d", "3c989f", "674b1b", "e96699", "5b89d5", "df3dc0")
_LINKS = {
    "application/vnd.google-apps.document": "https://docs.google.com/document/d/{}/edit?usp=drivesdk",
    "application/vnd.google-apps.spreadsheet": "https://docs.google.com/spreadsheets/d/{}/edit?usp=drivesdk",
    "application/vnd.google-apps.presentation": "https://docs.google.com/presentation/d/{}/edit?usp=drivesdk",
    "application/pdf": "https://drive.google.com/file/d/{}/view?usp=drivesdk",
}


def _write(path: Path, obj: object) -> None:
    """Write `obj` as compact JSON (one trailing newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(obj) + "\n", encoding="utf-8")


def _avatar(seed: str) -> str:
    """Give a stable avatar hash for a user."""
    return "g" + hashlib.sha1(seed.encode()).hexdigest()[:11]


def _offset(tz: str, org: Org) -> tuple[int, str]:
    """Give a zone's UTC offset in seconds on the first day, and its label."""
    moment = datetime.combine(org.start, time(12), zone(tz))
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset else 0, moment.tzname() or tz


def _user(
    uid: str, handle: str, real_name: str, tz: str, profile: dict[str, object], org: Org
) -> dict[str, object]:
    """Give a users.json entry with the flags every kind of user shares (callers adjust a few)."""
    offset, label = _offset(tz, org)
    return {
        "id": uid,
        "team_id": TEAM_ID,
        "name": handle,
        "deleted": False,
        "color": _COLORS[int(hashlib.sha1(uid.encode()).hexdigest(), 16) % len(_COLORS)],
        "real_name": real_name,
        "tz": tz,
        "tz_label": label,
        "tz_offset": offset,
        "profile": {**profile, "team": TEAM_ID},
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": False,
        "is_app_user": False,
        "updated": 1_700_000_000,
    }


def _profile(real_name: str, display_name: str, title: str, email: str | None) -> dict[str, object]:
    """Give a user profile; `email` is left out when the workspace hides it."""
    profile: dict[str, object] = {
        "title": title,
        "phone": "",
        "skype": "",
        "real_name": real_name,
        "real_name_normalized": real_name,
        "display_name": display_name,
        "display_name_normalized": display_name,
        "status_text": "",
        "status_emoji": "",
        "avatar_hash": _avatar(real_name + title),
        "first_name": real_name.split(" ")[0],
        "last_name": " ".join(real_name.split(" ")[1:]),
    }
    if email is not None:
        profile["email"] = email
    return profile


def slack_user(p: Person, org: Org) -> dict[str, object]:
    """Give a Slack export users.json entry for an employee, identity quirks included."""
    profile = _profile(p.slack_real_name, p.display_name, p.title, p.slack_email)
    user = _user(p.slack_id or "", p.handle, p.slack_real_name, p.tz, profile, org)
    user["deleted"] = p.suspended
    user["is_admin"] = user["is_owner"] = user["is_primary_owner"] = p.index == 0
    return user


def slack_guest(e: External, org: Org) -> dict[str, object]:
    """Give the users.json entry of a partner guest (`is_restricted`)."""
    profile = _profile(e.name, e.name.split(" ")[0], e.company, e.email)
    user = _user(e.slack_id or "", e.email.split("@")[0], e.name, e.tz, profile, org)
    user["is_restricted"] = True
    return user


def slack_bot(bot: Bot, org: Org) -> dict[str, object]:
    """Give the users.json entry of an app's bot user."""
    profile = {**_profile(bot.name, "", "", None), "bot_id": bot.bot_id, "api_app_id": bot.app_id}
    user = _user(bot.user_id, bot.handle, bot.name, "America/Los_Angeles", profile, org)
    user["is_bot"] = True
    return user


def slack_users(org: Org) -> list[dict[str, object]]:
    """Give users.json: employees with a Slack account, partner guests, and the app bots."""
    users = [slack_user(p, org) for p in org.people if p.slack_id]
    users += [slack_guest(e, org) for e in org.externals if e.slack_id]
    return users + [slack_bot(bot, org) for bot in org.bots.values()]


def slack_channels(org: Org) -> list[dict[str, object]]:
    """Give channels.json: public channels with members, topic and purpose."""
    out = []
    for c in org.channels:
        members = [org.people[p].slack_id for p in c.people] + [org.externals[g].slack_id for g in c.guests]
        out.append(
            {
                "id": c.id,
                "name": c.name,
                "created": c.created,
                "creator": c.creator,
                "is_archived": False,
                "is_general": c.kind == "general",
                "members": members,
                "topic": {
                    "value": c.topic,
                    "creator": c.creator if c.topic else "",
                    "last_set": c.created if c.topic else 0,
                },
                "purpose": {"value": c.purpose, "creator": c.creator, "last_set": c.created},
            }
        )
    return out


def directory_user(p: Person, org: Org) -> dict[str, object]:
    """Give a Directory users.list entry (aliases only when the person has some, as the API does)."""
    user: dict[str, object] = {
        "kind": "admin#directory#user",
        "id": p.directory_id,
        "etag": f'"{_avatar(p.email)}"',
        "primaryEmail": p.email,
        "name": {"givenName": p.given, "familyName": p.family, "fullName": p.full_name},
        "isAdmin": p.index == 0,
        "isDelegatedAdmin": False,
        "lastLoginTime": _last_login(p, org),
        "creationTime": "2021-03-15T10:00:00.000Z",
        "agreedToTerms": True,
        "suspended": p.suspended,
        "archived": False,
        "changePasswordAtNextLogin": False,
        "ipWhitelisted": False,
        "emails": [{"address": p.email, "primary": True}]
        + [{"address": a} for a in p.aliases]
        + [{"address": a, "type": "work"} for a in p.other_emails],
        "organizations": [{"title": p.title, "primary": True, "customType": "", "department": p.department}],
        "customerId": "C03acme7x",
        "orgUnitPath": f"/{p.department}",
        "isMailboxSetup": True,
        "includeInGlobalAddressList": True,
    }
    if p.manager is not None:
        user["relations"] = [{"value": org.people[p.manager].email, "type": "manager"}]
    if p.aliases:
        user["aliases"] = list(p.aliases)
    if p.non_editable_aliases:
        user["nonEditableAliases"] = list(p.non_editable_aliases)
    return user


def _last_login(p: Person, org: Org) -> str:
    """Give a last-login stamp a few days before the first generated day (long ago for leavers)."""
    base = int(datetime.combine(org.start, time(), UTC).timestamp()) * 1000
    days_ago = 200 + p.index % 90 if p.suspended else 1 + p.index % 5
    return utc_ms(base - days_ago * 86_400_000 + (p.index * 7_919_000) % 86_400_000)


def drive_file(f: DriveFile, owner_name: str) -> dict[str, object]:
    """Give a Drive files.list entry."""
    return {
        "kind": "drive#file",
        "id": f.id,
        "name": f.name,
        "mimeType": f.mime,
        "webViewLink": _LINKS[f.mime].format(f.id),
        "owners": [{"kind": "drive#user", "displayName": owner_name, "emailAddress": f.owner, "me": False}],
        "createdTime": utc_ms(f.created_ms),
        "modifiedTime": utc_ms(f.modified_ms),
        "trashed": False,
    }


def write_org_files(org: Org, out: Path) -> tuple[int, int, int]:
    """Write users.json, channels.json and directory users.json; give their record counts."""
    users = slack_users(org)
    channels = slack_channels(org)
    directory = [directory_user(p, org) for p in org.people]
    _write(out / "slack" / "users.json", users)
    _write(out / "slack" / "channels.json", channels)
    _write(out / "google" / "directory" / "users.json", {"kind": "admin#directory#users", "users": directory})
    return len(users), len(channels), len(directory)


def write_drive_files(org: Org, files: list[DriveFile], out: Path) -> int:
    """Write files.json with the files that existed before day one and those made since; give the count."""
    names = {p.email: p.full_name for p in org.people}
    items = [drive_file(f, names[f.owner]) for f in files]
    _write(
        out / "google" / "drive" / "files.json",
        {"kind": "drive#fileList", "incompleteSearch": False, "files": items},
    )
    return len(items)
