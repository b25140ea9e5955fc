"""A remote object as listed, and as signed: its URL, sha256, size, and the store's version id and ETag."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RemoteObject:
    """An object found in a store: its URL, its size (-1 unknown) and, where the store gives them,
    its ETag and version id (S3 ``VersionId``, GCS ``generation``, Azure ``version_id``)."""

    url: str
    size: int = -1
    etag: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class RemoteDigest:
    """A signed remote output: ``path`` is its URL, with the SHA-256 and size of its bytes;
    ``version_id`` and ``etag`` name the exact object version that was hashed where the store offers
    them (None otherwise)."""

    path: str
    sha256: str
    size: int
    version_id: str | None = None
    etag: str | None = None

    @property
    def url(self) -> str:
        """The object's URL (the same as ``path``)."""
        return self.path

    def to_json(self) -> dict[str, Any]:
        """The statement predicate's entry for this output."""
        entry: dict[str, Any] = {"url": self.path, "digest": {"sha256": self.sha256}, "size": self.size}
        if self.version_id is not None:
            entry["versionId"] = self.version_id
        if self.etag is not None:
            entry["etag"] = self.etag
        return entry


def clean_etag(value: Any) -> str | None:
    """An ETag without the quotes HTTP puts around it (None if absent or not text)."""
    if not isinstance(value, str) or not value:
        return None
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def clean_version(value: Any) -> str | None:
    """A version id or generation as text; None for an absent or unversioned (``"null"``) one."""
    if value is None or value == "null" or value == "":
        return None
    return str(value)


def version_of(info: dict[str, Any]) -> str | None:
    """The version id in an fsspec ``info`` or listing entry (S3, GCS, Azure spell it differently)."""
    for key in ("VersionId", "generation", "version_id"):
        if key in info:
            return clean_version(info[key])
    return None


def etag_of(info: dict[str, Any]) -> str | None:
    """The ETag in an fsspec ``info`` or listing entry."""
    for key in ("ETag", "etag"):
        if key in info:
            return clean_etag(info[key])
    return None
