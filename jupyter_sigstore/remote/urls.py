"""Output specs that are URLs: recognising them, what a URL may hold, and the fsspec file system for it.

A URL output is ``PROTOCOL://PATH`` for a protocol fsspec knows (``s3://bucket/key``,
``gs://bucket/prefix/``, ``az://container/path/**/*.parquet``, ``https://host/file.csv``...).
Credentials never come from the URL: a user name, a password, a query string (a pre-signed URL's
signature) or a fragment is refused, so that nothing secret can reach a notebook, a statement, a
report or a log. The file system is built from the backend's own standard configuration
(environment variables, its configuration files, instance credentials, fsspec's configuration).

Protocols that read local files or wrap other file systems (``file://``, ``simplecache::...``,
``zip://``...) are refused: local outputs are plain paths, and cache layers would copy objects to
local disk.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import OutputError, UsageError
from .scheme import is_url

if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_URL_LENGTH = 2048
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*)://")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_REFUSED = frozenset(
    {
        "file",
        "local",
        "asynclocal",
        "async_wrapper",
        "asyncwrapper",
        "blockcache",
        "cached",
        "filecache",
        "simplecache",
        "dir",
        "generic",
        "reference",
        "zip",
        "tar",
        "libarchive",
        "data",
        "dask",
    }
)
SINGLE_FILE_PROTOCOLS = frozenset({"http", "https"})
"""Protocols whose URLs name one file each (no listing: no prefixes or patterns)."""

_EXTRAS = {
    "s3": ("s3fs", "s3"),
    "s3a": ("s3fs", "s3"),
    "gs": ("gcsfs", "gcs"),
    "gcs": ("gcsfs", "gcs"),
    "az": ("adlfs", "azure"),
    "abfs": ("adlfs", "azure"),
    "abfss": ("adlfs", "azure"),
    "adl": ("adlfs", "azure"),
    "http": ("aiohttp", "http"),
    "https": ("aiohttp", "http"),
}


def protocol_of(url: str) -> str:
    """The protocol of a URL (``s3`` for ``s3://bucket/key``)."""
    match = _SCHEME.match(url)
    if match is None:
        raise UsageError(f"{url!r} is not a URL")
    return match.group(1)


def check_url(url: str) -> str:
    """Return ``url`` if it may name a signed output; raise UsageError (one line) if not."""
    if not isinstance(url, str) or not is_url(url):
        raise UsageError(f"{url!r} is not a URL")
    if "::" in url:
        raise UsageError(
            f"URL {_shown(url)}: chained file systems (PROTOCOL::URL) are not accepted as outputs"
        )
    if len(url) > MAX_URL_LENGTH:
        raise UsageError(f"URL {url[:60]}... is longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(url) or url != url.strip():
        raise UsageError(f"URL {url!r} holds control characters or surrounding spaces")
    protocol = protocol_of(url)
    rest = url[len(protocol) + 3 :]
    if protocol in _REFUSED:
        raise UsageError(
            f"URL {url}: {protocol}:// is not accepted as an output (local files are plain paths; "
            "caching and archive file systems would copy or unpack objects)"
        )
    if "?" in rest or "#" in rest:
        raise UsageError(
            f"URL {_shown(url)}: a query string or fragment is not accepted (it may hold a signature or "
            "token); give the object's plain URL and configure credentials for the backend"
        )
    authority = rest.split("/", 1)[0]
    if "@" in authority:
        raise UsageError(
            f"URL {_shown(url)}: a user name or password in a URL is not accepted; configure credentials "
            "for the backend instead"
        )
    if not authority:
        raise UsageError(f"URL {url}: names no bucket, container or host")
    import fsspec

    if protocol not in fsspec.available_protocols():
        raise UsageError(f"URL {url}: fsspec knows no file system for {protocol}://")
    return url


def _shown(url: str) -> str:
    """A URL for an error message without anything that may be a credential."""
    if _SCHEME.match(url) is None:
        return url.split("::", 1)[0] + "::..."
    protocol = protocol_of(url)
    rest = url[len(protocol) + 3 :]
    authority, _, path = rest.partition("/")
    host = authority.rpartition("@")[2]
    path = re.split(r"[?#]", path, maxsplit=1)[0]
    return f"{protocol}://{host}/{path}"


def single_file_only(url: str) -> bool:
    """Whether the URL's protocol names single files only (``https://``: nothing to list)."""
    return protocol_of(url) in SINGLE_FILE_PROTOCOLS


def filesystem(protocol: str, **options: Any) -> Any:
    """A fresh fsspec file system for ``protocol``, configured only by the backend's standard
    configuration (never the instance cache, so credentials changed since are taken up);
    ``options`` are behaviour switches such as ``version_aware``, never credentials."""
    import fsspec

    try:
        return fsspec.filesystem(protocol, skip_instance_cache=True, **options)
    except ImportError:
        package, extra = _EXTRAS.get(protocol, (None, None))
        hint = (
            f"install {package} (pip install 'jupyter-sigstore[{extra}]')"
            if package
            else "install the fsspec backend for it"
        )
        raise BackendUnavailableError(f"{protocol}:// outputs need a file-system package: {hint}") from None
    except Exception as exc:  # e.g. adlfs without an account configured
        raise BackendUnavailableError(
            f"{protocol}:// file system cannot be set up: {describe(exc)}"
        ) from None


def path_of(fs: Any, url: str) -> str:
    """The file system's own path for a URL (``bucket/key`` for ``s3://bucket/key``)."""
    return str(fs._strip_protocol(url))


class FileSystems:
    """One fsspec file system per protocol for the length of an operation."""

    def __init__(self) -> None:
        self._by_protocol: dict[str, Any] = {}

    def get(self, url: str) -> Any:
        """The file system for ``url``'s protocol."""
        protocol = protocol_of(url)
        if protocol not in self._by_protocol:
            self._by_protocol[protocol] = filesystem(protocol)
        return self._by_protocol[protocol]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._by_protocol.values())


# --- errors --------------------------------------------------------------------------------------

_UNREACHABLE = (
    "EndpointConnectionError",
    "ConnectionClosedError",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "ClientOSError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ServerTimeoutError",
    "ClientPayloadError",
    "IncompleteReadError",
    "ResponseStreamingError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "BrokenPipeError",
    "TimeoutError",
)


def is_unreachable(exc: BaseException) -> bool:
    """Whether an exception says the store cannot be reached (or went away): no point going on."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ in _UNREACHABLE:
            return True
        current = current.__cause__ or current.__context__
    return False


def describe(exc: BaseException) -> str:
    """One line for a backend's exception: its first line of text, or its type name."""
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.strerror and exc.errno is not None:
        text = str(exc.strerror).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:300]


_STORE_MISSING = re.compile(r"\b(bucket|container)\b.*\b(not exist|not found)", re.IGNORECASE)


def object_error(url: str, exc: BaseException, *, while_hashing: bool = False) -> OutputError:
    """The one-line error for an object (or prefix) that could not be listed or read."""
    if isinstance(exc, OutputError):
        return exc
    shown = _shown(url)
    if is_unreachable(exc):
        return StoreUnreachableError(
            f"output {shown}: cannot reach the object store ({describe(exc)}); check the endpoint and "
            "the network, then try again"
        )
    if isinstance(exc, PermissionError):
        return OutputError(
            f"output {shown}: access denied by the object store ({describe(exc)}); check the credentials "
            f"in the {protocol_of(url)}:// backend's standard configuration"
        )
    if isinstance(exc, FileNotFoundError):
        text = describe(exc)
        if _STORE_MISSING.search(text):  # "The specified bucket does not exist" and the like
            return OutputError(f"output {shown}: {text[0].lower() + text[1:]}")
        if while_hashing:
            return ObjectChangedError(
                f"output {shown} disappeared while it was being hashed; wait until whatever writes it "
                "has finished, then try again"
            )
        return ObjectMissingError(f"output {shown} does not exist")
    return OutputError(f"output {shown} could not be read: {type(exc).__name__}: {describe(exc)}")


class BackendUnavailableError(OutputError):
    """The fsspec backend for a protocol is not installed, or cannot be set up from its configuration."""


class StoreUnreachableError(OutputError):
    """The object store cannot be reached, or went away during the operation."""


class ObjectMissingError(OutputError):
    """No object has this URL (its bucket or container exists)."""


class ObjectChangedError(OutputError):
    """An object changed, was replaced or disappeared while it was being hashed."""
