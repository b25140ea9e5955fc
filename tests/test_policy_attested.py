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
