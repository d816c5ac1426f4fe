"""A downstream app (target) and the imperfect sync that feeds it from the IdP.

Each target assigns its own ids, keeps its own copy of every account (sharing the IdP's
:class:`~recon.simulate.model.Content` while in sync) and replays the IdP's events each
cycle, getting some wrong as its :class:`SyncFaults` say: joiners never provisioned, missed
or late deactivations, deletions not propagated, mover updates not applied, membership adds
dropped and removals missed. Then people edit the app by hand: orphan accounts, attribute
edits, suspensions, extra (sometimes privileged) memberships, duplicate accounts and groups.

Equivalence traps are per-record flags, rendered in the export (see ``render``); they never
change what is compared. Every injected fault is counted in the ledger with examples; the
truth itself is computed from the exports as written, so a fault masked by another shows as
what the data says.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, overload

from recon.simulate.directory import Directory, stochastic_round
from recon.simulate.ids import CYCLE_SECONDS, IdMaker, cycle_id
from recon.simulate.model import (
    BLANK,
    EMAIL_CASE,
    EMAIL_ORDER,
    EXT_ABSENT,
    EXT_BLANK,
    EXT_SOURCE,
    NAME_CASE,
    TS_OFFSET,
    Account,
    Content,
    Event,
    Ledger,
    TGroup,
    User,
)
from recon.simulate.names import DEPARTMENTS, FAMILY_NAMES, GIVEN_NAMES, ORPHAN_WORDS, TITLES
from recon.simulate.profiles import SyncFaults, Traps

__all__ = ["CAPABILITIES", "TARGET_STYLES", "Target"]

TARGET_STYLES = ("slack", "github", "jira")
# What each simulated app says it can do (informational; recorded in simulation.json).
CAPABILITIES: dict[str, dict[str, Any]] = {
    "slack": {
        "pagination": {"index": True, "cursor": False, "maxPageSize": 1000},
        "filter": {"supported": True, "maxResults": 1000},
        "bulk": {"supported": False},
        "patch": {"supported": True},
        "etag": {"supported": False},
        "ids": "U + 10 base32 characters (groups: S…)",
    },
    "github": {
        "pagination": {"index": True, "cursor": False, "maxPageSize": 100},
        "filter": {"supported": True, "maxResults": 100},
        "bulk": {"supported": True, "maxOperations": 100, "maxPayloadSize": 1048576},
        "patch": {"supported": True},
        "etag": {"supported": True},
        "ids": "UUID",
    },
    "jira": {
        "pagination": {"index": True, "cursor": True, "maxPageSize": 200},
        "filter": {"supported": True, "maxResults": 200},
        "bulk": {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576},
        "patch": {"supported": False},
        "etag": {"supported": False},
        "ids": "557058:UUID (groups: UUID)",
    },
}
_ORPHAN_DOMAINS = ("partners.example.org", "contractors.example.net", "legacy.example.io")


class Target:
    """One downstream app's accounts, groups and memberships, fed by a faulty sync."""

    def __init__(
        self, name: str, *, seed: int, directory: Directory, faults: SyncFaults, traps: Traps, ledger: Ledger
    ) -> None:
        self.name = name
        self.rng = random.Random(f"{seed}:target:{name}")
        self.ids = IdMaker(seed, name, name)
        self.dir = directory
        self.faults = faults
        self.traps = traps
        self.ledger = ledger
        self.accounts: list[Account | None] = []  # by serial; None once deleted
        self.acct_of: list[Account | None] = []  # by IdP user number: the account the sync manages
        self.groups: dict[int, TGroup] = {}  # by key (source group number, or < 0 for the app's own)
        self.pending: dict[int, list[int]] = {}  # cycle -> users whose late deactivation lands then
        self._group_serial = 0
        self._own_key = -1
        self._duplicated: set[int] = set()
        self._duplicated_groups: set[int] = set()
        self._cycle = 0
        self._account_ids: list[str] = []  # by serial
        self._pools: tuple[tuple[int, int], list[int], list[int], dict[int, int]] | None = None

    # -- helpers ----------------------------------------------------------------------------
    def _when(self) -> int:
        end = self.dir.time_of(self._cycle)
        start = end - 30 * CYCLE_SECONDS if self._cycle == 0 else self.dir.time_of(self._cycle - 1) + 1
        return self.rng.randint(start, end - 1 if self._cycle == 0 else end)

    def _fault(self, fault: str, **example: Any) -> None:
        row = {"cycle": cycle_id(self.dir.time_of(self._cycle)), **example}
        self.ledger.note(f"faults.{self.name}", fault, row)

    def _chance(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def _flags(self) -> int:
        t, chance = self.traps, self.rng.random
        flags = NAME_CASE if chance() < t.user_name_case else 0
        flags |= EMAIL_CASE if chance() < t.email_case else 0
        flags |= EMAIL_ORDER if chance() < t.emails_reordered else 0
        flags |= BLANK if chance() < t.blank_for_absent else 0
        flags |= TS_OFFSET if chance() < t.timestamp_offset else 0
        return flags

    def account_id(self, account: Account) -> str:
        """The app's id of an account."""
        return self._account_ids[account.serial]

    @property
    def account_ids(self) -> list[str]:
        """The app's ids of its accounts, by serial (to read, not to change)."""
        return self._account_ids

    def _add_account(self, account: Account) -> None:
        self.accounts.append(account)
        self._account_ids.append(self.ids.user(account.serial))

    def group_id(self, group: TGroup) -> str:
        """The app's id of a group."""
        return self.ids.group(group.serial)

    def _managed(self, num: int) -> Account | None:
        return self.acct_of[num] if num < len(self.acct_of) else None

    def _user(self, num: int) -> User:
        user = self.dir.users[num]
        assert user is not None
        return user

    # -- provisioning -----------------------------------------------------------------------
    def _provision(self, user: User) -> Account | None:
        while len(self.acct_of) <= user.num:
            self.acct_of.append(None)
        if self._chance(self.faults.joiner_not_provisioned):
            self._fault("joiner_not_provisioned", source_id=self.dir.user_id(user.num))
            return None
        ext = EXT_SOURCE
        if self._chance(self.faults.external_id_absent):
            ext = EXT_BLANK if self.rng.random() < self.traps.external_id_blank else EXT_ABSENT
        # at cycle 0 an account was made when its user was (sharing the time object saves memory)
        when = user.created if self._cycle == 0 else self._when()
        account = Account(len(self.accounts), user.num, ext, user.c, (), self._flags(), when)
        self._add_account(account)
        account.groups = self._kept(user, account, user.groups)
        self.acct_of[user.num] = account
        return account

    def _kept(self, user: User, account: Account, groups: tuple[int, ...]) -> tuple[int, ...]:
        """The memberships a new account gets: the user's, less those the sync drops."""
        kept = []
        for gnum in groups:
            if self._chance(self.faults.membership_dropped):
                self._fault(
                    "membership_dropped",
                    source_id=self.dir.user_id(user.num),
                    target_id=self.account_id(account),
                    group_id=self.dir.group_id(gnum),
                )
            else:
                kept.append(gnum)
        return groups if len(kept) == len(groups) else tuple(kept)

    def _provision_group(self, gnum: int) -> None:
        source = self.dir.groups[gnum]
        if self._chance(self.faults.group_not_provisioned):
            self._fault("group_not_provisioned", group_id=self.dir.group_id(gnum))
            return
        ext = EXT_ABSENT if self._chance(self.faults.group_external_id_absent) else EXT_SOURCE
        flags = NAME_CASE if self.rng.random() < self.traps.group_name_case else 0
        flags |= TS_OFFSET if self.rng.random() < self.traps.timestamp_offset else 0
        group = TGroup(gnum, self._group_serial, gnum, ext, source.name, flags, self._when())
        self._group_serial += 1
        nested = []
        for child in source.nested:
            if self._chance(self.faults.membership_dropped):
                self._fault(
                    "membership_dropped",
                    group_id=self.dir.group_id(gnum),
                    member_group_id=self.dir.group_id(child),
                )
            else:
                nested.append(child)
        group.nested = tuple(nested)
        self.groups[gnum] = group

    def initial(self) -> None:
        """Cycle 0: the app as found, provisioned from the IdP with the profile's faults."""
        self._cycle = 0
        for group in self.dir.groups:
            self._provision_group(group.gnum)
        for user in self.dir.users:
            assert user is not None
            if not user.c.active and self.rng.random() < 0.3:
                while len(self.acct_of) <= user.num:
                    self.acct_of.append(None)
                continue  # deprovisioned before the first cycle
            account = self._provision(user)
            if account is not None and not user.c.active:
                account.active = True
                self._deactivate(user, account)
        self._by_hand()

    # -- replaying the IdP's changes --------------------------------------------------------
    def sync(self, cycle: int, events: list[Event]) -> None:
        """Apply one cycle of IdP events, with faults, then the manual changes of the cycle."""
        self._cycle = cycle
        for num in self.pending.pop(cycle, []):
            account, user = self._managed(num), self.dir.users[num]
            if account is not None and account.active and user is not None and not user.c.active:
                account.c, account.active = user.c, False
                account.touch(self._when())
        for event in events:
            getattr(self, f"_on_{event.kind}")(event)
        self._by_hand()

    def _on_join(self, event: Event) -> None:
        self._provision(self._user(event.num))

    def _on_group(self, event: Event) -> None:
        self._provision_group(event.num)

    def _on_update(self, event: Event) -> None:
        account = self._managed(event.num)
        if account is None:
            return
        user = self._user(event.num)
        if self._chance(self.faults.mover_not_applied):
            self._fault(
                "mover_not_applied", source_id=self.dir.user_id(user.num), target_id=self.account_id(account)
            )
            return
        account.c, account.active = user.c, user.c.active
        account.touch(self._when())

    def _on_leave(self, event: Event) -> None:
        account = self._managed(event.num)
        if account is not None:
            self._deactivate(self._user(event.num), account)

    def _deactivate(self, user: User, account: Account) -> None:
        if not account.active:
            account.c = user.c
            return
        roll = self.rng.random()
        ids = {"source_id": self.dir.user_id(user.num), "target_id": self.account_id(account)}
        if roll < self.faults.deactivation_missed:
            self._fault("deactivation_missed", **ids)
        elif roll < self.faults.deactivation_missed + self.faults.deactivation_delayed:
            delay = self._delay()
            self.pending.setdefault(self._cycle + delay, []).append(user.num)
            self._fault("deactivation_delayed", delay_cycles=delay, **ids)
        else:
            account.c, account.active = user.c, False
            account.touch(self._when())

    def _delay(self) -> int:
        roll, total = self.rng.random(), 0.0
        weights = self.faults.delay_cycles
        scale = sum(w for _, w in weights)
        for cycles, weight in weights:
            total += weight / scale
            if roll < total:
                return cycles
        return weights[-1][0]

    def _on_delete(self, event: Event) -> None:
        account = self._managed(event.num)
        if account is None:
            return
        self.acct_of[event.num] = None
        if self._chance(self.faults.deletion_not_propagated):
            source_id = self.dir.user_id(event.num)
            self._fault("deletion_not_propagated", source_id=source_id, target_id=self.account_id(account))
        else:
            self.accounts[account.serial] = None

    def _on_add(self, event: Event) -> None:
        account = self._managed(event.num)
        if account is None or event.gnum in account.groups:
            return
        if self._chance(self.faults.membership_dropped):
            self._fault(
                "membership_dropped",
                source_id=self.dir.user_id(event.num),
                target_id=self.account_id(account),
                group_id=self.dir.group_id(event.gnum),
            )
            return
        self._set_groups(account, event.num, {*account.groups, event.gnum})

    def _on_remove(self, event: Event) -> None:
        account = self._managed(event.num)
        if account is None or event.gnum not in account.groups:
            return
        if self._chance(self.faults.membership_removal_missed):
            self._fault(
                "membership_removal_missed",
                source_id=self.dir.user_id(event.num),
                target_id=self.account_id(account),
                group_id=self.dir.group_id(event.gnum),
            )
            return
        self._set_groups(account, event.num, set(account.groups) - {event.gnum})

    def _set_groups(self, account: Account, num: int, keys: set[int]) -> None:
        groups = tuple(sorted(keys))
        user = self.dir.users[num] if num >= 0 else None
        account.groups = user.groups if user is not None and user.groups == groups else groups

    # -- people editing the app by hand -----------------------------------------------------
    def _by_hand(self) -> None:
        f, rng = self.faults, self.rng
        managed = [a for a in self.acct_of if a is not None]
        count = len(managed)
        for _ in range(stochastic_round(rng, f.manual_orphans * count)):
            self._orphan()
        for account in rng.sample(managed, min(count, stochastic_round(rng, f.manual_edits * count))):
            self._edit(account)
        suspendable = [a for a in managed if a.active and self._user(a.src).c.active]
        n = min(len(suspendable), stochastic_round(rng, f.manual_suspensions * count))
        for account in rng.sample(suspendable, n):
            account.active = False
            account.touch(self._when())
            self._fault(
                "manual_suspension",
                source_id=self.dir.user_id(account.src),
                target_id=self.account_id(account),
            )
        for account in rng.sample(managed, min(count, stochastic_round(rng, f.excess_memberships * count))):
            self._excess(account)
        fresh = [a for a in managed if a.src not in self._duplicated]
        for account in rng.sample(
            fresh, min(len(fresh), stochastic_round(rng, f.duplicate_accounts * count))
        ):
            self._duplicate(account)
        for _ in range(stochastic_round(rng, f.manual_groups)):
            self._own_group(None)
        mirrored = [
            g
            for g in self.groups.values()
            if g.key >= 0 and g.ext == EXT_SOURCE and g.key not in self._duplicated_groups
        ]
        for group in rng.sample(mirrored, min(len(mirrored), stochastic_round(rng, f.duplicate_groups))):
            self._own_group(group)

    def _orphan(self) -> None:
        rng = self.rng
        serial = len(self.accounts)
        given, _ = rng.choice(GIVEN_NAMES)
        family, _ = rng.choice(FAMILY_NAMES)
        dept = rng.choice(DEPARTMENTS)
        content = Content(
            user_name=f"{rng.choice(ORPHAN_WORDS)}.{serial}@{rng.choice(_ORPHAN_DOMAINS)}",
            given=given,
            family=family,
            home_email=None,
            department=dept,
            title=rng.choice(TITLES[dept]),
            manager=-1,
            user_type="Contractor",
            active=rng.random() < 0.8,
            home_first=False,
        )
        keys = self._excess_pools()[1]  # the source groups that are not privileged, in order
        chosen = set(rng.sample(keys, min(len(keys), 1)))
        privileged = [k for k in self.dir.privileged if k in self.groups]
        if privileged and rng.random() < 0.25:
            chosen.add(rng.choice(privileged))
        account = Account(serial, -1, EXT_ABSENT, content, tuple(sorted(chosen)), self._flags(), self._when())
        self._add_account(account)
        self._fault("manual_orphan", target_id=self.account_id(account), active=content.active)

    def _edit(self, account: Account) -> None:
        rng, c = self.rng, account.c
        roll = rng.random()
        if roll < 0.5:
            attribute, value = (
                "title",
                rng.choice([t for ts in TITLES.values() for t in ts if t.lower() != (c.title or "").lower()]),
            )
            account.c = c._replace(title=value)
        elif roll < 0.8:
            attribute, value = "department", rng.choice([d for d in DEPARTMENTS if d != c.department])
            account.c = c._replace(department=value)
        else:
            attribute, value = (
                "name.givenName",
                rng.choice([g for g, _ in GIVEN_NAMES if g.lower() != c.given.lower()]),
            )
            account.c = c._replace(given=value)
        account.touch(self._when())
        self._fault(
            "manual_edit",
            source_id=self.dir.user_id(account.src),
            target_id=self.account_id(account),
            attribute=attribute,
            value=value,
        )

    def _excess(self, account: Account) -> None:
        rng = self.rng
        user = self._user(account.src)
        held = {*account.groups, *user.groups}
        privileged_keys, other_keys, other_at = self._excess_pools()
        # the groups not held, in the order of self.groups: privileged ones, or the others
        # (without listing all of them for every fault: same list, same draws)
        privileged = [k for k in privileged_keys if k not in held]
        others = _Without(other_keys, sorted(other_at[k] for k in held if k in other_at))
        pool = privileged if privileged and rng.random() < self.faults.excess_privileged_share else others
        if not pool:
            return
        key = rng.choice(pool)
        self._set_groups(account, account.src, {*account.groups, key})
        self._fault(
            "excess_membership_privileged" if key in self.dir.privileged else "excess_membership",
            source_id=self.dir.user_id(account.src),
            target_id=self.account_id(account),
            group_id=self.dir.group_id(key),
        )

    def _excess_pools(self) -> tuple[list[int], list[int], dict[int, int]]:
        """The privileged groups and the other source groups (keys in the order of self.groups,
        which only ever grows), with the others' positions; remade when a group was added."""
        size = (len(self.groups), len(self.dir.privileged))
        if self._pools is None or self._pools[0] != size:
            privileged = [k for k in self.groups if k in self.dir.privileged]
            others = [k for k in self.groups if k >= 0 and k not in self.dir.privileged]
            self._pools = (size, privileged, others, {k: i for i, k in enumerate(others)})
        return self._pools[1], self._pools[2], self._pools[3]

    def _duplicate(self, account: Account) -> None:
        """A second account for the same person, made so that neither can be told apart."""
        self._duplicated.add(account.src)
        ext = EXT_SOURCE if account.ext == EXT_SOURCE else EXT_ABSENT
        flags = self._flags() | (NAME_CASE if ext == EXT_ABSENT else 0)
        copy = Account(len(self.accounts), account.src, ext, account.c, (), flags, self._when())
        copy.active = True
        self._add_account(copy)
        self._fault(
            "duplicate_account",
            source_id=self.dir.user_id(account.src),
            target_id=self.account_id(copy),
            first_target_id=self.account_id(account),
            by="externalId" if ext == EXT_SOURCE else "userName",
        )

    def _own_group(self, mirror: TGroup | None) -> None:
        """A group made by hand: a new one, or a second group with the same externalId as ``mirror``."""
        rng = self.rng
        key, self._own_key = self._own_key, self._own_key - 1
        serial = self._group_serial
        self._group_serial += 1
        if mirror is None:
            name = f"{self.name}-{rng.choice(ORPHAN_WORDS)}-{serial}"
            group = TGroup(key, serial, -1, EXT_ABSENT, name, 0, self._when())
            self._fault("manual_group", target_group_id=self.group_id(group), name=name)
        else:
            self._duplicated_groups.add(mirror.key)
            group = TGroup(key, serial, mirror.src, EXT_SOURCE, mirror.name, 0, self._when())
            self._fault(
                "duplicate_group",
                group_id=self.dir.group_id(mirror.src),
                target_group_id=self.group_id(group),
            )
        self.groups[key] = group
        managed = [a for a in self.acct_of if a is not None]
        for account in rng.sample(managed, min(len(managed), rng.randint(2, 6))):
            self._set_groups(account, account.src, {*account.groups, key})


class _Without(Sequence[int]):
    """``keys`` less those at the ``gone`` positions (sorted), without copying ``keys``."""

    def __init__(self, keys: list[int], gone: list[int]) -> None:
        self._keys, self._gone = keys, gone

    def __len__(self) -> int:
        return len(self._keys) - len(self._gone)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not 0 <= index < len(self):
            raise IndexError(index)
        at = index
        for position in self._gone:  # each gone position at or before it moves it one on
            if position > at:
                break
            at += 1
        return self._keys[at]
