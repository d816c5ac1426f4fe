"""The filters ``recon probe`` sends and the capability matrix it prints.

Filters are built from values of the latest full export (an existing userName, its email,
a late lastModified...) so that the right answer is never empty; with a local ``count``,
sw/co/ew values are lengthened until they match only a few users, which keeps the
server's answers (and the probe) small.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from recon.capabilities import Capabilities

__all__ = ["FilterProbe", "battery", "matrix"]

_FEW = 50


@dataclass(frozen=True)
class FilterProbe:
    """One filter to send: ``inner`` is the filter inside a ``not (...)``, to recognise it being ignored."""

    name: str
    resource_type: str
    filter: str
    inner: str | None = None
    invalid: bool = False


def _quote(value: str) -> str:
    """A filter string literal (JSON quoting; control characters, DEL and C1 as \\u escapes)."""
    text = json.dumps(value, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029]")


def _other_case(text: str) -> str:
    swapped = text.swapcase()
    return swapped if swapped != text else text.upper()


def _selective(candidates: list[str], count: Callable[[str], int] | None, template: str) -> str:
    """The first candidate whose filter matches at most ``_FEW`` records locally (else the last)."""
    for candidate in candidates:
        if count is None or count(template.format(_quote(candidate))) <= _FEW:
            return candidate
    return candidates[-1]


def battery(
    samples: dict[str, Any], group_name: str | None, count: Callable[[str], int] | None = None
) -> list[FilterProbe]:
    """The filters to probe, built from the export's sample values (see ``sql/probe_samples.sql``).

    ``count`` (a user filter -> how many users match it locally) lets sw/co/ew pick values
    that match a few users, not all of them: the right answer stays non-empty and small.
    """
    probes: list[FilterProbe] = []
    user = samples.get("anchor_user_name")
    if user:
        lengths = range(3, max(len(user), 4))
        prefix = _selective([user[:k] for k in lengths] + [user], count, "userName sw {}")
        middle = _selective([user[1 : 1 + k] for k in lengths] + [user], count, "userName co {}")
        suffix = _selective([user[-k:] for k in lengths] + [user], count, "userName ew {}")
        probes += [
            FilterProbe("userName_eq", "User", f"userName eq {_quote(user)}"),
            FilterProbe("userName_eq_other_case", "User", f"userName eq {_quote(_other_case(user))}"),
            FilterProbe("userName_sw", "User", f"userName sw {_quote(prefix)}"),
            FilterProbe("userName_co", "User", f"userName co {_quote(middle)}"),
            FilterProbe("userName_ew", "User", f"userName ew {_quote(suffix)}"),
            FilterProbe(
                "not_userName_ne",
                "User",
                f"not (userName ne {_quote(user)})",
                inner=f"userName ne {_quote(user)}",
            ),
            FilterProbe("and_active_userName_sw", "User", f"active eq true and userName sw {_quote(prefix)}"),
        ]
        second = samples.get("second_user_name")
        if second:
            probes.append(
                FilterProbe(
                    "or_userName_eq", "User", f"userName eq {_quote(user)} or userName eq {_quote(second)}"
                )
            )
    probes += [
        FilterProbe("active_eq_true", "User", "active eq true"),
        FilterProbe("active_eq_false", "User", "active eq false"),
    ]
    late = samples.get("late_last_modified")
    if isinstance(late, datetime):
        stamp = late.isoformat().replace("+00:00", "Z")
        gt = f"meta.lastModified gt {_quote(stamp)}"
        if count is not None and count(gt) == 0:  # every record stamped at the same instant
            stamp = (late - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
            gt = f"meta.lastModified gt {_quote(stamp)}"
        probes += [
            FilterProbe("lastModified_gt", "User", gt),
            FilterProbe("lastModified_ge", "User", f"meta.lastModified ge {_quote(stamp)}"),
        ]
    email = samples.get("anchor_email")
    if email:
        probes += [
            FilterProbe("emails_value_other_case", "User", f"emails.value eq {_quote(_other_case(email))}"),
            FilterProbe("emails_value_path", "User", f'emails[type eq "work" and value eq {_quote(email)}]'),
        ]
    attribute = "title" if samples.get("titled") else "userName"
    probes.append(FilterProbe(f"{attribute}_pr", "User", f"{attribute} pr"))
    if group_name:
        probes.append(
            FilterProbe(
                "group_displayName_other_case", "Group", f"displayName eq {_quote(_other_case(group_name))}"
            )
        )
    probes.append(FilterProbe("invalid_filter", "User", 'userName eq "x" and', invalid=True))
    return probes


def matrix(capabilities: Capabilities, rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(capability, advertised, observed) lines for the console."""
    by_name = {row["probe"]: row for row in rows}
    advertised = capabilities.advertised
    filters = [r for r in rows if r["filter"] is not None and r["probe"] != "invalid_filter"]
    exact = sum(1 for r in filters if r["status"] == "exact")
    filter_block = advertised.get("filter") or {}
    filter_adv = "yes" if filter_block.get("supported") else "no"
    if filter_block.get("maxResults"):
        filter_adv += f" (maxResults {filter_block['maxResults']})"
    statuses = sorted({r["status"] for r in filters})
    observed = f"{exact} of {len(filters)} filters exact" + (
        f" ({', '.join(statuses)})" if exact < len(filters) else ""
    )
    user_name = capabilities.attribute("urn:ietf:params:scim:schemas:core:2.0:User", "userName") or {}
    case_exact = user_name.get("caseExact")
    case_adv = (
        "case-insensitive (RFC)"
        if case_exact is None
        else ("caseExact" if case_exact else "case-insensitive")
    )
    paging = capabilities.pagination()

    def seen(name: str) -> str:
        row = by_name.get(name)
        return "-" if row is None else f"{row['status']}: {row['detail']}"

    return [
        ("filter", filter_adv, observed),
        ("userName eq, other case", case_adv, seen("userName_eq_other_case")),
        ("active eq false", "RFC 7644", seen("active_eq_false")),
        ("not (...)", "RFC 7644", seen("not_userName_ne")),
        ("meta.lastModified gt", "RFC 7644", seen("lastModified_gt")),
        ("invalid filter", "400 invalidFilter (RFC)", seen("invalid_filter")),
        ("page size cap", f"maxPageSize {paging.get('maxPageSize') or '-'}", seen("page_size_cap")),
        ("past the end", "empty page (RFC)", seen("past_the_end")),
        ("cursor paging", "yes" if paging.get("cursor") else "no", seen("cursor")),
    ]
