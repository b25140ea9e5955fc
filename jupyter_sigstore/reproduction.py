"""``reproduce``: verify a signed notebook, re-execute it in a scratch copy of its folder, and say
cell by cell and file by file whether the signed results came out again.

Running a notebook's code is the riskiest thing this package does, so :func:`reproduce` verifies
first and refuses (UntrustedNotebookError) a notebook that does not verify against the policy, unless
the caller allows it explicitly. The kernel gets a scrubbed environment, and the scratch copy is its
working directory and HOME: relative writes never touch the originals or the signed outputs. Code
that writes to absolute paths is not contained; a container is the answer for hostile notebooks.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .canonical import canonical_cell, digest_of
from .errors import ExecutionError, NotebookError, UntrustedNotebookError
from .execution import ENV_RUN, SECRET_ENV_PREFIX, Execution, ExecutionSettings, execute, kernel_environment
from .headless import REQUEST_MIME
from .nbfile import load_notebook, read_regular_file
from .options import ReproduceOptions, VerifyOptions
from .provenance import TEST_RESULT_PREDICATE_TYPE, ExecutionFacts, read_execution, test_result_statement
from .rules import MAX_IMAGE_BYTES, NONDETERMINISTIC_TAG, FileRule, Rules, same_pngs

if TYPE_CHECKING:
    from .signing import StatementSigner
    from .statement import Provenance

Result = Literal["PASSED", "WARNED", "FAILED"]
CellStatus = Literal["reproduced", "reproduced-normalised", "exempted", "differs", "error"]
FileStatus = Literal["reproduced", "reproduced-normalised", "exempted", "differs", "missing"]

#: Applied unless the rules say ``defaults = false``; shown in the report like every rule.
DEFAULT_FILE_RULES = (FileRule("*.png", "png-pixels"),)
_DIFF_LINES = 8
_DIFF_INPUT_LINES = 400


@dataclass(frozen=True)
class CellOutcome:
    """One cell of the re-execution against the signed notebook (``index`` 0-based)."""

    index: int
    cell_type: str
    status: CellStatus
    cell_id: str | None = None
    detail: str | None = None
    diff: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass(frozen=True)
class FileOutcome:
    """One signed output file, as the re-execution wrote it."""

    path: str
    status: FileStatus
    expected_sha256: str | None
    actual_sha256: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Reproduction:
    """The outcome of one reproduction; ``result`` is PASSED, WARNED or FAILED."""

    notebook: str
    result: Result
    summary: str
    verification: str
    notebook_digest: str
    cells: tuple[CellOutcome, ...] = ()
    files: tuple[FileOutcome, ...] = ()
    environment_changes: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    kernel: dict[str, Any] = field(default_factory=dict)
    platform: dict[str, str] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)
    signed_outputs: tuple[tuple[str, str], ...] = ()
    scratch: str | None = None

    @property
    def ok(self) -> bool:
        return self.result != "FAILED"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``cells[].index`` is 0-based, like verify's report)."""
        value = asdict(self)
        value.pop("packages")
        value["signed_outputs"] = [{"path": p, "sha256": s} for p, s in self.signed_outputs]
        return {"version": 1, **value}


def reproduce(notebook: Path, options: ReproduceOptions) -> Reproduction:
    """Verify ``notebook``, re-execute it in a scratch copy of its folder and compare.

    Raises UntrustedNotebookError (nothing executed) when it does not verify and
    ``options.allow_untrusted`` is not set, and ExecutionError when a recorded input is missing or
    changed (named before anything runs), or the kernel is missing, dies or hangs.
    """
    from .verifying import verify_notebook

    loaded = load_notebook(notebook)
    policy = options.policy.signatures_only() if options.policy is not None else None
    report = verify_notebook(
        loaded.path, VerifyOptions(policy=policy, instance=options.instance, keys=options.keys)
    )
    notes: list[str] = []
    if report.status != "verified":
        if not options.allow_untrusted:
            raise UntrustedNotebookError(
                f"refusing to execute {loaded.path}: it is {report.status} ({report.summary}); nothing "
                "was executed. Running a notebook runs its code: only with --allow-untrusted, and only "
                "in a container or throwaway machine"
            )
        notes.append(
            f"UNTRUSTED: the notebook is {report.status} and was executed only because it was allowed"
        )
    reference = _reference(loaded.nb, loaded.path, options)
    facts = read_execution(reference.predicate) if reference is not None else None
    folder = loaded.path.resolve().parent
    _check_inputs(folder, facts)
    rules = _effective_rules(options.rules)
    signed = tuple((o.path, o.sha256) for o in reference.outputs) if reference is not None else ()
    scratch = Path(tempfile.mkdtemp(prefix="jupyter-sigstore-reproduce-"))
    try:
        work = scratch / folder.name
        shutil.copytree(
            folder, work, symlinks=True, ignore=shutil.ignore_patterns(".git", ".ipynb_checkpoints")
        )
        for name, _ in signed:  # the re-execution must make them again
            with_path = work / name
            if with_path.is_file() or with_path.is_symlink():
                with_path.unlink()
        env, _ = kernel_environment(options.pass_env)
        env.update({"HOME": str(work), ENV_RUN: "1", "JPY_SESSION_NAME": str(work / loaded.path.name)})
        notes += _secret_parameters(facts, options, env)
        execution = execute(
            loaded.nb,
            ExecutionSettings(
                cwd=work, env=env, kernel_name=options.kernel_name, timeout=options.timeout, allow_errors=True
            ),
        )
        changes = _environment_changes(facts, execution)
        cells = _compare_cells(loaded.nb, execution, rules, changes)
        files = _compare_files(folder, work, signed, rules)
    finally:
        if not options.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    if facts is None:
        notes.append("no execution record was signed with this notebook: environment differences are unknown")
    result = _result(cells, files, trusted=report.status == "verified")
    return Reproduction(
        notebook=str(loaded.path),
        result=result,
        summary=_summary(result, cells, files),
        verification=report.status,
        notebook_digest=digest_of(loaded.nb, loaded.path).digest,
        cells=tuple(cells),
        files=tuple(files),
        environment_changes=tuple(changes),
        rules=tuple(rules.describe()),
        notes=tuple(notes),
        kernel=execution.kernel.to_json(),
        platform=dict(execution.kernel.platform),
        packages=dict(execution.kernel.packages),
        signed_outputs=signed,
        scratch=str(scratch) if options.keep_scratch else None,
    )


def _reference(nb: dict[str, Any], path: Path, options: ReproduceOptions) -> Provenance | None:
    """The newest valid notebook signature, preferring one that covers the notebook as it is."""
    from .instance import Instance
    from .storage import read_signatures
    from .verifying import VerifiedSignature, verify_bundle_text

    instance = options.instance or Instance()
    keys = [*options.keys, *(options.policy.public_keys if options.policy is not None else ())]
    current = digest_of(nb, path).digest
    valid: list[Provenance] = []
    for stored in read_signatures(nb, path):
        if stored.bundle_text is None:
            continue
        try:
            verified = verify_bundle_text(stored.bundle_text, stored.source, instance, keys=keys)
        except Exception:  # an invalid entry is already in the verification report
            continue
        if isinstance(verified, VerifiedSignature):
            valid.append(verified.provenance)
    covering = [p for p in valid if p.notebook_digest == current]
    chosen = covering or valid
    return chosen[-1] if chosen else None


def _effective_rules(rules: Rules | None) -> Rules:
    rules = rules or Rules()
    if any(r.default for r in rules.replacements):
        rules = Rules(
            rules.replacements,
            rules.files + DEFAULT_FILE_RULES,
            rules.ignore_cells,
            rules.ignore_tags,
            rules.allow_exemptions,
            rules.source,
        )
    return rules


def _check_inputs(folder: Path, facts: ExecutionFacts | None) -> None:
    """Every input the signed run recorded must be there, with the bytes it had (named before
    anything runs)."""
    from .hashing import sha256_file
    from .outputs import check_relative_path

    for name, sha in facts.inputs if facts is not None else ():
        path = folder / check_relative_path(name)
        if not path.is_file():
            raise ExecutionError(
                f"input {name} (recorded when the notebook was run) is missing; nothing was executed"
            )
        now = sha256_file(path)
        if now != sha:
            raise ExecutionError(
                f"input {name} changed since it was recorded (sha256 was {sha[:12]}…, now {now[:12]}…); "
                "nothing was executed"
            )


def _secret_parameters(
    facts: ExecutionFacts | None, options: ReproduceOptions, env: dict[str, str]
) -> list[str]:
    given = dict(options.secret_parameters)
    notes = []
    for p in facts.parameters if facts is not None else ():
        if not p.get("secret"):
            continue
        name = str(p.get("name"))
        if name not in given:
            raise ExecutionError(
                f"the notebook was run with the secret parameter {name}: "
                f"pass it with --secret-param {name} VALUE"
            )
        env[SECRET_ENV_PREFIX + name] = given[name]
        recorded = (p.get("digest") or {}).get("sha256")
        if hashlib.sha256(given[name].encode("utf-8")).hexdigest() != recorded:
            notes.append(f"secret parameter {name} differs from the one recorded")
    return notes


# -- comparing ------------------------------------------------------------------------------------


def _normal_cell(cell: dict[str, Any], index: int, rules: Rules | None) -> dict[str, Any]:
    """A cell as compared: our own request outputs left out; with ``rules``, execution counts
    dropped and output text normalised."""
    value = canonical_cell(cell, index)
    outputs = [o for o in value.get("outputs", []) if REQUEST_MIME not in (o.get("data") or {})]
    if rules is None:
        return {**value, "outputs": outputs}
    value.pop("execution_count", None)
    value["outputs"] = [_normal_output(o, rules) for o in outputs]
    return value


def _normal_output(output: dict[str, Any], rules: Rules) -> dict[str, Any]:
    out = {k: v for k, v in output.items() if k != "execution_count"}
    if "text" in out and isinstance(out["text"], str):
        out["text"] = rules.normalise(out["text"])
    if isinstance(out.get("data"), dict):
        out["data"] = {
            mime: rules.normalise(v) if isinstance(v, str) and mime.startswith("text/") else v
            for mime, v in out["data"].items()
        }
    if out.get("output_type") == "error":
        out["evalue"] = rules.normalise(str(out.get("evalue", "")))
        out["traceback"] = [rules.normalise(str(t)) for t in out.get("traceback") or []]
    return out


def _shown_text(cell: dict[str, Any], index: int) -> list[str]:
    """A cell's outputs as lines a person reads (images by digest), for a short diff."""
    lines: list[str] = []
    for out in _normal_cell(cell, index, None).get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            lines += str(out.get("text", "")).splitlines()
        elif kind == "error":
            lines.append(f"{out.get('ename')}: {out.get('evalue')}")
        else:
            data = out.get("data") or {}
            if "text/plain" in data:
                lines += str(data["text/plain"]).splitlines()
            for mime, value in sorted(data.items()):
                if mime != "text/plain" and not mime.startswith("text/"):
                    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
                    lines.append(f"[{mime} sha256:{digest[:12]}]")
        if len(lines) > _DIFF_INPUT_LINES:
            break
    return lines[:_DIFF_INPUT_LINES]


def short_diff(before: list[str], after: list[str]) -> tuple[str, ...]:
    """The first differing lines, unified-diff style, at most a few lines."""
    diff = difflib.unified_diff(before, after, "signed", "reproduced", n=0, lineterm="")
    lines = [d for d in diff if not d.startswith(("---", "+++", "@@"))]
    if len(lines) > _DIFF_LINES:
        lines = [*lines[:_DIFF_LINES], f"… ({len(lines) - _DIFF_LINES} more differing lines)"]
    return tuple(line[:200] for line in lines)


def _compare_cells(
    original: dict[str, Any], execution: Execution, rules: Rules, changes: list[str]
) -> list[CellOutcome]:
    runs = {c.index: c for c in execution.cells}
    # signing writes a notebook in the form JupyterLab saves it: compare with that form too
    formed = _lab_formed_cells(execution.nb)
    outcomes = []
    for index, (old, raw) in enumerate(zip(original["cells"], execution.nb["cells"], strict=True)):
        candidates = [raw] if formed is None else [raw, formed[index]]
        cell_type = str(old.get("cell_type"))
        cell_id = old.get("id") if isinstance(old.get("id"), str) else None
        run = runs.get(index)

        def outcome(status: CellStatus, **more: Any) -> CellOutcome:
            return CellOutcome(index, cell_type, status, cell_id, **more)  # noqa: B023

        if cell_type != "code":
            outcomes.append(outcome("reproduced"))
            continue
        tags = _tags(old)
        if run is not None and run.status == "skipped" and "skip-execution" in tags:
            outcomes.append(outcome("exempted", detail="not executed (tag skip-execution)"))
            continue
        exact = _normal_cell(old, index, None)
        if any(exact == _normal_cell(new, index, None) for new in candidates):
            outcomes.append(outcome("reproduced"))
            continue
        normalised = _normal_cell(old, index, rules)
        if any(normalised == _normal_cell(new, index, rules) for new in candidates):
            outcomes.append(outcome("reproduced-normalised"))
            continue
        new = candidates[-1]
        diff = short_diff(_shown_text(old, index), _shown_text(new, index))
        related = _related_changes(str(new.get("source", "")), changes)
        exemption = _exemption(cell_id, tags, rules)
        if exemption is not None:
            outcomes.append(outcome("exempted", detail=exemption, diff=diff))
        elif run is not None and run.status == "error":
            outcomes.append(outcome("error", detail=run.error, diff=diff, environment=related))
        else:
            outcomes.append(outcome("differs", diff=diff, environment=related))
    return outcomes


def _lab_formed_cells(nb: dict[str, Any]) -> list[dict[str, Any]] | None:
    from .labform import lab_form

    try:
        cells: list[dict[str, Any]] = lab_form(nb)[0]["cells"]
    except NotebookError:
        return None
    return cells if len(cells) == len(nb["cells"]) else None


def _tags(cell: dict[str, Any]) -> list[str]:
    tags = (cell.get("metadata") or {}).get("tags")
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _exemption(cell_id: str | None, tags: list[str], rules: Rules) -> str | None:
    if cell_id is not None and cell_id in rules.ignore_cells:
        return f"not compared: rule ignores cell id {cell_id} ({rules.source})"
    ignored = sorted(set(tags) & rules.ignore_tags)
    if ignored:
        return f"not compared: rule ignores tag {ignored[0]} ({rules.source})"
    if NONDETERMINISTIC_TAG in tags:
        if rules.allow_exemptions:
            return f"exempted by the notebook itself (tag {NONDETERMINISTIC_TAG})"
        return None
    return None


def _compare_files(
    folder: Path, work: Path, signed: Sequence[tuple[str, str]], rules: Rules
) -> list[FileOutcome]:
    outcomes = []
    for name, sha in signed:
        path = work / name
        if not path.is_file():
            outcomes.append(FileOutcome(name, "missing", sha, None, "the re-execution did not write it"))
            continue
        try:
            new = read_regular_file(path, MAX_IMAGE_BYTES, "output")
        except NotebookError as exc:
            outcomes.append(FileOutcome(name, "differs", sha, None, str(exc)))
            continue
        actual = hashlib.sha256(new).hexdigest()
        if actual == sha:
            outcomes.append(FileOutcome(name, "reproduced", sha, actual))
            continue
        rule = rules.file_rule(name)
        if rule is not None and rule.compare == "ignore":
            outcomes.append(FileOutcome(name, "exempted", sha, actual, f"not compared ({rule.describe()})"))
            continue
        if rule is not None and _same_after_rule(folder / name, sha, new, rule, rules):
            outcomes.append(FileOutcome(name, "reproduced-normalised", sha, actual, rule.describe()))
            continue
        outcomes.append(FileOutcome(name, "differs", sha, actual))
    return outcomes


def _same_after_rule(original: Path, sha: str, new: bytes, rule: FileRule, rules: Rules) -> bool:
    try:
        old = read_regular_file(original, MAX_IMAGE_BYTES, "output")
    except NotebookError:
        return False
    if hashlib.sha256(old).hexdigest() != sha:
        return False  # the original is not the signed file: nothing trustworthy to compare with
    if rule.compare == "png-pixels":
        return same_pngs(old, new)
    try:
        return rules.normalise(old.decode("utf-8")) == rules.normalise(new.decode("utf-8"))
    except UnicodeDecodeError:
        return False


def _environment_changes(facts: ExecutionFacts | None, execution: Execution) -> list[str]:
    """What differs from the recorded environment: language, platform, packages."""
    if facts is None:
        return []
    changes = []
    kernel = execution.kernel
    old_version = facts.kernel.get("languageVersion")
    if old_version and kernel.language_version and old_version != kernel.language_version:
        changes.append(f"{kernel.language} {old_version} -> {kernel.language_version}")
    for key in ("system", "machine"):
        before, after = facts.platform.get(key), kernel.platform.get(key)
        if before and after and before != after:
            changes.append(f"{key} {before} -> {after}")
    now = dict(kernel.packages)
    for name in sorted(set(facts.packages) | set(now), key=str.lower):
        before, after = facts.packages.get(name), now.get(name)
        if before == after:
            continue
        if before is None:
            changes.append(f"{name} {after} (new)")
        elif after is None:
            changes.append(f"{name} {before} (gone)")
        else:
            changes.append(f"{name} {before} -> {after}")
    return changes


def _related_changes(source: str, changes: list[str]) -> tuple[str, ...]:
    """The environment changes a cell's code names (by package), else the first few."""
    words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source)}
    related = [c for c in changes if re.sub(r"[-.]", "_", c.split(" ", 1)[0].lower()) in words]
    return tuple(related or changes[:3])


def _result(cells: list[CellOutcome], files: list[FileOutcome], *, trusted: bool) -> Result:
    statuses = [c.status for c in cells] + [f.status for f in files]
    if any(s in ("differs", "error", "missing") for s in statuses):
        return "FAILED"
    if not trusted or any(s in ("reproduced-normalised", "exempted") for s in statuses):
        return "WARNED"
    return "PASSED"


def _summary(result: Result, cells: list[CellOutcome], files: list[FileOutcome]) -> str:
    def count(items: Sequence[CellOutcome | FileOutcome], status: str) -> int:
        return sum(1 for i in items if i.status == status)

    code = [c for c in cells if c.cell_type == "code"]
    parts = [f"{count(code, 'reproduced')} of {len(code)} code cells reproduced exactly"]
    for status in ("reproduced-normalised", "exempted", "differs", "error"):
        if count(code, status):
            parts.append(f"{count(code, status)} {status}")
    if files:
        same = count(files, "reproduced")
        parts.append(f"{same} of {len(files)} output files identical")
        for status in ("reproduced-normalised", "exempted", "differs", "missing"):
            if count(files, status):
                parts.append(f"{count(files, status)} {status}")
    return "; ".join(parts)


# -- signing the result -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReproductionSignature:
    """The Test Result attestation added to the notebook's ``metadata.sigstore``."""

    notebook: Path
    result: Result
    identity: str | None
    log_index: int | None
    bundle_json: str


def test_result(reproduction: Reproduction, notebook_name: str) -> dict[str, Any]:
    """The in-toto Test Result statement for ``reproduction``."""
    passed, warned, failed = [], [], []
    checked: list[tuple[str, str]] = [(f"cell {c.number}", c.status) for c in reproduction.cells]
    checked += [(f"output {f.path}", f.status) for f in reproduction.files]
    for name, status in checked:
        if status == "reproduced":
            passed.append(name)
        elif status in ("reproduced-normalised", "exempted"):
            warned.append(name)
        else:
            failed.append(name)
    configuration = [
        {
            "name": "environment",
            "annotations": {
                "kernel": reproduction.kernel,
                "platform": reproduction.platform,
                "packages": reproduction.packages,
                "changes": list(reproduction.environment_changes),
            },
        },
        {"name": "normalisation-rules", "annotations": {"rules": list(reproduction.rules)}},
        {
            "name": "outcomes",
            "annotations": {
                **{f"cell {c.number}": c.status for c in reproduction.cells if c.cell_type == "code"},
                **{f"output {f.path}": f.status for f in reproduction.files},
            },
        },
    ]
    return test_result_statement(
        notebook_name,
        reproduction.notebook_digest,
        reproduction.signed_outputs,
        result=reproduction.result,
        configuration=configuration,
        passed=passed,
        warned=warned,
        failed=failed,
    )


def sign_reproduction(reproduction: Reproduction, signer: StatementSigner) -> ReproductionSignature:
    """Add a signed Test Result attestation for ``reproduction`` to the notebook's
    ``metadata.sigstore``, after every existing entry (the author's signature is never touched).
    Refused when the notebook changed since it was reproduced."""
    from .bundles import log_index
    from .nbfile import atomic_write
    from .storage import existing_entries, plan_signature, with_block

    path = Path(reproduction.notebook)
    loaded = load_notebook(path)
    if digest_of(loaded.nb, path).digest != reproduction.notebook_digest:
        raise NotebookError(f"{path} changed since it was reproduced; nothing was signed")
    statement = test_result(reproduction, path.name)
    assert statement["predicateType"] == TEST_RESULT_PREDICATE_TYPE
    bundle_json = signer.sign_statement(statement)
    plan = plan_signature(loaded.nb, path, bundle_json, "embedded", existing_entries(loaded.nb))
    atomic_write(
        path, loaded.style.dumps(with_block(loaded.nb, plan.block)).encode("utf-8"), expect=loaded.raw
    )
    return ReproductionSignature(
        path, reproduction.result, signer.identity, log_index(json.loads(bundle_json)), bundle_json
    )


def exit_code(reproduction: Reproduction, *, strict: bool = False) -> int:
    """0 for PASSED and WARNED (1 for WARNED with ``strict``), 1 for FAILED."""
    if reproduction.result == "FAILED" or (strict and reproduction.result == "WARNED"):
        return 1
    return 0
