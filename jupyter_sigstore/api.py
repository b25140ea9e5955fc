"""The one door into jupyter-sigstore: every surface (CLI, magics, widget, server) calls these.

    from jupyter_sigstore import api

    result = api.sign("analysis.ipynb", api.keyless_signer(token), api.SignOptions(outputs=("results.csv",)))
    report = api.verify("analysis.ipynb", api.VerifyOptions(policy=api.load_policy("sigstore-policy.toml")))
    print(api.render_text(report))

A notebook is a path, or a :class:`NotebookModel` (an editor's in-memory model and the path it lives
at): signing a file writes the signature into it; signing a model returns the new
``metadata.sigstore`` block for the editor to save. Verification never trusts the notebook's metadata:
every verdict is recomputed from the bytes.

This module imports its machinery only when called, so that quick commands start fast.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from sigstore.oidc import IdentityToken

    from .hashing import FileHash
    from .inspecting import Inspection
    from .instance import Instance
    from .keys import KeySigner
    from .options import NotebookModel, ReproduceOptions, RunOptions, SignOptions, VerifyOptions
    from .policy import TrustPolicy, load_policy
    from .render import render_html, render_inspection, render_reproduction, render_text
    from .report import VerificationReport
    from .reproduction import Reproduction, ReproductionSignature
    from .rules import Rules, load_rules
    from .running import PreparedRun, RunResult
    from .signing import KeylessSigner, SignResult, StatementSigner
    from .walking import OutputFile

__all__ = [
    "Instance",
    "NotebookModel",
    "PreparedRun",
    "Reproduction",
    "ReproduceOptions",
    "Rules",
    "RunOptions",
    "RunResult",
    "SignOptions",
    "SignResult",
    "TrustPolicy",
    "VerificationReport",
    "VerifyOptions",
    "digest",
    "find_notebooks",
    "inspect",
    "key_signer",
    "keyless_signer",
    "load_policy",
    "load_rules",
    "prepare_run",
    "render_html",
    "render_inspection",
    "render_reproduction",
    "render_text",
    "reproduce",
    "run",
    "set_tracked",
    "sign",
    "sign_pending",
    "sign_reproduction",
    "sign_run",
    "tracked",
    "verify",
]

_LAZY = {
    "Instance": "instance",
    "NotebookModel": "options",
    "SignOptions": "options",
    "VerifyOptions": "options",
    "RunOptions": "options",
    "ReproduceOptions": "options",
    "PreparedRun": "running",
    "RunResult": "running",
    "Reproduction": "reproduction",
    "Rules": "rules",
    "load_rules": "rules",
    "render_reproduction": "render",
    "SignResult": "signing",
    "TrustPolicy": "policy",
    "load_policy": "policy",
    "VerificationReport": "report",
    "render_text": "render",
    "render_html": "render",
    "render_inspection": "render",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_sigstore.api' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"jupyter_sigstore.{module}"), name)


def _target(notebook: str | os.PathLike[str] | NotebookModel) -> Path | NotebookModel:
    from pathlib import Path

    from .options import NotebookModel

    return notebook if isinstance(notebook, NotebookModel) else Path(notebook)


def sign(
    notebook: str | os.PathLike[str] | NotebookModel,
    signer: StatementSigner,
    options: SignOptions | None = None,
) -> SignResult:
    """Sign a notebook and its data outputs with one signature, and store it with the notebook.

    Every refusal (unreadable notebook, missing output, nothing to countersign) happens before the
    signer is called and leaves every file as it was.
    """
    from .options import SignOptions
    from .signing import sign_notebook

    return sign_notebook(_target(notebook), signer, options or SignOptions())


def verify(
    notebook: str | os.PathLike[str] | NotebookModel, options: VerifyOptions | None = None
) -> VerificationReport:
    """Verify a notebook's signatures, its cells and its signed outputs against a trust policy."""
    from .options import VerifyOptions
    from .verifying import verify_notebook

    return verify_notebook(_target(notebook), options or VerifyOptions())


def inspect(notebook: str | os.PathLike[str]) -> Inspection:
    """What a notebook's stored signatures claim, without verifying them."""
    from pathlib import Path

    from .inspecting import inspect_notebook

    return inspect_notebook(Path(notebook))


def digest(
    paths: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    follow_symlinks: bool = False,
    jobs: int | None = None,
    progress: bool = False,
    dask: str | None = None,
) -> tuple[list[tuple[OutputFile, FileHash | Exception]], list[str]]:
    """The sha256 of files, folders (recursive), glob patterns and URLs (objects, prefixes, URL
    patterns), as signing would see them: ``(file, hash or error)`` in order, and notes about what
    was left out. ``progress`` shows a progress bar on a terminal; ``dask`` (a scheduler address)
    hashes remote objects on that Dask cluster."""
    from .remote.scheme import is_url

    if any(is_url(p) for p in paths):
        out: list[tuple[OutputFile, FileHash | Exception]] = []
        notes: list[str] = []
        for remote, group in _runs(paths, is_url):
            if remote:
                from .remote.checking import digest_remote

                remote_found, more = digest_remote(
                    group, exclude=exclude, jobs=jobs, dask=dask, progress=progress
                )
                out += remote_found
            else:
                local_found, more = digest(
                    group, exclude=exclude, follow_symlinks=follow_symlinks, jobs=jobs, progress=progress
                )
                out += local_found
            notes += more
        return out, notes
    from .hashing import Progress, hash_files
    from .walking import expand_paths, sizes_of

    # Sizes are learnt while hashing; only a progress bar (on a terminal) needs them beforehand.
    want_bar = progress and Progress.shown_on()
    files, notes = expand_paths(paths, exclude=exclude, follow_symlinks=follow_symlinks, sizes=want_bar)
    sizes = sizes_of(files) if want_bar else None
    bar = Progress.for_terminal(sum(sizes), len(files)) if sizes is not None else None
    names, paths_ = [f[0] for f in files], [f[1] for f in files]  # OutputFile is (name, path, size)
    if bar is None:
        results = hash_files(paths_, names=names, sizes=sizes, jobs=jobs, collect_errors=True)
    else:
        with bar:
            results = hash_files(
                paths_, names=names, sizes=sizes, jobs=jobs, collect_errors=True, progress=bar
            )
    return list(zip(files, results, strict=True)), notes


def _runs(items: Sequence[str], test: Callable[[str], bool]) -> list[tuple[bool, list[str]]]:
    """Consecutive items grouped by ``test``'s answer, in order."""
    runs: list[tuple[bool, list[str]]] = []
    for item in items:
        kind = test(item)
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(item)
        else:
            runs.append((kind, [item]))
    return runs


def find_notebooks(specs: Sequence[str]) -> list[Path]:
    """Notebook files named directly, and every ``.ipynb`` below named folders (checkpoints left out)."""
    from pathlib import Path

    from .errors import UsageError

    found: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            matches = sorted(
                p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file()
            )
            if not matches:
                raise UsageError(f"folder {spec} holds no .ipynb notebook")
            found += matches
        else:
            found.append(path)
    return found


def tracked(notebook: str | os.PathLike[str] | NotebookModel) -> list[str]:
    """The data outputs declared in the notebook with ``%sigstore track`` (relative to its folder)."""
    from .nbfile import read_notebook
    from .options import NotebookModel
    from .storage import tracked_outputs

    nb = notebook.content if isinstance(notebook, NotebookModel) else read_notebook(notebook)
    return tracked_outputs(nb)


def set_tracked(notebook: str | os.PathLike[str], names: Sequence[str]) -> None:
    """Record the tracked outputs in a notebook file (for notebooks no editor holds)."""
    from .nbfile import load_notebook, save_notebook
    from .storage import with_tracked

    loaded = load_notebook(notebook)
    save_notebook(loaded, with_tracked(loaded.nb, list(names)))


def keyless_signer(token: IdentityToken, instance: Instance | None = None) -> KeylessSigner:
    """A Sigstore keyless signer for an OIDC identity token (Fulcio certificate, Rekor entry)."""
    from .instance import Instance
    from .signing import KeylessSigner

    return KeylessSigner(instance or Instance(), token)


def key_signer(private_key_path: str | os.PathLike[str]) -> KeySigner:
    """A local-key signer (EC P-256 PEM; its passphrase from $JUPYTER_SIGSTORE_PASSWORD or a prompt)."""
    from pathlib import Path

    from .keys import KeySigner, load_private_key

    return KeySigner(load_private_key(Path(private_key_path)))


def prepare_run(notebook: str | os.PathLike[str], options: RunOptions | None = None) -> PreparedRun:
    """Execute a notebook in a fresh kernel (scrubbed environment, parameters injected) and work out
    what signing it covers; nothing is written. Raises ExecutionError naming the cell, input or
    kernel that failed."""
    from pathlib import Path

    from .options import RunOptions
    from .running import prepare_run as prepare

    return prepare(Path(notebook), options or RunOptions())


def sign_run(prepared: PreparedRun, signer: StatementSigner) -> RunResult:
    """Write an executed notebook signed (with its execution record) and its SLSA provenance
    sidecar: one signing session, two log entries."""
    from .running import sign_run as sign_prepared

    return sign_prepared(prepared, signer)


def run(
    notebook: str | os.PathLike[str], signer: StatementSigner, options: RunOptions | None = None
) -> RunResult:
    """Execute a notebook, then sign it, its outputs and how it was made (:func:`prepare_run`,
    then :func:`sign_run`)."""
    return sign_run(prepare_run(notebook, options), signer)


def reproduce(notebook: str | os.PathLike[str], options: ReproduceOptions | None = None) -> Reproduction:
    """Verify a notebook, re-execute it in a scratch copy of its folder and compare cell by cell and
    file by file. Refuses (UntrustedNotebookError, nothing executed) a notebook that does not
    verify against ``options.policy`` unless ``options.allow_untrusted``."""
    from pathlib import Path

    from .options import ReproduceOptions
    from .reproduction import reproduce as reproduce_notebook

    return reproduce_notebook(Path(notebook), options or ReproduceOptions())


def sign_reproduction(reproduction: Reproduction, signer: StatementSigner) -> ReproductionSignature:
    """Add a signed in-toto Test Result attestation of ``reproduction`` to the notebook's signatures
    (the existing ones are kept as they are)."""
    from .reproduction import sign_reproduction as sign_result

    return sign_result(reproduction, signer)


def sign_pending(
    notebook: str | os.PathLike[str], signer: StatementSigner, options: SignOptions | None = None
) -> SignResult:
    """Complete the signing requests a headless kernel recorded in the notebook (``%sigstore sign``
    under nbclient, nbconvert or papermill): sign it with the outputs it tracked and requested.
    Raises UsageError when it holds no request."""
    from dataclasses import replace

    from .errors import UsageError
    from .headless import read_requests
    from .nbfile import load_notebook
    from .options import SignOptions
    from .signing import sign_notebook
    from .storage import tracked_outputs

    loaded = load_notebook(notebook)
    requests = read_requests(loaded.nb)
    if not requests.sign:
        raise UsageError(f"{notebook} holds no pending signing request (`%sigstore sign` run headless)")
    folder = loaded.path.resolve().parent
    tracked = list(dict.fromkeys([*tracked_outputs(loaded.nb), *requests.tracked]))
    names = list(dict.fromkeys([*tracked, *requests.sign_outputs]))
    options = options or SignOptions()
    options = replace(
        options,
        outputs=(*options.outputs, *(str(folder / n) for n in names)),
        track=(*options.track, *requests.tracked),
    )
    return sign_notebook(loaded, signer, options)
