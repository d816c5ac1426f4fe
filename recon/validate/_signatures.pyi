"""Type stub of the compiled signature walker (recon/validate/_signatures.c)."""

from typing_extensions import Buffer

SOURCE_SHA256: str  # of _signatures.c as compiled (recon/validate/build_hook.py)

def signatures(
    data: Buffer,
    offsets: Buffer,
    validity: Buffer,
    offset: int,
    length: int,
    large: bool,
    spec: list[tuple[bytes, int]],
    /,
) -> tuple[bytes, list[bytes], list[int]]: ...
