"""The options of the API's operations (:mod:`jupyter_sigstore.api`): what to sign, how to verify, and a
notebook held in memory by an editor."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

    from .instance import Instance
    from .policy import TrustPolicy
    from .storage import Placement


@dataclass(frozen=True)
class NotebookModel:
    """A notebook held in memory (an editor's model, a kernel's snapshot) that lives, or will be
    saved, at ``path``. Outputs are found relative to ``path``'s folder; nothing is written."""

    path: Path
    content: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class SignOptions:
    """What a signing act covers and where its signature goes.

    ``outputs`` are files, folders (recursive) and glob patterns relative to ``base`` (default: the
    current directory); ``displayed_files`` adds the local files the notebook displays (markdown
    images, HTML ``src``...); ``tracked`` adds the outputs declared in the notebook with ``%sigstore track``
    and ``track`` adds notebook-relative names to that declaration. Earlier signatures by other
    signers are kept (as history when they no longer cover the notebook); ``replace`` drops every
    earlier signature. ``countersign`` (another signer) and ``upgrade`` (re-signing with the current
    canonical profile) sign exactly what the newest signature covering the notebook covers, after
    verifying it.
    """

    outputs: tuple[str, ...] = ()
    base: Path | None = None
    exclude: tuple[str, ...] = ()
    follow_symlinks: bool = False
    allow_outside: bool = False
    tracked: bool = False
    track: tuple[str, ...] = ()
    countersign: bool = False
    upgrade: bool = False
    replace: bool = False
    earlier_keys: tuple[EllipticCurvePublicKey, ...] = ()
    placement: Placement = "embedded"
    displayed_files: bool = False
    instance: Instance | None = None
    jobs: int | None = None
    progress: bool = False


@dataclass(frozen=True)
class VerifyOptions:
    """Whom to trust and how to check.

    ``root`` is the folder displayed files must stay inside (default: the notebook's folder; the
    server passes its root). ``bundles`` replace the signatures stored with the notebook; ``keys`` are
    public keys that
    local-key signatures may verify with (besides those the policy names); ``jobs`` and ``progress``
    control how outputs are re-hashed.
    """

    policy: TrustPolicy | None = None
    instance: Instance | None = None
    root: Path | None = None
    bundles: tuple[Path, ...] = ()
    allow_outside: bool = False
    keys: tuple[EllipticCurvePublicKey, ...] = ()
    jobs: int | None = None
    progress: bool = False
