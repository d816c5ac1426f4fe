"""Type stub of the compiled signature walker (recon/validate/_signatures.c)."""

from typing_extensions import Buffer

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
