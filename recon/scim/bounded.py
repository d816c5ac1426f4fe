"""HTTP exchanges bounded in time and size, whatever the server does.

httpx bounds each socket operation (``timeout``: connect, one read, one write), not an exchange:
a read timeout restarts on every byte, so a server that trickles its status line, its headers
or its body a byte at a time, or sends its headers and then nothing while the read timeout is
long, holds a request forever. Here the whole exchange — connecting, the TLS handshake, sending,
the status line and headers, the body — shares one deadline (``RECON_RESPONSE_DEADLINE``):

- :func:`exchange_deadline` sets the deadline for the requests the current thread sends;
- :func:`bound_client` gives an ``httpx.Client``'s connections a network backend whose every
  socket operation waits at most until that deadline (the per-operation timeout, clamped). A
  blocking ``recv`` returns as soon as one byte arrives and TLS reads and handshakes keep one
  deadline across their waits (CPython's ``ssl``), so no sequence of operations outlives it.
  No thread and no timer: the thread that sends the request is the one that waits, and the
  socket it waits on times out at the deadline;
- :func:`read_body` reads a streamed body within the deadline and a byte cap, counted on the
  wire and after gzip/deflate decompression (inflated a slice at a time, so a bomb never
  expands past the cap in memory).

The host name lookup (``getaddrinfo``) is the one step a socket timeout cannot bound; it is the
system resolver's (``/etc/resolv.conf`` timeout and attempts).
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

__all__ = [
    "BodyOverCap",
    "Deadline",
    "DeadlinePassed",
    "UnsupportedEncoding",
    "bound_client",
    "bound_transport",
    "exchange_deadline",
    "read_body",
]

_local = threading.local()


@dataclass(frozen=True)
class Deadline:
    """The end of an exchange (``time.monotonic()`` seconds) and the limit it came from."""

    end: float
    seconds: float

    def passed(self) -> bool:
        """True once the deadline is reached."""
        return time.monotonic() >= self.end


@contextmanager
def exchange_deadline(seconds: float) -> Iterator[Deadline]:
    """Every socket operation of the requests this thread sends inside ends by ``seconds`` from now.

    Nested deadlines keep the earlier end. Only clients passed through :func:`bound_client`
    (or transports through :func:`bound_transport`) obey it.
    """
    previous: Deadline | None = getattr(_local, "deadline", None)
    deadline = Deadline(time.monotonic() + seconds, seconds)
    if previous is not None and previous.end < deadline.end:
        deadline = previous
    _local.deadline = deadline
    try:
        yield deadline
    finally:
        _local.deadline = previous


def _clamp(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left of this thread's deadline (``expired`` once none is)."""
    deadline: Deadline | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    remaining = deadline.end - time.monotonic()
    if remaining <= 0:
        raise expired(f"the exchange deadline of {deadline.seconds:g} s passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads, writes and TLS handshake end by the thread's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, handing out :class:`_DeadlineStream` connections."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _clamp(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _clamp(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bound_transport(transport: httpx.HTTPTransport) -> httpx.HTTPTransport:
    """Make ``transport``'s connections obey :func:`exchange_deadline`; returns it.

    httpx 0.28 has no parameter for httpcore's network backend, so the pool's is wrapped in
    place; a pool without one (another httpx) is an error here, not a silently unbounded client.
    """
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.NetworkBackend):
        raise RuntimeError("this httpx/httpcore has no network backend to bound; pin httpx 0.28")
    if not isinstance(backend, _DeadlineBackend):
        pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    return transport


def bound_client(client: httpx.Client) -> httpx.Client:
    """Make every network transport of ``client`` (its own and the proxies the environment names,
    ``HTTPS_PROXY``…) obey :func:`exchange_deadline`; returns it. Other transports (a mock, a
    wrapper) are left alone: bound the network transport inside them with :func:`bound_transport`.
    """
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        if isinstance(transport, httpx.HTTPTransport):
            bound_transport(transport)
    return client


class DeadlinePassed(Exception):
    """The exchange deadline passed while the body was arriving (``wire`` bytes by then)."""

    def __init__(self, wire: int) -> None:
        super().__init__(f"{wire} bytes")
        self.wire = wire


class BodyOverCap(Exception):
    """The body went over its cap; ``where`` is ``on the wire`` or ``after decompression``."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


class UnsupportedEncoding(Exception):
    """A ``Content-Encoding`` recon did not ask for."""


def read_body(response: httpx.Response, cap: int, deadline: Deadline) -> bytes:
    """The body of a streamed ``response``, read within ``cap`` bytes and ``deadline``.

    Raises :class:`BodyOverCap`, :class:`DeadlinePassed` (including a socket read that timed out
    at the deadline), :class:`UnsupportedEncoding`, or ``httpx.DecodingError`` for a damaged
    compressed body; other transport errors pass through. The response is left with the body as
    its content (``response.content``), the stream no longer referenced.
    """
    if response.is_stream_consumed:  # built in memory (a mock transport): only the size to check
        if len(response.content) > cap:
            raise BodyOverCap("on the wire")
        return response.content
    decoder = _decoder(response.headers.get("Content-Encoding", ""))
    if decoder is False:
        raise UnsupportedEncoding(response.headers["Content-Encoding"])
    parts: list[bytes] = []
    size = wire = 0
    try:
        for raw in response.iter_raw():
            wire += len(raw)
            if wire > cap:
                raise BodyOverCap("on the wire")
            pending = raw
            while pending:
                if decoder is None:
                    part, pending = pending, b""
                else:  # inflate at most what still fits
                    try:
                        part = decoder.decompress(pending, cap - size + 1)
                    except zlib.error as exc:
                        encoding = response.headers["Content-Encoding"]
                        raise httpx.DecodingError(f"body is not valid {encoding}") from exc
                    pending = decoder.unconsumed_tail
                size += len(part)
                if size > cap:
                    raise BodyOverCap("after decompression" if decoder is not None else "on the wire")
                parts.append(part)
            if deadline.passed():
                raise DeadlinePassed(wire)
    except httpx.TimeoutException:
        if deadline.passed():
            raise DeadlinePassed(wire) from None
        raise
    if decoder is not None:
        try:
            parts.append(decoder.flush())
        except zlib.error as exc:
            raise httpx.DecodingError("body ends inside its compressed data") from exc
    data = b"".join(parts)
    # what Response.read() would have set; a plain ByteStream also breaks httpx's reference
    # cycle between a response and its stream, which kept each page alive until a full GC pass
    response._content = data
    response.stream = httpx.ByteStream(data)
    return data


def _decoder(encoding: str) -> Any:
    """A zlib decompressor for ``Content-Encoding`` (None: identity; False: not one recon asked for)."""
    names = [
        name.strip().lower() for name in encoding.split(",") if name.strip().lower() not in ("", "identity")
    ]
    if not names:
        return None
    if names == ["gzip"] or names == ["x-gzip"]:
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if names == ["deflate"]:
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib-wrapped (what RFC 9110 means by deflate)
    return False
