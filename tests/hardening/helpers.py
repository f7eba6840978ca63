"""Helpers shared by the hardening tests: raw HTTP over a socket and reads of the SQLite file."""

from __future__ import annotations

import socket
import sqlite3
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import Server


def db_path(server: Server) -> str:
    return server.database_url.removeprefix("sqlite:///")


def sqlite_rows(path: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one query on the database file (a fresh connection: sees every commit)."""
    conn = sqlite3.connect(path, timeout=60)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def raw_http(base_url: str, request: bytes, timeout: float = 60.0) -> bytes:
    """Send `request` byte for byte (no client-side URL normalisation) and read until the
    server closes. The request should say `Connection: close`."""
    parts = urlsplit(base_url)
    chunks: list[bytes] = []
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before it has read everything
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def raw_request(
    base_url: str,
    method: str,
    target: str | bytes,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    raw_headers: bytes = b"",
) -> bytes:
    """One HTTP/1.1 request with the request target exactly as given."""
    if isinstance(target, str):
        target = target.encode()
    lines = [b"%s %s HTTP/1.1" % (method.encode(), target), b"Host: 127.0.0.1"]
    lines.append(b"Connection: close")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}".encode())
    if body is not None:
        lines.append(b"Content-Length: %d" % len(body))
    head = b"\r\n".join(lines) + b"\r\n" + raw_headers + b"\r\n"
    return raw_http(base_url, head + (body or b""))


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP response (0 when there is none: the connection dropped)."""
    first = response.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) >= 2 and first[1].isdigit() else 0


def headers_of(response: bytes) -> dict[str, str]:
    head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head)}
