"""The 1:1 user and group matches of a reconcile, which a plan needs to place new memberships.

Findings name only what differs; a membership of a created user in an already matched
group needs that group's target id. The correlation is reconcile's own
(:func:`recon.reconcile.correlation.correlation`: rules in order over the records no earlier rule decided; a
record with several candidates is ambiguous and matched to none), so a plan and the findings it
remediates can never disagree on who is who.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from recon.attributes import group_attribute, match_rules, user_attribute
from recon.config import ReconcileConfig
from recon.engine import Parquet, open_session
from recon.reconcile.correlation import CORRELATION, correlate, correlation
from recon.store import ExportRef, Store

__all__ = ["Matches", "reconcile_matches"]

_PAIRS = {"source_id": pl.String, "target_id": pl.String}
_CORRELATION = pl.DataFrame(CORRELATION.empty_table()).schema


@dataclass
class Matches:
    """Matched (source_id, target_id) pairs of users and of groups."""

    users: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_PAIRS))
    groups: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_PAIRS))
    _user_index: dict[str, str] | None = None

    def user_target_of(self, source_id: str) -> str | None:
        """The target id matched to a source user (e.g. to point a manager reference)."""
        if self._user_index is None:
            self._user_index = dict(zip(self.users["source_id"], self.users["target_id"], strict=True))
        return self._user_index.get(source_id)


def reconcile_matches(
    store: Store, source: ExportRef, target: ExportRef, pair: ReconcileConfig, *, users: bool = True
) -> Matches:
    """The 1:1 user and group matches of ``source`` vs ``target`` under ``pair``'s match rules
    (reconcile's own correlation: ambiguous candidates are matched to none).

    ``users=False`` leaves the user matches empty (and skips their correlation, the costly
    part): a plan needs them only to place existing users in created groups and to point
    manager references.
    """
    if users:
        user_pairs, groups = correlation(store, source, target, pair)
    else:
        user_pairs, groups = (
            pl.DataFrame(schema=_CORRELATION),
            _group_correlation(store, source, target, pair),
        )
    return Matches(
        users=user_pairs.filter(~pl.col("ambiguous")).select("source_id", "target_id"),
        groups=groups.filter(~pl.col("ambiguous")).select("source_id", "target_id"),
    )


def _group_correlation(
    store: Store, source: ExportRef, target: ExportRef, pair: ReconcileConfig
) -> pl.DataFrame:
    """The group half of :func:`~recon.reconcile.correlation.correlation` (user rules still checked)."""
    where = f"reconcile.{pair.source}.{pair.target}"
    match_rules(pair.match, user_attribute, where + ".match")
    rules = match_rules(pair.group_match, group_attribute, where + ".group_match")
    with open_session(temp_dir=store.temp_dir) as session:
        groups_in = {
            f"{side}_groups": Parquet.of(ref.table("groups"))
            for side, ref in (("source", source), ("target", target))
        }
        return session.polars(correlate(session, rules, "reconcile_group_match_keys", groups_in))
