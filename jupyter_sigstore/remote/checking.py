"""Remote outputs for signing (choose, hash, confirm) and for verification (re-read and compare).

Verification re-reads every signed object as it is now: ``ok`` when its bytes still have the signed
sha256, ``modified`` or ``missing`` otherwise. Then, where the signature recorded a version id, the
signed version itself is read: if it still holds the signed bytes the report says so ("the signed
version still exists as version X"), so a reviewer knows where the signed data is. Objects that
appeared below a signed prefix or pattern are ``added``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..errors import OutputError
from ..walking import ExcludeMatcher
from .listing import MAX_OBJECTS, RemoteRules, confirm_unchanged, list_spec, select_remote
from .objects import RemoteDigest, RemoteObject
from .streaming import hash_objects
from .urls import BackendUnavailableError, FileSystems, ObjectMissingError, StoreUnreachableError

if TYPE_CHECKING:
    from ..hashing import FileHash, Progress
    from ..report import OutputReport
    from ..walking import OutputFile


class RemoteOutputs(NamedTuple):
    """What signing records for URL outputs: their digests, the rules, and notes."""

    digests: list[RemoteDigest]
    rules: RemoteRules | None
    notes: list[str]


def _hash(
    objects: Sequence[RemoteObject],
    *,
    fss: FileSystems,
    jobs: int | None,
    dask: str | None,
    pinned: bool = False,
    collect_errors: bool = False,
    progress: Progress | None = None,
) -> list[RemoteDigest | OutputError]:
    if dask:
        from .cluster import hash_on_dask

        return hash_on_dask(objects, dask, jobs=jobs, pinned=pinned, collect_errors=collect_errors)
    return hash_objects(
        objects, jobs=jobs, pinned=pinned, collect_errors=collect_errors, progress=progress, fss=fss
    )


def progress_for(objects: Sequence[RemoteObject], enabled: bool, label: str) -> Progress | None:
    """A terminal progress bar for hashing ``objects`` (None when not on a terminal)."""
    from ..hashing import Progress

    if not enabled or not Progress.shown_on():
        return None
    return Progress.for_terminal(sum(max(o.size, 0) for o in objects), len(objects), label=label)


def sign_remote(
    specs: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    jobs: int | None = None,
    dask: str | None = None,
    progress: bool = False,
) -> RemoteOutputs:
    """Choose the objects URL specs name, hash them, and confirm none changed meanwhile.

    Raises OutputError (one line) on the first problem: nothing is signed.
    """
    fss = FileSystems()
    selection = select_remote(specs, exclude=exclude, fss=fss)
    bar = progress_for(selection.objects, progress, "hashing remote outputs")
    if bar is None:
        results = _hash(selection.objects, fss=fss, jobs=jobs, dask=dask)
    else:
        with bar:
            results = _hash(selection.objects, fss=fss, jobs=jobs, dask=dask, progress=bar)
    digests = []
    for result in results:
        if isinstance(result, OutputError):  # only from a cluster, which collects: the first one
            raise result
        digests.append(result)
    confirm_unchanged(digests, selection.rules, fss=fss)
    return RemoteOutputs(digests, selection.rules, selection.notes)


def digest_remote(
    specs: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    jobs: int | None = None,
    dask: str | None = None,
    progress: bool = False,
) -> tuple[list[tuple[OutputFile, FileHash | OutputError]], list[str]]:
    """``jupyter-sigstore digest`` for URLs: each object (named by its URL) and its hash or error."""
    from ..hashing import FileHash
    from ..walking import OutputFile

    fss = FileSystems()
    selection = select_remote(specs, exclude=exclude, fss=fss)
    bar = progress_for(selection.objects, progress, "hashing")
    if bar is None:
        results = _hash(selection.objects, fss=fss, jobs=jobs, dask=dask, collect_errors=True)
    else:
        with bar:
            results = _hash(
                selection.objects, fss=fss, jobs=jobs, dask=dask, collect_errors=True, progress=bar
            )
    confirm_unchanged([r for r in results if isinstance(r, RemoteDigest)], selection.rules, fss=fss)
    out: list[tuple[OutputFile, FileHash | OutputError]] = []
    for obj, result in zip(selection.objects, results, strict=True):
        found = FileHash(result.sha256, result.size) if isinstance(result, RemoteDigest) else result
        out.append((OutputFile(obj.url, obj.url, obj.size), found))
    return out, selection.notes


def not_checked(signed: Sequence[RemoteDigest], reason: str) -> list[OutputReport]:
    """Reports for remote outputs whose URLs are not fetched, saying why."""
    from ..report import OutputReport

    return [
        OutputReport(d.url, "not-checked", d.sha256, None, reason, remote=True, version_id=d.version_id)
        for d in signed
    ]


def check_remote(
    signed: Sequence[RemoteDigest],
    rules: RemoteRules | None,
    *,
    jobs: int | None = None,
    dask: str | None = None,
    progress: bool = False,
) -> tuple[list[OutputReport], list[str]]:
    """Re-read each signed object and compare; name objects added below signed prefixes and patterns.

    Returns the reports and warnings (a listing that stopped at the object limit). Never raises
    for an object or a store: a failure is the report's ``missing`` with the reason.
    """
    from ..report import OutputReport

    fss = FileSystems()
    current = [RemoteObject(d.url, d.size) for d in signed]
    bar = progress_for(current, progress, "checking remote outputs")
    try:
        if bar is None:
            results = _hash(current, fss=fss, jobs=jobs, dask=dask, collect_errors=True)
        else:
            with bar:
                results = _hash(current, fss=fss, jobs=jobs, dask=dask, collect_errors=True, progress=bar)
    except (StoreUnreachableError, BackendUnavailableError) as exc:  # every object: missing, and why
        results = [exc] * len(signed)
    reports: list[OutputReport] = []
    past: list[tuple[int, RemoteDigest]] = []
    for d, result in zip(signed, results, strict=True):
        if isinstance(result, RemoteDigest) and result.sha256 == d.sha256:
            reports.append(
                OutputReport(d.url, "ok", d.sha256, result.sha256, remote=True, version_id=d.version_id)
            )
            continue
        if isinstance(result, RemoteDigest):
            report = OutputReport(
                d.url, "modified", d.sha256, result.sha256, remote=True, version_id=d.version_id
            )
        else:
            reason = "object not found" if isinstance(result, ObjectMissingError) else str(result)
            report = OutputReport(d.url, "missing", d.sha256, None, reason, True, d.version_id)
        if d.version_id is not None and not isinstance(
            result, (StoreUnreachableError, BackendUnavailableError)
        ):
            past.append((len(reports), d))
        reports.append(report)
    if past:
        reports = _signed_versions(reports, past, fss=fss, jobs=jobs, dask=dask)
    warnings: list[str] = []
    if rules is not None:
        signed_urls = {d.url for d in signed}
        added, warnings = _added(rules, signed_urls, fss)
        reports += added
    return reports, warnings


def _signed_versions(
    reports: list[OutputReport],
    past: list[tuple[int, RemoteDigest]],
    *,
    fss: FileSystems,
    jobs: int | None,
    dask: str | None,
) -> list[OutputReport]:
    """For changed or missing objects with a recorded version: does that version still hold the
    signed bytes?"""

    pinned = [RemoteObject(d.url, d.size, d.etag, d.version_id) for _, d in past]
    try:
        results = _hash(pinned, fss=fss, jobs=jobs, dask=dask, pinned=True, collect_errors=True)
    except (StoreUnreachableError, BackendUnavailableError):
        return reports
    out = list(reports)
    for (slot, d), result in zip(past, results, strict=True):
        exists = isinstance(result, RemoteDigest) and result.sha256 == d.sha256
        out[slot] = out[slot]._replace(signed_version_exists=exists)
    return out


def _added(
    rules: RemoteRules, signed_urls: set[str], fss: FileSystems
) -> tuple[list[OutputReport], list[str]]:
    from ..report import OutputReport

    matcher = ExcludeMatcher(rules.exclude)
    added: dict[str, OutputReport] = {}
    warnings: list[str] = []
    budget = MAX_OBJECTS
    for spec in rules.include:
        try:
            listing = list_spec(fss, spec, matcher, limit=budget)
        except OutputError as exc:
            warnings.append(f"{spec.url} could not be listed to look for added objects: {exc}")
            continue
        budget -= len(listing.objects)
        for obj in listing.objects:
            if obj.url not in signed_urls:
                added.setdefault(
                    obj.url, OutputReport(obj.url, "added", None, None, "not in the signature", remote=True)
                )
        for url, message in listing.problems:
            added.setdefault(url, OutputReport(url, "added", None, None, message, remote=True))
        if listing.truncated:
            warnings.append(
                f"listing {spec.url} stopped after {MAX_OBJECTS} objects; objects added beyond were "
                "not looked for"
            )
            break
    return [added[url] for url in sorted(added)], warnings
