"""Trust policy files: loading, anchored matching, require lists, countersignatures, and every
malformed policy giving one clear line that names the entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliRunner

from jupyter_sigstore.certinfo import SignerIdentity
from jupyter_sigstore.errors import PolicyError
from jupyter_sigstore.policy import load_policy

GOOGLE = "https://accounts.google.com"
FULL = """\
[[trusted]]
name = "author"
identity = "alice@example.com"
issuer = "https://accounts.google.com"

[[trusted]]
name = "ci"
identity_regex = "^https://github.com/acme/analysis/.github/workflows/.+@refs/heads/main$"
issuer = "https://token.actions.githubusercontent.com"
github = { repository = "acme/analysis", ref = "refs/heads/main", trigger = "push" }

[[trusted]]
name = "reviewer"
identity = "bob@example.com"
issuer_regex = "https://accounts\\\\.google\\\\.com"

[policy]
require = ["author", "reviewer"]
"""


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_policy_loads_and_matches(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, FULL))
    assert [s.name for s in policy.signers] == ["author", "ci", "reviewer"]
    assert policy.require == ("author", "reviewer")
    alice = SignerIdentity("alice@example.com", GOOGLE)
    bob = SignerIdentity("bob@example.com", GOOGLE)
    ci = SignerIdentity(
        "https://github.com/acme/analysis/.github/workflows/release.yml@refs/heads/main",
        "https://token.actions.githubusercontent.com",
        {"repository": "acme/analysis", "ref": "refs/heads/main", "trigger": "push"},
    )
    assert policy.matching_names(alice) == ["author"]
    assert policy.matching_names(bob) == ["reviewer"]
    assert policy.matching_names(ci) == ["ci"]
    assert not policy.is_satisfied([alice])
    assert policy.is_satisfied([alice, bob])


@pytest.mark.parametrize(
    "identity, issuer",
    [
        ("alice@example.com.evil.org", GOOGLE),
        ("xalice@example.com", GOOGLE),
        ("alice@example.com", "https://accounts.google.com.evil.org"),
        ("bob@example.com", "https://accounts-google.com"),  # '.' escaped in the regex
    ],
)
def test_exact_and_regex_are_anchored(tmp_path: Path, identity: str, issuer: str) -> None:
    policy = load_policy(write(tmp_path, FULL))
    assert policy.matching_names(SignerIdentity(identity, issuer)) == []


def test_regex_match_is_anchored_even_without_caret_and_dollar(tmp_path: Path) -> None:
    policy = load_policy(
        write(tmp_path, '[[trusted]]\nname = "x"\nidentity_regex = "alice@example\\\\.com"\nissuer = "i"\n')
    )
    assert policy.matching_names(SignerIdentity("alice@example.com", "i")) == ["x"]
    assert policy.matching_names(SignerIdentity("alice@example.com.evil.org", "i")) == []
    assert policy.matching_names(SignerIdentity("evil-alice@example.com", "i")) == []
    assert policy.matching_names(SignerIdentity("alice@example.com\n", "i")) == []


def test_github_claims_must_all_match(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, FULL))
    identity = "https://github.com/acme/analysis/.github/workflows/release.yml@refs/heads/main"
    issuer = "https://token.actions.githubusercontent.com"
    wrong_trigger = {"repository": "acme/analysis", "ref": "refs/heads/main", "trigger": "pull_request"}
    assert policy.matching_names(SignerIdentity(identity, issuer, wrong_trigger)) == []
    assert policy.matching_names(SignerIdentity(identity, issuer, {})) == []


def test_default_is_any_one_trusted_signer(tmp_path: Path) -> None:
    text = FULL.split("[policy]")[0]
    policy = load_policy(write(tmp_path, text))
    assert policy.require == ()
    assert policy.is_satisfied([SignerIdentity("bob@example.com", GOOGLE)])
    assert not policy.is_satisfied([SignerIdentity("eve@example.com", GOOGLE)])


@pytest.mark.parametrize(
    "text, expected",
    [
        # a policy naming nobody
        ("", "names nobody"),
        ("[policy]\nrequire = []\n", "names nobody"),
        # a regex that does not compile (entry and line named)
        (
            '[[trusted]]\nname = "a"\nidentity = "a@x"\nissuer = "i"\n\n'
            '[[trusted]]\nname = "b"\nidentity_regex = "(unclosed"\nissuer = "i"\n',
            "line 6: [[trusted]] entry 2 ('b'): identity_regex '(unclosed' does not compile",
        ),
        (
            '[[trusted]]\nname = "a"\nidentity = "a@x"\nissuer_regex = "[z-a]"\n',
            "line 1: [[trusted]] entry 1 ('a'): issuer_regex '[z-a]' does not compile",
        ),
        (
            "[[trusted]]\nname = 'a'\nissuer = 'i'\n",
            "entry 1 ('a'): give exactly one of identity, identity_regex",
        ),
        (
            "[[trusted]]\nname = 'a'\nidentity = 'x'\nidentity_regex = 'x'\nissuer = 'i'\n",
            "give exactly one of identity, identity_regex",
        ),
        ("[[trusted]]\nname = 'a'\nidentity = 'x'\n", "give exactly one of issuer, issuer_regex"),
        (
            "[[trusted]]\nidentity = 'x'\nissuer = 'i'\n",
            "line 1: [[trusted]] entry 1: 'name' must be a non-empty string",
        ),
        ("[[trusted]]\nname = 'a'\nidentity = 'x'\nissuer = 'i'\nidentiy = 'y'\n", "unknown key 'identiy'"),
        ("[[trusted]]\nname = 'a'\nidentity = 3\nissuer = 'i'\n", "'identity' must be a non-empty string"),
        (
            "[[trusted]]\nname = 'a'\nidentity = 'x'\nissuer = 'i'\ngithub = { repo = 'a/b' }\n",
            "unknown github claim 'repo'",
        ),
        (
            "[[trusted]]\nname = 'a'\nidentity = 'x'\nissuer = 'i'\n[[trusted]]\nname = 'a'\nidentity = 'y'\n"
            "issuer = 'i'\n",
            "line 5: [[trusted]] entry 2 ('a'): the name 'a' is used twice",
        ),
        (
            "[[trusted]]\nname = 'a'\nidentity = 'x'\nissuer = 'i'\n[policy]\nrequire = ['bob']\n",
            "requires 'bob'",
        ),
        (
            "[[trusted]]\nname = 'a'\nidentity = 'x'\nissuer = 'i'\n[policy]\nrequire = 'a'\n",
            "must be a list",
        ),
        (
            "[[trusted]]\nname = 'a'\nidentity = 'x'\nissuer = 'i'\n[policy]\nany = true\n",
            "unknown key 'any'",
        ),
        ("trusted = 'alice'\n", "'trusted' must be a list of [[trusted]] tables"),
        ("[signers]\n", "unknown top-level key 'signers'"),
        # not TOML at all: the parser's line and column
        ("[[trusted]]\nname = alice\n", "is not valid TOML: Invalid value (at line 2, column 8)"),
    ],
)
def test_malformed_policy_is_one_clear_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert str(path) in message


def test_unreadable_policy(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")


def test_cli_reports_bad_policy_without_traceback(tmp_path: Path, cli: CliRunner, example: Path) -> None:
    path = write(tmp_path, "[[trusted]]\nname = 'a'\nidentity_regex = '('\nissuer = 'i'\n")
    rc, _, err = cli("verify", example / "analysis.ipynb", "--policy", path)
    assert rc == 2
    assert err.startswith("error: policy file") and "does not compile" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_cli_policy_and_cert_identity_are_exclusive(tmp_path: Path, cli: CliRunner, example: Path) -> None:
    path = write(tmp_path, FULL)
    rc, _, err = cli(
        "verify",
        example / "analysis.ipynb",
        "--policy",
        path,
        "--cert-identity",
        "a@x",
        "--cert-oidc-issuer",
        "i",
    )
    assert rc == 2
    assert "cannot be combined" in err


# ------------------------------------------------------------------ end to end with countersignatures


def _policy_for(tmp_path: Path, issuer: str, require: list[str]) -> Path:
    return write(
        tmp_path,
        f'[[trusted]]\nname = "author"\nidentity = "alice@example.com"\nissuer = "{issuer}"\n\n'
        f'[[trusted]]\nname = "reviewer"\nidentity = "bob@example.com"\nissuer = "{issuer}"\n\n'
        f"[policy]\nrequire = {json.dumps(require)}\n",
    )


def test_author_and_reviewer_countersignature(
    tmp_path: Path,
    example: Path,
    trust_config: Path,
    token: Callable[..., str],
    sigstore_instance: object,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(example)
    issuer = sigstore_instance.issuer_url  # type: ignore[attr-defined]
    tc = str(trust_config)
    both = _policy_for(tmp_path, issuer, ["author", "reviewer"])
    nb = "analysis.ipynb"

    rc, out, err = cli("sign", nb, "-o", "results.csv", "--trust-config", tc, "--identity-token", token())
    assert rc == 0, err

    # countersigning an unsigned notebook, or as the same identity, is refused
    rc, _, err = cli("sign", nb, "--countersign", "--trust-config", tc, "--identity-token", token())
    assert rc == 2 and "already signed" in err and "another signer" in err

    rc, out, _ = cli("verify", nb, "--trust-config", tc, "--policy", str(both), "--json")
    report = json.loads(out)
    assert rc == 1 and report["status"] == "untrusted-signer"
    assert [s["trusted_as"] for s in report["signatures"]] == [["author"]]

    rc, out, err = cli(
        "sign",
        nb,
        "--countersign",
        "--trust-config",
        tc,
        "--identity-token",
        token("bob@example.com"),
    )
    assert rc == 0, err
    assert out.startswith("countersigned")

    rc, out, err = cli("verify", nb, "--trust-config", tc, "--policy", str(both), "--json")
    report = json.loads(out)
    assert rc == 0, (report["summary"], err)
    assert report["status"] == "verified"
    assert [(s["identity"], s["trusted_as"]) for s in report["signatures"]] == [
        ("alice@example.com", ["author"]),
        ("bob@example.com", ["reviewer"]),
    ]
    assert all(s["covers_current"] for s in report["signatures"])

    # a policy requiring someone who never signed is not satisfied
    carol = write(
        tmp_path,
        f'[[trusted]]\nname = "author"\nidentity = "alice@example.com"\nissuer = "{issuer}"\n'
        f'[[trusted]]\nname = "carol"\nidentity = "carol@example.com"\nissuer = "{issuer}"\n'
        '[policy]\nrequire = ["author", "carol"]\n',
        "carol.toml",
    )
    rc, out, _ = cli("verify", nb, "--trust-config", tc, "--policy", str(carol), "--json")
    assert rc == 1 and json.loads(out)["status"] == "untrusted-signer"

    # text report lists every signature and the entries each satisfied
    rc, out, _ = cli("verify", nb, "--trust-config", tc, "--policy", str(both))
    assert "alice@example.com" in out and "trusted as author" in out
    assert "bob@example.com" in out and "trusted as reviewer" in out


def test_countersign_refused_after_change(
    example: Path,
    trust_config: Path,
    token: Callable[..., str],
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(example)
    tc = str(trust_config)
    nb = "analysis.ipynb"
    rc, _, err = cli("sign", nb, "--countersign", "--trust-config", tc, "--identity-token", token())
    assert rc == 2 and "no signature to countersign" in err

    rc, _, err = cli("sign", nb, "-o", "results.csv", "--trust-config", tc, "--identity-token", token())
    assert rc == 0, err
    (example / "results.csv").write_text("tampered\n", encoding="utf-8")
    before = (example / nb).read_bytes()
    rc, _, err = cli(
        "sign",
        nb,
        "--countersign",
        "--trust-config",
        tc,
        "--identity-token",
        token("bob@example.com"),
    )
    assert rc == 2
    assert "refusing to countersign" in err and "modified" in err and "results.csv" in err
    assert (example / nb).read_bytes() == before


def test_one_signature_is_not_author_and_reviewer_end_to_end(
    tmp_path: Path,
    example: Path,
    trust_config: Path,
    token: Callable[..., str],
    sigstore_instance: object,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Four eyes: alice's one signature matches both entries but fills only one role."""
    monkeypatch.chdir(example)
    issuer = sigstore_instance.issuer_url  # type: ignore[attr-defined]
    tc = str(trust_config)
    policy = write(
        tmp_path,
        f'[[trusted]]\nname = "author"\nidentity = "alice@example.com"\nissuer = "{issuer}"\n\n'
        f'[[trusted]]\nname = "reviewer"\nidentity_regex = ".*@example\\\\.com"\nissuer = "{issuer}"\n\n'
        '[policy]\nrequire = ["author", "reviewer"]\n',
    )
    rc, _, err = cli("sign", "analysis.ipynb", "--trust-config", tc, "--identity-token", token())
    assert rc == 0, err
    rc, out, _ = cli("verify", "analysis.ipynb", "--trust-config", tc, "--policy", str(policy), "--json")
    report = json.loads(out)
    assert rc == 1 and report["status"] == "untrusted-signer"
    assert report["signatures"][0]["trusted_as"] == ["author", "reviewer"]

    rc, _, err = cli(
        *("sign", "analysis.ipynb", "--countersign", "--trust-config", tc),
        *("--identity-token", token("bob@example.com")),
    )
    assert rc == 0, err
    rc, out, _ = cli("verify", "analysis.ipynb", "--trust-config", tc, "--policy", str(policy), "--json")
    assert rc == 0 and json.loads(out)["status"] == "verified"
