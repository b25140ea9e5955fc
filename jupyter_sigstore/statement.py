"""The signed statement: an in-toto Statement v1 with our notebook-provenance predicate.

Subjects are the notebook (its canonical digest) and each data output (SHA-256 of its bytes, named by
its path relative to the notebook, or by its URL), each listed once; above
:data:`~jupyter_sigstore.manifest.MANIFEST_THRESHOLD` local outputs, the outputs manifest beside the
notebook stands for them (:mod:`manifest`). The predicate records the canonicalisation profile and the
per-cell digests, so a verifier can say which cell changed. Statements of the first shape
(:data:`PREDICATE_TYPE_V1`: every output also in ``predicate.outputs``) still verify. See
``docs/metadata-schema.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import __version__
from .canonical import PROFILE_V2, PROFILES, NotebookDigest, combine_digests
from .errors import BundleError
from .manifest import ManifestRef
from .outputs import OutputDigest, OutputRules, check_relative_path

if TYPE_CHECKING:
    from .remote.listing import RemoteRules
    from .remote.objects import RemoteDigest

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://jupyter-sigstore.dev/notebook-provenance/v2"
PREDICATE_TYPE_V1 = "https://jupyter-sigstore.dev/notebook-provenance/v1"
"""The first shape: every output both a subject and an entry of ``predicate.outputs``."""
PREDICATE_TYPES = (PREDICATE_TYPE, PREDICATE_TYPE_V1)

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class SignedCell:
    """A cell as the signature recorded it."""

    cell_type: str
    digest: str
    cell_id: str | None


@dataclass(frozen=True)
class Provenance:
    """What one signature covers, parsed from a verified statement."""

    notebook_name: str
    notebook_digest: str
    metadata_digest: str
    profile: str
    cells: tuple[SignedCell, ...]
    outputs: tuple[OutputDigest, ...]
    predicate: dict[str, Any]
    output_rules: OutputRules | None = None
    """Directory/pattern specs and exclude rules the outputs were chosen with (None: files only)."""
    widgets_digest: str | None = None
    """The digest of the widget state (profile v2)."""
    remote_outputs: tuple[RemoteDigest, ...] = ()
    """Outputs named by URL (object storage), with the version id and ETag signed."""
    remote_rules: RemoteRules | None = None
    """Prefix/pattern URL specs and exclude rules the remote outputs were chosen with."""
    manifest: ManifestRef | None = None
    """The outputs manifest that lists the local outputs (``outputs`` is then empty: read it with
    :func:`~jupyter_sigstore.manifest.read_manifest`)."""


def build_statement(
    notebook_name: str,
    digest: NotebookDigest,
    outputs: list[OutputDigest],
    environment: dict[str, Any] | None = None,
    output_rules: OutputRules | None = None,
    remote_outputs: Sequence[RemoteDigest] = (),
    remote_rules: RemoteRules | None = None,
    manifest: ManifestRef | None = None,
) -> dict[str, Any]:
    """Build the in-toto Statement v1 (as a JSON dict) for one signing act.

    Each local output is a subject named by its path, each remote one a subject named by its URL
    (its size, version id and ETag in ``predicate.remoteOutputs``). With ``manifest`` the local
    outputs are not listed (``outputs`` must be empty): the manifest file is a subject instead.
    ``output_rules`` records the directories/patterns and exclude rules the outputs came from, so
    verification can name files added to a signed directory since; ``remote_rules`` does the same
    for outputs named by URL.
    """
    if manifest is not None and outputs:
        raise ValueError("outputs listed in a manifest are not listed in the statement")
    subjects: list[dict[str, Any]] = [{"name": notebook_name, "digest": {"sha256": digest.digest}}]
    subjects += [{"name": o.path, "digest": {"sha256": o.sha256}} for o in outputs]
    if manifest is not None:
        subjects.append({"name": manifest.path, "digest": {"sha256": manifest.sha256}})
    subjects += [{"name": o.url, "digest": {"sha256": o.sha256}} for o in remote_outputs]
    predicate: dict[str, Any] = {
        "profile": digest.profile,
        "notebook": {
            "name": notebook_name,
            "digest": {"sha256": digest.digest},
            "metadataDigest": {"sha256": digest.metadata_digest},
            **({"widgetsDigest": {"sha256": digest.widgets_digest}} if digest.widgets_digest else {}),
        },
        "cells": [
            {"cellType": c.cell_type, "digest": {"sha256": c.digest}, "id": c.cell_id} for c in digest.cells
        ],
        "generator": {"name": "jupyter-sigstore", "version": __version__},
    }
    if manifest is not None:
        predicate["outputsManifest"] = manifest.to_json()
    if remote_outputs:
        predicate["remoteOutputs"] = [_remote_entry(o) for o in remote_outputs]
    if output_rules is not None and output_rules.include:
        predicate["outputRules"] = output_rules.to_json()
    if remote_rules is not None and remote_rules.include:
        predicate["remoteOutputRules"] = remote_rules.to_json()
    if environment:
        predicate["environment"] = environment
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def _remote_entry(out: RemoteDigest) -> dict[str, Any]:
    """A remote output's facts besides its digest (which its subject holds)."""
    entry = out.to_json()
    del entry["digest"]
    return entry


def _digest(value: Any, where: str) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("sha256"), str):
        raise BundleError(f"signed statement: {where} has no sha256 digest")
    hexdigest: str = value["sha256"]
    if not _HEX64.fullmatch(hexdigest):
        raise BundleError(f"signed statement: {where} has a malformed sha256 digest")
    return hexdigest


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BundleError(f"signed statement: {where} must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise BundleError(f"signed statement: {where} must be a list")
    return value


@dataclass(frozen=True)
class Attestation:
    """A verified in-toto statement of another kind than our notebook provenance (an execution
    provenance, a reproduction's test result): its type, its subjects and its predicate."""

    predicate_type: str
    subjects: tuple[tuple[str, str], ...]
    """(name, sha256) of each subject."""
    predicate: dict[str, Any]


def parse_signed(statement: Any, *, allow_parent: bool = False) -> Provenance | Attestation:
    """Validate a (signature-verified) statement: our notebook provenance, or another attestation."""
    statement = _dict(statement, "the statement")
    if statement.get("_type") != STATEMENT_TYPE:
        raise BundleError(f"signed payload is not an in-toto Statement v1 ({statement.get('_type')!r})")
    predicate_type = statement.get("predicateType")
    if predicate_type in PREDICATE_TYPES:
        return parse_statement(statement, allow_parent=allow_parent)
    if not isinstance(predicate_type, str) or not predicate_type:
        raise BundleError("signed statement has no predicate type")
    subjects = []
    for n, subject in enumerate(_list(statement.get("subject"), "subject")):
        subject = _dict(subject, f"subject[{n}]")
        name = subject.get("name")
        if not isinstance(name, str):
            raise BundleError(f"signed statement: subject[{n}] has no name")
        subjects.append((name, _digest(subject.get("digest"), f"subject[{n}]")))
    return Attestation(predicate_type, tuple(subjects), _dict(statement.get("predicate"), "predicate"))


def parse_statement(statement: Any, *, allow_parent: bool = False) -> Provenance:
    """Validate a (signature-verified) notebook-provenance statement strictly: what it covers."""
    statement = _dict(statement, "the statement")
    if statement.get("_type") != STATEMENT_TYPE:
        raise BundleError(f"signed payload is not an in-toto Statement v1 ({statement.get('_type')!r})")
    predicate_type = statement.get("predicateType")
    if predicate_type not in PREDICATE_TYPES:
        raise BundleError(
            f"signed statement has predicate type {predicate_type!r}, "
            "not a jupyter-sigstore notebook provenance"
        )
    predicate = _dict(statement.get("predicate"), "predicate")
    profile = predicate.get("profile")
    if profile not in PROFILES:
        raise BundleError(f"signed with canonical profile {profile!r}, which this version does not know")
    nb = _dict(predicate.get("notebook"), "predicate.notebook")
    name = nb.get("name")
    if not isinstance(name, str) or not name:
        raise BundleError("signed statement: predicate.notebook.name is missing")
    nb_digest = _digest(nb.get("digest"), "predicate.notebook")
    meta_digest = _digest(nb.get("metadataDigest"), "predicate.notebook.metadataDigest")
    widgets_digest = None
    if profile == PROFILE_V2:
        widgets_digest = _digest(nb.get("widgetsDigest"), "predicate.notebook.widgetsDigest")

    cells = []
    for n, cell in enumerate(_list(predicate.get("cells"), "predicate.cells")):
        cell = _dict(cell, f"predicate.cells[{n}]")
        cell_id = cell.get("id")
        cells.append(
            SignedCell(
                str(cell.get("cellType")),
                _digest(cell.get("digest"), f"predicate.cells[{n}]"),
                cell_id if isinstance(cell_id, str) else None,
            )
        )
    recomputed = combine_digests(profile, meta_digest, [c.digest for c in cells], widgets_digest)
    if recomputed != nb_digest:
        raise BundleError(
            "signed statement is inconsistent: its cell digests do not make its notebook digest"
        )

    subjects = _subjects(statement)
    if predicate_type == PREDICATE_TYPE_V1:
        outputs, remote = _v1_outputs(predicate, subjects, name, nb_digest, allow_parent)
        manifest = None
    else:
        outputs, remote, manifest = _v2_outputs(predicate, subjects, name, nb_digest, allow_parent)

    rules = (
        OutputRules.from_json(predicate["outputRules"], allow_parent=allow_parent)
        if "outputRules" in predicate
        else None
    )
    remote_rules = None
    if "remoteOutputRules" in predicate:
        from .remote.listing import RemoteRules

        remote_rules = RemoteRules.from_json(predicate["remoteOutputRules"])
    return Provenance(
        name,
        nb_digest,
        meta_digest,
        profile,
        tuple(cells),
        tuple(outputs),
        predicate,
        rules,
        widgets_digest,
        tuple(remote),
        remote_rules,
        manifest,
    )


def _subjects(statement: dict[str, Any]) -> list[tuple[str, str]]:
    """The statement's subjects as (name, sha256), in order."""
    subjects = []
    for n, subject in enumerate(_list(statement.get("subject"), "subject")):
        subject = _dict(subject, f"subject[{n}]")
        name = subject.get("name")
        if not isinstance(name, str) or not name:
            raise BundleError(f"signed statement: subject[{n}] has no name")
        subjects.append((name, _digest(subject.get("digest"), f"subject[{n}]")))
    return subjects


def _v1_outputs(
    predicate: dict[str, Any],
    subjects: list[tuple[str, str]],
    name: str,
    nb_digest: str,
    allow_parent: bool,
) -> tuple[list[OutputDigest], list[RemoteDigest]]:
    """The outputs of a first-shape statement: each in ``predicate.outputs`` and a subject."""
    outputs = []
    remote: list[RemoteDigest] = []
    seen: set[str] = set()
    for n, out in enumerate(_list(predicate.get("outputs", []), "predicate.outputs")):
        out = _dict(out, f"predicate.outputs[{n}]")
        if "url" in out:
            remote.append(_remote_output(out, seen, _digest(out.get("digest"), f"output {out['url']!r}")))
            continue
        path = check_relative_path(out.get("path"), allow_parent=allow_parent)  # type: ignore[arg-type]
        if path in seen:
            raise BundleError(f"signed statement lists output {path!r} twice")
        seen.add(path)
        size = out.get("size")
        if not isinstance(size, int) or size < 0:
            raise BundleError(f"signed statement: output {path!r} has no valid size")
        outputs.append(OutputDigest(path, _digest(out.get("digest"), f"output {path!r}"), size))
    expected = {name: nb_digest, **{o.path: o.sha256 for o in outputs}, **{o.url: o.sha256 for o in remote}}
    if dict(subjects) != expected:
        raise BundleError("signed statement is inconsistent: its subjects differ from its predicate")
    return outputs, remote


def _v2_outputs(
    predicate: dict[str, Any],
    subjects: list[tuple[str, str]],
    name: str,
    nb_digest: str,
    allow_parent: bool,
) -> tuple[list[OutputDigest], list[RemoteDigest], ManifestRef | None]:
    """The outputs of a statement that lists each once: local outputs and the manifest as subjects
    named by path, remote ones as subjects named by URL with their facts in the predicate."""
    if "outputs" in predicate:
        raise BundleError("signed statement: predicate.outputs belongs to the first predicate version")
    digests: dict[str, str] = {}
    for subject, sha256 in subjects:
        if subject in digests:
            raise BundleError(f"signed statement lists subject {subject!r} twice")
        digests[subject] = sha256
    if digests.pop(name, None) != nb_digest:
        raise BundleError("signed statement is inconsistent: no subject is its notebook with its digest")
    manifest = None
    if "outputsManifest" in predicate:
        entry = _dict(predicate["outputsManifest"], "predicate.outputsManifest")
        sha256 = _digest(entry.get("digest"), "predicate.outputsManifest")
        manifest = ManifestRef.from_json(entry, sha256)
        if digests.pop(manifest.path, None) != sha256:
            raise BundleError("signed statement is inconsistent: its outputs manifest is not a subject")
    remote: list[RemoteDigest] = []
    seen: set[str] = set()
    for n, out in enumerate(_list(predicate.get("remoteOutputs", []), "predicate.remoteOutputs")):
        out = _dict(out, f"predicate.remoteOutputs[{n}]")
        url = out.get("url")
        signed = digests.pop(url, None) if isinstance(url, str) else None
        if signed is None:
            raise BundleError(f"signed statement: remote output {url!r} is not a subject")
        remote.append(_remote_output(out, seen, signed))
    outputs = [
        OutputDigest(check_relative_path(path, allow_parent=allow_parent), sha256, -1)
        for path, sha256 in digests.items()
    ]
    if manifest is not None and outputs:
        raise BundleError("signed statement lists outputs both in its subjects and in a manifest")
    return outputs, remote, manifest


def _remote_output(out: dict[str, Any], seen: set[str], sha256: str) -> RemoteDigest:
    """Validate a predicate output entry that names an object by URL."""
    from .errors import UsageError
    from .remote.objects import RemoteDigest
    from .remote.urls import check_url

    url = out.get("url")
    if "path" in out:
        raise BundleError("signed statement: an output names both a path and a URL")
    if "digest" in out and out["digest"] != {"sha256": sha256}:
        raise BundleError(f"signed statement: output {url!r} has two different digests")
    try:
        check_url(url)  # type: ignore[arg-type]
    except UsageError as exc:
        raise BundleError(f"signed statement: {exc}") from None
    assert isinstance(url, str)
    if url in seen:
        raise BundleError(f"signed statement lists output {url!r} twice")
    seen.add(url)
    size = out.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BundleError(f"signed statement: output {url!r} has no valid size")
    version, etag = out.get("versionId"), out.get("etag")
    for value, what in ((version, "versionId"), (etag, "etag")):
        if value is not None and (not isinstance(value, str) or not value or len(value) > 1024):
            raise BundleError(f"signed statement: output {url!r} has a malformed {what}")
    return RemoteDigest(url, sha256, size, version, etag)
