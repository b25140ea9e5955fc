"""The signed statement: what ``build_statement`` writes, ``parse_statement`` reads back, and every way
a statement can contradict itself is refused (a verifier never trusts the parts that disagree)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from helpers import EXAMPLES

from jupyter_sigstore.canonical import PROFILE, notebook_digest
from jupyter_sigstore.errors import BundleError
from jupyter_sigstore.outputs import IncludeSpec, OutputDigest, OutputRules
from jupyter_sigstore.statement import (
    PREDICATE_TYPE,
    PREDICATE_TYPE_V1,
    STATEMENT_TYPE,
    build_statement,
    parse_statement,
)

NB = json.loads((EXAMPLES / "analysis.ipynb").read_text(encoding="utf-8"))
OUTPUTS = [
    OutputDigest("results.csv", "a" * 64, 120),
    OutputDigest("figures/summary.png", "b" * 64, 2048),
]
RULES = OutputRules(include=(IncludeSpec("directory", "figures"),), exclude=("*.tmp",))


def statement(**kwargs: Any) -> dict[str, Any]:
    return build_statement("analysis.ipynb", notebook_digest(NB), list(OUTPUTS), **kwargs)


def test_round_trip() -> None:
    digest = notebook_digest(NB)
    built = statement(output_rules=RULES, environment={"python": "3.11"})
    assert built["_type"] == STATEMENT_TYPE and built["predicateType"] == PREDICATE_TYPE
    assert built["subject"][0] == {"name": "analysis.ipynb", "digest": {"sha256": digest.digest}}
    parsed = parse_statement(json.loads(json.dumps(built)))
    assert (parsed.notebook_name, parsed.notebook_digest, parsed.profile) == (
        "analysis.ipynb",
        digest.digest,
        PROFILE,
    )
    assert parsed.metadata_digest == digest.metadata_digest
    assert [(c.cell_type, c.digest, c.cell_id) for c in parsed.cells] == [
        (c.cell_type, c.digest, c.cell_id) for c in digest.cells
    ]
    # each output once, as a subject; sizes are not signed (verification hashes every byte anyway)
    assert [s["name"] for s in built["subject"]] == ["analysis.ipynb", "results.csv", "figures/summary.png"]
    assert "outputs" not in built["predicate"]
    assert [(o.path, o.sha256) for o in parsed.outputs] == [(o.path, o.sha256) for o in OUTPUTS]
    assert parsed.output_rules == RULES
    assert parsed.predicate["environment"] == {"python": "3.11"}


def test_without_rules_or_outputs() -> None:
    built = build_statement("analysis.ipynb", notebook_digest(NB), [])
    assert "outputRules" not in built["predicate"]
    parsed = parse_statement(built)
    assert parsed.outputs == () and parsed.output_rules is None


def _cell(s: dict[str, Any]) -> None:
    s["predicate"]["cells"][1]["digest"]["sha256"] = "0" * 64


def _v1(s: dict[str, Any]) -> dict[str, Any]:
    """The same statement in the first predicate shape: each output also in predicate.outputs."""
    old = copy.deepcopy(s)
    old["predicateType"] = PREDICATE_TYPE_V1
    old["predicate"]["outputs"] = [
        {"path": o.path, "digest": {"sha256": o.sha256}, "size": o.size} for o in OUTPUTS
    ]
    return old


def _subject(s: dict[str, Any]) -> None:
    s["subject"][1]["digest"]["sha256"] = "c" * 64


def _extra_subject(s: dict[str, Any]) -> None:
    s["subject"].append({"name": "secret.csv", "digest": {"sha256": "d" * 64}})


def _missing_subject(s: dict[str, Any]) -> None:
    del s["subject"][2]


def _duplicate_output(s: dict[str, Any]) -> None:
    s["predicate"]["outputs"].append(copy.deepcopy(s["predicate"]["outputs"][0]))


def _duplicate_subject(s: dict[str, Any]) -> None:
    s["subject"].append(copy.deepcopy(s["subject"][1]))


def _renamed_notebook(s: dict[str, Any]) -> None:
    s["predicate"]["notebook"]["name"] = "other.ipynb"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(s: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = s
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


COMMON: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "cell digest": (_cell, "cell digests do not make its notebook digest"),
    "metadata digest": (
        _set("predicate.notebook.metadataDigest.sha256", "e" * 64),
        "cell digests do not make its notebook digest",
    ),
    "no digest": (_set("predicate.notebook.digest", {}), "has no sha256 digest"),
    "statement type": (_set("_type", "https://in-toto.io/Statement/v0.1"), "not an in-toto Statement v1"),
    "predicate type": (_set("predicateType", "https://slsa.dev/provenance/v1"), "not a jupyter-sigstore"),
    "profile": (_set("predicate.profile", "jupyter-sigstore/canonical/v0"), "does not know"),
    "cells not a list": (_set("predicate.cells", {}), "predicate.cells must be a list"),
    "rules not an object": (_set("predicate.outputRules", []), "outputRules must be an object"),
}
INCONSISTENT: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    **COMMON,
    "notebook subject digest": (_set("subject.0.digest.sha256", "c" * 64), "no subject is its notebook"),
    "no notebook subject": (lambda s: s["subject"].pop(0), "no subject is its notebook"),
    "notebook name": (_renamed_notebook, "no subject is its notebook"),
    "duplicate output": (_duplicate_subject, "lists subject 'results.csv' twice"),
    "output outside": (_set("subject.1.name", "../results.csv"), "escapes the notebook's folder"),
    "absolute output": (_set("subject.1.name", "/etc/passwd"), "escapes the notebook's folder"),
    "a URL subject without its entry": (_set("subject.1.name", "s3://b/k"), "escapes the notebook's folder"),
    "nameless subject": (_set("subject.1.name", ""), "has no name"),
    "malformed digest": (_set("subject.1.digest.sha256", "A" * 64), "malformed sha256"),
    "first-shape outputs": (_set("predicate.outputs", []), "belongs to the first predicate version"),
}
INCONSISTENT_V1: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    **COMMON,
    "subject digest": (_subject, "subjects differ from its predicate"),
    "extra subject": (_extra_subject, "subjects differ from its predicate"),
    "missing subject": (_missing_subject, "subjects differ from its predicate"),
    "notebook name": (_renamed_notebook, "subjects differ from its predicate"),
    "duplicate output": (_duplicate_output, "lists output 'results.csv' twice"),
    "output outside": (_set("predicate.outputs.0.path", "../results.csv"), "escapes the notebook's folder"),
    "absolute output": (_set("predicate.outputs.0.path", "/etc/passwd"), "escapes the notebook's folder"),
    "negative size": (_set("predicate.outputs.0.size", -1), "has no valid size"),
    "malformed digest": (_set("predicate.outputs.0.digest.sha256", "A" * 64), "malformed sha256"),
}


@pytest.mark.parametrize("case", list(INCONSISTENT))
def test_inconsistent_statements_are_refused(case: str) -> None:
    change, message = INCONSISTENT[case]
    bad = statement(output_rules=RULES)
    change(bad)
    with pytest.raises(BundleError) as refused:
        parse_statement(bad)
    assert message in str(refused.value)


def test_first_shape_statements_parse_with_their_sizes() -> None:
    parsed = parse_statement(_v1(statement(output_rules=RULES)))
    assert list(parsed.outputs) == OUTPUTS and parsed.output_rules == RULES


@pytest.mark.parametrize("case", list(INCONSISTENT_V1))
def test_inconsistent_first_shape_statements_are_refused(case: str) -> None:
    change, message = INCONSISTENT_V1[case]
    bad = _v1(statement(output_rules=RULES))
    change(bad)
    with pytest.raises(BundleError) as refused:
        parse_statement(bad)
    assert message in str(refused.value)


def test_outputs_outside_the_folder_parse_only_when_allowed() -> None:
    outside = build_statement(
        "analysis.ipynb", notebook_digest(NB), [OutputDigest("../data.csv", "a" * 64, 1)]
    )
    with pytest.raises(BundleError):
        parse_statement(outside)
    assert parse_statement(outside, allow_parent=True).outputs[0].path == "../data.csv"


def test_garbage_instead_of_a_statement() -> None:
    """Anything else in the place of a statement is one BundleError, whatever its type."""
    for garbage in (None, [], "statement", 3, {"_type": STATEMENT_TYPE}):
        with pytest.raises(BundleError):
            parse_statement(garbage)
