"""Outbound HTTP to user-supplied URLs without server-side request forgery.

Used for ``POST /v1/jobs`` URL sources and for webhooks. A URL is accepted only when:
the scheme is ``https`` (``http`` only towards a network listed in
``MIXSCRIBE_ALLOW_PRIVATE_NETWORKS``, which only the local stack sets); it carries no user info;
and **every** address its host resolves to is globally routable (no loopback, private, link-local
— the metadata server lives there — CGNAT, multicast or reserved ranges) or in that allow-list.
The connection then goes to the vetted address itself (TLS still checks the host name), so a
DNS answer that changes between check and connect (rebinding) cannot redirect it. Redirects are
followed by hand, each hop vetted again; sizes and times are capped.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3

MAX_REDIRECTS = 3
CHUNK = 256 * 1024


class UrlRefused(Exception):
    """The URL may not be fetched (scheme, address or shape)."""


class FetchFailed(Exception):
    """The URL was allowed but the fetch failed (status, timeout, size)."""


@dataclass(frozen=True)
class Target:
    """A vetted URL and the address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    address: str


def _allowed_networks(networks: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(net, strict=False) for net in networks]


def vet_url(
    url: str,
    allow_networks: tuple[str, ...] = (),
    resolve: Callable[..., list[Any]] = socket.getaddrinfo,
) -> Target:
    """The connection target for ``url``, or ``UrlRefused`` explaining why not."""
    if len(url) > 2048:
        raise UrlRefused("the URL is longer than 2048 characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UrlRefused("only https URLs are accepted")
    if parts.username or parts.password or not parts.hostname:
        raise UrlRefused("the URL needs a host and may not carry credentials")
    host = parts.hostname
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise UrlRefused("the URL has an invalid port") from exc
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"the host {host!r} does not resolve") from exc
    allowed = _allowed_networks(allow_networks)
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        in_allow_list = any(address in net for net in allowed)
        if not (address.is_global or in_allow_list) or address.is_multicast:
            raise UrlRefused(f"the host {host!r} resolves to a non-public address")
        if scheme == "http" and not in_allow_list:
            raise UrlRefused("only https URLs are accepted")
        addresses.append(str(address))
    if not addresses:
        raise UrlRefused(f"the host {host!r} does not resolve")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, scheme, host, port, path, addresses[0])


def _pool(target: Target, timeout_s: float) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=min(10.0, timeout_s), read=timeout_s)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    return urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False)


def request(
    method: str,
    url: str,
    allow_networks: tuple[str, ...],
    timeout_s: float,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    follow_redirects: bool = True,
) -> urllib3.BaseHTTPResponse:
    """One vetted request (redirects re-vetted); the response is left unread for streaming."""
    for _ in range(MAX_REDIRECTS + 1):
        target = vet_url(url, allow_networks)
        host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
        try:
            response = _pool(target, timeout_s).urlopen(
                method,
                target.path,
                body=body,
                headers={**(headers or {}), "Host": host_header},
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise FetchFailed(f"could not reach {target.host}: {exc.__class__.__name__}") from exc
        if follow_redirects and response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
            url = urljoin(url, response.headers["Location"])
            response.release_conn()
            continue
        return response
    raise FetchFailed("too many redirects")


class CappedBody:
    """A file-like view of a response body that fails past ``max_bytes`` or the deadline."""

    def __init__(self, response: urllib3.BaseHTTPResponse, max_bytes: int, deadline_s: float) -> None:
        self.response = response
        self.max_bytes = max_bytes
        self.deadline = time.monotonic() + deadline_s
        self.read_bytes = 0
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchFailed(f"the source has {declared} bytes, more than the limit of {max_bytes}")

    def read(self, size: int = -1) -> bytes:
        if time.monotonic() > self.deadline:
            raise FetchFailed("the source took too long to download")
        chunk = self.response.read(CHUNK if size is None or size < 0 else size)
        self.read_bytes += len(chunk)
        if self.read_bytes > self.max_bytes:
            raise FetchFailed(f"the source is larger than the limit of {self.max_bytes} bytes")
        return chunk

    def tell(self) -> int:
        return self.read_bytes
