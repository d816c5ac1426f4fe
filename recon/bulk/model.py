"""SCIM /Bulk messages (RFC 7644 §3.7): parsing with clear errors, and exact serialisation.

A :class:`BulkRequest` serialises to compact JSON (:meth:`BulkRequest.to_bytes`); those bytes
are what a plan writes to a chunk file, what its size is measured on, and what apply sends.
Parsing raises :class:`~recon.errors.InputError` naming where (file, operation number) and what.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar, overload

import orjson

from recon.errors import InputError

__all__ = [
    "BULK_ID_PREFIX",
    "BULK_REQUEST",
    "BULK_RESPONSE",
    "ERROR_SCHEMA",
    "PATCH_OP",
    "BulkOperation",
    "BulkRequest",
    "BulkResponse",
    "OperationResult",
    "built",
    "bulk_references",
    "may_refer",
    "parse_request",
    "parse_response",
    "resource_of_path",
    "substitute_references",
]

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK_ID_PREFIX = "bulkId:"
METHODS = ("POST", "PUT", "PATCH", "DELETE")
_RESOURCE_PATH = re.compile(r"^/?(Users|Groups)(?:/([^/?#]+))?/?$")


_T = TypeVar("_T")


class _computed_once(Generic[_T]):
    """:func:`functools.cached_property` without its lock: Python 3.11 takes an RLock on every
    first access, and a 1M-user plan makes 300,000 of them (0.7 us each, a fifth of a second).
    The value is stored in the instance's ``__dict__``, which later lookups find first."""

    def __init__(self, function: Callable[[Any], _T]) -> None:
        self.function = function
        self.name = function.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _computed_once[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value


def built(cls: type[_T], fields: dict[str, Any]) -> _T:
    """An instance of the frozen dataclass ``cls`` whose fields (every one, in order) have these
    values, made without its generated ``__init__``, which sets each field through
    ``object.__setattr__`` (reading a 1M-user run makes 144,500 operations, as many results and
    records: 0.3 s of such calls). Only for classes without ``__post_init__``."""
    instance = object.__new__(cls)
    instance.__dict__.update(fields)
    return instance


@dataclass(frozen=True)
class BulkOperation:
    """One operation of a BulkRequest."""

    method: str
    path: str
    bulk_id: str | None = None
    version: str | None = None
    data: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The operation as sent (keys in RFC order, absent values left out)."""
        out: dict[str, Any] = {"method": self.method}
        if self.bulk_id is not None:
            out["bulkId"] = self.bulk_id
        if self.version is not None:
            out["version"] = self.version
        out["path"] = self.path
        if self.data is not None:
            out["data"] = self.data
        return out

    @property
    def resource_type(self) -> str | None:
        """``User`` or ``Group`` from the path, else None."""
        return self._resource[0]

    @property
    def resource_id(self) -> str | None:
        """The id in the path (``/Users/<id>``), possibly a ``bulkId:`` reference."""
        return self._resource[1]

    @_computed_once
    def _resource(self) -> tuple[str | None, str | None]:
        return resource_of_path(self.path)

    def references(self) -> list[str]:
        """bulkIds this operation refers to (in its path and data), in order of appearance."""
        return list(self._references)

    @_computed_once
    def encoded(self) -> bytes:
        """The operation as sent, compact JSON (computed once: plans measure and write it).

        A copy of the exact size: orjson writes into a buffer of at least 4 KiB and shrinks it in
        place, so each operation's bytes kept as returned would hold pages of their own (a
        1M-user plan's 144,500 operations: ~280 MB more and ~140,000 more page faults, measured
        0.17 against 0.08 CPU s for 80,000 POST /Users)."""
        return bytes(memoryview(orjson.dumps(self.to_json())))

    @_computed_once
    def _references(self) -> tuple[str, ...]:
        try:
            blob = self.encoded
        except TypeError:  # not JSON-encodable as is: bulk_references walks the value
            return tuple(bulk_references({"path": self.path, "data": self.data}))
        if b"bulkId:" not in blob:
            return ()
        # path and data, as bulk_references would serialise them: the encoded form from its
        # "path" key on (method, bulkId and version come before it, and an unescaped quote
        # cannot occur inside a JSON string, so the first ',"path":' is the key)
        return tuple(_references_in(blob[blob.index(b',"path":') :]))


@dataclass(frozen=True)
class BulkRequest:
    """A BulkRequest: operations and the optional failOnErrors."""

    operations: tuple[BulkOperation, ...]
    fail_on_errors: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The request body as a JSON object."""
        out: dict[str, Any] = {"schemas": [BULK_REQUEST]}
        if self.fail_on_errors is not None:
            out["failOnErrors"] = self.fail_on_errors
        out["Operations"] = [op.to_json() for op in self.operations]
        return out

    def to_bytes(self) -> bytes:
        """The exact bytes sent: compact JSON, UTF-8 (its length is the payload size).

        The same bytes as ``orjson.dumps(self.to_json())``, assembled from each operation's
        :attr:`BulkOperation.encoded` so that an operation is serialised once.
        """
        head = orjson.dumps({**self.to_json_envelope(), "Operations": []})
        return head[:-2] + b",".join(op.encoded for op in self.operations) + b"]}"

    def to_json_envelope(self) -> dict[str, Any]:
        """The request body without its operations."""
        out: dict[str, Any] = {"schemas": [BULK_REQUEST]}
        if self.fail_on_errors is not None:
            out["failOnErrors"] = self.fail_on_errors
        return out

    def with_fail_on_errors(self, value: int | None) -> BulkRequest:
        """The same operations with another failOnErrors."""
        return replace(self, fail_on_errors=value)


@dataclass(frozen=True)
class OperationResult:
    """One operation of a BulkResponse (or the answer to one single request, in the same shape)."""

    method: str | None
    bulk_id: str | None
    location: str | None
    version: str | None
    status: int
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def scim_type(self) -> str | None:
        value = (self.response or {}).get("scimType")
        return str(value) if value is not None else None

    @property
    def detail(self) -> str | None:
        value = (self.response or {}).get("detail")
        return str(value) if value is not None else None

    @_computed_once
    def location_id(self) -> str | None:
        """The resource id at the end of ``location`` (``…/Users/<id>``; computed once: pairing a
        1M-user run's results asks five times for each of its 80,000 creations)."""
        if not self.location:
            return None
        tail = self.location.rstrip("/").rsplit("/", 2)
        return tail[-1] if len(tail) >= 2 and tail[-2] in ("Users", "Groups") else None

    def to_json(self) -> dict[str, Any]:
        """The result as a BulkResponse operation."""
        out: dict[str, Any] = {"method": self.method}
        if self.bulk_id is not None:
            out["bulkId"] = self.bulk_id
        if self.version is not None:
            out["version"] = self.version
        if self.location is not None:
            out["location"] = self.location
        if self.response is not None:
            out["response"] = self.response
        out["status"] = str(self.status)
        return out


@dataclass(frozen=True)
class BulkResponse:
    """A BulkResponse: the operations the server reports on (in its order)."""

    operations: tuple[OperationResult, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"schemas": [BULK_RESPONSE], "Operations": [op.to_json() for op in self.operations]}


def resource_of_path(path: str | None) -> tuple[str | None, str | None]:
    """(``User``|``Group``|None, id or None) of a bulk operation path or a location URL tail."""
    if not path:
        return None, None
    match = _RESOURCE_PATH.match(path)
    if not match:
        return None, None
    return match.group(1)[:-1], match.group(2)


_REFERENCE = re.compile(rb'(?:"|/)bulkId:((?:[^"/\\]|\\.)*)')


def bulk_references(value: Any) -> list[str]:
    """Every ``bulkId:<id>`` reference in a JSON value: a string, or a path segment, starting with it."""
    try:
        blob = orjson.dumps(value)
    except TypeError:  # e.g. an integer beyond 64 bits: walk the value instead
        return _walk_references(value)
    return _references_in(blob)


def _references_in(blob: bytes) -> list[str]:
    """The ``bulkId:`` references in serialised JSON."""
    count = blob.count(b"bulkId:")
    if not count:
        return []
    if b"\\" not in blob and blob.count(b'"bulkId:') + blob.count(b"/bulkId:") == count:
        # no escape, each at a string's or a path segment's start: a search for the plain text
        # finds the same (4x faster on a plan's group PATCHes, 400,000 references at 1M users),
        # unless a reference runs into the next "bulkId:" (then fewer matches than occurrences)
        plain = _PLAIN_REFERENCE.findall(blob)
        if len(plain) == count:
            return [match.decode() for match in plain]
    return [  # a match without an escape is the text itself
        match.decode() if b"\\" not in match else orjson.loads(b'"' + match + b'"')
        for match in _REFERENCE.findall(blob)
    ]


_PLAIN_REFERENCE = re.compile(rb'bulkId:([^"/\\]*)')


def _walk_references(value: Any) -> list[str]:
    """Reference implementation of :func:`bulk_references` (a walk of the value), for tests."""
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, str):
            for segment in item.split("/"):
                if segment.startswith(BULK_ID_PREFIX):
                    found.append(segment[len(BULK_ID_PREFIX) :])
        elif isinstance(item, list):
            for sub in item:
                walk(sub)
        elif isinstance(item, dict):
            for sub in item.values():
                walk(sub)

    walk(value)
    return found


def substitute_references(operation: BulkOperation, created: dict[str, str]) -> BulkOperation:
    """The operation with every ``bulkId:X`` whose X is in ``created`` replaced by the created id."""
    if not any(ref in created for ref in operation.references()):
        return operation

    def swap(item: Any) -> Any:
        kind = type(item)
        if isinstance(item, str):
            if BULK_ID_PREFIX not in item:
                return item
            if "/" not in item:  # one segment: a member's value
                return (
                    created.get(item[len(BULK_ID_PREFIX) :], item)
                    if item.startswith(BULK_ID_PREFIX)
                    else item
                )
            parts = [
                created.get(s[len(BULK_ID_PREFIX) :], s) if s.startswith(BULK_ID_PREFIX) else s
                for s in item.split("/")
            ]
            return "/".join(parts)
        if kind is list:
            # a plan's group PATCHes hold 400,000 members ({"value", "type"} objects) at 1M users:
            # a member's strings are swapped in this loop, not by a call (and a comprehension) each
            swapped: list[Any] = []
            for sub in item:
                sub_kind = type(sub)
                if sub_kind is dict:
                    entry = {}
                    for key, value in sub.items():
                        if type(value) is not str:
                            value = swap(value)
                        elif BULK_ID_PREFIX in value:
                            value = (
                                created.get(value[len(BULK_ID_PREFIX) :], value)
                                if "/" not in value and value.startswith(BULK_ID_PREFIX)
                                else swap(value)
                            )
                        entry[key] = value
                    swapped.append(entry)
                elif sub_kind is str and BULK_ID_PREFIX not in sub:
                    swapped.append(sub)
                else:
                    swapped.append(swap(sub))
            return swapped
        if isinstance(item, list):  # a subclass of list: as a list
            return [sub if type(sub) is str and BULK_ID_PREFIX not in sub else swap(sub) for sub in item]
        if isinstance(item, dict):
            return {
                key: sub if type(sub) is str and BULK_ID_PREFIX not in sub else swap(sub)
                for key, sub in item.items()
            }
        return item

    return replace(operation, path=swap(operation.path), data=swap(operation.data))


# -- parsing -------------------------------------------------------------------------------
def _operations(obj: Any, where: str, what: str) -> list[Any]:
    if not isinstance(obj, dict):
        raise InputError(f"{where}: a {what} must be a JSON object, got {type(obj).__name__}")
    schemas = obj.get("schemas")
    expected = BULK_REQUEST if what == "BulkRequest" else BULK_RESPONSE
    if isinstance(schemas, list) and schemas and expected not in schemas:
        raise InputError(f"{where}: schemas {schemas!r} do not include {expected}")
    operations = obj.get("Operations", obj.get("operations"))
    if not isinstance(operations, list):
        raise InputError(f"{where}: not a {what}: no 'Operations' list")
    return operations


def may_refer(text: str | bytes) -> bool:
    """Whether a JSON text may hold a ``bulkId:`` reference: it spells one out, or has a ``\\u``
    escape (which could spell one)."""
    if isinstance(text, str):
        return BULK_ID_PREFIX in text or "\\u" in text
    return b"bulkId:" in text or b"\\u" in text


def parse_request(obj: Any, where: str, *, unreferenced: bool = False) -> BulkRequest:
    """Read a BulkRequest JSON object; raises :class:`InputError` naming the operation at fault.

    ``unreferenced``: the request's JSON text cannot hold a ``bulkId:`` (:func:`may_refer`), so no operation
    refers to a bulkId (spares serialising each operation to find its references).
    """
    operations = []
    for number, item in enumerate(_operations(obj, where, "BulkRequest"), start=1):
        at = f"{where}: operation #{number}"
        if not isinstance(item, dict):
            raise InputError(f"{at}: expected an object, got {type(item).__name__}")
        method = item.get("method")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise InputError(f"{at}: method {method!r} is not one of {', '.join(METHODS)}")
        path = item.get("path")
        if not isinstance(path, str) or not path:
            raise InputError(f"{at}: missing 'path'")
        data = item.get("data")
        if data is not None and not isinstance(data, dict):
            raise InputError(f"{at}: 'data' must be an object")
        operation = built(
            BulkOperation,
            {
                "method": method.upper(),
                "path": path,
                "bulk_id": _opt_str(item, "bulkId", at),
                "version": _opt_str(item, "version", at),
                "data": data,
            },
        )
        if unreferenced:
            operation.__dict__["_references"] = ()  # what the cached property would find
        operations.append(operation)
    fail_on_errors = obj.get("failOnErrors")
    if fail_on_errors is not None and (
        not isinstance(fail_on_errors, int) or isinstance(fail_on_errors, bool) or fail_on_errors < 1
    ):
        raise InputError(f"{where}: failOnErrors must be a whole number >= 1, got {fail_on_errors!r}")
    return BulkRequest(tuple(operations), fail_on_errors)


def parse_response(obj: Any, where: str) -> BulkResponse:
    """Read a BulkResponse JSON object; raises :class:`InputError` naming the operation at fault."""
    results = []
    for number, item in enumerate(_operations(obj, where, "BulkResponse"), start=1):
        at = f"{where}: response operation #{number}"
        if not isinstance(item, dict):
            raise InputError(f"{at}: expected an object, got {type(item).__name__}")
        status = _status(item.get("status"), at)
        response = item.get("response")
        if response is not None and not isinstance(response, dict):
            raise InputError(f"{at}: 'response' must be an object")
        method = item.get("method")
        if method is not None and not isinstance(method, str):
            raise InputError(f"{at}: 'method' must be a string")
        results.append(
            built(
                OperationResult,
                {
                    "method": method.upper() if method else None,
                    "bulk_id": _opt_str(item, "bulkId", at),
                    "location": _opt_str(item, "location", at),
                    "version": _opt_str(item, "version", at),
                    "status": status,
                    "response": response,
                },
            )
        )
    return BulkResponse(tuple(results))


def _status(value: Any, at: str) -> int:
    # RFC 7644 sends status as a string ("201"); some servers send a number, or an object
    # {"code": "201"} from the 2011 drafts.
    if isinstance(value, dict):
        value = value.get("code")
    if isinstance(value, bool):
        raise InputError(f"{at}: status {value!r} is not an HTTP status")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise InputError(f"{at}: missing or invalid 'status' ({value!r})")
    if not 100 <= number <= 599:
        raise InputError(f"{at}: status {number} is not an HTTP status")
    return number


def _opt_str(item: dict[str, Any], key: str, at: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{at}: '{key}' must be a string, got {type(value).__name__}")
    return value
