"""SCIM resources (RFC 7643 JSON objects) of the simulated systems, traps applied.

The IdP writes its users and groups plainly (only some timestamps carry an offset), each user
in one of its equivalent forms (:data:`recon.simulate.model.User.form`): 0 plain; 1 emails and
roles in reverse order, the phone's type and the badge in other letter case; 2 role values
upper-cased, the address's country in lower case, and ``""`` for an unassigned costCenter. A
form change alters the JSON text, never the content (RFC 7643: caseExact=false values,
multi-valued attributes as sets, ``""`` is unassigned). A target
writes its own ids, ``externalId`` = the IdP id (or none, or ``""``), and renders the traps of
each record: userName and email values in other letter case, emails in another order, ``""``
where the IdP has no title or department, timestamps with an offset, group names in other
case. Each trap is recorded in the ledger the first time a record shows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

import orjson

from recon.fingerprint import content_sha256_of_content, content_sha256_of_sorted_json
from recon.simulate.directory import Directory
from recon.simulate.ids import OFFSETS, iso
from recon.simulate.memo import Doc, Members, RenderMemo
from recon.simulate.model import (
    BLANK,
    EMAIL_CASE,
    EMAIL_ORDER,
    EXT_BLANK,
    EXT_SOURCE,
    NAME_CASE,
    TS_OFFSET,
    Account,
    Content,
    Group,
    Ledger,
    TGroup,
    User,
)
from recon.simulate.names import SITES
from recon.simulate.schema import SchemaFaults
from recon.simulate.sync import Target
from recon.simulate.unchanged import Unchanged
from recon.simulate.views import (
    CUSTOM,
    ENTERPRISE,
    GROUP_SCHEMA,
    USER_SCHEMA,
    Indexed,
    UserRow,
    by_repr,
    fingerprint,
    primary_email,
)

__all__ = [
    "CUSTOM_SCHEMA",
    "Rendered",
    "idp_resources",
    "idp_states",
    "phone_number",
    "target_resources",
    "target_states",
]

_TRAPS = "traps"
_USER_TRAPS = NAME_CASE | EMAIL_CASE | EMAIL_ORDER | BLANK  # flags a target user's traps come from


class Notes(Protocol):
    """Where rendering records the traps it shows (a :class:`Ledger`, or :class:`_Deferred`)."""

    def note_once(self, section: str, name: str, key: str, example: dict[str, Any]) -> None:
        """Count record ``key`` under ``name`` the first time, keeping the first examples."""


class _Deferred:
    """Notes made while records are rendered in id order, given to the ledger afterwards in the
    order the records are listed: the ledger (its counts and first examples) is the one the
    listing order gives, whatever order the records were rendered in."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.at = 0  # the listing position of the record being rendered
        self._notes: list[tuple[int, str, str, str, dict[str, Any]]] = []

    def note_once(self, section: str, name: str, key: str, example: dict[str, Any]) -> None:
        self._notes.append((self.at, section, name, key, example))

    def replay(self) -> None:
        self._notes.sort(key=lambda note: note[0])  # stable: a record's notes keep their order
        for _, section, name, key, example in self._notes:
            self.ledger.note_once(section, name, key, example)
        self._notes = []


def _in_order(ids: list[str], by_id: bool) -> list[int]:
    """Listing positions of records whose ids are ``ids``, ordered by id when ``by_id`` (a writer
    then takes them as they come, with nothing to sort)."""
    positions = list(range(len(ids)))
    if by_id:
        positions.sort(key=ids.__getitem__)
    return positions


class Rendered:
    """The resources of one export (users then groups) and how many of each there are."""

    def __init__(self, users: int, groups: int, resources: Iterator[Doc]) -> None:
        self.users = users
        self.groups = groups
        self.resources = resources


def _case_variant(user_name: str) -> str:
    local, _, domain = user_name.partition("@")
    return ".".join(part[:1].upper() + part[1:] for part in local.split(".")) + "@" + domain.capitalize()


def _emails(c: Content, *, upper: bool = False, reverse: bool = False) -> list[dict[str, Any]]:
    """The emails of a person: the work one (always the primary one, so its value is the primary
    email: see :func:`_work_email`), and the home one if any, in the person's order."""
    work = {"value": _work_email(c, upper), "type": "work", "primary": True}
    if c.home_email is None:
        return [work]
    home = {"value": c.home_email.upper() if upper else c.home_email, "type": "home", "primary": False}
    emails = [home, work] if c.home_first else [work, home]
    return emails[::-1] if reverse else emails


def _work_email(c: Content, upper: bool = False) -> str:
    """The value of the work email :func:`_emails` lists: the only one marked primary, so what
    :func:`recon.simulate.views.primary_email` picks from them."""
    return c.user_name.upper() if upper else c.user_name


def phone_number(serial: int) -> str:
    """The work phone number with this serial (E.164)."""
    return f"+1555{serial:07d}"


def employee_number(num: int, c: Content) -> str:
    """The enterprise employeeNumber of IdP user ``num`` (contractors have their own series)."""
    return f"C{num:07d}" if c.user_type == "Contractor" else str(100000 + num)


def _meta(
    kind: str, created: int, modified: int | None, version: int, offset: int, location: str
) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceType": kind, "created": iso(created, offset)}
    if modified is not None:
        meta["lastModified"] = iso(modified, offset)
    meta["version"] = f'W/"{version}"'
    meta["location"] = location
    return meta


# characters orjson escapes in a string (RFC 8259: quote, backslash, controls); a text with none
# of them is its own JSON string body (orjson writes everything else, non-ASCII included, as is)
_ESCAPED = re.compile(r'["\\\x00-\x1f]')
_USER_SCHEMAS = orjson.dumps([USER_SCHEMA, ENTERPRISE]).decode()
_IDP_SCHEMAS = orjson.dumps([USER_SCHEMA, ENTERPRISE, CUSTOM]).decode()


def _emails_json(emails: list[dict[str, Any]]) -> tuple[str, str]:
    """The emails as orjson writes them, and with each object's keys sorted."""
    listed, in_order = [], []
    for e in emails:
        primary = "true" if e["primary"] else "false"
        listed.append(f'{{"value":"{e["value"]}","type":"{e["type"]}","primary":{primary}}}')
        in_order.append(f'{{"primary":{primary},"type":"{e["type"]}","value":"{e["value"]}"}}')
    return ",".join(listed), ",".join(in_order)


def _meta_json(created: str, modified: int | None, offset: int, version: int, location: str) -> str:
    """``"meta":{…}`` of a user as orjson writes :func:`_meta`'s object."""
    meta = f'"meta":{{"resourceType":"User","created":"{created}"'
    if modified is not None:
        meta += f',"lastModified":"{iso(modified, offset)}"'
    return meta + f',"version":"W/\\"{version}\\"","location":"{location}"}}'


# -- the IdP --------------------------------------------------------------------------------
IDP_BASE = "https://idp.example.com/scim/v2"
# The IdP's own extension, as its /Schemas serves it (recon discover would store it).
CUSTOM_SCHEMA: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
    "id": CUSTOM,
    "name": "AcmeUser",
    "description": "Acme's own user attributes",
    "attributes": [
        {
            "name": "badge",
            "type": "string",
            "multiValued": False,
            "required": False,
            "caseExact": False,
            "mutability": "readWrite",
            "returned": "default",
            "uniqueness": "none",
        }
    ],
}


def _idp_user(d: Directory, user: User, cycle: str, ledger: Notes) -> Doc:
    """An IdP user: its JSON text and content print written directly (the texts orjson makes of
    :func:`_idp_user_object`'s resource, and of it sorted without meta; the tests hold them
    equal), or through that object when a value holds a character JSON escapes."""
    c, p, form = user.c, user.p, user.form
    emails = _emails(c, reverse=form == 1)
    roles = [r.upper() if form == 2 else r for r in p.roles]
    if form == 1:
        roles.reverse()
    badge = p.badge.swapcase() if form == 1 else p.badge
    locality = SITES[p.site]
    texts = [
        c.user_name,
        c.given,
        c.family,
        c.user_type,
        locality,
        badge,
        *roles,
        *(e["value"] for e in emails),
    ]
    if c.title:
        texts.append(c.title)
    if c.department:
        texts.append(c.department)
    if p.cost_center:
        texts.append(p.cost_center)
    if _ESCAPED.search("".join(texts)) is not None:
        return _idp_user_object(d, user, cycle, ledger)
    rid = d.user_id(user.num)
    offset = OFFSETS[user.num % len(OFFSETS)] if user.flags & TS_OFFSET else 0
    display = f"{c.given} {c.family}"
    listed, in_order = _emails_json(emails)
    phone, phone_type = phone_number(p.phone), "WORK" if form == 1 else "work"
    country = "us" if form == 2 else "US"
    active = "true" if c.active else "false"
    roles_json = ""
    if roles:
        roles_json = '"roles":[{"value":"' + '"},{"value":"'.join(roles) + '"}],'
    titled = "" if c.title is None else f'"title":"{c.title}",'
    number = employee_number(user.num, c)
    cost = f'"costCenter":"{p.cost_center or ""}"' if p.cost_center is not None or form == 2 else None
    department = None if c.department is None else f'"department":"{c.department}"'
    manager = d.user_id(c.manager) if c.manager >= 0 else None
    managed = None if manager is None else f'"manager":{{"value":"{manager}"}}'
    employee = f'"employeeNumber":"{number}"'
    enterprise = ",".join(x for x in (employee, cost, department, managed) if x is not None)
    sorted_enterprise = ",".join(x for x in (cost, department, employee, managed) if x is not None)
    created = iso(user.created, offset)
    raw = (
        f'{{"schemas":{_IDP_SCHEMAS},"id":"{rid}","userName":"{c.user_name}",'
        f'"name":{{"givenName":"{c.given}","familyName":"{c.family}","formatted":"{display}"}},'
        f'"displayName":"{display}","emails":[{listed}],'
        f'"phoneNumbers":[{{"value":"{phone}","type":"{phone_type}"}}],'
        f'"addresses":[{{"locality":"{locality}","country":"{country}","type":"work","primary":true}}],'
        f'"active":{active},"userType":"{c.user_type}",{roles_json}{titled}'
        f'"{ENTERPRISE}":{{{enterprise}}},"{CUSTOM}":{{"badge":"{badge}"}},'
        f"{_meta_json(created, user.last_modified, offset, user.version, f'{IDP_BASE}/Users/{rid}')}}}"
    )
    content = (
        f'{{"active":{active},'
        f'"addresses":[{{"country":"{country}","locality":"{locality}","primary":true,"type":"work"}}],'
        f'"displayName":"{display}","emails":[{in_order}],"id":"{rid}",'
        f'"name":{{"familyName":"{c.family}","formatted":"{display}","givenName":"{c.given}"}},'
        f'"phoneNumbers":[{{"type":"{phone_type}","value":"{phone}"}}],{roles_json}'
        f'"schemas":{_IDP_SCHEMAS},{titled}"{CUSTOM}":{{"badge":"{badge}"}},'
        f'"{ENTERPRISE}":{{{sorted_enterprise}}},"userName":"{c.user_name}","userType":"{c.user_type}"}}'
    )
    if offset:
        example = {"system": "idp", "cycle": cycle, "id": rid, "created": created}
        ledger.note_once(_TRAPS, "idp_timestamp_offset", f"idp:{rid}", example)
    doc = Doc(raw.encode(), False)
    doc.content_print = content_sha256_of_sorted_json(content.encode())
    return _with_idp_view(
        doc, rid, user, display, emails, number, manager, (phone, phone_type), locality, country, roles, badge
    )


def _idp_user_object(d: Directory, user: User, cycle: str, ledger: Notes) -> Doc:
    c, rid = user.c, d.user_id(user.num)
    offset = OFFSETS[user.num % len(OFFSETS)] if user.flags & TS_OFFSET else 0
    p, form = user.p, user.form
    display = f"{c.given} {c.family}"
    emails = _emails(c, reverse=form == 1)
    phone = {"value": phone_number(p.phone), "type": "WORK" if form == 1 else "work"}
    country = "us" if form == 2 else "US"
    address: dict[str, Any] = {
        "locality": SITES[p.site],
        "country": country,
        "type": "work",
        "primary": True,
    }
    resource: dict[str, Any] = {
        "schemas": [USER_SCHEMA, ENTERPRISE, CUSTOM],
        "id": rid,
        "userName": c.user_name,
        "name": {"givenName": c.given, "familyName": c.family, "formatted": display},
        "displayName": display,
        "emails": emails,
        "phoneNumbers": [phone],
        "addresses": [address],
        "active": c.active,
        "userType": c.user_type,
    }
    roles: list[dict[str, str]] = []
    if p.roles:
        roles = [{"value": r.upper() if form == 2 else r} for r in p.roles]
        resource["roles"] = roles = roles[::-1] if form == 1 else roles
    if c.title is not None:
        resource["title"] = c.title
    number = employee_number(user.num, c)
    enterprise: dict[str, Any] = {"employeeNumber": number}
    if p.cost_center is not None or form == 2:
        enterprise["costCenter"] = p.cost_center or ""
    if c.department is not None:
        enterprise["department"] = c.department
    manager = d.user_id(c.manager) if c.manager >= 0 else None
    if manager is not None:
        enterprise["manager"] = {"value": manager}
    resource[ENTERPRISE] = enterprise
    badge = p.badge.swapcase() if form == 1 else p.badge
    resource[CUSTOM] = {"badge": badge}
    content_print = content_sha256_of_content(resource)  # before meta, which the print leaves out
    resource["meta"] = _meta(
        "User", user.created, user.last_modified, user.version, offset, f"{IDP_BASE}/Users/{rid}"
    )
    if offset:
        example = {"system": "idp", "cycle": cycle, "id": rid, "created": resource["meta"]["created"]}
        ledger.note_once(_TRAPS, "idp_timestamp_offset", f"idp:{rid}", example)
    doc = Doc.of(resource, False)
    doc.content_print = content_print
    phoned = (phone["value"], phone["type"])
    role_values = [role["value"] for role in roles]
    return _with_idp_view(
        doc,
        rid,
        user,
        display,
        emails,
        number,
        manager,
        phoned,
        address["locality"],
        country,
        role_values,
        badge,
    )


def _with_idp_view(
    doc: Doc,
    rid: str,
    user: User,
    display: str,
    emails: list[dict[str, Any]],
    number: str,
    manager: str | None,
    phone: tuple[str, str],
    locality: str,
    country: str,
    roles: Sequence[str],
    badge: str,
) -> Doc:
    """``doc`` with the IdP user's view row and its views.content() fingerprint, made from the
    values just rendered (both renderers call it; the tests hold the result equal to the views')."""
    c, p = user.c, user.p
    first = _work_email(c)  # the primary email (the IdP's are never in other letter case)
    doc.row = _idp_row(rid, c)
    key = [
        None,
        c.user_name,
        c.active,
        display,
        c.given,
        c.family,
        by_repr({(e["value"], e["type"], e["primary"]) for e in emails}),
        first,
        number,
        c.department,
        c.title,
        manager,
        c.user_type,
        [(phone[0], phone[1].lower())],
        [(locality, country.upper())],
        sorted({role.lower() for role in roles}),
        p.cost_center or None,
        badge.lower(),
    ]
    doc.indexed = fingerprint(rid, key, c.user_name, user.last_modified)
    return doc


def _idp_row(rid: str, c: Content) -> UserRow:
    """The view row of an IdP user (its primary email is its work one, never in other letter case)."""
    return UserRow(rid, None, c.user_name, c.active, c.given, c.family, _work_email(c), c.title, c.department)


def _idp_state(user: User) -> tuple[Any, ...]:
    """What an IdP user's resource is made from (its number aside, which never changes)."""
    return (user.c, user.p, user.form, user.created, user.last_modified, user.version, user.flags)


def idp_states(d: Directory) -> Iterator[tuple[Any, ...] | None]:
    """What each IdP user's resource is made from, by user number (None: deleted)."""
    return (None if user is None else _idp_state(user) for user in d.users)


def _idp_group(d: Directory, group: Group, members: list[str], cycle: str, ledger: Notes) -> Doc:
    gid = d.group_id(group.gnum)
    offset = OFFSETS[group.gnum % len(OFFSETS)] if group.flags & TS_OFFSET else 0
    listed = Members(members, [d.group_id(n) for n in group.nested])
    meta = _meta(
        "Group", group.created, group.last_modified, group.version, offset, f"{IDP_BASE}/Groups/{gid}"
    )
    if offset:
        example = {"system": "idp", "cycle": cycle, "id": gid, "created": meta["created"]}
        ledger.note_once(_TRAPS, "idp_timestamp_offset", f"idp:{gid}", example)
    return Doc.of_group(
        {"schemas": [GROUP_SCHEMA], "id": gid, "displayName": group.name}, listed, {"meta": meta}
    )


def idp_resources(
    d: Directory,
    cycle: str,
    ledger: Ledger,
    memo: RenderMemo,
    *,
    after: int | None = None,
    extra_users: frozenset[int] = frozenset(),
    extra_groups: frozenset[int] = frozenset(),
    schema_faults: SchemaFaults | None = None,
    by_id: bool = False,
    unchanged: Unchanged | None = None,
    indexed: Mapping[str, Indexed] | None = None,
) -> Rendered:
    """The IdP's users and groups; with ``after`` only those the delta filter returns.

    With ``unchanged`` (in id order), a user whose state is the one of the previous full export
    is given as :meth:`Doc.unchanged` (its row there, its view row, and its fingerprint from
    ``indexed``, that export's), not rendered again; in a delta (``after``), every user is given
    so, from the full export of the same cycle (written just before, from the same states).

    Users then groups, each in the directory's order, or with ``by_id`` each in id order (the
    ledger is the same either way).

    With ``schema_faults``, the planned users are written faulted (each twin right after its
    original), and a full export's injected findings are recorded for the truth.

    ``after`` is the watermark's whole second: a record is returned when its lastModified is
    later (the watermark has a sub-second part, so "later than the second" is "gt watermark"),
    or when it is one of the ``extra_*`` records the IdP returns out of filter.
    """
    present = [u for u in d.users if u is not None]
    users = (
        present
        if after is None
        else [u for u in present if _after(u.last_modified, after) or u.num in extra_users]
    )
    groups = (
        d.groups
        if after is None
        else [g for g in d.groups if _after(g.last_modified, after) or g.gnum in extra_groups]
    )
    members: dict[int, list[str]] = {g.gnum: [] for g in groups}
    user_ids = d.user_ids
    for user in present:
        for gnum in user.groups:
            listed = members.get(gnum)
            if listed is not None:
                listed.append(user_ids[user.num])

    twins = (
        0 if schema_faults is None else schema_faults.plan((d.user_id(u.num), u.c.user_name) for u in users)
    )
    if unchanged is not None and not (by_id and schema_faults is None):
        raise ValueError("unchanged users are taken only in an export in id order, without schema faults")
    previous: Mapping[str, Indexed] = indexed or {}  # empty: every user is rendered

    def generate() -> Iterator[Doc]:
        notes = _Deferred(ledger)
        for at in _in_order([user_ids[u.num] for u in users], by_id):
            user, notes.at = users[at], at
            if unchanged is not None:
                # its notes were made when it was rendered from this state: nothing new to note
                row = unchanged.seen(user.num) if after is None else unchanged.row(user.num)
                if row >= 0 and (fingerprints := previous.get(user_ids[user.num])) is not None:
                    yield Doc.unchanged(row, _idp_row(fingerprints.id, user.c), fingerprints)
                    continue
            if memo.enabled:
                doc = memo.get(user.num, _idp_state(user), partial(_idp_user, d, user, cycle, notes))
            else:
                doc = _idp_user(d, user, cycle, notes)
            if schema_faults is None:
                yield doc
            else:
                yield from schema_faults.apply(doc, d.user_id(user.num), record=after is None)
        for at in _in_order([d.group_id(g.gnum) for g in groups], by_id):
            group, notes.at = groups[at], len(users) + at
            yield _idp_group(d, group, members[group.gnum], cycle, notes)
        notes.replay()

    return Rendered(len(users) + twins, len(groups), generate())


def _after(modified: int | None, second: int) -> bool:
    return modified is not None and modified > second


# -- a target -------------------------------------------------------------------------------


def _target_user(t: Target, account: Account, cycle: str, ledger: Notes) -> Doc:
    """A target's user: its JSON text and content print written directly (the text orjson makes
    of :func:`_target_user_object`'s resource, and of it sorted without meta; the tests hold both
    equal), or through that object when a value holds a character JSON escapes."""
    c, flags = account.c, account.flags
    source_id = t.dir.user_id(account.src) if account.src >= 0 else None
    external_id, user_name, title, department = _shown_values(account, source_id)
    emails = _emails(c, upper=bool(flags & EMAIL_CASE), reverse=bool(flags & EMAIL_ORDER))
    texts = [user_name, c.given, c.family, c.user_type, *(e["value"] for e in emails)]
    if title:
        texts.append(title)
    if department:
        texts.append(department)
    if _ESCAPED.search("".join(texts)) is not None:
        return _target_user_object(t, account, cycle, ledger)
    tid = t.account_id(account)
    offset = OFFSETS[account.serial % len(OFFSETS)] if flags & TS_OFFSET else 0
    number = employee_number(account.src, c) if account.src >= 0 else None
    manager_account = t.acct_of[c.manager] if 0 <= c.manager < len(t.acct_of) else None
    manager = t.account_id(manager_account) if manager_account is not None else None
    active = "true" if account.active else "false"
    listed, in_order = _emails_json(emails)
    enterprise = []  # in the order of the object (and, here, of its sorted keys)
    if number is not None:
        enterprise.append(f'"employeeNumber":"{number}"')
    if department is not None:
        enterprise.append(f'"department":"{department}"')
    sorted_enterprise = enterprise[::-1]  # department, employeeNumber (then manager, as here)
    if manager is not None:
        enterprise.append(f'"manager":{{"value":"{manager}"}}')
        sorted_enterprise = [*sorted_enterprise, enterprise[-1]]
    created = iso(account.created, offset)
    location = f"https://{t.name}.example.com/scim/v2/Users/{tid}"
    meta = _meta_json(created, account.last_modified, offset, account.version, location)
    ext = "" if external_id is None else f'"externalId":"{external_id}",'
    titled = "" if title is None else f'"title":"{title}",'
    display = f"{c.given} {c.family}"
    raw = (
        f'{{"schemas":{_USER_SCHEMAS},"id":"{tid}",{ext}"userName":"{user_name}",'
        f'"name":{{"givenName":"{c.given}","familyName":"{c.family}"}},"displayName":"{display}",'
        f'"emails":[{listed}],"active":{active},{titled}"userType":"{c.user_type}",'
        f'"{ENTERPRISE}":{{{",".join(enterprise)}}},{meta}}}'
    )
    content = (
        f'{{"active":{active},"displayName":"{display}","emails":[{in_order}],{ext}"id":"{tid}",'
        f'"name":{{"familyName":"{c.family}","givenName":"{c.given}"}},"schemas":{_USER_SCHEMAS},'
        f'{titled}"{ENTERPRISE}":{{{",".join(sorted_enterprise)}}},"userName":"{user_name}",'
        f'"userType":"{c.user_type}"}}'
    )
    doc = Doc(raw.encode(), False)
    doc.content_print = content_sha256_of_sorted_json(content.encode())
    doc.row = _target_row(tid, account, external_id, user_name, title, department)
    if source_id is not None and (flags & _USER_TRAPS or account.ext != EXT_SOURCE):
        resource = {"id": tid, "userName": user_name}
        if external_id is not None:
            resource["externalId"] = external_id
        _note_user_traps(t.name, cycle, ledger, resource, account, source_id, emails, bool(flags & BLANK))
    if offset:
        example = {"system": t.name, "cycle": cycle, "id": tid, "created": created}
        ledger.note_once(_TRAPS, "timestamp_offset", f"{t.name}:{tid}", example)
    return doc


def _target_row(
    tid: str,
    account: Account,
    external_id: str | None,
    user_name: str,
    title: str | None,
    department: str | None,
) -> UserRow:
    """The view row of a target's user, from the values its text shows."""
    c = account.c
    first = _work_email(c, bool(account.flags & EMAIL_CASE))  # the primary email
    return UserRow(tid, external_id, user_name, account.active, c.given, c.family, first, title, department)


def _shown_values(account: Account, source_id: str | None) -> tuple[str | None, str, str | None, str | None]:
    """The externalId, userName, title and department a target's user shows, its traps applied
    (``source_id``: the IdP id of its source user, None when it has none)."""
    c, flags = account.c, account.flags
    if account.ext == EXT_SOURCE and source_id is not None:
        external_id: str | None = source_id
    else:
        external_id = "" if account.ext == EXT_BLANK else None
    blank = bool(flags & BLANK)
    return (
        external_id,
        _case_variant(c.user_name) if flags & NAME_CASE else c.user_name,
        c.title if c.title is not None else ("" if blank else None),
        c.department if c.department is not None else ("" if blank else None),
    )


def _unchanged_target_row(t: Target, account: Account) -> UserRow:
    """:func:`_target_row` of an account not rendered again (the values :func:`_target_user` shows)."""
    source_id = t.dir.user_id(account.src) if account.src >= 0 else None
    return _target_row(t.account_id(account), account, *_shown_values(account, source_id))


def _target_state(t: Target, a: Account) -> tuple[Any, ...]:
    """What a target's user resource is made from (its serial and source aside, and its manager's
    account, whose id it shows)."""
    manager = t.acct_of[a.c.manager] if 0 <= a.c.manager < len(t.acct_of) else None
    return (a.c, a.active, a.ext, a.flags, a.created, a.last_modified, a.version, a.src, manager)


def target_states(t: Target) -> Iterator[tuple[Any, ...] | None]:
    """What each user resource of a target is made from, by account serial (None: deleted)."""
    return (None if account is None else _target_state(t, account) for account in t.accounts)


def _target_user_object(t: Target, account: Account, cycle: str, ledger: Notes) -> Doc:
    c, tid, flags = account.c, t.account_id(account), account.flags
    base = f"https://{t.name}.example.com/scim/v2"
    source_id = t.dir.user_id(account.src) if account.src >= 0 else None
    offset = OFFSETS[account.serial % len(OFFSETS)] if flags & TS_OFFSET else 0
    resource: dict[str, Any] = {"schemas": [USER_SCHEMA, ENTERPRISE], "id": tid}
    if account.ext == EXT_SOURCE and source_id is not None:
        resource["externalId"] = source_id
    elif account.ext == EXT_BLANK:
        resource["externalId"] = ""
    resource["userName"] = _case_variant(c.user_name) if flags & NAME_CASE else c.user_name
    resource["name"] = {"givenName": c.given, "familyName": c.family}
    resource["displayName"] = f"{c.given} {c.family}"
    emails = _emails(c, upper=bool(flags & EMAIL_CASE), reverse=bool(flags & EMAIL_ORDER))
    resource["emails"] = emails
    resource["active"] = account.active
    blank = bool(flags & BLANK)
    if c.title is not None or blank:
        resource["title"] = c.title if c.title is not None else ""
    resource["userType"] = c.user_type
    enterprise: dict[str, Any] = {}
    if account.src >= 0:
        enterprise["employeeNumber"] = employee_number(account.src, c)
    if c.department is not None or blank:
        enterprise["department"] = c.department if c.department is not None else ""
    manager = t.acct_of[c.manager] if 0 <= c.manager < len(t.acct_of) else None
    if manager is not None:
        enterprise["manager"] = {"value": t.account_id(manager)}
    resource[ENTERPRISE] = enterprise
    content_print = content_sha256_of_content(resource)  # before meta, which the print leaves out
    resource["meta"] = _meta(
        "User", account.created, account.last_modified, account.version, offset, f"{base}/Users/{tid}"
    )
    if source_id is not None and (flags & _USER_TRAPS or account.ext != EXT_SOURCE):
        _note_user_traps(t.name, cycle, ledger, resource, account, source_id, emails, blank)
    if offset:
        example = {"system": t.name, "cycle": cycle, "id": tid, "created": resource["meta"]["created"]}
        ledger.note_once(_TRAPS, "timestamp_offset", f"{t.name}:{tid}", example)
    doc = Doc.of(resource, False)
    doc.content_print = content_print
    doc.row = UserRow(
        tid,
        resource.get("externalId"),
        resource["userName"],
        account.active,
        c.given,
        c.family,
        primary_email(emails),
        resource.get("title"),
        enterprise.get("department"),
    )
    return doc


def _note_user_traps(
    system: str,
    cycle: str,
    ledger: Notes,
    resource: dict[str, Any],
    account: Account,
    source_id: str,
    emails: list[dict[str, Any]],
    blank: bool,
) -> None:
    tid, flags, c = resource["id"], account.flags, account.c
    key = f"{system}:{tid}"

    def example(**more: Any) -> dict[str, Any]:
        return {"system": system, "cycle": cycle, "id": tid, "source_id": source_id, **more}

    if flags & NAME_CASE:
        ledger.note_once(
            _TRAPS, "user_name_case", key, example(userName=resource["userName"], source=c.user_name)
        )
    if flags & EMAIL_CASE:
        ledger.note_once(_TRAPS, "email_case", key, example(email=emails[0]["value"]))
    if flags & EMAIL_ORDER and len(emails) > 1:
        ledger.note_once(_TRAPS, "emails_reordered", key, example(first=emails[0]["value"]))
    if blank and c.title is None:
        ledger.note_once(_TRAPS, "blank_for_absent", key, example(attribute="title"))
    elif blank and c.department is None:
        ledger.note_once(_TRAPS, "blank_for_absent", key, example(attribute="department"))
    if account.ext == EXT_BLANK:
        ledger.note_once(_TRAPS, "external_id_blank", key, example())
    elif "externalId" not in resource:
        ledger.note_once(_TRAPS, "external_id_absent", key, example(userName=resource["userName"]))


def _target_group(t: Target, group: TGroup, members: list[str], cycle: str, ledger: Notes) -> Doc:
    gid = t.group_id(group)
    offset = OFFSETS[group.serial % len(OFFSETS)] if group.flags & TS_OFFSET else 0
    head: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": gid}
    if group.ext == EXT_SOURCE and group.src >= 0:
        head["externalId"] = t.dir.group_id(group.src)
    name = group.name.upper() if group.flags & NAME_CASE else group.name
    head["displayName"] = name
    listed = Members(members, [t.group_id(t.groups[k]) for k in group.nested if k in t.groups])
    base = f"https://{t.name}.example.com/scim/v2"
    meta = _meta("Group", group.created, group.last_modified, group.version, offset, f"{base}/Groups/{gid}")
    if group.flags & NAME_CASE:
        example = {"system": t.name, "cycle": cycle, "id": gid, "displayName": name, "source": group.name}
        ledger.note_once(_TRAPS, "group_name_case", f"{t.name}:{gid}", example)
    if offset:
        example = {"system": t.name, "cycle": cycle, "id": gid, "created": meta["created"]}
        ledger.note_once(_TRAPS, "timestamp_offset", f"{t.name}:{gid}", example)
    return Doc.of_group(head, listed, {"meta": meta})


def target_resources(
    t: Target,
    cycle: str,
    ledger: Ledger,
    memo: RenderMemo,
    *,
    by_id: bool = False,
    unchanged: Unchanged | None = None,
) -> Rendered:
    """A target's full export: its accounts and groups, traps rendered (each in id order with
    ``by_id``; the ledger is the same either way). With ``unchanged`` (``by_id`` only), a user
    whose state is the one of the previous full export is given as :meth:`Doc.unchanged`."""
    if unchanged is not None and not by_id:
        raise ValueError("unchanged users are taken only in an export in id order")
    accounts = [a for a in t.accounts if a is not None]
    groups = sorted(t.groups.values(), key=lambda g: g.serial)
    members: dict[int, list[str]] = {g.key: [] for g in groups}
    account_ids = t.account_ids
    for account in accounts:
        for key in account.groups:
            listed = members.get(key)
            if listed is not None:
                listed.append(account_ids[account.serial])

    def generate() -> Iterator[Doc]:
        notes = _Deferred(ledger)
        for at in _in_order([account_ids[a.serial] for a in accounts], by_id):
            a, notes.at = accounts[at], at
            if unchanged is not None:
                # its notes were made when it was rendered from this state: nothing new to note
                row = unchanged.seen(a.serial)
                if row >= 0:
                    yield Doc.unchanged(row, _unchanged_target_row(t, a))
                    continue
            if not memo.enabled:
                yield _target_user(t, a, cycle, notes)
                continue
            yield memo.get(a.serial, _target_state(t, a), partial(_target_user, t, a, cycle, notes))
        for at in _in_order([t.group_id(g) for g in groups], by_id):
            group, notes.at = groups[at], len(accounts) + at
            yield _target_group(t, group, members[group.key], cycle, notes)
        notes.replay()

    return Rendered(len(accounts), len(groups), generate())
