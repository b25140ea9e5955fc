"""Policies that require an attestation (``[[attested]]``): parsing, and judging verified facts."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_sigstore.certinfo import SignerIdentity
from jupyter_sigstore.errors import PolicyError
from jupyter_sigstore.policy import ATTESTATION_KINDS, AttestationFact, narrow, policy_from_dict

ISSUER = "https://issuer.example"
ALICE = SignerIdentity("alice@example.com", ISSUER)
CI = SignerIdentity("ci@example.com", ISSUER)
TEST_RESULT = ATTESTATION_KINDS["reproduction"]


def _policy(**attested: Any) -> Any:
    return policy_from_dict(
        {
            "trusted": [
                {"name": "author", "identity": ALICE.identity, "issuer": ISSUER},
                {"name": "ci", "identity": CI.identity, "issuer": ISSUER},
            ],
            "attested": [{"name": "reproduced", "by": "ci", **attested}],
            "policy": {"require": ["author", "reproduced"]},
        },
        "policy file p.toml",
    )


def _fact(signer: SignerIdentity, result: str, *, current: bool = True) -> AttestationFact:
    return AttestationFact(signer, TEST_RESULT, {"result": result}, current)


def test_signatures_fill_signer_roles_and_attestations_fill_attested_ones() -> None:
    policy = _policy()
    assert policy.unmet([ALICE]) == [] and policy.is_satisfied([ALICE])
    assert policy.unmet_attestations([]) == ["reproduced (no reproduction by ci about this version)"]
    assert policy.unmet_attestations([_fact(CI, "PASSED")]) == []
    assert policy.unmet_attestations([_fact(ALICE, "PASSED")]) == [
        "reproduced (no reproduction by ci about this version)"
    ]
    assert policy.unmet_attestations([_fact(CI, "PASSED", current=False)]) != []
    assert policy.unmet_attestations([_fact(CI, "WARNED")]) == [
        "reproduced (reproduction by ci is WARNED; accepted: PASSED)"
    ]
    assert _policy(result=["PASSED", "WARNED"]).unmet_attestations([_fact(CI, "WARNED")]) == []
    assert "reproduced: reproduction by ci with result PASSED" in policy.describe()
    only = policy.signatures_only()
    assert only.require == ("author",) and only.unmet_attestations([]) == []


def test_an_administrators_attestation_requirement_applies_after_narrowing() -> None:
    project = policy_from_dict(
        {"trusted": [{"name": "author", "identity": ALICE.identity, "issuer": ISSUER}]}, "project"
    )
    narrowed = narrow(_policy(), project)
    assert narrowed.unmet_attestations([]) == ["admin:reproduced (no reproduction by ci about this version)"]


@pytest.mark.parametrize(
    ("attested", "message"),
    [
        ({"by": "nobody"}, "'by' names 'nobody', which no \\[\\[trusted\\]\\] entry names"),
        ({"kind": "vibes"}, "kind must be one of reproduction"),
        ({"result": ["GREAT"]}, "result must be a list of PASSED, WARNED, FAILED"),
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"name": "author"}, "the name 'author' is used twice"),
    ],
)
def test_bad_attested_entries_are_named(attested: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        _policy(**attested)


def test_the_toml_examples_in_docs_reproducibility_md_are_valid() -> None:
    from pathlib import Path

    from jupyter_sigstore.policy import policy_from_text
    from jupyter_sigstore.rules import rules_from_dict

    docs = (Path(__file__).parents[1] / "docs" / "reproducibility.md").read_text(encoding="utf-8")
    rules_example, policy_example = [part.split("```", 1)[0] for part in docs.split("```toml\n")[1:3]]
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    rules = rules_from_dict(tomllib.loads(rules_example)["reproduce"], "docs")
    assert rules.ignore_tags == {"slow"} and rules.files[0].compare == "png-pixels"
    policy = policy_from_text(policy_example, "docs")
    assert policy.require == ("author", "reproduced") and policy.attested[0].by == "ci"
