"""Signing a notebook and its data outputs: one statement, one signature, stored with the notebook.

:func:`sign_notebook` is the one place that builds a signature, for a file on disk and for an editor's
in-memory model alike. Every check that can fail runs before the signer is called, so a refusal
leaves no log entry and no file changed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import rfc8785

from .bundles import claimed_signer, log_index
from .canonical import NotebookDigest, check_nbformat, digest_of
from .errors import NotebookError, SigningError, UsageError, first_line
from .manifest import (
    MANIFEST_THRESHOLD,
    ManifestRef,
    describe,
    holds_other,
    manifest_name,
    read_manifest,
)
from .nbfile import NBFORMAT_STYLE, LoadedNotebook, atomic_write, check_writable, load_notebook
from .options import NotebookModel, SignOptions
from .outputs import OutputDigest, OutputOptions, hash_outputs, paused_gc, select_outputs
from .statement import build_statement
from .storage import (
    StoragePlan,
    existing_entries,
    plan_signature,
    read_signatures,
    tracked_outputs,
    with_block,
)

if TYPE_CHECKING:
    from sigstore.oidc import IdentityToken

    from .instance import Instance
    from .outputs import OutputRules
    from .remote.listing import RemoteRules
    from .remote.objects import RemoteDigest
    from .statement import Provenance


class StatementSigner(Protocol):
    """A signing backend: turns an in-toto statement into a Sigstore bundle (JSON text)."""

    @property
    def identity(self) -> str | None:
        """Who will sign, when known before signing."""
        ...

    @property
    def issuer(self) -> str | None:
        """The identity's issuer (for a local key: ``(public key)``)."""
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

    @property
    def issuer(self) -> str | None:
        return str(self.token.federated_issuer or self.token.issuer)

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
        except Exception as exc:  # sigstore's Fulcio, Rekor and TSA clients raise plain exceptions
            reason = _service_refusal(exc)
            if reason is None:
                raise
            raise SigningError(f"signing failed: {reason}") from None
        return bundle.to_json()


_SERVICES = {
    "FulcioClientError": "Fulcio",
    "RekorClientError": "Rekor",
    "TimestampError": "the timestamp authority",
}


def _service_refusal(exc: BaseException) -> str | None:
    """What a Sigstore service answered when it refused a request: its name, the HTTP status and its
    message (sigstore-python drops the message from Fulcio's errors); None for other exceptions."""
    service = _SERVICES.get(type(exc).__name__)
    if service is None:
        return None
    response = None
    cause: BaseException | None = exc
    while cause is not None and response is None:
        response = getattr(cause, "response", None)
        cause = cause.__cause__ or cause.__context__
    detail = first_line(exc) if str(exc).strip() else ""
    if response is not None and getattr(response, "status_code", None) is not None:
        message = detail or _response_message(response)
        status = f"HTTP {response.status_code} {getattr(response, 'reason', '') or ''}".strip()
        return f"{service} refused the request ({status}){': ' + message if message else ''}"
    return f"{service} failed: {detail or type(exc).__name__}"


def _response_message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        text = str(getattr(response, "text", "") or "").strip()
        return text.splitlines()[0][:200] if text else ""
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "detail"):
            if isinstance(body.get(key), str) and body[key].strip():
                return str(body[key]).strip().splitlines()[0][:200]
    return ""


@dataclass(frozen=True)
class SignResult:
    """What a signing act made: the signature and the ``metadata.sigstore`` block that holds it.

    ``written`` is True when a notebook file was updated; for an in-memory model the caller puts
    ``block`` into the model's metadata and saves it. ``kept`` earlier signatures stay with the new
    one; ``dropped`` names the earlier signers whose signatures it replaced.
    """

    notebook: Path
    notebook_digest: str
    profile: str
    outputs: tuple[OutputDigest | RemoteDigest, ...]
    bundle_json: str
    block: dict[str, Any]
    identity: str | None
    issuer: str | None
    log_index: int | None
    written: bool
    sidecar: Path | None = None
    kept: int = 0
    dropped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    manifest: Path | None = None
    """The outputs manifest written beside the notebook (more than MANIFEST_THRESHOLD outputs)."""

    @property
    def signatures(self) -> int:
        """How many signatures the notebook holds now."""
        return self.kept + 1

    def outputs_json(self) -> list[dict[str, Any]]:
        """The signed outputs as JSON: path (a URL for a remote one), sha256, size, and for remote
        outputs the version id and ETag signed (when the store gave them)."""
        entries = []
        for out in self.outputs:
            entry: dict[str, Any] = {"path": out.path, "sha256": out.sha256, "size": out.size}
            for key in ("version_id", "etag"):
                if getattr(out, key, None) is not None:
                    entry[key] = getattr(out, key)
            entries.append(entry)
        return entries


def sign_notebook(
    target: Path | LoadedNotebook | NotebookModel, signer: StatementSigner, options: SignOptions
) -> SignResult:
    """Sign a notebook (a file, or an in-memory model) and its data outputs.

    A file is written once (the signature, and the tracked outputs with ``options.track``), and only if
    it still holds the bytes read before signing; a sidecar goes beside it. A model is not written.
    """
    loaded: LoadedNotebook | None = None
    form_notes: list[str] = []
    if isinstance(target, NotebookModel):
        # an editor's model is signed as the editor will save it
        path, stored = target.path, check_nbformat(target.content)
        nb, digest = stored, digest_of(stored, path)
    else:
        loaded = target if isinstance(target, LoadedNotebook) else load_notebook(target)
        path, stored = loaded.path, loaded.nb
        check_writable(path)
        # A file is first put in the form JupyterLab saves (a countersignature leaves it as it is)
        if options.countersign:
            nb, digest = stored, digest_of(stored, path)
        else:
            nb, digest, form_notes = in_jupyterlab_form(stored, path)
    if options.countersign and options.upgrade:
        raise UsageError("--countersign and upgrade cannot be combined")
    if options.countersign or options.upgrade:
        if options.outputs or options.tracked:
            raise UsageError(
                "a countersignature or an upgrade covers exactly the notebook and outputs that the newest "
                "signature covers; drop --output"
            )
        reference = _reference(stored, path, signer, options)
        chosen = _Chosen(
            list(reference.outputs),
            reference.output_rules,
            list(reference.remote_outputs),
            reference.remote_rules,
            [],
        )
    else:
        with paused_gc():
            chosen = _hash_outputs(nb, path, options)
    chosen = chosen._replace(notes=[*form_notes, *chosen.notes])
    keep, dropped = _earlier_signatures(nb, signer, options)
    manifest: _Manifest | None = None
    if len(chosen.local) > MANIFEST_THRESHOLD:
        folder = Path(os.path.realpath(path)).parent
        with paused_gc():
            ref, data = describe(chosen.local, manifest_name(path))
        if keep and holds_other(folder / ref.path, data):
            # another signature that stays may name the manifest there: it must keep verifying
            ref = replace(ref, path=manifest_name(path, ref.sha256))
        manifest = _Manifest(ref, folder / ref.path, data)
        if not os.access(manifest.target.parent, os.W_OK | os.X_OK):  # a file's folder was checked
            raise NotebookError(
                f"folder {manifest.target.parent} is not writable, and {len(chosen.local)} outputs need "
                f"the manifest {ref.path} there; nothing was signed"
            )
    statement = build_statement(
        path.name,
        digest,
        [] if manifest is not None else chosen.local,
        output_rules=chosen.rules,
        remote_outputs=chosen.remote,
        remote_rules=chosen.remote_rules,
        manifest=manifest.ref if manifest is not None else None,
    )
    bundle_json = signer.sign_statement(statement)
    plan = plan_signature(nb, path, bundle_json, options.placement, keep, dropped)
    block = plan.block
    if options.track:
        block = {**block, "tracked": list(dict.fromkeys([*tracked_outputs(nb), *options.track]))}
    if loaded is not None:
        _write(loaded, with_block(nb, block), plan, manifest, rewritten=nb is not stored)
    elif manifest is not None:  # an editor's model: the editor saves the notebook, not its manifest
        atomic_write(manifest.target, manifest.data)
    return SignResult(
        notebook=path,
        notebook_digest=digest.digest,
        profile=digest.profile,
        outputs=(*chosen.local, *chosen.remote),
        bundle_json=bundle_json,
        block=block,
        identity=signer.identity,
        issuer=signer.issuer,
        log_index=log_index(json.loads(bundle_json)),
        written=loaded is not None,
        sidecar=plan.sidecar,
        kept=plan.kept,
        dropped=plan.dropped,
        notes=tuple(chosen.notes),
        manifest=manifest.target if manifest is not None else None,
    )


class _Manifest(NamedTuple):
    """The outputs manifest of a signing act: as the statement names it, where it goes, its bytes."""

    ref: ManifestRef
    target: Path
    data: bytes


class _Chosen(NamedTuple):
    """What a signature covers besides the notebook: local outputs and rules, remote ones, notes."""

    local: list[OutputDigest]
    rules: OutputRules | None
    remote: list[RemoteDigest]
    remote_rules: RemoteRules | None
    notes: list[str]


def _hash_outputs(nb: dict[str, Any], path: Path, options: SignOptions) -> _Chosen:
    from .remote.scheme import is_url

    urls = [spec for spec in options.outputs if is_url(spec)]
    specs = [spec for spec in options.outputs if not is_url(spec)]
    notes: list[str] = []
    if options.displayed_files:
        shown = _displayed(nb, path)
        specs += [f for f in shown if f not in specs]
        if shown:
            notes.append(
                f"signed {len(shown)} file(s) the notebook displays (--no-displayed-files leaves them out)"
            )
    if options.tracked:
        # tracked outputs are relative to the notebook's folder
        folder = path.resolve().parent
        for name in tracked_outputs(nb):
            if is_url(name):
                urls += [name] if name not in urls else []
            elif str(folder / name) not in specs:
                specs.append(str(folder / name))
    selection = select_outputs(
        path,
        specs,
        options=OutputOptions(
            exclude=options.exclude,
            follow_symlinks=options.follow_symlinks,
            jobs=options.jobs,
            progress=options.progress,
        ),
        allow_outside=options.allow_outside,
        base=options.base,
    )
    remote: list[RemoteDigest] = []
    remote_rules: RemoteRules | None = None
    if urls:  # listed and hashed first: a store that refuses costs no local hashing
        from .remote.checking import sign_remote

        signed = sign_remote(
            urls, exclude=options.exclude, jobs=options.jobs, dask=options.dask, progress=options.progress
        )
        remote, remote_rules, notes = signed.digests, signed.rules, [*notes, *signed.notes]
    hashed = hash_outputs(selection.files, jobs=options.jobs, progress=options.progress)
    return _Chosen(hashed, selection.rules, remote, remote_rules, [*notes, *selection.notes])


def _displayed(nb: dict[str, Any], path: Path) -> list[str]:
    """The local files inside the notebook's folder that its cells display (markdown images, HTML
    ``src``...), as absolute paths; files outside it are reported at verification, not signed."""
    from .references import displayed_files, resolve_local

    found = (resolve_local(ref, path) for ref in displayed_files(nb, path).local())
    return list(dict.fromkeys(str(f) for f in found if f is not None))


def _earlier_signatures(
    nb: dict[str, Any], signer: StatementSigner, options: SignOptions
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """Which earlier signature entries stay: all for a countersignature, none with ``replace``, and
    otherwise every one except the signer's own (a re-signing supersedes them). An entry whose signer
    cannot be read is kept, never dropped silently."""
    entries = existing_entries(nb)
    if options.countersign:
        return entries, ()
    if options.replace:
        return [], tuple(_describe(e) for e in entries)
    me = (signer.identity, signer.issuer)
    keep, dropped = [], []
    for entry in entries:
        if isinstance(entry.get("bundle"), dict) and claimed_signer(entry["bundle"]) == me:
            dropped.append(_describe(entry))
        else:
            keep.append(entry)
    return keep, tuple(dropped)


def _describe(entry: dict[str, Any]) -> str:
    claim = claimed_signer(entry["bundle"]) if isinstance(entry.get("bundle"), dict) else None
    if claim is None:
        ref = entry.get("bundleRef")
        return f"detached signature {ref.get('path')}" if isinstance(ref, dict) else "an unreadable signature"
    return claim[0]


def in_jupyterlab_form(
    stored: dict[str, Any], path: Path
) -> tuple[dict[str, Any], NotebookDigest, list[str]]:
    """The notebook to sign and write: ``stored`` itself when JupyterLab would save content with the
    same digest (its bytes and style are kept), else its lab form (:mod:`labform`), with notes on
    what changed. Either way the digest is of exactly what will be written; the notebook returned is
    ``stored`` when nothing needs rewriting."""
    from .labform import lab_form

    digest = digest_of(stored, path)
    try:
        form, notes = lab_form(stored)
    except NotebookError as exc:
        raise NotebookError(f"{path}: JupyterLab could not open and save it as it is: {exc}") from None
    form_digest = digest_of(form, path)
    if form_digest.digest == digest.digest:
        return stored, digest, []
    said = "; ".join(notes) if notes else "cell structure normalised"
    note = f"written in the form JupyterLab saves it, so it still verifies after a save there: {said}"
    return form, form_digest, [note]


def _write(
    loaded: LoadedNotebook,
    nb: dict[str, Any],
    plan: StoragePlan,
    manifest: _Manifest | None,
    *,
    rewritten: bool,
) -> None:
    """Write the outputs manifest and the sidecar (if any), then the notebook (in nbformat's style
    when it was rewritten in the lab form, else its own); put the files back if the notebook fails."""
    written: list[tuple[Path, bytes | None]] = []
    extra = [(plan.sidecar, plan.sidecar_bytes)]
    if manifest is not None:
        extra.insert(0, (manifest.target, manifest.data))
    try:
        for target, data in extra:
            if target is not None and data is not None:
                written.append((target, target.read_bytes() if target.exists() else None))
                atomic_write(target, data)
        style = NBFORMAT_STYLE if rewritten else loaded.style
        atomic_write(loaded.path, style.dumps(nb).encode("utf-8"), expect=loaded.raw)
    except BaseException:
        for target, old in reversed(written):
            if old is None:
                target.unlink(missing_ok=True)
            else:
                atomic_write(target, old)
        raise


def _reference(nb: dict[str, Any], path: Path, signer: StatementSigner, options: SignOptions) -> Provenance:
    """What a countersignature or an upgrade vouches for: exactly what the newest signature that
    covers the notebook as it is covers (notebook and outputs). The notebook must verify: no invalid
    signature, and some signature covering it."""
    from .bundles import is_key_bundle
    from .instance import Instance
    from .options import VerifyOptions
    from .verifying import VerifiedSignature, judge, verify_bundle_text

    act = "countersign" if options.countersign else "upgrade"
    instance = options.instance or Instance()
    stored = read_signatures(nb, path)
    if not options.earlier_keys:
        for sig in stored:
            bundle = _json_object(sig.bundle_text)
            if bundle is not None and is_key_bundle(bundle):
                raise UsageError(
                    f"refusing to {act} {path}: {sig.source} was made with a local key, which "
                    "verifies only with its public key; pass it with --earlier-key PUB"
                )
    report = judge(
        nb,
        path,
        stored,
        VerifyOptions(
            instance=instance,
            allow_outside=options.allow_outside,
            keys=options.earlier_keys,
            remote="always",  # whoever countersigns or upgrades vouches for the remote outputs too
            jobs=options.jobs,
            dask=options.dask,
        ),
    )
    if report.status == "unsigned":
        raise UsageError(f"{path} has no signature to {act}; sign it first")
    if report.status in ("invalid", "modified"):
        raise UsageError(f"refusing to {act} {path}: it is {report.status} ({report.summary})")
    covering = [s for s in report.signatures if s.covers_current]
    if options.countersign and any(s.identity == signer.identity for s in covering):
        raise UsageError(f"{signer.identity} already signed {path}; a countersignature needs another signer")
    covering_sources = {s.source for s in covering}
    for entry in reversed(stored):
        if entry.source not in covering_sources:
            continue
        assert entry.bundle_text is not None  # a valid signature: checked by the report
        verified = verify_bundle_text(
            entry.bundle_text,
            entry.source,
            instance,
            allow_outside=options.allow_outside,
            keys=options.earlier_keys,
        )
        if isinstance(verified, VerifiedSignature):
            return _with_manifest_outputs(verified.provenance, path, options.allow_outside)
    raise UsageError(f"{path} has no signature to {act}; sign it first")


def _with_manifest_outputs(provenance: Provenance, path: Path, allow_outside: bool) -> Provenance:
    """``provenance`` with the outputs its manifest lists, each with its size (a statement names
    outputs without sizes; verification just found their bytes unchanged)."""

    outputs = provenance.outputs
    if provenance.manifest is not None:
        listed = read_manifest(path, provenance.manifest, allow_parent=allow_outside)
        if not isinstance(listed, tuple):
            raise UsageError(f"{path}: {listed.reason}")
        outputs = listed
    folder = path.resolve().parent
    sized = tuple(OutputDigest(o.path, o.sha256, _size(folder / o.path)) for o in outputs)
    return replace(provenance, outputs=sized, manifest=None)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _json_object(text: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text is not None else None
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
