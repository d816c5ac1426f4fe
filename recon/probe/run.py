"""``recon probe``: does the live server filter and page the way it says (CONTRACT §6)?

A battery of filters is built from values in the latest complete full export (an existing
userName in other letter case, its email, a middle lastModified...), so every right answer
is non-empty. Each filter is sent to the server (all pages) and its answer compared with
the local evaluation of the same filter over that export (:mod:`recon.local_filter`,
caseExact from the server's /Schemas when discovered):

- ``exact``: same ids; ``missing`` / ``extra`` / ``missing_and_extra``: what differs;
- ``ignored``: the server returned every record (the filter had no effect);
- ``rejected``: 4xx/501 (``http_status``, ``scim_type``), the right answer for the
  deliberately invalid filter; ``error``: anything else (5xx, transport).

Paging probes: the page-size cap (a count far above ``maxPageSize``), past the end
(``startIndex`` after the last record: RFC 7644 wants an empty page), and cursor paging
(RFC 9865: two pages with ``cursor``). Every result is a row of ``probe.parquet`` and an
observation in ``capabilities.json`` (``observed``), beside what the server advertises.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from recon.capabilities import Capabilities, load_capabilities, save_capabilities
from recon.engine import Parquet, Session, open_session
from recon.errors import ScimError
from recon.local_filter import ExportTables, matching_ids
from recon.probe.battery import FilterProbe, battery, matrix
from recon.scim.client import ScimClient, redact_url
from recon.scim.discovery import discover
from recon.scim.filter import DEFAULT_CATALOG, Catalog, parse
from recon.store import ExportRef, Store, atomic_write_bytes

__all__ = ["PROBE_SCHEMA", "FilterProbe", "ProbeSummary", "battery", "probe"]

PROBE_SCHEMA = pa.schema(
    [
        ("probe", pa.string()),
        ("filter", pa.string()),
        ("status", pa.string()),
        ("expected_count", pa.int64()),
        ("returned_count", pa.int64()),
        ("missing_count", pa.int64()),
        ("extra_count", pa.int64()),
        ("http_status", pa.int64()),
        ("scim_type", pa.string()),
        ("detail", pa.string()),
    ]
)
_IDS = pa.schema([("id", pa.string())])
_RESOURCE = {"User": "Users", "Group": "Groups"}


@dataclass(frozen=True)
class ProbeSummary:
    """What ``recon probe`` observed (rows as in probe.parquet) and the capability matrix."""

    system: str
    export_cycle: str
    rows: tuple[dict[str, Any], ...]
    matrix: tuple[tuple[str, str, str], ...]  # (capability, advertised, observed)
    probe_path: Path
    capabilities_path: Path

    def to_json(self) -> dict[str, Any]:
        """For ``--json``."""
        return {
            "system": self.system,
            "export_cycle": self.export_cycle,
            "probes": list(self.rows),
            "matrix": [{"capability": c, "advertised": a, "observed": o} for c, a, o in self.matrix],
            "probe_parquet": str(self.probe_path),
            "capabilities": str(self.capabilities_path),
        }


@dataclass
class _Probing:
    store: Store
    system: str
    client: ScimClient
    export: ExportRef
    capabilities: Capabilities
    session: Session
    catalog: Catalog
    page_size: int
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tables(self) -> ExportTables:
        ref = self.export
        return ExportTables(
            Parquet.of(ref.table("users")),
            Parquet.of(ref.table("groups")),
            Parquet.of(ref.table("memberships")),
        )

    def everyone(self, resource_type: str) -> Any:
        table = self.tables.users if resource_type == "User" else self.tables.groups
        return table

    def expected(self, text: str, resource_type: str) -> pa.Table:
        return matching_ids(self.session, parse(text), resource_type, self.tables, self.catalog)

    def compare(self, expected: pa.Table, returned: pa.Table, resource_type: str) -> dict[str, Any]:
        relations = {"expected": expected, "returned": returned, "everyone": self.everyone(resource_type)}
        return self.session.rows(self.session.run("probe_compare", None, relations))[0]

    def fetch_all(self, resource_type: str, text: str) -> pa.Table:
        """Every id the server returns for the filter (all pages); raises ScimError."""
        ids: list[str] = []
        # only ids are needed: attributes=id keeps the answers small (a server may ignore it)
        pages = self.client.list_pages(
            _RESOURCE[resource_type], filter=text, page_size=self.page_size, attributes="id"
        )
        for page in pages:
            ids.extend(str(r.get("id")) for r in page.resources if isinstance(r, dict))
        return pa.Table.from_pydict({"id": ids}, schema=_IDS)

    def add(self, name: str, text: str | None, status: str, detail: str, **counts: Any) -> dict[str, Any]:
        row: dict[str, Any] = dict.fromkeys(PROBE_SCHEMA.names)
        row.update({"probe": name, "filter": text, "status": status, "detail": detail, **counts})
        self.rows.append(row)
        self.capabilities.observe(
            f"probe.{name}",
            {
                k: row[k]
                for k in ("status", "filter", "expected_count", "returned_count", "http_status", "scim_type")
            },
            "probe",
        )
        return row

    # -- filters --------------------------------------------------------------------------
    def filter_probe(self, item: FilterProbe) -> None:
        try:
            returned = self.fetch_all(item.resource_type, item.filter)
        except ScimError as error:
            code = error.status
            kind = "rejected" if code is not None and (400 <= code < 500 or code == 501) else "error"
            why = str(error)
            if kind == "rejected":
                why = "rejected as expected" if item.invalid else f"the server refused the filter: {error}"
            self.add(item.name, item.filter, kind, why, http_status=code, scim_type=error.scim_type)
            return
        if item.invalid:
            everything = self.compare(_ids([]), returned, item.resource_type)
            accepted = "ignored" if everything["returned_everyone"] else "extra"
            self.add(
                item.name,
                item.filter,
                accepted,
                f"invalid filter accepted (HTTP 200, {returned.num_rows} records), not 400 invalidFilter",
                returned_count=returned.num_rows,
                http_status=200,
            )
            return
        expected = self.expected(item.filter, item.resource_type)
        counts = self.compare(expected, returned, item.resource_type)
        status, detail = _classify(counts)
        if status != "exact" and item.inner is not None:
            inner = self.compare(self.expected(item.inner, item.resource_type), returned, item.resource_type)
            if not inner["missing_count"] and not inner["extra_count"]:
                detail = f"the answer is that of {item.inner!r}: 'not (...)' was ignored"
        if status != "exact" and item.name.endswith("other_case") and counts["returned_count"] == 0:
            detail = "nothing returned for the value in other letter case: compared case-sensitively"
        self.add(
            item.name,
            item.filter,
            status,
            detail,
            expected_count=counts["expected_count"],
            returned_count=counts["returned_count"],
            missing_count=counts["missing_count"],
            extra_count=counts["extra_count"],
            http_status=200,
        )

    # -- paging ---------------------------------------------------------------------------
    def get(self, params: dict[str, Any]) -> tuple[int, dict[str, Any] | None, ScimError | None]:
        try:
            response, body = self.client.fetch_json("GET", "/Users", params=params)
        except ScimError as error:
            return error.status or 0, None, error
        if response.status_code != 200 or not isinstance(body, dict):
            return response.status_code, None, self.client.status_error(response)
        return 200, body, None

    def paging_probes(self, total: int) -> None:
        paging = self.capabilities.pagination()
        advertised_max = paging.get("maxPageSize")
        asked = max(5000, 2 * int(advertised_max or 0))
        status_code, body, error = self.get({"startIndex": 1, "count": asked})
        if body is None:
            self.add(
                "page_size_cap", None, "error", f"a page of {asked} failed: {error}", http_status=status_code
            )
        else:
            got = len(_resources(body))
            expected = min(asked, int(advertised_max) if advertised_max else asked, total)
            if got == expected:
                detail = f"count={asked} gave {got}" + (
                    f" (maxPageSize {advertised_max})" if advertised_max else ""
                )
                if got == total:
                    detail += f": all {total} records fit in one page, so no cap is observable"
                status = "exact"
            elif got < expected:
                status = "missing"
                detail = (
                    f"count={asked} gave {got} of {expected}: pages are capped at {got} without saying so"
                )
            else:
                status = "extra"
                detail = f"count={asked} gave {got}, more than the advertised maxPageSize {advertised_max}"
            self.capabilities.observe(
                "pagination.max_page_size", got if got < min(asked, total) else None, "probe"
            )
            self.add(
                "page_size_cap",
                None,
                status,
                detail,
                expected_count=expected,
                returned_count=got,
                missing_count=max(expected - got, 0),
                extra_count=max(got - expected, 0),
                http_status=200,
            )
        self.past_the_end(total)
        self.cursor(total, bool(paging.get("cursor")))

    def past_the_end(self, total: int) -> None:
        status_code, body, error = self.get({"startIndex": total + 1, "count": 10})
        if body is None:
            self.add(
                "past_the_end",
                None,
                "error",
                f"startIndex={total + 1} failed: {error}",
                http_status=status_code,
            )
            return
        got = _resources(body)
        behaviour = "empty"
        detail = f"startIndex={total + 1} (after the last of {total}) gave an empty page"
        if got:
            _, first, _ = self.get({"startIndex": 1, "count": 10})
            first_ids = [r.get("id") for r in _resources(first or {})]
            repeats = [r.get("id") for r in got] == first_ids[: len(got)]
            behaviour = "repeats_first_page" if repeats else "returns_records"
            detail = f"startIndex={total + 1} gave {len(got)} records" + (
                " (the first page again)" if repeats else ""
            )
        self.capabilities.observe("pagination.past_the_end", behaviour, "probe")
        self.add(
            "past_the_end",
            None,
            "exact" if not got else "extra",
            detail,
            expected_count=0,
            returned_count=len(got),
            missing_count=0,
            extra_count=len(got),
            http_status=200,
        )

    def cursor(self, total: int, advertised: bool) -> None:
        size = max(1, min(10, total // 2 or 1))
        status_code, first, error = self.get({"cursor": "", "count": size})
        said = "advertised" if advertised else "not advertised"
        if first is None:
            rejected = 400 <= status_code < 500 or status_code == 501
            self.capabilities.observe("pagination.cursor", "rejected" if rejected else "error", "probe")
            self.add(
                "cursor",
                None,
                "rejected" if rejected else "error",
                f"cursor paging ({said}) refused: {error}",
                http_status=status_code,
                scim_type=error.scim_type if error else None,
            )
            return
        next_cursor = first.get("nextCursor")
        page_one = [r.get("id") for r in _resources(first)]
        if not next_cursor:
            works = total <= size
            state = "works" if works else "ignored"
            self.capabilities.observe("pagination.cursor", state, "probe")
            detail = (
                "one page holds everything" if works else f"no nextCursor although {total} records > {size}"
            )
            self.add(
                "cursor",
                None,
                "exact" if works else "ignored",
                f"cursor paging ({said}): {detail}",
                http_status=200,
            )
            return
        status_code, second, error = self.get({"cursor": next_cursor, "count": size})
        page_two = [r.get("id") for r in _resources(second or {})]
        overlap = len(set(page_one) & set(page_two))
        works = second is not None and bool(page_two) and not overlap
        self.capabilities.observe("pagination.cursor", "works" if works else "broken", "probe")
        problem = error or f"page 2: {len(page_two)} records, {overlap} repeated"
        detail = (
            f"cursor paging ({said}) works: two pages of {len(page_one)} and {len(page_two)} distinct records"
            if works
            else f"cursor paging ({said}) broken: {problem}"
        )
        self.add(
            "cursor",
            None,
            "exact" if works else "error",
            detail,
            expected_count=min(2 * size, total),
            returned_count=len(page_one) + len(page_two),
            http_status=status_code,
        )


def _resources(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = body.get("Resources")
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []


def _ids(values: list[str]) -> pa.Table:
    return pa.Table.from_pydict({"id": values}, schema=_IDS)


def _classify(counts: dict[str, Any]) -> tuple[str, str]:
    missing, extra = counts["missing_count"], counts["extra_count"]
    expected, returned = counts["expected_count"], counts["returned_count"]
    if not missing and not extra:
        return "exact", f"{returned} record(s), as evaluated locally"
    if counts["returned_everyone"] and extra:
        return "ignored", f"every record returned ({returned}) instead of {expected}: the filter was ignored"
    if missing and extra:
        return "missing_and_extra", f"{missing} of {expected} missing and {extra} not matching returned"
    if missing:
        return "missing", f"{missing} of {expected} expected records not returned"
    return "extra", f"{extra} records returned that do not match ({returned} returned, {expected} expected)"


def probe(
    store: Store,
    system: str,
    client: ScimClient,
    *,
    page_size: int | None = None,
    catalog: Catalog | None = None,
) -> ProbeSummary:
    """Probe ``system``'s server through ``client``; writes probe.parquet and capabilities.json.

    Raises :class:`DataNotFound` when there is no complete full export to compare with.
    """
    export = store.latest_complete(system, "full")
    capabilities = load_capabilities(store, system)
    if capabilities is None or not capabilities.advertised:
        previous = capabilities
        capabilities = Capabilities(
            system=system, base_url=redact_url(client.base_url), advertised=discover(client)
        )
        if previous is not None:
            capabilities.observed = previous.observed
    advertised_attributes = capabilities.advertised.get("attributes") or None
    catalog = catalog or DEFAULT_CATALOG.with_advertised(advertised_attributes)
    limits = [
        v
        for v in (
            (capabilities.advertised.get("filter") or {}).get("maxResults"),
            capabilities.pagination().get("maxPageSize"),
            page_size or 200,
        )
        if isinstance(v, int) and v > 0
    ]
    with open_session(temp_dir=store.temp_dir) as session:
        run = _Probing(store, system, client, export, capabilities, session, catalog, min(limits))
        samples = session.rows(session.run("probe_samples", None, {"users": run.tables.users}))[0]
        group_rows = session.tuples(session.run("probe_group_sample", None, {"groups": run.tables.groups}))

        def count(text: str) -> int:
            return int(run.expected(text, "User").num_rows)

        for item in battery(samples, group_rows[0][0] if group_rows else None, count):
            run.filter_probe(item)
        run.paging_probes(int(samples["users"] or 0))
    folder = store.capabilities_dir(system)
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(run.rows, schema=PROBE_SCHEMA), buffer)
    atomic_write_bytes(folder / "probe.parquet", buffer.getvalue())
    save_capabilities(store, capabilities)
    return ProbeSummary(
        system,
        export.cycle,
        tuple(run.rows),
        tuple(matrix(capabilities, run.rows)),
        folder / "probe.parquet",
        folder / "capabilities.json",
    )
