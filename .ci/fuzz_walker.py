"""Random and mutated JSON texts through the signature walker (recon/validate/_signatures.c).

Run by .ci/fuzz-walker.sh against a build with AddressSanitizer and UBSan, which turn a bad read
or write, or undefined behaviour, into a crash; this driver checks what the walker answers:
one code per row, codes naming a signature, each signature's first row carrying that code, and
the same answer for the same input twice. Usage: python fuzz_walker.py MODULE_PATH SECONDS SEED
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
import time
from typing import Any

import pyarrow as pa

from recon.validate.declared import declared_for
from recon.validate.signatures import signature_spec
from recon.validate.specs import value_checks

_TOKENS = [
    b'"',
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\\u0000",
    b"\\ud800",
    b"1e999",
    b"-0",
    b"\xff",
    b"\xc3",
    b"null",
    b"true",
    b"\x1f",
    b" ",
    b"\n",
    b'""',
    b"12345678901234567890",
]


def _user(rng: random.Random, i: int) -> dict[str, Any]:
    user: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": f"u{i}",
        "userName": f"user{i}@example.com",
        "active": rng.random() < 0.9,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [
            {
                "value": f"u{i}@example.com",
                "type": rng.choice(["work", "home", "x"]),
                "primary": rng.random() < 0.7,
            }
            for _ in range(rng.randrange(4))
        ],
        "meta": {
            "created": rng.choice(["2026-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "bad"]),
            "resourceType": "User",
        },
    }
    if rng.random() < 0.3:
        user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = {"employeeNumber": str(i)}
    if rng.random() < 0.1:
        nested: Any = 0
        for _ in range(rng.randrange(1, 80)):
            nested = [nested] if rng.random() < 0.5 else {"k": nested}
        user["deep"] = nested
    return user


def _mutate(rng: random.Random, text: bytes) -> bytes:
    data = bytearray(text)
    for _ in range(rng.randrange(1, 6)):
        choice = rng.random()
        at = rng.randrange(len(data) + 1)
        if choice < 0.3 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif choice < 0.6:
            data[at:at] = rng.choice(_TOKENS)
        elif choice < 0.8:
            del data[at : at + rng.randrange(1, 16)]
        else:
            data = data[:at]
    return bytes(data)


def _texts(rng: random.Random, count: int) -> list[str | None]:
    texts: list[str | None] = []
    for i in range(count):
        raw = json.dumps(_user(rng, i), separators=rng.choice([(",", ":"), (", ", ": ")])).encode()
        if rng.random() < 0.5:
            raw = _mutate(rng, raw)
        texts.append(None if rng.random() < 0.02 else raw.decode("utf-8", "replace"))
    return texts


def _check(walker: Any, array: pa.Array, large: bool, spec: list[tuple[bytes, int]]) -> tuple[Any, ...]:
    validity, offsets, data = array.buffers()
    codes, sigs, firsts = walker(
        data if data is not None else b"",
        offsets,
        validity if validity is not None else b"",
        array.offset,
        len(array),
        large,
        spec,
    )
    numbers = memoryview(codes).cast("i")
    assert len(numbers) == len(array), "one code per row"
    assert len(sigs) == len(firsts)
    assert all(0 <= code < len(sigs) for code in numbers), "codes name a signature"
    assert all(numbers[row] == k for k, row in enumerate(firsts)), "a signature's first row has its code"
    return bytes(codes), list(sigs), list(firsts)


def main() -> int:
    path, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    module_spec = importlib.util.spec_from_file_location("recon.validate._signatures", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    spec = signature_spec(value_checks(declared_for(None)).params())
    assert spec is not None
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    rounds = texts_seen = 0
    while time.monotonic() < deadline:
        texts = _texts(rng, rng.randrange(1, 200))
        large = rng.random() < 0.5
        array = pa.array(texts, pa.large_string() if large else pa.string())
        start = rng.randrange(len(texts))
        sliced = array.slice(start, rng.randrange(len(texts) - start + 1))  # offsets not at 0
        for resource_type in ("User", "Group"):
            first = _check(module.signatures, sliced, large, spec[resource_type])
            assert first == _check(module.signatures, sliced, large, spec[resource_type]), "deterministic"
        rounds += 1
        texts_seen += len(sliced)
    print(f"fuzz-walker: {rounds} rounds, {texts_seen} texts (seed {seed}), no finding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
