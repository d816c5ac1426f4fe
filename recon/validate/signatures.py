"""The distinct resources of an export: one representative per signature, and who it stands for.

Two resources with the same *signature* get the same schema findings, so validate checks one
representative of each signature and gives its findings to every resource it stands for.
A signature (computed by the compiled ``recon.validate._signatures``, see its header) keeps each
key as spelled, each value's JSON type, ``""`` apart from other strings, and the text of every
value a value check reads (canonical values, the URNs in ``schemas``, dateTimes that are not
certainly valid, the arrays whose elements are checked one by one); anything unusual makes the
whole text the signature. A million users of an export typically have a handful.

Without the compiled module (no C compiler at install time) validate checks every resource
itself (:mod:`recon.validate.represent`): as exact, and slower.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recon.errors import ReconError
from recon.validate.specs import CHECK_BITS

_Walker = Callable[..., tuple[bytes, list[bytes], list[int]]]
_walker: _Walker | None
try:
    from recon.validate._signatures import signatures as _walker
except ImportError:  # the build compiles it wherever a C compiler exists
    _walker = None

__all__ = [
    "Distinct",
    "StaleWalker",
    "check_walker_build",
    "compiled",
    "distinct_resources",
    "signature_spec",
]

_SOURCE = Path(__file__).with_name("_signatures.c")
REBUILD = "pip install -e . (its hatchling hook recon/validate/build_hook.py compiles the walker)"


class StaleWalker(ReconError):
    """The compiled walker was built from another ``_signatures.c`` than the one beside it."""


def check_walker_build() -> None:
    """Raise :class:`StaleWalker` when the compiled module does not carry the SHA-256 of the C
    source next to it (an edit not rebuilt gives wrong signatures, silently). A wheel without
    the source, or no compiled module at all, passes."""
    if _walker is None or not _SOURCE.is_file():
        return
    from recon.validate import _signatures

    built = getattr(_signatures, "SOURCE_SHA256", "")
    if built != hashlib.sha256(_SOURCE.read_bytes()).hexdigest():
        raise StaleWalker(
            f"{_signatures.__file__} was compiled from another {_SOURCE.name} than {_SOURCE}; "
            f"rebuild it: {REBUILD}"
        )


check_walker_build()

# modes of a checked path in the compiled walker
_VERBATIM, _DATETIME, _COUNTED, _RAW = 1, 2, 3, 4
_NAME = re.compile(r'\."([^"]*)"')
_WORKERS = 2
_BATCH_BYTES = 4 << 20


def compiled() -> bool:
    """Whether the compiled walker is there (the install builds it wherever a C compiler is)."""
    return _walker is not None


@dataclass(frozen=True)
class Distinct:
    """One resource type's representatives and the resources each stands for.

    ``representatives``: ``id`` (a key naming the signature, not a SCIM id), ``raw``, ``weight``
    (how many resources it stands for); ``members``: ``rep`` (the number in that key) and ``id`` of
    every resource.
    """

    representatives: pa.Table
    members: pa.Table


def signature_spec(params: Mapping[str, Any]) -> dict[str, list[tuple[bytes, int]]] | None:
    """Per resource type, the checked paths and how the walker keeps their values.

    ``params`` are :meth:`ValueChecks.params`. None when a path cannot be given to the walker
    exactly (a name holding ``"`` or the separator byte): validate then checks every resource itself.
    """
    paths: list[str] = params["paths"]
    singles: int = params["singles"]
    spec: dict[str, list[tuple[bytes, int]]] = {}
    for resource_type, bits in zip(("User", "Group"), params["checks"], strict=True):
        entries: list[tuple[bytes, int]] = [(b"schemas", _RAW)]
        for i, path in enumerate(paths[1:], start=1):
            found = _NAME.findall(path)
            if "$" + "".join(f'."{name}"' for name in found) != path or any("\x1f" in name for name in found):
                return None
            names = [name.encode().lower() for name in found]
            key = b"\x1f".join(names)
            check = bits[i]
            if i <= singles:
                if check & CHECK_BITS["canonical"]:
                    entries.append((key, _VERBATIM))
                elif check & CHECK_BITS["datetime"]:
                    entries.append((key, _DATETIME))
                continue
            if check & CHECK_BITS["generic"]:
                entries.append((key, _RAW))
                continue
            if check & CHECK_BITS["primary"]:
                entries.append((key, _COUNTED))
            if check & CHECK_BITS["type"]:
                entries.append((key + b"\x1ftype", _VERBATIM))
        spec[resource_type] = entries
    return spec


def distinct_resources(path: Path, prefix: str, spec: list[tuple[bytes, int]]) -> Distinct:
    """The representatives of the resources in the Parquet file at ``path`` (its ``id`` and ``raw``).

    ``prefix`` starts every representative key (``U0``, ``U1``, …: one letter per resource type, so
    keys never meet); ``members.rep`` is the number after it;
    ``spec`` is this resource type's entry of :func:`signature_spec`.
    """
    numbers: dict[bytes, int] = {}
    reps: list[pa.Array] = []
    members_rep: list[pa.Array] = []
    members_id: list[pa.Array] = []
    for ids, codes, sigs, first_raws in _signed_batches(path, spec):
        translate = []
        new_rows = []
        for k, sig in enumerate(sigs):
            number = numbers.get(sig)
            if number is None:
                number = numbers[sig] = len(numbers)
                new_rows.append(k)
            translate.append(number)
        if new_rows:
            reps.append(first_raws.take(pa.array(new_rows, pa.int64())))
        members_rep.append(pa.array(translate, pa.int32()).take(codes))
        members_id.append(ids)
    weights = pc.value_counts(pa.chunked_array(members_rep, pa.int32())) if members_rep else None
    count = len(numbers)
    weight = [0] * count
    if weights is not None:
        for item in weights.to_pylist():
            weight[item["values"]] = item["counts"]
    representatives = pa.table(
        {
            "id": pa.array([f"{prefix}{n}" for n in range(count)], pa.string()),
            "raw": pa.chunked_array(reps, pa.string()) if reps else pa.array([], pa.string()),
            "weight": pa.array(weight, pa.int64()),
        }
    )
    members = pa.table(
        {
            "rep": pa.chunked_array(members_rep, pa.int32()),
            "id": pa.chunked_array(members_id, pa.string()),
        }
    )
    return Distinct(representatives, members)


def _signed_batches(
    path: Path, spec: list[tuple[bytes, int]]
) -> Iterator[tuple[pa.Array, pa.Array, list[bytes], pa.Array]]:
    """Each batch's ids, signature numbers, distinct signatures, and the text of each one's first row."""
    file = pq.ParquetFile(path)
    groups = range(file.metadata.num_row_groups)

    def sign(group: int) -> list[tuple[pa.Array, pa.Array, list[bytes], pa.Array]]:
        reader = pq.ParquetFile(path)
        meta = reader.metadata.row_group(group)
        # batches of a few MB: a 30 MB row group read whole grows its buffers through fresh huge pages
        # that the kernel zeroes each time (groups of 500 members: 0.56 s of system time against 0.08)
        rows = max(1, meta.num_rows * _BATCH_BYTES // max(1, meta.total_byte_size))
        signed = []
        for batch in reader.iter_batches(
            batch_size=rows, row_groups=[group], columns=["id", "raw"], use_threads=False
        ):
            ids = pc.cast(batch.column("id"), pa.string())
            raws = pc.cast(batch.column("raw"), pa.string())
            codes, sigs, firsts = _sign(raws, spec)
            signed.append((ids, codes, sigs, raws.take(pa.array(firsts, pa.int64()))))
        return signed

    with ThreadPoolExecutor(_WORKERS) as pool:
        for signed in pool.map(sign, groups):
            yield from signed


def _sign(raws: pa.Array, spec: list[tuple[bytes, int]]) -> tuple[pa.Array, list[bytes], list[int]]:
    if _walker is None:
        raise RuntimeError("recon.validate._signatures is not compiled (see recon.validate.represent)")
    validity, offsets, data = raws.buffers()
    codes, sigs, firsts = _walker(
        data if data is not None else b"",
        offsets,
        validity if validity is not None else b"",
        raws.offset,
        len(raws),
        False,
        spec,
    )
    return pa.Array.from_buffers(pa.int32(), len(raws), [None, pa.py_buffer(codes)]), sigs, firsts
