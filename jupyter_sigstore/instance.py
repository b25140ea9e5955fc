"""Which Sigstore instance to trust: public-good production, staging, or a ClientTrustConfig file."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import TrustConfigError, validation_summary
from .textfiles import read_json

if TYPE_CHECKING:
    from sigstore.models import ClientTrustConfig, TrustedRoot

#: The trust config to use when none is named (the CLI, the kernel's magics, the testing instance's tools).
TRUST_CONFIG_ENV = "JUPYTER_SIGSTORE_TRUST_CONFIG"


@dataclass(frozen=True)
class Instance:
    """A Sigstore instance: ``production`` (default), ``staging``, or a trust config file."""

    name: str = "production"
    trust_config: Path | None = None

    @classmethod
    def select(cls, *, staging: bool = False, trust_config: str | Path | None = None) -> Instance:
        """Pick the instance from CLI-style options (a trust config wins over ``staging``)."""
        if trust_config is not None and staging:
            raise TrustConfigError("--staging and --trust-config cannot be combined")
        if trust_config is not None:
            return cls("custom", Path(trust_config))
        return cls("staging" if staging else "production")

    @property
    def is_public_good(self) -> bool:
        """True for the public-good production instance (whose log has a public search page)."""
        return self.name == "production"

    def client_trust_config(self, *, offline: bool) -> ClientTrustConfig:
        """The sigstore ClientTrustConfig for this instance.

        ``offline`` uses the embedded or cached trusted root without a TUF refresh (our default,
        documented; sigstore's warning about it on every load is silenced).
        """
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import ClientTrustConfig

        if offline:
            _quiet_offline_notice()
        if self.trust_config is not None:
            return _load_trust_config(self.trust_config)
        try:
            if self.name == "staging":
                return ClientTrustConfig.staging(offline=offline)
            return ClientTrustConfig.production(offline=offline)
        except SigstoreError as exc:
            raise TrustConfigError(f"cannot load the {self.name} trusted root: {exc}") from exc
        except OSError as exc:
            raise TrustConfigError(f"cannot refresh the {self.name} trusted root (offline?): {exc}") from exc

    def trusted_root(self) -> TrustedRoot:
        """The trusted root used for verification, never refreshed over the network."""
        return self.client_trust_config(offline=True).trusted_root


def _load_trust_config(path: Path) -> ClientTrustConfig:
    from sigstore.models import ClientTrustConfig

    text, _ = read_json(path, "trust config", TrustConfigError)
    try:
        return ClientTrustConfig.from_json(text)
    except Exception as exc:  # sigstore raises assorted errors for a bad config
        raise TrustConfigError(
            f"trust config {path} is not a Sigstore ClientTrustConfig: {validation_summary(exc)}"
        ) from exc


class _DropOfflineNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "loaded in offline mode" not in record.getMessage()


_OFFLINE_FILTER = _DropOfflineNotice()


def _quiet_offline_notice() -> None:
    logger = logging.getLogger("sigstore._internal.tuf")
    if _OFFLINE_FILTER not in logger.filters:
        logger.addFilter(_OFFLINE_FILTER)
