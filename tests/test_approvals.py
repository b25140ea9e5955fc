"""Project policy approvals: a policy file found beside a notebook is honoured only once the user
approved that exact file (real path + sha256, and the keys it names); the store fails closed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from jupyter_sigstore import approvals as store
from jupyter_sigstore.approvals import (
    APPROVALS_ENV,
    approval_of,
    approve,
    is_approved,
    load_approved_policy,
    revoke,
)
from jupyter_sigstore.certinfo import SignerIdentity
from jupyter_sigstore.errors import PolicyError, PolicyNotApprovedError
from jupyter_sigstore.keys import generate_keypair

ISSUER = "https://accounts.google.com"
POLICY = f'[[trusted]]\nname = "author"\nidentity = "alice@example.com"\nissuer = "{ISSUER}"\n'


@pytest.fixture(autouse=True)
def approvals_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "sigstore" / "approved-policies.json"
    monkeypatch.setenv(APPROVALS_ENV, str(path))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "clone"
    folder.mkdir()
    (folder / "sigstore-policy.toml").write_text(POLICY, encoding="utf-8")
    return folder


def test_found_policy_is_not_honoured_until_approved(project: Path) -> None:
    path = project / "sigstore-policy.toml"
    with pytest.raises(PolicyNotApprovedError) as info:
        load_approved_policy(path)
    exc = info.value
    assert exc.path == str(path.resolve()) and len(exc.sha256) == 64
    assert "is not approved" in str(exc) and "jupyter-sigstore policy approve" in str(exc)
    assert approval_of(path) is None and not is_approved(path, exc.sha256)

    approval = approve(path, sha256=exc.sha256)
    assert approval.sha256 == exc.sha256 and approval.path == str(path.resolve())
    assert store.approvals() == [approval]
    assert approval_of(path) == approval and is_approved(path, exc.sha256)
    loaded = load_approved_policy(path)
    assert loaded.matching_names(SignerIdentity("alice@example.com", ISSUER)) == ["author"]
    assert loaded.source.endswith("(approved)")


def test_editing_an_approved_policy_needs_a_new_approval(project: Path) -> None:
    """The attack: after approval, a `git pull` adds the attacker to the policy."""
    path = project / "sigstore-policy.toml"
    approve(path)
    path.write_text(
        POLICY + f'\n[[trusted]]\nname = "x"\nidentity = "mallory@evil.example"\nissuer = "{ISSUER}"\n',
        encoding="utf-8",
    )
    with pytest.raises(PolicyNotApprovedError):
        load_approved_policy(path)
    assert approval_of(path) is None


def test_moving_an_approved_policy_needs_a_new_approval(project: Path, tmp_path: Path) -> None:
    path = project / "sigstore-policy.toml"
    approve(path)
    other = tmp_path / "elsewhere"
    other.mkdir()
    moved = other / "sigstore-policy.toml"
    moved.write_bytes(path.read_bytes())  # same bytes, another place
    with pytest.raises(PolicyNotApprovedError):
        load_approved_policy(moved)


def test_swapping_a_key_file_needs_a_new_approval(project: Path) -> None:
    generate_keypair(project / "team", None)
    path = project / "sigstore-policy.toml"
    path.write_text('[[trusted]]\nname = "team"\nkey = "team.pub"\n', encoding="utf-8")
    approval = approve(path)
    assert len(approval.keys) == 1 and approval.keys[0].startswith("key ")
    assert len(load_approved_policy(path).public_keys) == 1
    (project / "team.pub").unlink()
    (project / "team.key").unlink()
    generate_keypair(project / "team", None)  # the attacker's key under the approved name
    with pytest.raises(PolicyNotApprovedError, match="holds another key"):
        load_approved_policy(path)


def test_approve_refuses_a_file_changed_since_it_was_shown(project: Path) -> None:
    path = project / "sigstore-policy.toml"
    with pytest.raises(PolicyError, match="changed since it was shown"):
        approve(path, sha256="0" * 64)
    assert store.approvals() == []


def test_approve_refuses_an_invalid_policy(project: Path) -> None:
    path = project / "sigstore-policy.toml"
    path.write_text('[[trusted]]\nname = "k"\nkey = "../../etc/x.pub"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="leads outside"):
        approve(path)
    assert store.approvals() == []


def test_revoke_by_path_or_hash(project: Path, tmp_path: Path) -> None:
    path = project / "sigstore-policy.toml"
    first = approve(path)
    assert revoke(path) is True and store.approvals() == []
    assert revoke(path) is False
    approve(path)
    assert revoke(first.sha256) is True and store.approvals() == []
    approve(path)
    path.unlink()  # a deleted file can still be revoked by the path it had
    assert revoke(path) is True


def test_reapproving_replaces_the_earlier_approval(project: Path) -> None:
    path = project / "sigstore-policy.toml"
    approve(path)
    path.write_text(POLICY + "# reviewed again\n", encoding="utf-8")
    second = approve(path)
    assert store.approvals() == [second]


def test_store_is_private_and_written_atomically(project: Path, approvals_file: Path) -> None:
    approve(project / "sigstore-policy.toml")
    assert stat.S_IMODE(approvals_file.stat().st_mode) == 0o600
    document = json.loads(approvals_file.read_text(encoding="utf-8"))
    assert document["format"] == 1 and len(document["approved"]) == 1
    leftovers = [p.name for p in approvals_file.parent.iterdir() if p.suffix == ".tmp"]
    assert leftovers == []


@pytest.mark.parametrize(
    "content, why",
    [
        (b"{not json", "not JSON"),
        (b'{"format": 2, "approved": []}', "format 1"),
        (
            b'{"format": 1, "approved": [{"path": "relative", "sha256": "x", "approved_at": "", '
            b'"keys": []}]}',
            "approval 1 is malformed",
        ),
    ],
)
def test_corrupt_store_approves_nothing(
    project: Path, approvals_file: Path, content: bytes, why: str
) -> None:
    path = project / "sigstore-policy.toml"
    approve(path)
    approvals_file.write_bytes(content)
    with pytest.raises(PolicyError) as info:
        load_approved_policy(path)
    assert not isinstance(info.value, PolicyNotApprovedError)
    assert "approvals store" in str(info.value) and why in str(info.value)
    assert "no project policy counts as approved" in str(info.value)
    with pytest.raises(PolicyError, match="unusable"):
        approve(path)  # never overwrites what the user may want to repair
    assert approvals_file.read_bytes() == content


def test_store_others_may_write_approves_nothing(project: Path, approvals_file: Path) -> None:
    """Another local user able to write the store could approve their own policy."""
    path = project / "sigstore-policy.toml"
    approve(path)
    os.chmod(approvals_file, 0o666)
    with pytest.raises(PolicyError, match="other users may write it"):
        load_approved_policy(path)


def test_huge_or_special_store_approves_nothing(project: Path, approvals_file: Path) -> None:
    path = project / "sigstore-policy.toml"
    approve(path)
    approvals_file.write_bytes(b" " * (store.MAX_STORE_BYTES + 1))
    with pytest.raises(PolicyError, match="larger than"):
        load_approved_policy(path)
    approvals_file.unlink()
    os.mkfifo(approvals_file)
    with pytest.raises(PolicyError, match="not a regular file"):
        load_approved_policy(path)


def test_default_store_is_in_the_jupyter_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(APPROVALS_ENV)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jcfg"))
    assert store.store_path() == tmp_path / "jcfg" / "sigstore" / "approved-policies.json"
