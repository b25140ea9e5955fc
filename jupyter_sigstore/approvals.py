"""Which project policy files the user approved, the way direnv's allow list or VS Code's
workspace trust work: a policy found beside a notebook (a cloned repository, an unzipped project)
is honoured only once the user approved that exact file.

An approval names the file's real path and the sha256 of its bytes (and the public keys its
``key = "..."`` entries named): editing the file, moving it, or swapping a key file it names
needs a new approval. Approvals live in the user's Jupyter config folder,
``<jupyter_config_dir>/sigstore/approved-policies.json`` (``$JUPYTER_SIGSTORE_APPROVALS``
overrides the file's path), written atomically with mode 0600. A store that is corrupt, too large,
or writable by other users approves nothing and says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import PolicyError, PolicyNotApprovedError
from .keys import key_identity
from .policy import TrustPolicy, decode_policy, policy_from_text, read_bounded

APPROVALS_ENV = "JUPYTER_SIGSTORE_APPROVALS"
#: Largest approvals store read, and most approvals it may hold.
MAX_STORE_BYTES = 4 << 20
MAX_APPROVALS = 10_000
_FORMAT = 1


@dataclass(frozen=True)
class Approval:
    """One approved policy file: its real path, the sha256 (hex) of its bytes when approved,
    when (ISO 8601, UTC) and the key identities (``key <hint>``) its key entries named."""

    path: str
    sha256: str
    approved_at: str
    keys: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "approved_at": self.approved_at,
            "keys": list(self.keys),
        }


def store_path() -> Path:
    """Where approvals are kept: ``$JUPYTER_SIGSTORE_APPROVALS``, else the Jupyter config folder."""
    override = os.environ.get(APPROVALS_ENV)
    if override:
        return Path(override).expanduser()
    from jupyter_core.paths import jupyter_config_dir

    return Path(jupyter_config_dir()) / "sigstore" / "approved-policies.json"


def approvals() -> list[Approval]:
    """Every approval in the store, oldest first; PolicyError when the store is unusable."""
    return _read_store(store_path())


def approve(path: str | Path, *, sha256: str | None = None) -> Approval:
    """Approve the policy file at ``path`` as it is now and return the approval.

    Give ``sha256`` (the hash shown to the user when they reviewed the file) to refuse a file
    that changed since. The file must be a valid policy (its key files inside its folder); an
    earlier approval of the same path is replaced.
    """
    real = _real_path(path)
    data = read_bounded(real, "policy file")
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and sha256.lower() != digest:
        raise PolicyError(
            f"policy file {path} changed since it was shown (sha256 was {sha256[:12]}…, now "
            f"{digest[:12]}…): review it again before approving it"
        )
    policy = _parse(real, data, f"policy file {path}", None)
    keys = tuple(sorted({key_identity(k) for k in policy.public_keys}))
    approval = Approval(str(real), digest, _now(), keys)

    def add(current: list[Approval]) -> list[Approval]:
        kept = [a for a in current if a.path != approval.path]
        if len(kept) >= MAX_APPROVALS:
            raise PolicyError(f"approvals store {store_path()} is full; revoke some approvals first")
        return [*kept, approval]

    _update(add)
    return approval


def revoke(path_or_hash: str | Path) -> bool:
    """Withdraw the approvals of a policy file (by its path, as given or resolved) or of a sha256
    (the full hex digest); True when something was withdrawn."""
    text = str(path_or_hash)
    paths = {text}
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        paths.add(str(Path(text).expanduser().resolve()))
    removed = False

    def drop(current: list[Approval]) -> list[Approval] | None:
        nonlocal removed
        kept = [a for a in current if a.path not in paths and a.sha256 != text.lower()]
        removed = len(kept) < len(current)
        return kept if removed else None

    _update(drop)
    return removed


def is_approved(path: str | Path, sha256: str) -> bool:
    """True when the file whose real path is that of ``path`` was approved with this content hash."""
    try:
        real = str(Path(path).resolve(strict=True))
    except (OSError, ValueError, RuntimeError):
        return False
    return any(a.path == real and a.sha256 == sha256.lower() for a in approvals())


def approval_of(path: str | Path) -> Approval | None:
    """The approval covering the policy file at ``path`` as it is now, or None."""
    real = _real_path(path)
    digest = hashlib.sha256(read_bounded(real, "policy file")).hexdigest()
    return _find(real, digest)


def load_approved_policy(
    path: str | Path, *, key_root: Path | None = None, source: str | None = None
) -> TrustPolicy:
    """Load a project policy file found by discovery, only if the user approved it as it is now.

    Raises PolicyNotApprovedError (carrying the real path and the sha256 to approve) when it is not
    approved, was edited or moved since, or a key file it names now holds another key; PolicyError
    when it is malformed or the approvals store is unusable. Key files must stay inside
    ``key_root``, by default the folder holding the policy. ``source`` names the file in messages
    and in the policy's description (default: ``project policy <path>``).
    """
    source = source or f"project policy {path}"
    real = _real_path(path)
    data = read_bounded(real, "policy file")
    digest = hashlib.sha256(data).hexdigest()
    approval = _find(real, digest)
    if approval is None:
        raise PolicyNotApprovedError(
            f"{source} is not approved (sha256 {digest[:12]}…): review it, then approve it "
            f"(jupyter-sigstore policy approve {path})",
            str(real),
            digest,
        )
    policy = _parse(real, data, source, key_root)
    changed = {key_identity(k) for k in policy.public_keys} - set(approval.keys)
    if changed:
        raise PolicyNotApprovedError(
            f"{source} names a key file that holds another key than when it was approved: review "
            f"it, then approve it again (jupyter-sigstore policy approve {path})",
            str(real),
            digest,
        )
    return replace(policy, source=f"{source} (approved)")


# ------------------------------------------------------------------------------- internals


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _real_path(path: str | Path) -> Path:
    try:
        return Path(path).expanduser().resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "symlink loop"
        raise PolicyError(f"policy file {path}: cannot read ({reason})") from None
    except ValueError:
        raise PolicyError(f"policy file {path}: cannot read (not a valid path)") from None


def _parse(real: Path, data: bytes, source: str, key_root: Path | None) -> TrustPolicy:
    text = decode_policy(data, real)
    return policy_from_text(text, source, real.parent, key_root=key_root or real.parent)


def _find(real: Path, digest: str) -> Approval | None:
    return next((a for a in approvals() if a.path == str(real) and a.sha256 == digest), None)


def _corrupt(store: Path, why: str) -> PolicyError:
    return PolicyError(
        f"approvals store {store} is unusable ({why}); no project policy counts as approved until "
        "you fix or delete it"
    )


def _read_store(store: Path) -> list[Approval]:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(store, flags)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise _corrupt(store, f"cannot read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _corrupt(store, "not a regular file")
        if info.st_mode & 0o022:
            raise _corrupt(store, f"other users may write it; run chmod 600 {store}")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise _corrupt(store, "it belongs to another user")
        data = file.read(MAX_STORE_BYTES + 1)
    if len(data) > MAX_STORE_BYTES:
        raise _corrupt(store, f"larger than {MAX_STORE_BYTES >> 20} MiB")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _corrupt(store, f"not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise _corrupt(store, f"not an approvals file of format {_FORMAT}")
    entries = document.get("approved")
    if not isinstance(entries, list) or len(entries) > MAX_APPROVALS:
        raise _corrupt(store, "'approved' is not a list of approvals")
    return [_approval(entry, store, n) for n, entry in enumerate(entries, 1)]


def _approval(entry: object, store: Path, n: int) -> Approval:
    bad = _corrupt(store, f"approval {n} is malformed")
    if not isinstance(entry, dict) or set(entry) != {"path", "sha256", "approved_at", "keys"}:
        raise bad
    path, digest, when, keys = entry["path"], entry["sha256"], entry["approved_at"], entry["keys"]
    if not (isinstance(path, str) and os.path.isabs(path) and isinstance(when, str)):
        raise bad
    if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        raise bad
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise bad
    return Approval(path, digest, when, tuple(keys))


def _update(change: Callable[[list[Approval]], list[Approval] | None]) -> None:
    """Read the store, apply ``change`` and write the result (None: leave it), under a lock."""
    store = store_path()
    try:
        with _locked(store):
            entries = change(_read_store(store))
            if entries is not None:
                _write_store(store, entries)
    except OSError as exc:
        raise PolicyError(f"cannot write approvals store {store} ({exc.strerror or exc})") from None


def _write_store(store: Path, entries: list[Approval]) -> None:
    document = {"format": _FORMAT, "approved": [a.to_dict() for a in entries]}
    fd, temp = tempfile.mkstemp(dir=store.parent, prefix=f".{store.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=1)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, store)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def _locked(store: Path) -> Iterator[None]:
    """Serialise read-modify-write of the store between processes (where flock exists), so a
    revocation is never undone by a concurrent approval."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(
        store.parent / f".{store.name}.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600
    )
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
