"""Signing a notebook and its data outputs: one statement, one signature, stored with the notebook."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import rfc8785

from .errors import SigningError, UsageError, first_line
from .outputs import OutputDigest, OutputOptions, hash_outputs, select_outputs
from .statement import build_statement
from .storage import (
    LoadedNotebook,
    atomic_write,
    check_writable,
    digest_of,
    existing_entries,
    load_notebook,
    save_notebook,
    sidecar_path,
    with_signatures,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from sigstore.oidc import IdentityToken

    from .instance import Instance
    from .statement import Provenance


class StatementSigner(Protocol):
    """A signing backend: turns an in-toto statement into a Sigstore bundle (JSON text)."""

    @property
    def identity(self) -> str | None:
        """Who will sign, when known before signing (used to refuse a self-countersignature)."""
        ...

    def sign_statement(self, statement: dict[str, Any]) -> str: ...


@dataclass
class KeylessSigner:
    """Sigstore keyless signing: Fulcio certificate for the token's identity, Rekor entry, optional TSA."""

    instance: Instance
    token: IdentityToken

    @property
    def identity(self) -> str | None:
        return str(self.token.identity)

    def sign_statement(self, statement: dict[str, Any]) -> str:
        from sigstore import dsse
        from sigstore.errors import Error as SigstoreError
        from sigstore.sign import SigningContext

        config = self.instance.client_trust_config(offline=False)
        try:
            context = SigningContext.from_trust_config(config)
            # cache=True is required: with cache=False, sigstore 4.5.1 makes a fresh key on every
            # access, so the certificate and the signature would belong to different keys.
            with context.signer(self.token, cache=True) as signer:
                bundle = signer.sign_dsse(dsse.Statement(rfc8785.dumps(statement)))
        except SigstoreError as exc:
            raise SigningError(f"signing failed: {first_line(exc)}") from None
        except OSError as exc:
            raise SigningError(f"signing failed: cannot reach the Sigstore instance ({exc})") from None
        return bundle.to_json()


@dataclass
class SignResult:
    """What a signing act wrote."""

    notebook: Path
    notebook_digest: str
    outputs: list[OutputDigest]
    bundle_json: str
    sidecar: Path | None = None
    replaced: int = 0
    signatures: int = 1
    notes: list[str] = field(default_factory=list)


@dataclass
class PreparedSignature:
    """A signature made over an in-memory notebook, ready to be stored."""

    entry: dict[str, Any]
    bundle_json: str
    notebook_digest: str
    outputs: list[OutputDigest]
    notes: list[str] = field(default_factory=list)


def sign_content(
    nb: dict[str, Any],
    path: Path,
    signer: StatementSigner,
    *,
    outputs: list[str] | None = None,
    allow_outside: bool = False,
    countersign: bool = False,
    earlier_keys: Sequence[EllipticCurvePublicKey] = (),
    instance: Instance | None = None,
    base: Path | None = None,
    output_options: OutputOptions | None = None,
) -> PreparedSignature:
    """Sign an in-memory notebook that lives (or will be saved) at ``path`` and its data outputs.

    Returns the embedded metadata entry; nothing is written. Every check that can fail runs before
    the signer is called, so a refusal leaves no log entry. ``output_options`` sets exclude rules,
    symlink following, hashing threads and the progress bar; outputs may be files, folders, patterns.
    A countersignature first verifies the existing signatures; ``earlier_keys`` are the public keys
    of earlier signers who signed with a local key.
    """
    digest = digest_of(nb, path)
    if countersign:
        if outputs:
            raise UsageError(
                "a countersignature covers exactly the notebook and outputs that the first signature "
                "covers; drop --output"
            )
        reference = _countersign_reference(nb, path, signer, instance, allow_outside, earlier_keys)
        hashed = list(reference.outputs)
        statement = build_statement(path.name, digest, hashed, output_rules=reference.output_rules)
        notes: list[str] = []
    else:
        options = output_options or OutputOptions()
        selection = select_outputs(
            path, outputs or [], options=options, allow_outside=allow_outside, base=base
        )
        hashed = hash_outputs(selection.files, jobs=options.jobs, progress=options.progress)
        statement = build_statement(path.name, digest, hashed, output_rules=selection.rules)
        notes = selection.notes
    bundle_json = signer.sign_statement(statement)
    return PreparedSignature({"bundle": json.loads(bundle_json)}, bundle_json, digest.digest, hashed, notes)


def sign_notebook(
    notebook: str | Path | LoadedNotebook,
    signer: StatementSigner,
    *,
    outputs: list[str] | None = None,
    sidecar: bool = False,
    detached: bool = False,
    allow_outside: bool = False,
    countersign: bool = False,
    earlier_keys: Sequence[EllipticCurvePublicKey] = (),
    instance: Instance | None = None,
    base: Path | None = None,
    output_options: OutputOptions | None = None,
) -> SignResult:
    """Sign a notebook file and its data outputs, and store the signature with the notebook.

    A refusal (unreadable or unwritable notebook, missing or outside outputs) happens before
    signing and leaves every file as it was. ``notebook`` may be an already loaded notebook: the
    file is then written only if it still holds the bytes read then.
    """
    loaded = notebook if isinstance(notebook, LoadedNotebook) else load_notebook(Path(notebook))
    path = loaded.path
    check_writable(path)
    prepared = sign_content(
        loaded.nb,
        path,
        signer,
        outputs=outputs,
        allow_outside=allow_outside,
        countersign=countersign,
        earlier_keys=earlier_keys,
        instance=instance,
        base=base,
        output_options=output_options,
    )
    bundle_json = prepared.bundle_json
    side = sidecar_path(path) if (sidecar or detached) else None
    previous = existing_entries(loaded.nb) if countersign else []
    old_sidecar: bytes | None = None
    if side is not None:
        if countersign and side.exists():
            side = _next_free_sidecar(path)
        if side.exists():
            old_sidecar = side.read_bytes()
        atomic_write(side, bundle_json.encode("utf-8"))
    entry = prepared.entry
    if detached:
        assert side is not None
        entry = {
            "bundleRef": {
                "path": side.name,
                "sha256": hashlib.sha256(bundle_json.encode("utf-8")).hexdigest(),
            }
        }
    entries = [*previous, entry]
    try:
        save_notebook(loaded, with_signatures(loaded.nb, entries))
    except BaseException:
        if side is not None:  # leave the sidecar as it was
            if old_sidecar is None:
                side.unlink(missing_ok=True)
            else:
                atomic_write(side, old_sidecar)
        raise
    return SignResult(
        notebook=path,
        notebook_digest=prepared.notebook_digest,
        outputs=prepared.outputs,
        bundle_json=bundle_json,
        sidecar=side,
        replaced=0 if countersign else len(existing_entries(loaded.nb)),
        signatures=len(entries),
        notes=prepared.notes,
    )


def _next_free_sidecar(notebook: Path) -> Path:
    for n in range(2, 1000):
        candidate = notebook.with_name(f"{notebook.name}.{n}.sigstore.json")
        if not candidate.exists():
            return candidate
    raise UsageError(f"too many sidecar bundles beside {notebook}")


def _countersign_reference(
    nb: dict[str, Any],
    path: Path,
    signer: StatementSigner,
    instance: Instance | None,
    allow_outside: bool,
    earlier_keys: Sequence[EllipticCurvePublicKey],
) -> Provenance:
    """What a countersignature vouches for: exactly what the newest signature covers, which must
    still hold (every existing signature valid and covering the notebook and outputs as they are)."""
    from .instance import Instance
    from .keys import is_key_bundle
    from .storage import read_signatures
    from .verifying import verify_bundle_text, verify_notebook_content

    instance = instance or Instance()
    stored = read_signatures(nb, path)
    if not earlier_keys:
        for sig in stored:
            bundle = _json_object(sig.bundle_text)
            if bundle is not None and is_key_bundle(bundle):
                raise UsageError(
                    f"refusing to countersign {path}: {sig.source} was made with a local key, which "
                    "verifies only with its public key; pass it with --earlier-key PUB"
                )
    report = verify_notebook_content(
        nb, path, stored, instance=instance, allow_outside=allow_outside, keys=earlier_keys
    )
    if report.status == "unsigned":
        raise UsageError(f"{path} has no signature to countersign; sign it first")
    if report.status in ("invalid", "modified"):
        raise UsageError(f"refusing to countersign {path}: it is {report.status} ({report.summary})")
    if signer.identity is not None and any(s.identity == signer.identity for s in report.signatures):
        raise UsageError(f"{signer.identity} already signed {path}; a countersignature needs another signer")
    newest = stored[-1]
    assert newest.bundle_text is not None  # a readable, valid signature: checked by the report above
    return verify_bundle_text(
        newest.bundle_text, newest.source, instance, allow_outside=allow_outside, keys=earlier_keys
    ).provenance


def _json_object(text: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text is not None else None
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
