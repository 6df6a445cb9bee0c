"""SSRF guard of user-supplied URLs; DNS is a fake resolver (a function) so no network is needed."""

from __future__ import annotations

import socket

import pytest

from mixscribe.safe_http import UrlRefused, vet_url


def resolver(table: dict[str, list[str]]):
    def resolve(host, port, type=0):
        if host not in table:
            raise socket.gaierror("no such host")

        def family(a):
            return socket.AF_INET6 if ":" in a else socket.AF_INET

        return [(family(a), socket.SOCK_STREAM, 6, "", (a, port)) for a in table[host]]

    return resolve


DNS = resolver(
    {
        "public.example": ["93.184.216.34"],
        "loopback.example": ["127.0.0.1"],
        "private.example": ["10.1.2.3"],
        "metadata.google.internal": ["169.254.169.254"],
        "cgnat.example": ["100.64.0.7"],
        "v6loop.example": ["::1"],
        "mapped.example": ["::ffff:127.0.0.1"],
        "mixed.example": ["93.184.216.34", "192.168.0.5"],
        "zero.example": ["0.0.0.0"],
    }
)


def test_public_https_is_accepted_and_pinned_to_the_vetted_address():
    target = vet_url("https://public.example/audio/a.mp3?x=1", resolve=DNS)
    assert (target.address, target.host, target.port, target.path) == ("93.184.216.34", "public.example", 443, "/audio/a.mp3?x=1")


@pytest.mark.parametrize(
    "url",
    [
        "https://loopback.example/a.mp3",
        "https://private.example/a.mp3",
        "http://metadata.google.internal/computeMetadata/v1/",
        "https://metadata.google.internal/",
        "https://cgnat.example/",
        "https://v6loop.example/",
        "https://mapped.example/",
        "https://mixed.example/",  # one bad answer is enough to refuse
        "https://zero.example/",
        "https://127.0.0.1/",
        "https://[::1]/",
        "http://public.example/a.mp3",  # plain http to the internet
        "ftp://public.example/a.mp3",
        "file:///etc/passwd",
        "https://user:pw@public.example/",
        "https://nowhere.example/",
        "https://public.example:99999/",
    ],
)
def test_refused(url):
    with pytest.raises(UrlRefused):
        vet_url(url, resolve=DNS)


def test_an_explicit_allow_list_admits_loopback_over_http():
    assert vet_url("http://loopback.example:8080/a", ("127.0.0.0/8",), resolve=DNS).address == "127.0.0.1"
    with pytest.raises(UrlRefused):
        vet_url("http://private.example/a", ("127.0.0.0/8",), resolve=DNS)
