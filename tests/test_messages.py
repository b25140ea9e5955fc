"""Every message says what happened and what to do (issue 15): each test pins a message's key words,
not its whole text."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliRunner

from jupyter_sigstore.testing import LocalSigstore

ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def signed(
    example: Path,
    trust_config: Path,
    token: Callable[..., str],
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    monkeypatch.chdir(example)
    rc, _, err = cli(
        *("sign", "analysis.ipynb", "--trust-config", str(trust_config), "--identity-token", token(ALICE)),
        *("--output", "results.csv", "--output", "figures/summary.png"),
    )
    assert rc == 0, err
    return example / "analysis.ipynb"


def test_signed_elsewhere_says_which_instance_and_what_to_pass(signed: Path, cli: CliRunner) -> None:
    rc, out, _ = cli("verify", str(signed))  # the public-good root: it never saw the test instance
    assert rc == 1
    first = out.splitlines()[0]
    assert "INVALID" in first and "does not know" in first and "--trust-config" in first
    assert "issuer http://127.0.0.1" in first


def test_fulcio_refusal_shows_its_reason(
    example: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(example)
    before = (example / "analysis.ipynb").read_bytes()
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    now = int(time.time())
    claims = {"iss": sigstore_instance.issuer_url, "aud": "sigstore", "sub": ALICE, "email": ALICE}
    claims |= {"email_verified": True, "iat": now, "nbf": now, "exp": now + 300}
    # signed with a key the issuer never published: Fulcio refuses it
    foreign = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    rc, _, err = cli(
        "sign", "analysis.ipynb", "--trust-config", str(trust_config), "--identity-token", foreign
    )
    assert rc == 1
    assert err.startswith("error: signing failed: Fulcio refused the request (HTTP 401")
    assert "invalid identity token" in err and "internal error" not in err
    assert (example / "analysis.ipynb").read_bytes() == before


def test_unmet_requirement_is_named_in_text_and_json(
    signed: Path, trust_config: Path, sigstore_instance: LocalSigstore, cli: CliRunner
) -> None:
    issuer = sigstore_instance.issuer_url
    policy = signed.parent / "policy.toml"
    policy.write_text(
        f'[[trusted]]\nname = "author"\nidentity = "{ALICE}"\nissuer = "{issuer}"\n'
        f'[[trusted]]\nname = "reviewer"\nidentity = "{BOB}"\nissuer = "{issuer}"\n'
        '[policy]\nrequire = ["author", "reviewer"]\n'
    )
    base = ("verify", str(signed), "--trust-config", str(trust_config), "--policy", str(policy))
    rc, out, _ = cli(*base)
    assert rc == 1
    assert "missing: reviewer" in out.splitlines()[0]
    rc, out, _ = cli(*base, "--json")
    report = json.loads(out)
    assert report["missing_roles"] == ["reviewer"]
    assert "reviewer" in report["policy"] and "require" in report["policy"]


def test_missing_and_added_outputs_are_not_called_changed(
    signed: Path, trust_config: Path, cli: CliRunner
) -> None:
    (signed.parent / "results.csv").unlink()
    rc, out, _ = cli("verify", str(signed), "--trust-config", str(trust_config))
    assert rc == 1
    summary = out.splitlines()[0]
    assert "output results.csv missing" in summary and "results.csv changed" not in summary


def test_sign_json_log_index_is_an_integer(
    example: Path,
    trust_config: Path,
    token: Callable[..., str],
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(example)
    rc, out, _ = cli(
        "sign",
        "analysis.ipynb",
        "--trust-config",
        str(trust_config),
        "--identity-token",
        token(),
        "--json",
    )
    assert rc == 0
    assert isinstance(json.loads(out)["log_index"], int)


def test_a_csv_given_as_the_notebook_is_called_not_a_notebook(example: Path, cli: CliRunner) -> None:
    rc, _, err = cli("verify", str(example / "results.csv"))
    assert rc == 2
    assert "not a notebook" in err and "truncated" not in err


def test_inspect_shows_the_signing_time(signed: Path, cli: CliRunner) -> None:
    rc, out, _ = cli("inspect", str(signed))
    assert rc == 0
    assert "signed at 20" in out
    rc, out, _ = cli("inspect", str(signed), "--json")
    assert json.loads(out)["signatures"][0]["signed_at"].startswith("20")


def test_invalid_reason_is_printed_once(signed: Path, trust_config: Path, cli: CliRunner) -> None:
    nb = json.loads(signed.read_text())
    nb["metadata"]["sigstore"]["signatures"][0]["bundle"]["dsseEnvelope"]["signatures"][0]["sig"] = "AAAA"
    signed.write_text(json.dumps(nb))
    rc, out, _ = cli("verify", str(signed), "--trust-config", str(trust_config))
    assert rc == 1
    reason = out.splitlines()[0].split(" - ", 1)[1]
    assert out.count(reason) == 1


def test_no_offline_notice_on_stderr(example: Path, cli: CliRunner) -> None:
    shutil.copy(example / "analysis.ipynb", example / "copy.ipynb")
    cli("verify", str(example / "copy.ipynb"))
    rc, _, err = cli("verify", str(example / "copy.ipynb"))
    assert rc == 1  # unsigned
    assert "offline mode" not in err
