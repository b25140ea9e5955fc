"""The cached public-good trusted roots: on-demand TUF refresh and a staleness warning.

Verification never touches the network: it uses the trusted root that sigstore-python keeps in
``$XDG_CACHE_HOME/sigstore-python/tuf/<repository>/trusted_root.json`` (first copied there from the
root embedded in the sigstore wheel). ``jupyter-sigstore trust update`` runs a TUF refresh, which
verifies and stores new metadata under ``$XDG_DATA_HOME/sigstore-python/tuf/<repository>/``; the
time of the last successful refresh is the modification time of the TUF ``timestamp.json`` there. A root
that was never refreshed is dated by what it carries: the newest validity start of its keys.
A private instance given with ``--trust-config`` is the user's to keep current and is never refreshed.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib import parse

from .errors import TrustConfigError

#: Warn when the trusted root was last refreshed longer ago than this.
STALE_AFTER_DAYS = 30

_TUF_URLS = {
    "production": "https://tuf-repo-cdn.sigstore.dev",
    "staging": "https://tuf-repo-cdn.sigstage.dev",
}


def _dirs(url: str) -> tuple[Path, Path]:
    """(TUF metadata dir, targets cache dir) for a repository, where sigstore-python keeps them."""
    import platformdirs

    quoted = parse.quote(url, safe="")
    data = Path(platformdirs.user_data_dir("sigstore-python", "sigstore")) / "tuf" / quoted
    cache = Path(platformdirs.user_cache_dir("sigstore-python", "sigstore")) / "tuf" / quoted
    return data, cache


def _embedded_root(url: str) -> Path | None:
    """The trusted root shipped inside the sigstore wheel for a public-good repository."""
    import sigstore

    path = Path(sigstore.__file__).parent / "_store" / parse.quote(url, safe="") / "trusted_root.json"
    return path if path.is_file() else None


@dataclass(frozen=True)
class RootState:
    """Where an instance's trusted root comes from and when it was last refreshed."""

    name: str
    url: str
    cached_root: Path
    refreshed_at: float | None  # epoch seconds of the last successful TUF refresh, if any
    dated: float | None  # the newest validity start of a key in the root in use (epoch seconds)

    @property
    def age_days(self) -> float | None:
        """Days since the root was last refreshed, or, when it never was, since the newest key in it
        became valid (how old the information it carries is, at least)."""
        since = self.refreshed_at if self.refreshed_at is not None else self.dated
        return None if since is None else (time.time() - since) / 86400

    def describe(self) -> str:
        """One line for ``trust status``."""
        if self.refreshed_at is not None:
            when = f"last refreshed {_iso(self.refreshed_at)}"
        elif self.dated is not None:
            when = f"never refreshed; the root in use dates from {_iso(self.dated)} (its newest key)"
        else:
            when = "never refreshed"
        age = self.age_days
        stale = " - STALE, run `jupyter-sigstore trust update`" if age and age > STALE_AFTER_DAYS else ""
        return f"{self.name}: {self.url}, {when}{stale}"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def root_state(name: str) -> RootState:
    """The cache state of the ``production`` or ``staging`` trusted root."""
    url = _TUF_URLS[name]
    data, cache = _dirs(url)
    stamp = data / "timestamp.json"
    cached = cache / "trusted_root.json"
    in_use = cached if cached.is_file() else _embedded_root(url)
    return RootState(
        name=name,
        url=url,
        cached_root=cached,
        refreshed_at=stamp.stat().st_mtime if stamp.is_file() else None,
        dated=root_date(in_use) if in_use is not None else None,
    )


def root_date(path: Path) -> float | None:
    """The newest ``validFor.start`` among the keys of a trusted root file (epoch seconds)."""
    import json

    try:
        root = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(root, dict):
        return None
    starts: list[float] = []
    for kind in ("tlogs", "ctlogs", "certificateAuthorities", "timestampAuthorities"):
        for entry in root.get(kind) or []:
            if not isinstance(entry, dict):
                continue
            valid = entry.get("validFor") or (entry.get("publicKey") or {}).get("validFor") or {}
            start = valid.get("start") if isinstance(valid, dict) else None
            if isinstance(start, str):
                with contextlib.suppress(ValueError):
                    starts.append(datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp())
    return max(starts, default=None)


def stale_warning(instance_name: str) -> str | None:
    """A warning line when a public-good trusted root is older than STALE_AFTER_DAYS, else None."""
    if instance_name not in _TUF_URLS:
        return None
    state = root_state(instance_name)
    age = state.age_days
    if age is None or age <= STALE_AFTER_DAYS:
        return None
    flag = " --staging" if instance_name == "staging" else ""
    what = (
        f"was last refreshed {int(age)} days ago"
        if state.refreshed_at is not None
        else f"was never refreshed and its newest key is {int(age)} days old"
    )
    return (
        f"warning: the {instance_name} trusted root {what}; new Sigstore keys "
        f"will not verify until you run `jupyter-sigstore trust update{flag}` while online"
    )


def update_trust_root(*, staging: bool = False) -> str:
    """Refresh the trusted root over TUF; return a one-line summary. Raises TrustConfigError when
    the repository cannot be reached (the cached root stays in use)."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import ClientTrustConfig

    name = "staging" if staging else "production"
    before = root_state(name)
    try:
        config = (
            ClientTrustConfig.staging(offline=False)
            if staging
            else ClientTrustConfig.production(offline=False)
        )
    except (SigstoreError, OSError) as exc:
        cause = exc.__cause__ or exc
        kept = (
            f"last refreshed {_iso(before.refreshed_at)}"
            if before.refreshed_at is not None
            else "the shipped copy"
        )
        raise TrustConfigError(
            f"cannot refresh the {name} trusted root: {before.url} is unreachable (offline?) "
            f"[{type(cause).__name__}]; verification keeps using the cached root ({kept})"
        ) from None
    after = root_state(name)
    # TUF only writes timestamp.json when the repository's timestamp changed; mark the check anyway.
    stamp = _dirs(after.url)[0] / "timestamp.json"
    if stamp.is_file():
        stamp.touch()
    tlogs = len(config.trusted_root._inner.tlogs)
    cas = len(config.trusted_root._inner.certificate_authorities)
    return f"updated the {name} trusted root from {after.url} ({tlogs} transparency logs, {cas} CAs)"


def trust_status() -> str:
    """Lines describing the production and staging roots' cache state."""
    return "\n".join(root_state(name).describe() for name in _TUF_URLS)
