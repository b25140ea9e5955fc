"""CI claims are read from the Fulcio extensions that document them, on certificates carrying every
GitHub extension the way Fulcio issues them (generic DER ones, with and without the deprecated raw
ones), and a policy pasted from a report means the same thing: ``repository = "acme/analysis"``
never trusts another repository of the same owner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from jupyter_sigstore.certinfo import SignerIdentity, repository_from_uri, signer_identity
from jupyter_sigstore.cli import main
from jupyter_sigstore.policy import TrustPolicy, policy_from_dict
from jupyter_sigstore.testing import LocalSigstore
from jupyter_sigstore.testing._der import utf8_string
from jupyter_sigstore.testing.ca import FulcioCA
from jupyter_sigstore.testing.ctlog import CTLog
from jupyter_sigstore.testing.fulcio import (
    OIDC_ISSUER_V2_OID,
    github_actions_claims,
    github_extensions,
    github_workflow_identity,
)

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def ca() -> FulcioCA:
    return FulcioCA(CTLog())


def _ext(oid: str, value: bytes) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value)


def issue(ca: FulcioCA, claims: dict[str, Any], *, legacy: bool = True, extra: tuple[Any, ...] = ()) -> Any:
    """A certificate for a GitHub Actions token with ``claims``, as Fulcio issues it."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    san = x509.UniformResourceIdentifier(github_workflow_identity(claims))
    issuer = _ext(OIDC_ISSUER_V2_OID, utf8_string(GITHUB_ISSUER))
    return ca.issue(key, san, [issuer, *github_extensions(claims, legacy=legacy), *extra])


def repository_policy(repository: str) -> TrustPolicy:
    return policy_from_dict(
        {
            "trusted": [
                {
                    "name": "ci",
                    "identity_regex": r"https://github\.com/acme/.+",
                    "issuer": GITHUB_ISSUER,
                    "github": {"repository": repository},
                }
            ]
        },
        "test",
    )


@pytest.mark.parametrize("legacy", [True, False], ids=["with-legacy", "generic-only"])
def test_every_claim_comes_from_its_documented_extension(ca: FulcioCA, legacy: bool) -> None:
    claims = github_actions_claims("acme/analysis", ref="refs/tags/v1", sha=SHA, environment="production")
    signer = signer_identity(issue(ca, claims, legacy=legacy))
    assert signer.identity == "https://github.com/acme/analysis/.github/workflows/sign.yml@refs/tags/v1"
    assert signer.issuer == GITHUB_ISSUER
    expected = {
        "repository": "acme/analysis",
        "ref": "refs/tags/v1",
        "sha": SHA,
        "trigger": "push",
        "repository_uri": "https://github.com/acme/analysis",
        "repository_id": claims["repository_id"],
        "repository_owner_uri": "https://github.com/acme",
        "repository_owner_id": claims["repository_owner_id"],
        "repository_visibility": "public",
        "build_signer_uri": signer.identity,
        "build_signer_digest": SHA,
        "runner_environment": "github-hosted",
        "build_config_uri": signer.identity,
        "build_config_digest": SHA,
        "run_invocation_uri": "https://github.com/acme/analysis/actions/runs/4242/attempts/1",
        "deployment_environment": "production",
    }
    if legacy:
        expected["workflow"] = "sign"  # the workflow's name exists only in a deprecated extension
    assert signer.github == expected


@pytest.mark.parametrize("legacy", [True, False], ids=["with-legacy", "generic-only"])
def test_repository_policy_never_trusts_a_sibling_repository(ca: FulcioCA, legacy: bool) -> None:
    """The attack: the report used to show the owner URI as `repository`, so a policy copied from
    it trusted every repository of acme. acme/other is not acme/analysis."""
    analysis = signer_identity(issue(ca, github_actions_claims("acme/analysis"), legacy=legacy))
    other = signer_identity(issue(ca, github_actions_claims("acme/other"), legacy=legacy))
    assert analysis.github["repository_owner_uri"] == other.github["repository_owner_uri"]
    policy = repository_policy("acme/analysis")
    assert policy.matching_names(analysis) == ["ci"]
    assert policy.matching_names(other) == []
    for owner_only in ("acme", "https://github.com/acme", "acme/"):
        assert repository_policy(owner_only).matching_names(analysis) == []
        assert repository_policy(owner_only).matching_names(other) == []


@pytest.mark.parametrize("legacy", [True, False], ids=["with-legacy", "generic-only"])
def test_claims_in_a_report_paste_into_a_policy_unchanged(ca: FulcioCA, legacy: bool) -> None:
    signer = signer_identity(issue(ca, github_actions_claims("acme/analysis"), legacy=legacy))
    pasted = policy_from_dict(
        {
            "trusted": [
                {"name": "ci", "identity": signer.identity, "issuer": signer.issuer, "github": signer.github}
            ]
        },
        "pasted",
    )
    assert pasted.matching_names(signer) == ["ci"]
    sibling = signer_identity(issue(ca, github_actions_claims("acme/other"), legacy=legacy))
    assert pasted.matching_names(SignerIdentity(signer.identity, signer.issuer, sibling.github)) == []


def test_legacy_only_certificate_still_gives_the_repository(ca: FulcioCA) -> None:
    """Certificates from before the generic extensions carry only .1.2-.1.6."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    legacy = [
        _ext("1.3.6.1.4.1.57264.1.1", GITHUB_ISSUER.encode()),
        _ext("1.3.6.1.4.1.57264.1.2", b"push"),
        _ext("1.3.6.1.4.1.57264.1.3", SHA.encode()),
        _ext("1.3.6.1.4.1.57264.1.4", b"release"),
        _ext("1.3.6.1.4.1.57264.1.5", b"acme/analysis"),
        _ext("1.3.6.1.4.1.57264.1.6", b"refs/heads/main"),
    ]
    signer = signer_identity(ca.issue(key, x509.UniformResourceIdentifier("https://github.com/x"), legacy))
    assert signer.issuer == GITHUB_ISSUER
    assert signer.github == {
        "repository": "acme/analysis",
        "ref": "refs/heads/main",
        "sha": SHA,
        "trigger": "push",
        "workflow": "release",
    }


def test_owner_uri_alone_is_not_a_repository(ca: FulcioCA) -> None:
    """What the old code read as `repository`: the Source Repository Owner URI (.1.16)."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    owner = _ext("1.3.6.1.4.1.57264.1.16", utf8_string("https://github.com/acme"))
    signer = signer_identity(ca.issue(key, x509.UniformResourceIdentifier("https://github.com/x"), [owner]))
    assert signer.github == {"repository_owner_uri": "https://github.com/acme"}
    assert repository_policy("acme").matching_names(signer) == []


def test_disagreeing_extensions_drop_the_claim(ca: FulcioCA) -> None:
    """A certificate whose generic and legacy extensions disagree satisfies neither reading."""
    claims = github_actions_claims("acme/analysis")
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    generic = github_extensions(claims, legacy=False)
    forged_legacy = [
        _ext("1.3.6.1.4.1.57264.1.5", b"acme/other"),
        _ext("1.3.6.1.4.1.57264.1.6", b"refs/heads/evil"),
    ]
    cert = ca.issue(
        key, x509.UniformResourceIdentifier(github_workflow_identity(claims)), generic + forged_legacy
    )
    signer = signer_identity(cert)
    assert "repository" not in signer.github and "ref" not in signer.github
    assert signer.github["repository_uri"] == "https://github.com/acme/analysis"
    assert repository_policy("acme/analysis").matching_names(signer) == []
    assert repository_policy("acme/other").matching_names(signer) == []


def test_repository_uri_on_another_server_gives_no_short_name(ca: FulcioCA) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    extensions = [
        _ext("1.3.6.1.4.1.57264.1.12", utf8_string("https://git.example.com/acme/analysis")),
        _ext("1.3.6.1.4.1.57264.1.5", b"acme/analysis"),
    ]
    signer = signer_identity(ca.issue(key, x509.UniformResourceIdentifier("https://x"), extensions))
    assert "repository" not in signer.github
    assert signer.github["repository_uri"] == "https://git.example.com/acme/analysis"


def test_generic_extension_that_is_not_a_der_utf8string_is_ignored(ca: FulcioCA) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = _ext("1.3.6.1.4.1.57264.1.14", b"refs/heads/main")  # raw bytes where DER is due
    trailing = _ext("1.3.6.1.4.1.57264.1.13", utf8_string(SHA) + b"junk")
    signer = signer_identity(ca.issue(key, x509.UniformResourceIdentifier("https://x"), [raw, trailing]))
    assert signer.github == {}


@pytest.mark.parametrize(
    "uri, short",
    [
        ("https://github.com/acme/analysis", "acme/analysis"),
        ("https://github.com/acme", None),
        ("https://github.com/acme/analysis/extra", None),
        ("https://github.com/acme/../analysis", None),
        ("https://github.com/acme/analysis?x=1", None),
        ("https://github.com.evil.org/acme/analysis", None),
        ("http://github.com/acme/analysis", None),
    ],
)
def test_repository_from_uri(uri: str, short: str | None) -> None:
    assert repository_from_uri(uri) == short


# ------------------------------------------------------------------ end to end through the real sigstore


@pytest.fixture(params=[True, False], ids=["with-legacy", "generic-only"])
def legacy_extensions(request: pytest.FixtureRequest, sigstore_instance: LocalSigstore) -> Iterator[bool]:
    before = sigstore_instance.ca.legacy_github_extensions
    sigstore_instance.ca.legacy_github_extensions = request.param
    yield request.param
    sigstore_instance.ca.legacy_github_extensions = before


def test_workflow_signature_verifies_against_a_repository_policy(
    example: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    legacy_extensions: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(example)
    claims = github_actions_claims("acme/analysis")
    identity = github_workflow_identity(claims)
    token = sigstore_instance.mint_token(identity, github=claims)
    tc = str(trust_config)
    assert main(["sign", "analysis.ipynb", "--trust-config", tc, "--identity-token", token]) == 0
    capsys.readouterr()

    def verify(repository: str) -> dict[str, Any]:
        path = tmp_path / f"{repository.replace('/', '_')}.toml"
        path.write_text(
            '[[trusted]]\nname = "ci"\nidentity_regex = "https://github\\\\.com/acme/.+"\n'
            f'issuer = "{sigstore_instance.issuer_url}"\ngithub = {{ repository = "{repository}" }}\n',
            encoding="utf-8",
        )
        main(["verify", "analysis.ipynb", "--trust-config", tc, "--policy", str(path), "--json"])
        report: dict[str, Any] = json.loads(capsys.readouterr().out)
        return report

    good = verify("acme/analysis")
    assert good["status"] == "verified", good["summary"]
    [sig] = good["signatures"]
    assert sig["identity"] == identity
    assert sig["github"]["repository"] == "acme/analysis"
    assert sig["github"]["repository_uri"] == "https://github.com/acme/analysis"
    assert ("workflow" in sig["github"]) is legacy_extensions
    assert verify("acme/other")["status"] == "untrusted-signer"
    assert verify("acme")["status"] == "untrusted-signer"
