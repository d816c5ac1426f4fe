"""The source IdP and how it evolves: joiners, movers, leavers, hard deletes, group changes.

Cycle 0 builds the directory as found (a few users already deactivated). Each later cycle
applies a day of changes between the previous export and this one and returns them as
:class:`~recon.simulate.model.Event` rows for the targets' syncs. The IdP stamps each change
with ``meta.lastModified`` — except where the profile's :class:`DeltaQuirks` say otherwise
(not bumped, stamped with the previous export's second, membership changes that leave the
group's stamp, missing stamps, stamps bumped without a change).

Beyond the compared columns, each user has a :class:`~recon.simulate.model.Profile` only the
IdP holds (phone number, address, roles, enterprise costCenter, a custom extension's badge);
a few users a cycle change one of those (stamped, or not, by the same quirks), and a few
others are only re-serialised (letter case, order, "" for unassigned: equivalences that
are not changes). Both draw from a random stream of their own, so the rest of the
simulation is the same with or without them.
"""

from __future__ import annotations

import random
from itertools import chain, islice

from recon.simulate.ids import CYCLE_SECONDS, START, IdMaker, cycle_id
from recon.simulate.model import TS_OFFSET, Content, Event, Group, Ledger, Profile, User
from recon.simulate.names import (
    BADGES,
    COST_CENTERS,
    DEPARTMENTS,
    FAMILY_NAMES,
    GIVEN_NAMES,
    PRIVILEGED_GROUPS,
    ROLES,
    SITES,
    TEAM_WORDS,
    TITLES,
)
from recon.simulate.profiles import DeltaQuirks, Traps

__all__ = ["Directory", "stochastic_round"]

# business rates per cycle (share of active users); the same in every profile
_JOIN, _LEAVE, _MOVE, _REGROUP = 0.02, 0.015, 0.05, 0.04
_INITIALLY_INACTIVE = 0.03
_DELETE_AFTER, _DELETE_CHANCE = 2, 0.4  # leavers are hard-deleted from 2 cycles after leaving
_CONTRACTOR = 0.12
_QUIRKS = "delta_quirks"
_PROFILE_CHANGE, _RESERIALISE = 0.03, 0.02  # per cycle, share of users not otherwise changed
PROFILE_ATTRIBUTES = ("phoneNumbers", "addresses", "roles", "costCenter", "badge")
FORMS = 3  # serialisations of the same content (see recon.simulate.render)


def stochastic_round(rng: random.Random, value: float) -> int:
    """``value`` rounded down or up at random, so the expectation is ``value``."""
    whole = int(value)
    return whole + (1 if rng.random() < value - whole else 0)


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")


class Directory:
    """The IdP: users and groups numbered in creation order, and their evolution."""

    def __init__(
        self, *, seed: int, users: int, groups: int, quirks: DeltaQuirks, traps: Traps, ledger: Ledger
    ) -> None:
        self.rng = random.Random(f"{seed}:idp")
        self.prng = random.Random(f"{seed}:idp-profile")  # profiles: a stream of their own
        self._phones = 0
        self.ids = IdMaker(seed, "idp", "okta")
        self.quirks = quirks
        self.traps = traps
        self.ledger = ledger
        self.initial_users = users
        self.initial_groups = groups
        self.users: list[User | None] = []
        self.groups: list[Group] = []
        self.dept_group: dict[str, int] = {}
        self.teams: dict[str, list[int]] = {dept: [] for dept in DEPARTMENTS}
        self.privileged: list[int] = []
        self.left: dict[int, int] = {}  # user number -> cycle it was deactivated
        self._bases: dict[str, int] = {}
        self._user_ids: list[str] = []  # by user number (computing an id costs more than keeping it)
        self._team_count = 0
        self._cycle = 0

    # -- identities -----------------------------------------------------------------------
    def user_id(self, num: int) -> str:
        """The IdP id of user ``num``."""
        return self._user_ids[num]

    @property
    def user_ids(self) -> list[str]:
        """The IdP ids of the users, by number (to read, not to change)."""
        return self._user_ids

    def group_id(self, gnum: int) -> str:
        """The IdP id of group ``gnum``."""
        return self.ids.group(gnum)

    @staticmethod
    def time_of(cycle: int) -> int:
        """The time of a cycle (whole seconds, UTC)."""
        return START + cycle * CYCLE_SECONDS

    def _when(self, cycle: int, rng: random.Random | None = None) -> int:
        """A time inside the cycle's window (after the previous export, up to this cycle's time)."""
        return (rng or self.rng).randint(self.time_of(cycle - 1) + 1, self.time_of(cycle))

    # -- cycle 0 --------------------------------------------------------------------------
    def build(self) -> list[Event]:
        """Create the directory as found at cycle 0 (no events: targets provision from it)."""
        rng = self.rng
        names = [*PRIVILEGED_GROUPS, "all-staff", *(f"dept-{_slug(d)}" for d in DEPARTMENTS)]
        for gnum in range(self.initial_groups):
            created = self.time_of(0) - rng.randint(30, 1500) * CYCLE_SECONDS
            if gnum < len(names):
                name = names[gnum]
                dept = next((d for d in DEPARTMENTS if name == f"dept-{_slug(d)}"), None)
                self._add_group(name, dept, created)
                if name in PRIVILEGED_GROUPS:
                    self.privileged.append(gnum)
                elif dept is not None:
                    self.dept_group[dept] = gnum
            else:
                self._new_team(created)
        self._nest_initial()
        for num in range(self.initial_users):
            created = self.time_of(0) - rng.randint(2, 1500) * CYCLE_SECONDS - rng.randint(0, 86_399)
            user = self._new_user(num, created, manager=rng.randrange(max(1, num // 4)) if num else -1)
            user.last_modified = rng.randint(created, self.time_of(0) - CYCLE_SECONDS)
            if rng.random() < _INITIALLY_INACTIVE:
                user.c = user.c._replace(active=False)
                self.left[num] = 0
        return []

    def _add_group(self, name: str, dept: str | None, created: int) -> Group:
        flags = TS_OFFSET if self.rng.random() < self.traps.idp_timestamp_offset else 0
        group = Group(len(self.groups), name, dept, created, flags)
        self.groups.append(group)
        return group

    def _new_team(self, created: int) -> Group:
        k = self._team_count
        self._team_count += 1
        dept = DEPARTMENTS[k % len(DEPARTMENTS)]
        word = TEAM_WORDS[(k // len(DEPARTMENTS)) % len(TEAM_WORDS)]
        round_ = k // (len(DEPARTMENTS) * len(TEAM_WORDS))
        name = f"{_slug(dept)}-{word}" + (f"-{round_ + 1}" if round_ else "")
        group = self._add_group(name, dept, created)
        self.teams[dept].append(group.gnum)
        return group

    def _nest_initial(self) -> None:
        """all-staff holds the department groups; some teams sit in their department's group."""
        by_name = {g.name: g for g in self.groups}
        if "all-staff" in by_name:
            by_name["all-staff"].nested = tuple(sorted(self.dept_group.values()))
        for dept, team_nums in self.teams.items():
            parent = self.dept_group.get(dept)
            if parent is None:
                continue
            chosen = [t for t in team_nums if self.rng.random() < 0.3]
            self.groups[parent].nested = tuple(sorted(chosen))
        engineering = self.teams["Engineering"]
        if "prod-access" in by_name and engineering:
            by_name["prod-access"].nested = (engineering[0],)

    def _user_name(self, given_ascii: str, family_ascii: str) -> str:
        base = f"{given_ascii}.{family_ascii}"
        seen = self._bases.get(base, 0)
        self._bases[base] = seen + 1
        return f"{base}@example.com" if seen == 0 else f"{base}{seen + 1}@example.com"

    def _new_user(self, num: int, created: int, manager: int) -> User:
        rng = self.rng
        given, given_ascii = rng.choice(GIVEN_NAMES)
        family, family_ascii = rng.choice(FAMILY_NAMES)
        contractor = rng.random() < _CONTRACTOR
        department: str | None = rng.choice(DEPARTMENTS)
        title: str | None = rng.choice(TITLES[department])  # type: ignore[index]
        if contractor and rng.random() < 0.5:
            title = None
        if contractor and rng.random() < 0.3:
            department = None
        home = (
            f"{given_ascii}.{family_ascii}.{rng.randint(10, 99)}@home.example.net"
            if rng.random() < 0.3
            else None
        )
        content = Content(
            user_name=self._user_name(given_ascii, family_ascii),
            given=given,
            family=family,
            home_email=home,
            department=department,
            title=title,
            manager=manager,
            user_type="Contractor" if contractor else "Employee",
            active=True,
            home_first=home is not None and rng.random() < 0.3,
        )
        flags = TS_OFFSET if rng.random() < self.traps.idp_timestamp_offset else 0
        user = User(num, content, created, self._initial_groups(department), flags, self._new_profile())
        self.users.append(user)
        self._user_ids.append(self.ids.user(num))
        return user

    def _new_phone(self) -> int:
        self._phones += 1
        return self._phones

    def _new_profile(self) -> Profile:
        rng = self.prng
        return Profile(
            phone=self._new_phone(),
            site=rng.randrange(len(SITES)),
            roles=tuple(sorted(rng.sample(ROLES, rng.choice((0, 1, 1, 2))))),
            cost_center=rng.choice(COST_CENTERS) if rng.random() < 0.8 else None,
            badge=rng.choice(BADGES),
        )

    def _initial_groups(self, dept: str | None) -> tuple[int, ...]:
        rng = self.rng
        chosen: set[int] = set()
        if dept is not None and dept in self.dept_group:
            chosen.add(self.dept_group[dept])
        # the first 20 teams of all, without listing every team (at 1M users, 20,000 groups, a
        # list per department-less contractor cost ~10 s)
        teams = self.teams.get(dept or "", []) or list(islice(chain.from_iterable(self.teams.values()), 20))
        if teams:
            chosen.update(rng.sample(teams, min(len(teams), rng.choice((1, 1, 2)))))
        boost = {
            "admins": ("IT", "Security"),
            "prod-access": ("Engineering",),
            "billing-admins": ("Finance",),
        }
        base = {"admins": 0.01, "prod-access": 0.03, "billing-admins": 0.005}
        for gnum in self.privileged:
            name = self.groups[gnum].name
            chance = base[name] * (10 if dept in boost[name] else 1)
            if rng.random() < chance:
                chosen.add(gnum)
        return tuple(sorted(chosen))

    # -- later cycles ---------------------------------------------------------------------
    def evolve(self, cycle: int) -> list[Event]:
        """Apply one cycle of changes; returns them in order for the targets' syncs."""
        self._cycle = cycle
        rng = self.rng
        events: list[Event] = []
        changed: set[int] = set()  # users whose content changed this cycle
        regrouped: dict[int, None] = {}  # groups whose members changed (insertion-ordered)
        pairs: set[tuple[int, int]] = set()  # (user, group) touched this cycle: at most one op each
        active = [u.num for u in self.users if u is not None and u.c.active]
        self._delete(cycle, events, regrouped)
        leavers = rng.sample(active, min(len(active), stochastic_round(rng, _LEAVE * len(active))))
        for num in leavers:
            user = self._user(num)
            user.c = user.c._replace(active=False)
            self.left[num] = cycle
            changed.add(num)
            self._stamp(user, "User")
            events.append(Event("leave", num))
        self.ledger.note("events", "leavers", count=len(leavers))
        staying = [num for num in active if num not in changed]
        movers = rng.sample(staying, min(len(staying), stochastic_round(rng, _MOVE * len(active))))
        for num in movers:
            self._move(self._user(num), staying, events, regrouped, pairs)
            changed.add(num)
        self.ledger.note("events", "movers", count=len(movers))
        for num in rng.sample(staying, min(len(staying), stochastic_round(rng, _REGROUP * len(active)))):
            self._regroup(self._user(num), events, regrouped, pairs)
        if rng.random() < 0.5:
            group = self._new_team(self._when(cycle))
            events.append(Event("group", group.gnum))
            self.ledger.note("events", "groups_created")
            for num in rng.sample(staying, min(len(staying), rng.randint(3, 12))):
                self._membership(self._user(num), group.gnum, True, events, regrouped, pairs)
        for _ in range(stochastic_round(rng, _JOIN * len(active))):
            manager = rng.choice(active) if active else -1
            user = self._new_user(len(self.users), self._when(cycle), manager)
            self._stamp_joiner(user)
            changed.add(user.num)
            for gnum in user.groups:
                regrouped[gnum] = None
            events.append(Event("join", user.num))
            self.ledger.note("events", "joiners")
        touched = self._touch(cycle, changed, regrouped)
        self._profiles(cycle, changed | touched)
        for gnum in regrouped:
            self._stamp(self.groups[gnum], "Group")
        return events

    def _user(self, num: int) -> User:
        user = self.users[num]
        assert user is not None
        return user

    def _delete(self, cycle: int, events: list[Event], regrouped: dict[int, None]) -> None:
        for num in sorted(self.left):
            user = self.users[num]
            if user is None or self.left[num] > cycle - _DELETE_AFTER or self.rng.random() >= _DELETE_CHANCE:
                continue
            for gnum in user.groups:
                regrouped[gnum] = None
            self.users[num] = None
            events.append(Event("delete", num))
            self.ledger.note("events", "deletions")

    def _move(
        self,
        user: User,
        staying: list[int],
        events: list[Event],
        regrouped: dict[int, None],
        pairs: set[tuple[int, int]],
    ) -> None:
        rng = self.rng
        c = user.c
        roll = rng.random()
        if roll < 0.45 or (roll < 0.7 and c.department is None):
            titles = [t for t in TITLES[c.department or rng.choice(DEPARTMENTS)] if t != c.title]
            user.c = c._replace(title=rng.choice(titles))
        elif roll < 0.7:
            assert c.department is not None
            dept = rng.choice([d for d in DEPARTMENTS if d != c.department])
            user.c = c._replace(department=dept, title=rng.choice(TITLES[dept]))
            old, new = self.dept_group.get(c.department), self.dept_group.get(dept)
            if old is not None and old in user.groups:
                self._membership(user, old, False, events, regrouped, pairs)
            if new is not None:
                self._membership(user, new, True, events, regrouped, pairs)
        else:
            choices = [m for m in rng.sample(staying, min(len(staying), 3)) if m not in (user.num, c.manager)]
            if choices:
                user.c = c._replace(manager=choices[0])
            else:
                titles = [t for t in TITLES[c.department or "IT"] if t != c.title]
                user.c = c._replace(title=rng.choice(titles))
        self._stamp(user, "User")
        events.append(Event("update", user.num))

    def _regroup(
        self, user: User, events: list[Event], regrouped: dict[int, None], pairs: set[tuple[int, int]]
    ) -> None:
        rng = self.rng
        teams = [
            g for g in user.groups if self.groups[g].dept is not None and g not in self.dept_group.values()
        ]
        roll = rng.random()
        if teams and roll < 0.4:
            self._membership(user, rng.choice(teams), False, events, regrouped, pairs)
        elif roll < 0.92 or not self.privileged:
            pool = self.teams.get(user.c.department or "", []) or [
                t for ts in self.teams.values() for t in ts
            ]
            options = [g for g in pool if g not in user.groups]
            if options:
                self._membership(user, rng.choice(options), True, events, regrouped, pairs)
        else:
            gnum = rng.choice(self.privileged)
            self._membership(user, gnum, gnum not in user.groups, events, regrouped, pairs)

    def _membership(
        self,
        user: User,
        gnum: int,
        add: bool,
        events: list[Event],
        regrouped: dict[int, None],
        pairs: set[tuple[int, int]],
    ) -> None:
        if (user.num, gnum) in pairs or (gnum in user.groups) == add:
            return  # one operation per pair and cycle: nothing is added and removed again
        pairs.add((user.num, gnum))
        members = set(user.groups)
        if add:
            members.add(gnum)
        else:
            members.discard(gnum)
        user.groups = tuple(sorted(members))
        regrouped[gnum] = None
        events.append(Event("add" if add else "remove", user.num, gnum))
        self.ledger.note("events", "membership_adds" if add else "membership_removals")

    # -- meta.lastModified and its quirks ------------------------------------------------
    def _quirk(self, name: str, resource_type: str, rid: str) -> None:
        example = {"cycle": cycle_id(self.time_of(self._cycle)), "resource_type": resource_type, "id": rid}
        self.ledger.note(_QUIRKS, name, example)

    def _stamp(self, record: User | Group, resource_type: str, rng: random.Random | None = None) -> None:
        """Stamp a changed record, or not, as the IdP's quirks say."""
        q = self.quirks
        rng = rng or self.rng
        rid = self.user_id(record.num) if isinstance(record, User) else self.group_id(record.gnum)
        roll = rng.random()
        if isinstance(record, Group) and roll < q.membership_no_bump:
            self._quirk("membership_no_bump", resource_type, rid)
            return
        if isinstance(record, Group):
            roll = rng.random()
        if roll < q.last_modified_not_bumped:
            self._quirk("last_modified_not_bumped", resource_type, rid)
            return
        record.version += 1
        if roll < q.last_modified_not_bumped + q.same_second:
            record.last_modified = self.time_of(self._cycle - 1)
            self._quirk("same_second", resource_type, rid)
        else:
            record.last_modified = self._when(self._cycle, rng)

    def _stamp_joiner(self, user: User) -> None:
        rid = self.user_id(user.num)
        roll = self.rng.random()
        if roll < self.quirks.missing_last_modified:
            user.last_modified = None
            self._quirk("missing_last_modified", "User", rid)
        elif roll < self.quirks.missing_last_modified + self.quirks.same_second:
            user.created = user.last_modified = self.time_of(self._cycle - 1)
            self._quirk("same_second", "User", rid)

    def _touch(self, cycle: int, changed: set[int], regrouped: dict[int, None]) -> set[int]:
        """Bump lastModified without a change (a login, a no-op write) on a few records; returns
        the users touched."""
        rate = self.quirks.touched
        if rate <= 0:
            return set()
        present = [u.num for u in self.users if u is not None and u.num not in changed]
        touched = self.rng.sample(present, min(len(present), stochastic_round(self.rng, rate * len(present))))
        for num in touched:
            user = self._user(num)
            user.last_modified, user.version = self._when(cycle), user.version + 1
            self._quirk("touched", "User", self.user_id(num))
        quiet = [g.gnum for g in self.groups if g.gnum not in regrouped]
        for gnum in self.rng.sample(
            quiet, min(len(quiet), stochastic_round(self.rng, rate * 4 * len(quiet)))
        ):
            group = self.groups[gnum]
            group.last_modified, group.version = self._when(cycle), group.version + 1
            self._quirk("touched", "Group", self.group_id(gnum))
        return set(touched)

    def _profiles(self, cycle: int, busy: set[int]) -> None:
        """Change one profile attribute of a few users (stamped as the quirks say), and re-serialise
        a few others without a change; ``busy`` users (changed or touched) are left alone."""
        rng = self.prng
        present = [u.num for u in self.users if u is not None and u.num not in busy]
        picked = rng.sample(present, min(len(present), stochastic_round(rng, _PROFILE_CHANGE * len(present))))
        for num in picked:
            user = self._user(num)
            attribute = rng.choice(PROFILE_ATTRIBUTES)
            p = user.p
            if attribute == "phoneNumbers":
                user.p = p._replace(phone=self._new_phone())
            elif attribute == "addresses":
                user.p = p._replace(site=rng.choice([s for s in range(len(SITES)) if s != p.site]))
            elif attribute == "roles":
                role = rng.choice(ROLES)
                roles = set(p.roles) ^ {role}  # granted, or revoked when held
                user.p = p._replace(roles=tuple(sorted(roles)))
            elif attribute == "costCenter":
                user.p = p._replace(cost_center=rng.choice([c for c in COST_CENTERS if c != p.cost_center]))
            else:
                user.p = p._replace(badge=rng.choice([b for b in BADGES if b.lower() != p.badge.lower()]))
            self._stamp(user, "User", rng)
            self.ledger.note(
                "events",
                f"profile_{attribute}",
                {"cycle": cycle_id(self.time_of(cycle)), "id": self.user_id(num)},
            )
        changed = set(picked)
        quiet = [num for num in present if num not in changed]
        for num in rng.sample(quiet, min(len(quiet), stochastic_round(rng, _RESERIALISE * len(quiet)))):
            user = self._user(num)
            user.form = (user.form + 1 + rng.randrange(FORMS - 1)) % FORMS
            example = {
                "system": "idp",
                "cycle": cycle_id(self.time_of(cycle)),
                "previous": cycle_id(self.time_of(cycle - 1)),
                "id": self.user_id(num),
                "form": user.form,
            }
            self.ledger.note("traps", "idp_reserialised", example)

    def outside_filter(self, cycle: int) -> tuple[set[int], set[int]]:
        """Users and groups the IdP returns in the delta although not modified after the watermark."""
        rate = self.quirks.outside_filter
        if rate <= 0:
            return set(), set()
        limit = self.time_of(cycle - 1)  # at or before the watermark's second
        old_users = [u.num for u in self.users if u is not None and (u.last_modified or 0) <= limit]
        old_groups = [g.gnum for g in self.groups if g.last_modified <= limit]
        users = set(
            self.rng.sample(old_users, min(len(old_users), stochastic_round(self.rng, rate * len(old_users))))
        )
        groups = set(
            self.rng.sample(
                old_groups, min(len(old_groups), stochastic_round(self.rng, rate * 4 * len(old_groups)))
            )
        )
        self._cycle = cycle
        for num in sorted(users):
            self._quirk("outside_filter", "User", self.user_id(num))
        for gnum in sorted(groups):
            self._quirk("outside_filter", "Group", self.group_id(gnum))
        return users, groups
