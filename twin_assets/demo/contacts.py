"""contacts/contacts.vcf: a phone's address book, vCard 3.0 (iOS style) and 4.0 cards mixed."""

from __future__ import annotations

from pathlib import Path

from twin_assets.demo import names
from twin_assets.demo.fmt import fold
from twin_assets.demo.world import WORK, Person, World


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def _card(person: Person, org_name: str | None) -> list[str]:
    v4 = person.card_version == "4.0"
    lines = ["BEGIN:VCARD", f"VERSION:{person.card_version}"]
    if not v4:
        lines.append("PRODID:-//Apple Inc.//iPhone OS 17.4//EN")
    lines += [f"N:{_esc(person.last)};{_esc(person.first)};;;", f"FN:{_esc(person.name)}"]
    if person.nick:
        lines.append(f"NICKNAME:{_esc(person.nick)}")
    if org_name:
        lines.append(f"ORG:{_esc(org_name)};")
        if person.title:
            lines.append(f"TITLE:{_esc(person.title)}")
    for i, email in enumerate(person.emails):
        kind = "WORK" if person.group == WORK and i == 0 else "HOME"
        if v4:
            pref = ";PREF=1" if i == 0 else ""
            lines.append(f"EMAIL;TYPE={kind.lower()}{pref}:{email}")
        else:
            pref = ";type=pref" if i == 0 else ""
            lines.append(f"EMAIL;type=INTERNET;type={kind}{pref}:{email}")
    if v4:
        lines.append(f"TEL;VALUE=uri;TYPE=cell:tel:{person.phone.replace(' ', '-')}")
    else:
        lines.append(f"TEL;type=CELL;type=VOICE;type=pref:{person.phone}")
    if person.group != WORK or person.role == "manager":
        lines.append(f"BDAY:{person.birthday:%Y%m%d}" if v4 else f"BDAY:{person.birthday:%Y-%m-%d}")
    lines.append(f"UID:{'urn:uuid:' if v4 else ''}{person.contact_uid}")
    lines.append("END:VCARD")
    return lines


def write_contacts(world: World, path: Path) -> tuple[int, dict[str, str]]:
    """Returns the card count and each person's UID as written (4.0 cards use urn:uuid: URIs)."""
    written: dict[str, str] = {}
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        me = world.persona
        self_card = [
            "BEGIN:VCARD",
            "VERSION:3.0",
            "PRODID:-//Apple Inc.//iPhone OS 17.4//EN",
            f"N:{me['last']};{me['first']};;;",
            f"FN:{me['name']}",
            f"EMAIL;type=INTERNET;type=HOME;type=pref:{me['personal_email']}",
            f"EMAIL;type=INTERNET;type=WORK:{names.ORGS['B']['persona_email']}",
            f"EMAIL;type=INTERNET;type=WORK:{names.ORGS['A']['persona_email']}",
            f"TEL;type=CELL;type=VOICE;type=pref:{me['phone']}",
            f"BDAY:{me['birthday']:%Y-%m-%d}",
            f"UID:{me['contact_uid']}",
            "END:VCARD",
        ]
        fh.write("".join(fold(line) + "\r\n" for line in self_card))
        written["self"] = me["contact_uid"]
        count += 1
        for person in world.people:
            if not person.contact_uid:
                continue
            org_name = names.ORGS[person.org]["name"] if person.org else None
            lines = _card(person, org_name)
            fh.write("".join(fold(line) + "\r\n" for line in lines))
            written[person.id] = ("urn:uuid:" if person.card_version == "4.0" else "") + person.contact_uid
            count += 1
    return count, written
