"""The cached public-good trusted roots: on-demand TUF refresh and a staleness warning.

Verification never touches the network: it uses the trusted root that sigstore-python keeps in
``$XDG_CACHE_HOME/sigstore-python/tuf/<repository>/trusted_root.json`` (first copied there from the
root embedded in the sigstore wheel). ``jupyter-sigstore trust update`` runs a TUF refresh, which
verifies and stores new metadata under ``$XDG_DATA_HOME/sigstore-python/tuf/<repository>/``; the
time of the last successful refresh is the modification time of the TUF ``timestamp.json`` there.
A private instance given with ``--trust-config`` is the user's to keep current and is never refreshed.
"""

from __future__ import annotations

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
    embedded_at: float | None  # when the root embedded in the sigstore wheel was installed

    @property
    def age_days(self) -> float | None:
        """Days since the root was last refreshed (or installed, when it never was)."""
        since = self.refreshed_at if self.refreshed_at is not None else self.embedded_at
        return None if since is None else (time.time() - since) / 86400

    def describe(self) -> str:
        """One line for ``trust status``."""
        if self.refreshed_at is not None:
            when = f"last refreshed {_iso(self.refreshed_at)}"
        elif self.embedded_at is not None:
            when = (
                f"never refreshed; using the root shipped with sigstore (installed {_iso(self.embedded_at)})"
            )
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
    embedded = _embedded_root(url)
    return RootState(
        name=name,
        url=url,
        cached_root=cache / "trusted_root.json",
        refreshed_at=stamp.stat().st_mtime if stamp.is_file() else None,
        embedded_at=embedded.stat().st_mtime if embedded is not None else None,
    )


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
        "last refreshed"
        if state.refreshed_at is not None
        else "never refreshed; the shipped copy was installed"
    )
    return (
        f"warning: the {instance_name} trusted root was {what} {int(age)} days ago; new Sigstore keys "
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
