"""Telling a URL output spec from a local path, without importing anything (``digest`` of local
files must start as fast as ``openssl dgst``)."""

from __future__ import annotations

_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz")
_REST = _FIRST | frozenset("0123456789+.-")


def is_url(spec: str) -> bool:
    """True if an output spec is a URL (``PROTOCOL://...``, or fsspec's chained ``PROTOCOL::URL``)
    rather than a local path; ``PROTOCOL`` is lower-case letters, digits, ``+``, ``.`` and ``-``."""
    ends = [i for i in (spec.find("://"), spec.find("::")) if i > 0]
    if not ends:
        return False
    scheme = spec[: min(ends)]
    return scheme[0] in _FIRST and all(c in _REST for c in scheme)
