"""Execution provenance and reproduction results as in-toto statements (docs/reproducibility.md).

Three documents:

- the ``execution`` section of our notebook-provenance predicate: what ``run`` executed (the
  notebook's canonical digest before, parameters, inputs, kernel, platform, packages), signed with
  the notebook, so it travels inside the notebook and keeps per-cell digests;
- a SLSA Provenance v1 statement (``https://slsa.dev/provenance/v1``, the type cosign calls
  ``slsaprovenance1``) whose subjects are the executed notebook's **bytes** and each output, for stock
  tools, stored as the sidecar ``<notebook>.provenance.sigstore.json``;
- an in-toto Test Result v0.1 statement for a reproduction, over the notebook's canonical digest and
  its outputs, stored in ``metadata.sigstore`` beside the author's signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .statement import STATEMENT_TYPE

if TYPE_CHECKING:
    from .canonical import NotebookDigest
    from .execution import Execution, Parameter
    from .outputs import OutputDigest

SLSA_PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
TEST_RESULT_PREDICATE_TYPE = "https://in-toto.io/attestation/test-result/v0.1"
BUILD_TYPE = "https://jupyter-sigstore.dev/notebook-run/v1"
BUILDER_ID = "https://jupyter-sigstore.dev/run/v1"
PROVENANCE_SUFFIX = ".provenance.sigstore.json"


def provenance_sidecar(notebook: Path) -> Path:
    """Where ``run`` writes the SLSA provenance of ``notebook``: ``<notebook>.provenance.sigstore.json``."""
    return notebook.with_name(notebook.name + PROVENANCE_SUFFIX)


def execution_record(
    execution: Execution,
    *,
    source_name: str,
    before: NotebookDigest,
    parameters: Sequence[Parameter],
    inputs: Sequence[OutputDigest],
    environment: Sequence[dict[str, Any]],
    invocation: str,
) -> dict[str, Any]:
    """The ``execution`` section of our notebook-provenance predicate."""
    kernel = execution.kernel
    return {
        "runner": {"name": "jupyter-sigstore run", "version": __version__},
        "invocationId": invocation,
        "startedOn": execution.started,
        "finishedOn": execution.finished,
        "source": {
            "name": source_name,
            "profile": before.profile,
            "digest": {"sha256": before.digest},
            "cells": [c.digest for c in before.cells],
        },
        "parameters": [p.record() for p in parameters],
        "environmentVariables": list(environment),
        "inputs": [{"path": i.path, "digest": {"sha256": i.sha256}, "size": i.size} for i in inputs],
        "kernel": kernel.to_json(),
        "platform": dict(kernel.platform),
        "packages": [{"name": n, "version": v} for n, v in kernel.packages],
        "cells": [
            {"index": c.index, "status": c.status, **({"error": c.error} if c.error else {})}
            for c in execution.cells
            if c.status != "ok"
        ],
    }


def slsa_statement(
    notebook_name: str,
    notebook_sha256: str,
    subjects: Sequence[tuple[str, str]],
    record: dict[str, Any],
    after: NotebookDigest,
) -> dict[str, Any]:
    """SLSA Provenance v1 for one ``run``: subjects are the executed notebook's bytes and the outputs
    (or their manifest), inputs and packages are ``resolvedDependencies``, parameters
    ``externalParameters``; the canonical digest after execution is a byproduct, so a verifier can
    still tie it to the notebook once its bytes change (a later signature entry, a re-save)."""
    source = record["source"]
    dependencies: list[dict[str, Any]] = [
        {
            "name": source["name"],
            "digest": {"sha256": source["digest"]["sha256"]},
            "annotations": {"canonicalProfile": source["profile"]},
        }
    ]
    dependencies += [{"name": i["path"], "digest": i["digest"]} for i in record["inputs"]]
    dependencies += [
        {"name": p["name"], "uri": f"pkg:pypi/{_purl_name(p['name'])}@{p['version']}"}
        for p in record["packages"]
    ]
    parameters: dict[str, Any] = {}
    for p in record["parameters"]:
        parameters[p["name"]] = {"sha256": p["digest"]["sha256"]} if p.get("secret") else p["value"]
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": notebook_name, "digest": {"sha256": notebook_sha256}}]
        + [{"name": name, "digest": {"sha256": sha}} for name, sha in subjects],
        "predicateType": SLSA_PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "notebook": source["name"],
                    "parameters": parameters,
                    "kernel": record["kernel"]["name"],
                },
                "internalParameters": {
                    "kernel": record["kernel"],
                    "platform": record["platform"],
                    "environmentVariables": record["environmentVariables"],
                },
                "resolvedDependencies": dependencies,
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID, "version": {"jupyter-sigstore": __version__}},
                "metadata": {
                    "invocationId": record["invocationId"],
                    "startedOn": record["startedOn"],
                    "finishedOn": record["finishedOn"],
                },
                "byproducts": [
                    {
                        "name": f"{notebook_name}#canonical",
                        "digest": {"sha256": after.digest},
                        "annotations": {
                            "canonicalProfile": after.profile,
                            "cells": [c.digest for c in after.cells],
                        },
                    }
                ],
            },
        },
    }


def _purl_name(name: str) -> str:
    """A distribution name in the form package URLs use for PyPI (PEP 503 normalised)."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def canonical_byproduct(predicate: Any, notebook_name: str) -> str | None:
    """The canonical digest a SLSA provenance by ``run`` records for ``notebook_name`` (None when
    it records none)."""
    details = predicate.get("runDetails") if isinstance(predicate, dict) else None
    byproducts = details.get("byproducts") if isinstance(details, dict) else None
    for item in byproducts if isinstance(byproducts, list) else []:
        if isinstance(item, dict) and item.get("name") == f"{notebook_name}#canonical":
            digest = item.get("digest")
            value = digest.get("sha256") if isinstance(digest, dict) else None
            return value if isinstance(value, str) else None
    return None


def test_result_statement(
    notebook_name: str,
    canonical_digest: str,
    outputs: Sequence[tuple[str, str]],
    *,
    result: str,
    configuration: Sequence[dict[str, Any]],
    passed: Sequence[str],
    warned: Sequence[str],
    failed: Sequence[str],
) -> dict[str, Any]:
    """An in-toto Test Result v0.1 statement for one reproduction."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": notebook_name, "digest": {"sha256": canonical_digest}}]
        + [{"name": name, "digest": {"sha256": sha}} for name, sha in outputs],
        "predicateType": TEST_RESULT_PREDICATE_TYPE,
        "predicate": {
            "result": result,
            "configuration": list(configuration),
            "passedTests": list(passed),
            "warnedTests": list(warned),
            "failedTests": list(failed),
        },
    }


@dataclass(frozen=True)
class ExecutionFacts:
    """What a signed ``execution`` record says, read leniently (for reports and reproduction)."""

    parameters: tuple[dict[str, Any], ...]
    inputs: tuple[tuple[str, str], ...]
    kernel: dict[str, Any]
    platform: dict[str, str]
    packages: dict[str, str]
    started: str | None
    finished: str | None

    def summary(self) -> str:
        """e.g. ``python3 (python 3.11.7) on Linux x86_64; 2 parameters, 1 input, 212 packages``."""
        kernel = self.kernel.get("name") or "a kernel"
        language = " ".join(str(self.kernel.get(k) or "") for k in ("language", "languageVersion")).strip()
        where = " ".join(str(self.platform.get(k) or "") for k in ("system", "machine")).strip()
        parts = [f"{kernel}{f' ({language})' if language else ''}{f' on {where}' if where else ''}"]
        counts = [
            _plural(len(self.parameters), "parameter"),
            _plural(len(self.inputs), "input"),
            _plural(len(self.packages), "package"),
        ]
        return f"{parts[0]}; {', '.join(counts)}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def read_execution(predicate: Any) -> ExecutionFacts | None:
    """The ``execution`` section of a verified notebook-provenance predicate, or None."""
    record = predicate.get("execution") if isinstance(predicate, dict) else None
    if not isinstance(record, dict):
        return None

    def listed(key: str) -> list[dict[str, Any]]:
        value = record.get(key)
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    inputs = []
    for item in listed("inputs"):
        digest = item.get("digest")
        if isinstance(item.get("path"), str) and isinstance(digest, dict):
            inputs.append((item["path"], str(digest.get("sha256"))))
    packages = {
        str(p["name"]): str(p.get("version")) for p in listed("packages") if isinstance(p.get("name"), str)
    }
    kernel = record.get("kernel")
    platform = record.get("platform")
    return ExecutionFacts(
        parameters=tuple(listed("parameters")),
        inputs=tuple(inputs),
        kernel=kernel if isinstance(kernel, dict) else {},
        platform={str(k): str(v) for k, v in platform.items()} if isinstance(platform, dict) else {},
        packages=packages,
        started=record.get("startedOn") if isinstance(record.get("startedOn"), str) else None,
        finished=record.get("finishedOn") if isinstance(record.get("finishedOn"), str) else None,
    )
