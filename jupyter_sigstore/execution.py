"""Executing a notebook in a fresh kernel (nbclient), with a scrubbed environment.

The kernel never sees the caller's identity tokens or cloud credentials: it gets an allow-listed
environment (:func:`kernel_environment`) plus what the caller passes on explicitly. Before any cell
runs, a silent probe asks the kernel what it runs on (language, platform, installed distributions),
so the record cannot be changed by the notebook's own code. Parameters are injected papermill-style
into a cell tagged ``injected-parameters`` after the cell tagged ``parameters``.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from .errors import ExecutionError, UsageError

#: Variables a kernel inherits: what locates programs, libraries and locale, never a credential.
_ALLOWED_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "TMPDIR",
        "TEMP",
        "TMP",
        "PYTHONPATH",
        "PYTHONHASHSEED",
        "PYTHONIOENCODING",
        "PYTHONUTF8",
        "PYTHONDONTWRITEBYTECODE",
        "VIRTUAL_ENV",
        "LD_LIBRARY_PATH",
        "MPLBACKEND",
        "JUPYTER_PATH",
        "JUPYTER_DATA_DIR",
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_RUNTIME_DIR",
        "JUPYTER_PLATFORM_DIRS",
        "JUPYTER_SIGSTORE_TRUST_CONFIG",
        "JUPYTER_SIGSTORE_POLICY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "SYSTEMROOT",
        "COMSPEC",
        "PATHEXT",
        "CUDA_VISIBLE_DEVICES",
        "NUMBA_NUM_THREADS",
    }
)
_ALLOWED_PREFIXES = ("LC_", "XDG_", "CONDA_", "OMP_", "MKL_", "OPENBLAS_")
#: Never inherited even when allowed above: anything that reads like a credential.
_CREDENTIAL = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|PRIVATE|AUTH", re.IGNORECASE)

#: Set in the kernels ``run`` starts: the magics then record requests for ``run`` instead of signing.
ENV_RUN = "JUPYTER_SIGSTORE_RUN"
SECRET_ENV_PREFIX = "JUPYTER_SIGSTORE_SECRET_"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# One expression, evaluated silently before any cell runs: what the kernel runs on. Only the
# standard library, so it works in a kernel without jupyter-sigstore installed.
_PROBE = (
    "(lambda os, sys, platform, json: json.dumps({"
    "'python': platform.python_version(), 'implementation': platform.python_implementation(), "
    "'system': platform.system(), 'release': platform.release(), 'machine': platform.machine(), "
    "'platform': platform.platform(), "
    # installed distributions from their .dist-info folder names (name-version), in import order:
    # reading every METADATA file instead costs half a second in a large environment
    "'packages': sorted(dict(reversed([(e[:-10].partition('-')[0], e[:-10].partition('-')[2]) "
    "for p in sys.path if os.path.isdir(p or '.') for e in os.listdir(p or '.') "
    "if e.endswith('.dist-info')])).items())}))"
    "(__import__('os'), __import__('sys'), __import__('platform'), __import__('json'))"
)

CellRunStatus = Literal["ok", "error", "not-run", "skipped"]


@dataclass(frozen=True)
class Parameter:
    """A papermill-style parameter: its name, its value, and whether it is secret (a secret value
    reaches the kernel through its environment, never the notebook, and is recorded as a digest)."""

    name: str
    value: Any
    secret: bool = False

    @property
    def digest(self) -> str:
        return hashlib.sha256(str(self.value).encode("utf-8")).hexdigest()

    def record(self) -> dict[str, Any]:
        """How the provenance records it: the value, or only its digest when secret."""
        if self.secret:
            return {"name": self.name, "secret": True, "digest": {"sha256": self.digest}}
        return {"name": self.name, "value": self.value}


def parse_parameter(name: str, text: str, *, secret: bool = False) -> Parameter:
    """A ``-p NAME VALUE`` parameter; values read as papermill reads them (int, float, bool, None,
    else the text itself). Secret values stay text."""
    if not _IDENTIFIER.fullmatch(name):
        raise UsageError(f"parameter name {name!r} is not an identifier")
    if secret:
        return Parameter(name, text, secret=True)
    value: Any = text
    if text in ("True", "False"):
        value = text == "True"
    elif text == "None":
        value = None
    else:
        for kind in (int, float):
            try:
                value = kind(text)
                break
            except ValueError:
                continue
    return Parameter(name, value)


def inject_parameters(
    nb: dict[str, Any], parameters: Sequence[Parameter]
) -> tuple[dict[str, Any], str | None]:
    """A copy of ``nb`` with the parameters in a cell tagged ``injected-parameters`` (replacing an
    earlier one), placed after the cell tagged ``parameters``; and a note when there is none (the
    cell then goes first, as papermill does)."""
    if not parameters:
        return nb, None
    lines = ["# Parameters"]
    for p in parameters:
        if p.secret:
            lines.append(f'{p.name} = __import__("os").environ.pop("{SECRET_ENV_PREFIX}{p.name}")')
        else:
            lines.append(f"{p.name} = {p.value!r}")
    cell: dict[str, Any] = {
        "cell_type": "code",
        "id": uuid.uuid4().hex[:8],
        "metadata": {"tags": [INJECTED_TAG]},
        "execution_count": None,
        "outputs": [],
        "source": "\n".join(lines) + "\n",
    }
    cells = [c for c in nb["cells"] if INJECTED_TAG not in _tags(c)]
    where = next((n + 1 for n, c in enumerate(cells) if PARAMETERS_TAG in _tags(c)), None)
    note = None
    if where is None:
        where, note = 0, "no cell is tagged 'parameters': the parameters cell was inserted first"
    return {**nb, "cells": [*cells[:where], cell, *cells[where:]]}, note


def _tags(cell: Any) -> list[str]:
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def kernel_environment(
    passed: Sequence[str] = (), *, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The environment of a kernel started by ``run`` or ``reproduce``: the allow-listed variables
    of ``environ`` (default: this process's), none that looks like a credential, plus ``passed``
    (``NAME`` copies this process's value, ``NAME=VALUE`` sets one). Returns the environment and
    the record of what was passed (names and value digests only)."""
    source = os.environ if environ is None else environ
    env = {
        name: value
        for name, value in source.items()
        if (name in _ALLOWED_NAMES or name.startswith(_ALLOWED_PREFIXES)) and not _CREDENTIAL.search(name)
    }
    record = []
    for spec in passed:
        name, sep, value = spec.partition("=")
        if not _IDENTIFIER.fullmatch(name):
            raise UsageError(f"--env {spec.split('=')[0]!r}: not an environment variable name")
        if not sep:
            if name not in source:
                raise UsageError(f"--env {name}: no such variable in this environment")
            value = source[name]
        env[name] = value
        record.append({"name": name, "digest": {"sha256": hashlib.sha256(value.encode()).hexdigest()}})
    return env, record


@dataclass(frozen=True)
class KernelInfo:
    """The kernel that ran the notebook, and what it runs on (from the probe, before any cell)."""

    name: str
    language: str
    language_version: str | None
    implementation: str | None
    platform: Mapping[str, str] = field(default_factory=dict)
    packages: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "language": self.language,
            "languageVersion": self.language_version,
            "implementation": self.implementation,
        }


@dataclass(frozen=True)
class CellRun:
    """How one cell fared (``index`` 0-based): ``error`` holds ``Name: message`` for a raise."""

    index: int
    status: CellRunStatus
    error: str | None = None


@dataclass(frozen=True)
class Execution:
    """An executed notebook, cell by cell, with the kernel it ran in."""

    nb: dict[str, Any]
    cells: tuple[CellRun, ...]
    kernel: KernelInfo
    started: str
    finished: str

    @property
    def errors(self) -> list[CellRun]:
        return [c for c in self.cells if c.status == "error"]


@dataclass(frozen=True)
class ExecutionSettings:
    """How to execute: where (``cwd``), with what environment, which kernel, how long per cell."""

    cwd: Path
    env: Mapping[str, str]
    kernel_name: str | None = None
    timeout: float | None = None
    allow_errors: bool = False
    startup_timeout: float = 60.0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _first_line(text: Any) -> str:
    lines = str(text).strip().splitlines()
    return lines[0][:300] if lines else ""


def execute(nb: dict[str, Any], settings: ExecutionSettings) -> Execution:
    """Execute every code cell of ``nb`` (a copy is executed) in a fresh kernel.

    Without ``allow_errors`` execution stops at the first cell that raises; the result says which
    cell and why, and the cells after it are ``not-run``. A kernel that is not installed, dies or
    exceeds ``timeout`` on a cell raises ExecutionError naming the kernel or the cell.
    """
    import json
    import warnings

    import nbformat
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellControlSignal, CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync

    with warnings.catch_warnings():  # nbformat warns about cell ids it adds; they are not signed
        warnings.simplefilter("ignore")
        node = nbformat.reads(json.dumps(nb), as_version=4)  # type: ignore[no-untyped-call]
    kernel_name = settings.kernel_name or _kernelspec_name(nb)
    client = NotebookClient(
        node,
        kernel_name=kernel_name,
        timeout=int(settings.timeout) if settings.timeout else None,
        startup_timeout=int(settings.startup_timeout),
        allow_errors=True,  # errors are judged below, per cell
        record_timing=False,
        resources={"metadata": {"path": str(settings.cwd)}},
    )
    runs: list[CellRun] = []
    started = _now()
    # the kernel process's own start-up chatter goes nowhere (what cells print reaches the notebook)
    log = open(os.devnull, "wb")  # noqa: SIM115 - closed by the `with log` around the run

    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        kwargs = {"env": dict(settings.env), "cwd": str(settings.cwd), "stdout": log, "stderr": log}
        async with client.async_setup_kernel(**kwargs):
            assert client.kc is not None
            reply = await client.async_wait_for_reply(await _ensure(client.kc.kernel_info()))
            info = (reply or {}).get("content", {})
            language_info = info.get("language_info") or {}
            client.nb.metadata["language_info"] = language_info
            probe = await _probe(client) if language_info.get("name") == "python" else {}
            stopped = False
            for index, cell in enumerate(client.nb.cells):
                if cell.cell_type != "code":
                    continue
                if stopped:
                    runs.append(CellRun(index, "not-run"))
                    continue
                if "skip-execution" in _tags(cell) or not cell.source.strip():
                    runs.append(CellRun(index, "skipped"))
                    continue
                try:
                    await client.async_execute_cell(
                        cell, index, execution_count=client.code_cells_executed + 1
                    )
                except CellTimeoutError:
                    raise ExecutionError(
                        f"cell {index + 1} did not finish within {settings.timeout:g} s (--timeout); "
                        "the kernel was stopped"
                    ) from None
                except DeadKernelError:
                    raise ExecutionError(f"the kernel died while running cell {index + 1}") from None
                except CellControlSignal as exc:  # pragma: no cover - allow_errors=True never raises
                    raise ExecutionError(f"cell {index + 1}: {_first_line(exc)}") from None
                error = _cell_error(cell)
                runs.append(CellRun(index, "error" if error else "ok", error))
                stopped = error is not None and not settings.allow_errors
            client.set_widgets_metadata()
            return info, probe

    try:
        with log:
            info, probe = run_sync(go)()
    except NoSuchKernel:
        raise ExecutionError(
            f"kernel {kernel_name!r} (from the notebook's kernelspec) is not installed here; install it "
            "or name another with --kernel (`jupyter kernelspec list` shows those installed)"
        ) from None
    except TimeoutError as exc:
        raise ExecutionError(f"the kernel {kernel_name!r} did not start: {_first_line(exc)}") from None
    except RuntimeError as exc:  # e.g. "Kernel died before replying to kernel_info"
        raise ExecutionError(f"the kernel {kernel_name!r} failed: {_first_line(exc)}") from None
    language_info = info.get("language_info") or {}
    implementation = info.get("implementation")
    kernel = KernelInfo(
        name=client.kernel_name,
        language=str(language_info.get("name") or "unknown"),
        language_version=language_info.get("version"),
        implementation=f"{implementation} {info.get('implementation_version', '')}".strip()
        if implementation
        else None,
        platform={k: str(v) for k, v in probe.items() if k != "packages"},
        packages=tuple((str(n), str(v)) for n, v in probe.get("packages", ())),
    )
    return Execution(_plain(client.nb), tuple(runs), kernel, started, _now())


async def _ensure(value: Any) -> Any:
    from nbclient.util import ensure_async

    return await ensure_async(value)


async def _probe(client: Any) -> dict[str, Any]:
    """Ask the fresh kernel what it runs on, silently (no output, no execution count)."""
    import json

    msg_id = await _ensure(
        client.kc.execute("", silent=True, store_history=False, user_expressions={"e": _PROBE})
    )
    reply = await client.async_wait_for_reply(msg_id)
    value = ((reply or {}).get("content", {}).get("user_expressions") or {}).get("e") or {}
    text = (value.get("data") or {}).get("text/plain") if value.get("status") == "ok" else None
    if not isinstance(text, str):
        return {}
    try:
        result = json.loads(ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError):
        return {}
    return result if isinstance(result, dict) else {}


def _cell_error(cell: Any) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename', 'Error')}: {_first_line(out.get('evalue', ''))}".rstrip(": ")
    return None


def _kernelspec_name(nb: dict[str, Any]) -> str:
    spec = (nb.get("metadata") or {}).get("kernelspec")
    name = spec.get("name") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not name:
        raise ExecutionError("the notebook names no kernel (metadata.kernelspec.name); pass --kernel NAME")
    return name


def _plain(node: Any) -> dict[str, Any]:
    """A NotebookNode as plain JSON types."""
    import json

    value: dict[str, Any] = json.loads(json.dumps(node))
    return value
