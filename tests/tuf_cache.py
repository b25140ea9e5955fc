"""A TUF cache that serves a test trusted root, so sigstore-js tools that read their trusted root
only through TUF (``@sigstore/cli verify``) can verify bundles of the loopback instance offline."""

from __future__ import annotations

import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, Root, Snapshot, TargetFile, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer

MIRROR = "http://127.0.0.1:9/tuf"  # never contacted: the cache is complete and forced


def write_tuf_cache(cache: Path, trusted_root: bytes, mirror: str = MIRROR) -> Path:
    """Write root, timestamp, snapshot and targets metadata (one fresh ed25519 key for every role,
    valid for a day) and the ``trusted_root.json`` target where sigstore-js looks for ``mirror``."""
    url = urllib.parse.urlparse(mirror)
    repo = cache / urllib.parse.quote(url.netloc + url.path.rstrip("/"), safe="")
    (repo / "targets").mkdir(parents=True, exist_ok=True)
    signer = CryptoSigner.generate_ed25519()
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    root = Metadata(Root(expires=expires))
    for role in ("root", "timestamp", "snapshot", "targets"):
        root.signed.add_key(signer.public_key, role)
    targets = Metadata(Targets(expires=expires))
    targets.signed.targets["trusted_root.json"] = TargetFile.from_data(
        "trusted_root.json", trusted_root, ["sha256"]
    )
    documents = {
        "root": root,
        "targets": targets,
        "snapshot": Metadata(Snapshot(expires=expires)),
        "timestamp": Metadata(Timestamp(expires=expires)),
    }
    for name, metadata in documents.items():
        metadata.sign(signer)
        (repo / f"{name}.json").write_bytes(metadata.to_bytes(JSONSerializer(compact=False)))
    (repo / "targets" / "trusted_root.json").write_bytes(trusted_root)
    return cache
