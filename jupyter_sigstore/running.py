"""``run``: execute a notebook in a fresh kernel, then sign it, its outputs and how it was made.

Two steps, so a caller can list what will be signed before asking for an identity:
:func:`prepare_run` executes (nothing is written), :func:`sign_run` writes and signs. One signing
session (one Fulcio certificate) makes two log entries: first the notebook signature, with the
execution record in its predicate, embedded in ``metadata.sigstore``; then, over the bytes of the
notebook as finally written, the SLSA provenance, written to ``<notebook>.provenance.sigstore.json``
(a statement cannot be embedded in the bytes it is about).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785

from .canonical import NotebookDigest, digest_of
from .errors import ExecutionError, NotebookError, SigningError, UsageError, first_line
from .execution import (
    ENV_RUN,
    SECRET_ENV_PREFIX,
    Execution,
    ExecutionSettings,
    Parameter,
    execute,
    inject_parameters,
    kernel_environment,
    parse_parameter,
)
from .headless import read_requests
from .nbfile import NBFORMAT_STYLE, LoadedNotebook, atomic_write, load_notebook
from .options import NotebookModel, RunOptions, SignOptions
from .outputs import OutputDigest, hash_outputs, select_outputs
from .provenance import (
    execution_record,
    provenance_sidecar,
    slsa_statement,
)
from .signing import SignResult, StatementSigner, in_jupyterlab_form, sign_notebook
from .statement import PREDICATE_TYPE
from .storage import tracked_outputs, with_block


@dataclass(frozen=True)
class PreparedRun:
    """An executed notebook, not yet written or signed, and what signing it will cover."""

    source: LoadedNotebook
    target: Path
    executed: dict[str, Any]
    execution: Execution
    before: NotebookDigest
    parameters: tuple[Parameter, ...]
    inputs: tuple[OutputDigest, ...]
    environment: tuple[dict[str, Any], ...]
    outputs: tuple[str, ...]
    """Notebook-relative names (files, folders, patterns) to sign with the notebook."""
    tracked: tuple[str, ...]
    sign_requests: int
    notes: tuple[str, ...]
    invocation: str
    options: RunOptions


@dataclass(frozen=True)
class RunResult:
    """What ``run`` wrote: the signed executed notebook, its SLSA provenance (and the outputs
    manifest when there were many outputs)."""

    notebook: Path
    signature: SignResult
    provenance: Path
    provenance_log_index: int | None
    manifest: Path | None
    execution: Execution
    notes: tuple[str, ...]


def prepare_run(notebook: Path, options: RunOptions) -> PreparedRun:
    """Execute ``notebook`` (parameters injected, scrubbed environment, its folder as working
    directory) and work out what signing will cover. Nothing is written.

    Raises ExecutionError for a missing or changed input, a missing kernel, a dead or hung kernel,
    and (without ``allow_errors``) a cell that raised, naming the cell.
    """
    source = load_notebook(notebook)
    folder = source.path.resolve().parent
    target = (options.executed or source.path).resolve()
    base = options.base or Path.cwd()
    before = digest_of(source.nb, source.path)
    parameters = [parse_parameter(n, v) for n, v in options.parameters]
    parameters += [parse_parameter(n, v, secret=True) for n, v in options.secret_parameters]
    names = [p.name for p in parameters]
    if len(set(names)) != len(names):
        raise UsageError(f"parameter {next(n for n in names if names.count(n) > 1)!r} is given twice")
    inputs = _hash_inputs(source.path, options.inputs, base)
    nb, note = inject_parameters(source.nb, parameters)
    notes = [note] if note else []
    env, env_record = kernel_environment(options.pass_env)
    env[ENV_RUN] = "1"
    env["JPY_SESSION_NAME"] = str(source.path.resolve())
    for p in parameters:
        if p.secret:
            env[SECRET_ENV_PREFIX + p.name] = str(p.value)
    executed = execute(
        nb,
        ExecutionSettings(
            cwd=folder,
            env=env,
            kernel_name=options.kernel_name,
            timeout=options.timeout,
            allow_errors=options.allow_errors,
        ),
    )
    if executed.errors and not options.allow_errors:
        cell = executed.errors[0]
        raise ExecutionError(
            f"cell {cell.index + 1} raised {cell.error}; nothing was signed or written "
            "(--allow-errors signs a notebook whose cells raise)"
        )
    requests = read_requests(executed.nb)
    recorded = _check_recorded_inputs(source.path, requests.inputs)
    known = {i.path for i in inputs}
    inputs += [i for i in recorded if i.path not in known]
    outputs = [*_notebook_names(folder, options.outputs, base)]
    tracked: list[str] = []
    if options.use_tracked:
        tracked = list(dict.fromkeys([*tracked_outputs(source.nb), *requests.tracked]))
        outputs += [*tracked, *requests.sign_outputs]
    elif requests.tracked or requests.sign_outputs:
        notes.append("the notebook's own track and sign requests were ignored (--ignore-tracked)")
    return PreparedRun(
        source=source,
        target=target,
        executed=executed.nb,
        execution=executed,
        before=before,
        parameters=tuple(parameters),
        inputs=tuple(inputs),
        environment=tuple(env_record),
        outputs=tuple(dict.fromkeys(outputs)),
        tracked=tuple(tracked),
        sign_requests=len(requests.sign),
        notes=tuple(notes),
        invocation=str(uuid.uuid4()),
        options=options,
    )


def _hash_inputs(notebook: Path, specs: tuple[str, ...], base: Path) -> list[OutputDigest]:
    """Declared inputs (files, folders, patterns), hashed before anything runs."""
    from .walking import has_wildcard

    for spec in specs:
        if not has_wildcard(spec) and not (base / spec).exists():
            raise ExecutionError(f"input {spec} does not exist; nothing was executed")
    if not specs:
        return []
    selection = select_outputs(notebook, list(specs), base=base)
    return hash_outputs(selection.files)


def _check_recorded_inputs(notebook: Path, recorded: tuple[tuple[str, str], ...]) -> list[OutputDigest]:
    """Inputs the notebook declared with ``%sigstore track --input``: each must still hold the bytes
    it held when declared."""
    folder = notebook.resolve().parent
    found = []
    for name, sha in recorded:
        path = folder / name
        if not path.is_file():
            raise ExecutionError(f"input {name} (declared in the notebook) is missing; nothing was signed")
        digest = _sha256(path)
        if sha and digest != sha:
            raise ExecutionError(
                f"input {name} changed while the notebook ran (sha256 was {sha[:12]}…, now {digest[:12]}…); "
                "nothing was signed"
            )
        found.append(OutputDigest(name, digest, path.stat().st_size))
    return found


def _sha256(path: Path) -> str:
    from .hashing import sha256_file

    return sha256_file(path)


def _notebook_names(folder: Path, specs: tuple[str, ...], base: Path) -> list[str]:
    from .tracking import names_of

    return names_of(folder / "notebook.ipynb", list(specs), base=base)


def sign_run(prepared: PreparedRun, signer: StatementSigner) -> RunResult:
    """Write the executed notebook signed (execution record included) and its SLSA provenance."""
    options = prepared.options
    target = prepared.target
    folder = prepared.source.path.resolve().parent
    record = execution_record(
        prepared.execution,
        source_name=prepared.source.path.name,
        before=prepared.before,
        parameters=prepared.parameters,
        inputs=prepared.inputs,
        environment=prepared.environment,
        invocation=prepared.invocation,
    )
    notes = list(prepared.notes)
    same = target == prepared.source.path.resolve()
    if same and prepared.source.path.read_bytes() != prepared.source.raw:
        raise NotebookError(f"{target} changed on disk while it ran; nothing was signed or written")
    executed, _, form_notes = in_jupyterlab_form(prepared.executed, target)
    rewritten = executed is not prepared.executed
    notes += form_notes
    with signing_session(signer) as session:
        sign_options = SignOptions(
            outputs=tuple(str(folder / name) for name in prepared.outputs),
            track=prepared.tracked,
            allow_outside=options.allow_outside,
            instance=options.instance,
        )
        result = _sign_model(NotebookModel(target, executed), _WithExecution(session, record), sign_options)
        style = NBFORMAT_STYLE if rewritten else prepared.source.style
        data = style.dumps(with_block(executed, result.block)).encode("utf-8")
        atomic_write(target, data, expect=prepared.source.raw if same else None)
        subjects = [(o.path, o.sha256) for o in result.outputs]
        manifest = result.manifest
        if manifest is not None:  # the signature's own manifest lists the local outputs: named as is
            from .remote.objects import RemoteDigest

            listed = (manifest.name, hashlib.sha256(manifest.read_bytes()).hexdigest())
            subjects = [listed, *((o.path, o.sha256) for o in result.outputs if isinstance(o, RemoteDigest))]
            notes.append(
                f"{len(result.outputs)} outputs: the SLSA subjects name their manifest {manifest.name}"
            )
        after = digest_of(executed, target)
        statement = slsa_statement(target.name, hashlib.sha256(data).hexdigest(), subjects, record, after)
        try:
            bundle = session.sign_statement(statement)
        except SigningError as exc:
            raise SigningError(
                f"{target} was signed and written, but its SLSA provenance was not: {exc}"
            ) from None
    sidecar = provenance_sidecar(target)
    atomic_write(sidecar, bundle.encode("utf-8"))
    from .bundles import log_index

    return RunResult(
        notebook=target,
        signature=result,
        provenance=sidecar,
        provenance_log_index=log_index(json.loads(bundle)),
        manifest=manifest,
        execution=prepared.execution,
        notes=tuple(notes),
    )


def _sign_model(model: NotebookModel, signer: StatementSigner, options: SignOptions) -> SignResult:
    return sign_notebook(model, signer, options)


class _WithExecution:
    """A signer that adds the execution record to our notebook-provenance predicate."""

    def __init__(self, inner: StatementSigner, record: dict[str, Any]) -> None:
        self.inner, self.record = inner, record

    @property
    def identity(self) -> str | None:
        return self.inner.identity

    @property
    def issuer(self) -> str | None:
        return self.inner.issuer

    def sign_statement(self, statement: dict[str, Any]) -> str:
        if statement.get("predicateType") == PREDICATE_TYPE:
            statement = {**statement, "predicate": {**statement["predicate"], "execution": self.record}}
        return self.inner.sign_statement(statement)


class _SessionSigner:
    """A keyless signer whose statements share one certificate (one signing session)."""

    def __init__(self, base: StatementSigner, sign: Callable[[dict[str, Any]], str]) -> None:
        self.base, self._sign = base, sign

    @property
    def identity(self) -> str | None:
        return self.base.identity

    @property
    def issuer(self) -> str | None:
        return self.base.issuer

    def sign_statement(self, statement: dict[str, Any]) -> str:
        return self._sign(statement)


@contextlib.contextmanager
def signing_session(signer: StatementSigner) -> Iterator[StatementSigner]:
    """A signer for several statements: for a keyless signer, one Fulcio certificate for all of them
    (each statement is still its own log entry); other signers as they are."""
    from .signing import KeylessSigner

    if not isinstance(signer, KeylessSigner):
        yield signer
        return
    from sigstore import dsse
    from sigstore.errors import Error as SigstoreError
    from sigstore.sign import SigningContext

    def failed(exc: BaseException) -> SigningError:
        if isinstance(exc, OSError):
            return SigningError(f"signing failed: cannot reach the Sigstore instance ({exc})")
        return SigningError(f"signing failed: {first_line(exc)}")

    try:
        context = SigningContext.from_trust_config(signer.instance.client_trust_config(offline=False))
        opened = context.signer(signer.token, cache=True)  # cache=True: one key, one certificate
        session = opened.__enter__()
    except (SigstoreError, OSError) as exc:
        raise failed(exc) from None

    def sign(statement: dict[str, Any]) -> str:
        try:
            return session.sign_dsse(dsse.Statement(rfc8785.dumps(statement))).to_json()
        except (SigstoreError, OSError) as exc:
            raise failed(exc) from None

    try:
        yield _SessionSigner(signer, sign)
    finally:
        opened.__exit__(None, None, None)
