"""The options of the API's operations (:mod:`jupyter_sigstore.api`): what to sign, how to verify, and a
notebook held in memory by an editor."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

    from .instance import Instance
    from .policy import TrustPolicy
    from .rules import Rules
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
    current directory), and URLs (``s3://bucket/key``, prefixes ending in ``/``, URL patterns; see
    docs/object-storage.md), hashed where they live (on the Dask cluster at ``dask`` if given);
    ``displayed_files`` adds the local files the notebook displays (markdown images, HTML
    ``src``...); ``tracked`` adds the outputs declared in the notebook with ``%sigstore track``
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
    dask: str | None = None


RemoteChecks = Literal["trusted", "always", "never"]


@dataclass(frozen=True)
class VerifyOptions:
    """Whom to trust and how to check.

    ``root`` is the folder displayed files must stay inside (default: the notebook's folder; the
    server passes its root). ``bundles`` replace the signatures stored with the notebook; ``keys`` are
    public keys that
    local-key signatures may verify with (besides those the policy names); ``jobs`` and ``progress``
    control how outputs are re-hashed. ``remote`` says when the URLs of remote outputs are read:
    ``trusted`` (only for signatures the policy trusts: a stranger's signature cannot make you fetch
    URLs with your credentials), ``always``, or ``never`` (they are reported ``not-checked``);
    ``dask`` is a Dask scheduler address to hash them on.
    """

    policy: TrustPolicy | None = None
    instance: Instance | None = None
    root: Path | None = None
    bundles: tuple[Path, ...] = ()
    allow_outside: bool = False
    keys: tuple[EllipticCurvePublicKey, ...] = ()
    jobs: int | None = None
    progress: bool = False
    remote: RemoteChecks = "trusted"
    dask: str | None = None


@dataclass(frozen=True)
class RunOptions:
    """How ``run`` executes and signs a notebook.

    ``parameters`` are ``(name, text)`` pairs read as papermill reads ``-p`` values;
    ``secret_parameters`` reach the kernel through its environment and are recorded as digests only.
    ``inputs`` and ``outputs`` are paths relative to ``base`` (default: the current directory).
    The kernel's environment is scrubbed of credentials; ``pass_env`` names variables (``NAME`` or
    ``NAME=VALUE``) to pass on anyway. ``executed`` writes the executed notebook there instead of over
    the source. ``use_tracked`` honours what the notebook tracked (``%sigstore track``).
    """

    parameters: tuple[tuple[str, str], ...] = ()
    secret_parameters: tuple[tuple[str, str], ...] = ()
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    executed: Path | None = None
    base: Path | None = None
    kernel_name: str | None = None
    timeout: float | None = None
    allow_errors: bool = False
    pass_env: tuple[str, ...] = ()
    use_tracked: bool = True
    allow_outside: bool = False
    instance: Instance | None = None


@dataclass(frozen=True)
class ReproduceOptions:
    """How ``reproduce`` checks a notebook: it verifies against ``policy`` first and refuses to
    execute what does not verify, unless ``allow_untrusted``. ``rules`` are the normalisation rules
    (default: the defaults, plus the policy's); ``keys`` verify local-key signatures."""

    policy: TrustPolicy | None = None
    instance: Instance | None = None
    rules: Rules | None = None
    allow_untrusted: bool = False
    kernel_name: str | None = None
    timeout: float | None = None
    pass_env: tuple[str, ...] = ()
    secret_parameters: tuple[tuple[str, str], ...] = ()
    keys: tuple[EllipticCurvePublicKey, ...] = ()
    keep_scratch: bool = False
