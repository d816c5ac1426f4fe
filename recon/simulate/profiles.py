"""Fault profiles: how imperfect the simulated sync and the IdP's delta answers are.

A :class:`Profile` bundles three frozen rate tables:

- :class:`SyncFaults`, per target: what the downstream sync gets wrong (probabilities per event,
  or expected counts per cycle as a share of the directory for manual actions);
- :class:`DeltaQuirks`: how the IdP's ``meta.lastModified gt`` answers go wrong;
- :class:`Traps`: equivalences that must *not* be findings (case changes, reordered emails,
  ``""`` for absent, other timestamp offsets), injected in every profile.

``clean`` has no faults and no quirks (traps only), ``typical`` a realistic amount, ``hostile``
a lot. ``default`` is another name for ``typical``. Any rate can be overridden by name
(:func:`get_profile`), e.g. ``{"mover_not_applied": 0.2}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from recon.errors import UsageError

__all__ = ["PROFILES", "DeltaQuirks", "Profile", "SyncFaults", "Traps", "get_profile", "rate_names"]


@dataclass(frozen=True)
class SyncFaults:
    """What one target's sync gets wrong. Probabilities per event unless said otherwise."""

    external_id_absent: float = 0.05  # accounts without externalId (matched by userName); not a fault
    group_external_id_absent: float = 0.1  # target groups without externalId (matched by displayName)
    joiner_not_provisioned: float = 0.0  # a joiner never gets an account
    deactivation_missed: float = 0.0  # a leaver's account is never deactivated
    deactivation_delayed: float = 0.0  # ... is deactivated some cycles late
    delay_cycles: tuple[tuple[int, float], ...] = ((1, 0.5), (2, 0.3), (3, 0.15), (5, 0.05))
    deletion_not_propagated: float = 0.0  # the source hard-deletes, the account stays
    mover_not_applied: float = 0.0  # a title/department/manager change is not applied
    membership_dropped: float = 0.0  # a membership add is not applied
    membership_removal_missed: float = 0.0  # a membership removal is not applied
    manual_orphans: float = 0.0  # per cycle, share of the directory: accounts created by hand
    manual_edits: float = 0.0  # per cycle, share: attributes edited by hand in the target
    manual_suspensions: float = 0.0  # per cycle, share: accounts suspended by hand
    excess_memberships: float = 0.0  # per cycle, share: memberships added by hand
    excess_privileged_share: float = 0.0  # ... of which in a privileged group
    duplicate_accounts: float = 0.0  # per cycle, share: a second account for one person (ambiguous)
    group_not_provisioned: float = 0.0  # a source group never gets a target group
    manual_groups: float = 0.0  # per cycle, expected count of groups created by hand
    duplicate_groups: float = 0.0  # per cycle, expected count of second groups for one group


@dataclass(frozen=True)
class DeltaQuirks:
    """How the IdP's answer to ``meta.lastModified gt "<watermark>"`` goes wrong."""

    last_modified_not_bumped: float = 0.0  # a change leaves meta.lastModified as it was
    same_second: float = 0.0  # a change stamped with the watermark's second (after the export)
    membership_no_bump: float = 0.0  # a membership-only change leaves the group's lastModified
    touched: float = 0.0  # per cycle, share: lastModified bumped without a content change
    outside_filter: float = 0.0  # per cycle, share: records returned although not after the watermark
    missing_last_modified: float = 0.0  # a joiner written without meta.lastModified


@dataclass(frozen=True)
class Traps:
    """Equivalences that must not be findings (share of records that carry each)."""

    user_name_case: float = 0.05  # target userName in other letter case
    email_case: float = 0.05  # target email values in other letter case
    emails_reordered: float = 0.1  # target emails listed in another order (primary unchanged)
    blank_for_absent: float = 0.5  # target writes "" where the source has no title/department
    external_id_blank: float = 0.3  # of accounts without externalId: written as ""
    timestamp_offset: float = 0.1  # target meta timestamps with a +hh:mm offset instead of Z
    group_name_case: float = 0.2  # target group displayName in other letter case
    idp_timestamp_offset: float = 0.05  # IdP meta timestamps with an offset (not a content change)


@dataclass(frozen=True)
class Profile:
    """A named set of rates."""

    name: str
    sync: SyncFaults
    delta: DeltaQuirks
    traps: Traps

    def to_json(self) -> dict[str, Any]:
        """The rates as written to ``simulation.json``."""
        return {
            "name": self.name,
            "sync": asdict(self.sync),
            "delta": asdict(self.delta),
            "traps": asdict(self.traps),
        }


_TYPICAL = Profile(
    "typical",
    SyncFaults(
        joiner_not_provisioned=0.02,
        deactivation_missed=0.03,
        deactivation_delayed=0.25,
        deletion_not_propagated=0.1,
        mover_not_applied=0.05,
        membership_dropped=0.01,
        membership_removal_missed=0.05,
        manual_orphans=0.002,
        manual_edits=0.003,
        manual_suspensions=0.001,
        excess_memberships=0.003,
        excess_privileged_share=0.3,
        duplicate_accounts=0.001,
        group_not_provisioned=0.04,
        manual_groups=0.3,
    ),
    DeltaQuirks(last_modified_not_bumped=0.02, same_second=0.02, membership_no_bump=0.1),
    Traps(),
)
_HOSTILE = Profile(
    "hostile",
    SyncFaults(
        external_id_absent=0.15,
        group_external_id_absent=0.2,
        joiner_not_provisioned=0.06,
        deactivation_missed=0.1,
        deactivation_delayed=0.4,
        delay_cycles=((1, 0.3), (2, 0.3), (3, 0.2), (5, 0.1), (8, 0.1)),
        deletion_not_propagated=0.3,
        mover_not_applied=0.15,
        membership_dropped=0.04,
        membership_removal_missed=0.15,
        manual_orphans=0.006,
        manual_edits=0.01,
        manual_suspensions=0.004,
        excess_memberships=0.01,
        excess_privileged_share=0.4,
        duplicate_accounts=0.004,
        group_not_provisioned=0.08,
        manual_groups=1.0,
        duplicate_groups=0.5,
    ),
    DeltaQuirks(
        last_modified_not_bumped=0.06,
        same_second=0.05,
        membership_no_bump=0.3,
        touched=0.01,
        outside_filter=0.005,
        missing_last_modified=0.05,
    ),
    Traps(),
)
_CLEAN = Profile("clean", SyncFaults(), DeltaQuirks(), Traps())
PROFILES: dict[str, Profile] = {"clean": _CLEAN, "typical": _TYPICAL, "hostile": _HOSTILE}
_ALIASES = {"default": "typical"}
_TABLES = ("sync", "delta", "traps")


def rate_names() -> list[str]:
    """Every rate that can be overridden, by its bare name."""
    return sorted(
        f.name
        for table in (SyncFaults, DeltaQuirks, Traps)
        for f in fields(table)
        if f.name != "delay_cycles"
    )


def get_profile(name: str, overrides: Mapping[str, float] | None = None) -> Profile:
    """The profile ``name`` (clean, typical, hostile; default = typical) with rates overridden by name.

    Raises :class:`UsageError` for an unknown profile, an unknown rate or a rate outside [0, 1]
    (``manual_groups`` and ``duplicate_groups`` are expected counts: any value >= 0).
    """
    key = _ALIASES.get(name, name)
    if key not in PROFILES:
        known = ", ".join([*PROFILES, *_ALIASES])
        raise UsageError(f"unknown profile {name!r} (known: {known})")
    profile = PROFILES[key]
    if not overrides:
        return profile
    tables: dict[str, Any] = {table: getattr(profile, table) for table in _TABLES}
    for rate, value in overrides.items():
        owner = next(
            (t for t in _TABLES if rate in {f.name for f in fields(tables[t])} and rate != "delay_cycles"),
            None,
        )
        if owner is None:
            raise UsageError(f"unknown rate {rate!r} (known: {', '.join(rate_names())})")
        counts = rate in ("manual_groups", "duplicate_groups")
        if not isinstance(value, int | float) or value < 0 or (not counts and value > 1):
            bound = ">= 0" if counts else "between 0 and 1"
            raise UsageError(f"rate {rate}={value!r}: must be a number {bound}")
        tables[owner] = replace(tables[owner], **{rate: float(value)})
    return Profile(profile.name, tables["sync"], tables["delta"], tables["traps"])
