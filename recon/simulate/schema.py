"""Schema faults in the IdP's exported resources, and the schema findings they must give.

``simulate(..., schema_faults=RATE)`` picks about ``RATE`` of the IdP's users and gives each
one fault of :data:`recon.validate.schema_faults.FAULT_KINDS` (applied by
:func:`~recon.validate.schema_faults.inject_schema_faults`): an undeclared Enterprise User
attribute, a returned ``password``, a second ``primary: true`` email, or a second account of
the same person whose userName differs only in letter case (a *twin*, id ``<id>-case``).

The pick and the fault depend only on the seed and the user's id, so a user carries the same
fault in every cycle and in the delta exports too (the IdP's serialiser is faulty, not one
export). A twin is a copy of its original with another id and the case-swapped userName and
is written wherever its original is (full exports, and deltas returning the original), so its
delta findings mirror its original's. The truth collectors see the resources as written, so
findings, delta findings and leavers include the twins exactly (a twin is an IdP account the
targets never got: ``missing_in_target`` when active, or ``ambiguous_match`` when its original
was matched by userName).
"""

from __future__ import annotations

import copy
import hashlib
import random
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import orjson

from recon.findings import severity_rank
from recon.simulate.memo import Doc
from recon.validate.schema_faults import FAULT_KINDS, InjectedFault, inject_schema_faults

__all__ = ["SCHEMA_SEVERITY", "SchemaFaults", "SchemaFinding"]

COLLISION = "user_name_case_collision"
# severity recon validate gives each finding an injected fault causes (recon/validate/rules.py;
# badgeNumber is inside the Enterprise User extension: medium)
SCHEMA_SEVERITY = {
    "leaked_attribute": "critical",
    "user_name_collision": "high",
    "multiple_primary": "medium",
    "undeclared_attribute": "medium",
}
_TWIN_KEEPS = ("id", "userName", "meta")  # what the twin does not copy from its original


class SchemaFinding(NamedTuple):
    """One expected row of ``schema_findings.parquet`` (the columns of recon validate's file)."""

    kind: str
    severity: str
    resource_type: str
    id: str
    attribute: str
    detail: str


class SchemaFaults:
    """Decides, applies and records the schema faults of one simulation's IdP."""

    def __init__(self, seed: int, rate: float) -> None:
        self.seed = seed
        self.rate = rate
        self._plan: dict[str, str] = {}
        self._found: list[InjectedFault] = []
        self._faulted: dict[str, int] = {}
        self.by_cycle: dict[str, dict[str, int]] = {}  # cycle -> fault -> users of its full export
        self.examples: dict[str, list[str]] = {}

    def fault_of(self, rid: str, user_name: str | None) -> str | None:
        """The fault user ``rid`` carries (None: none). A function of the seed and the id only."""
        digest = hashlib.blake2b(f"{self.seed}:schema:{rid}".encode(), digest_size=9).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= self.rate:
            return None
        kind = FAULT_KINDS[digest[8] % len(FAULT_KINDS)]
        if kind == COLLISION and (user_name is None or user_name.swapcase() == user_name):
            kind = FAULT_KINDS[0]  # no letter to swap: no twin can collide
        return kind

    def plan(self, users: Iterable[tuple[str, str | None]]) -> int:
        """Decide the faults of one export's users ``(id, userName)``; returns how many twins it adds."""
        self._plan = {}
        for rid, user_name in users:
            kind = self.fault_of(rid, user_name)
            if kind is not None:
                self._plan[rid] = kind
        return sum(1 for kind in self._plan.values() if kind == COLLISION)

    def apply(self, doc: Doc, rid: str, *, record: bool) -> Iterator[Doc]:
        """The resource of user ``rid`` as written (faulted when planned), then its twin if any.

        ``record``: the export is a full one, whose findings the truth lists.
        """
        kind = self._plan.get(rid)
        if kind is None:
            yield doc
            return
        resource = orjson.loads(doc.raw)  # a fresh copy: the memos hold the clean text
        resources = [resource]
        # rate 1 on a one-user list: the pick is already made, by fault_of
        faults = inject_schema_faults(resources, random.Random(0), 1.0, kinds=(kind,))
        if not faults:
            raise AssertionError(f"schema fault {kind} could not be applied to IdP user {rid}")
        for twin in resources[1:]:
            twin.update({k: copy.deepcopy(v) for k, v in resource.items() if k not in _TWIN_KEEPS})
        if record:
            self._found.extend(faults)
            self._faulted[kind] = self._faulted.get(kind, 0) + 1
            examples = self.examples.setdefault(kind, [])
            if len(examples) < 3 and rid not in examples:
                examples.append(rid)
        for item in resources:
            yield Doc.of(item, False)

    def take(self, cycle: str) -> list[SchemaFinding]:
        """The expected schema findings of the full export of ``cycle`` just written (and forget them)."""
        self.by_cycle[cycle] = dict(sorted(self._faulted.items()))
        self._faulted = {}
        rows = [
            SchemaFinding(
                f.kind,
                SCHEMA_SEVERITY[f.kind],
                f.resource_type,
                f.id,
                f.attribute,
                f"injected schema fault: {f.fault}",
            )
            for f in self._found
        ]
        self._found = []
        return sorted(
            rows, key=lambda r: (severity_rank(r.severity), r.kind, r.resource_type, r.id, r.attribute)
        )

    def to_json(self) -> dict[str, object]:
        """What ``simulation.json`` records: the rate, faulted users per cycle and fault, examples."""
        return {
            "rate": self.rate,
            "users_by_cycle": {c: dict(v) for c, v in self.by_cycle.items()},
            "examples": {k: list(v) for k, v in sorted(self.examples.items())},
        }
