"""Trust policy rules written as the attacks they stop: backtracking patterns (RE2 only), one
signer filling two required roles (four eyes, found by a real matching), a project policy widening
an administrator's, key paths leaving the project, and hostile policy files (huge, FIFOs)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from jupyter_sigstore.bundles import KEY_ISSUER
from jupyter_sigstore.certinfo import SignerIdentity
from jupyter_sigstore.errors import PolicyError
from jupyter_sigstore.keys import generate_keypair, key_identity, load_public_key
from jupyter_sigstore.policy import (
    MAX_POLICY_BYTES,
    MAX_TRUSTED_ENTRIES,
    TrustedSigner,
    TrustPolicy,
    load_policy,
    narrow,
    policy_from_dict,
)

ISSUER = "https://accounts.google.com"
ALICE = SignerIdentity("alice@example.com", ISSUER)
BOB = SignerIdentity("bob@example.com", ISSUER)
CAROL = SignerIdentity("carol@example.com", ISSUER)
MALLORY = SignerIdentity("mallory@evil.example", ISSUER)


def entry(name: str, identity: str | None = None, **fields: object) -> dict[str, object]:
    data: dict[str, object] = {"name": name, "issuer": ISSUER, **fields}
    if identity is not None:
        data["identity"] = identity
    return data


def policy(*entries: dict[str, object], source: str = "test", **section: object) -> TrustPolicy:
    data: dict[str, object] = {"trusted": list(entries)}
    if section:
        data["policy"] = section
    return policy_from_dict(data, source)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ linear-time patterns (RE2)


def test_backtracking_pattern_cannot_pin_the_verifier() -> None:
    """``(.|.)*X`` takes 2^n steps in a backtracking engine: Python's re needs hours for 40
    characters. RE2 answers for 200,000 characters in milliseconds; the bound here is generous."""
    trap = policy({"name": "trap", "identity_regex": "(.|.)*X", "issuer_regex": "(.|.)*X"})
    long_identity = SignerIdentity("a" * 200_000, "b" * 200_000)
    result: list[list[str]] = []
    worker = threading.Thread(target=lambda: result.append(trap.matching_names(long_identity)), daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "matching a backtracking pattern did not finish"
    assert result == [[]]
    assert trap.matching_names(SignerIdentity("a" * 1000 + "X", "X")) == ["trap"]


@pytest.mark.parametrize(
    "pattern, feature",
    [
        (r"(alice)@\1\.com", "backreference"),
        (r"(?=alice).*@example\.com", "lookahead"),
        (r".*(?<!evil)@example\.com", "lookbehind"),
        (r"alice@example\.com\Z", r"\Z"),
    ],
)
def test_pattern_re2_cannot_express_is_a_clear_error(pattern: str, feature: str) -> None:
    with pytest.raises(PolicyError) as info:
        policy({"name": "fancy", "identity_regex": pattern, "issuer": ISSUER})
    message = str(info.value)
    assert "'fancy'" in message and repr(pattern) in message and "identity_regex" in message
    assert "does not compile" in message and "RE2" in message
    assert "\n" not in message


def test_patterns_use_full_match_in_re2() -> None:
    anchored = policy({"name": "a", "identity_regex": r"alice@example\.com", "issuer_regex": r"https://.+"})
    assert anchored.matching_names(ALICE) == ["a"]
    for identity in ("alice@example.com.evil.org", "evil-alice@example.com", "alice@example.com\n"):
        assert anchored.matching_names(SignerIdentity(identity, ISSUER)) == []
    assert anchored.matching_names(SignerIdentity("alice@example.com", "https://")) == []
    # RE2's $ is the end of the text, never "before a final newline"
    dollar = policy({"name": "d", "identity_regex": r"^alice@example\.com$", "issuer": ISSUER})
    assert dollar.matching_names(SignerIdentity("alice@example.com\n", ISSUER)) == []


def test_overlong_pattern_is_refused() -> None:
    with pytest.raises(PolicyError, match="longer than 1024 characters"):
        policy({"name": "long", "identity_regex": "a" * 5000, "issuer": ISSUER})


def test_identity_that_is_not_unicode_text_never_matches() -> None:
    anything = policy({"name": "any", "identity_regex": ".*", "issuer_regex": ".*"})
    assert anything.matching_names(SignerIdentity("\ud800", ISSUER)) == []


# ------------------------------------------------------------------ unescaped-dot warning (15.10)


@pytest.mark.parametrize(
    "pattern, position",
    [
        (".*@example.com", 10),
        (r"^https://github\.com/acme/.github/workflows/.+$", 26),
        ("alice@example.com", 13),
    ],
)
def test_unescaped_dot_is_accepted_with_a_warning(pattern: str, position: int) -> None:
    loaded = policy(
        {"name": "team", "identity_regex": pattern, "issuer": ISSUER}, source="policy file p.toml"
    )
    (warning,) = loaded.warnings
    assert warning.startswith("policy file p.toml: trusted signer 'team': identity_regex")
    assert repr(pattern) in warning and f"position {position}" in warning
    assert "matches any character" in warning and "'\\.'" in warning


def test_issuer_pattern_dot_is_warned_too() -> None:
    loaded = policy({"name": "x", "identity": "a@b", "issuer_regex": "https://accounts.google.com"})
    assert len(loaded.warnings) == 1 and "issuer_regex" in loaded.warnings[0]


@pytest.mark.parametrize(
    "pattern",
    [
        r".*@example\.com",
        r"[.]+@example[.]com",
        r".+@.+",
        r"\Qalice@example.com\E",
        r"^https://github\.com/acme/analysis/\.github/workflows/.+@refs/heads/main$",
        r"[[:alpha:].]+@x\.org",
    ],
)
def test_deliberate_or_escaped_dots_give_no_warning(pattern: str) -> None:
    loaded = policy({"name": "ok", "identity_regex": pattern, "issuer": ISSUER})
    assert loaded.warnings == ()


# ------------------------------------------------------------------ four eyes (11.6)

AUTHOR_REVIEWER = (
    entry("author", "alice@example.com"),
    {"name": "reviewer", "identity_regex": r".*@example\.com", "issuer": ISSUER},
)


def test_one_signature_cannot_fill_author_and_reviewer() -> None:
    """The attack: alice alone matches both entries, and used to satisfy ``require`` by herself."""
    four_eyes = policy(*AUTHOR_REVIEWER, require=["author", "reviewer"])
    assert four_eyes.matching_names(ALICE) == ["author", "reviewer"]
    assert not four_eyes.is_satisfied([ALICE])
    assert four_eyes.unmet([ALICE]) == ["reviewer"]
    shortfall = four_eyes.shortfall([ALICE])
    assert shortfall is not None and shortfall.startswith("missing: reviewer")
    assert "alice@example.com already fills author" in shortfall and "different signer" in shortfall
    assert four_eyes.is_satisfied([ALICE, BOB]) and four_eyes.unmet([ALICE, BOB]) == []
    assert four_eyes.shortfall([ALICE, BOB]) is None


def test_two_signatures_by_the_same_signer_are_one_signer() -> None:
    four_eyes = policy(*AUTHOR_REVIEWER, require=["author", "reviewer"])
    alice_again = SignerIdentity("alice@example.com", ISSUER, {"sha": "another"})
    assert not four_eyes.is_satisfied([ALICE, alice_again])
    # the same identity from another issuer is another signer (and here only fits the regex)
    other_issuer = policy(
        entry("author", "alice@example.com"),
        {"name": "reviewer", "identity": "alice@example.com", "issuer_regex": "https://.*"},
        require=["author", "reviewer"],
    )
    assert other_issuer.is_satisfied([ALICE, SignerIdentity("alice@example.com", "https://idp.example")])


def test_roles_are_found_by_a_matching_not_greedily() -> None:
    """bob fits both roles, alice only the first: filling roles in order (or signers in order)
    gives bob the first role and leaves the second empty; a matching gives alice the first."""
    roles = policy(
        {"name": "first", "identity_regex": "(alice|bob)@example\\.com", "issuer": ISSUER},
        entry("second", "bob@example.com"),
        require=["first", "second"],
    )
    for signers in ([BOB, ALICE], [ALICE, BOB]):
        assert roles.is_satisfied(signers)
        assert roles.unmet(signers) == []


def test_key_signers_count_by_key() -> None:
    keyed = policy(
        {"name": "author", "identity": "key AAA", "issuer": KEY_ISSUER},
        {"name": "reviewer", "identity_regex": "key .*", "issuer": KEY_ISSUER},
        require=["author", "reviewer"],
    )
    assert not keyed.is_satisfied([SignerIdentity("key AAA", KEY_ISSUER)])
    assert keyed.is_satisfied([SignerIdentity("key AAA", KEY_ISSUER), SignerIdentity("key BBB", KEY_ISSUER)])


def test_opt_out_lets_one_signer_fill_several_roles() -> None:
    relaxed = policy(*AUTHOR_REVIEWER, require=["author", "reviewer"], one_signer_may_fill_several_roles=True)
    assert relaxed.is_satisfied([ALICE])
    assert "one signer may fill several" in relaxed.describe()
    with pytest.raises(PolicyError, match="'one_signer_may_fill_several_roles' must be true or false"):
        policy(*AUTHOR_REVIEWER, require=["author"], one_signer_may_fill_several_roles="yes")


def test_describe_names_entries_and_require() -> None:
    four_eyes = policy(*AUTHOR_REVIEWER, require=["author", "reviewer"])
    text = four_eyes.describe()
    assert "author: alice@example.com (https://accounts.google.com)" in text
    assert "require author, reviewer (each by a different signer)" in text
    ci = policy(entry("ci", "https://github.com/acme/x", github={"repository": "acme/x"}))
    assert "repository=acme/x" in ci.describe() and "any one of them" in ci.describe()


def test_without_require_any_trusted_signer_will_do() -> None:
    either = policy(entry("alice", "alice@example.com"), entry("bob", "bob@example.com"))
    assert either.is_satisfied([BOB])
    assert not either.is_satisfied([MALLORY]) and not either.is_satisfied([])
    assert either.unmet([MALLORY]) == []  # no required role to name
    shortfall = either.shortfall([MALLORY])
    assert shortfall is not None and shortfall.startswith("no signature by a trusted signer (any of: ")
    assert "alice@example.com" in shortfall and "bob@example.com" in shortfall


# ------------------------------------------------------------------ narrowing (11.4)

ADMIN = policy(entry("staff", "alice@example.com"), entry("ops", "bob@example.com"), source="server config")


def test_project_policy_cannot_trust_its_own_author() -> None:
    """The attack: a cloned repository's policy trusts the repository's author."""
    project = policy(entry("author", "mallory@evil.example"), require=["author"], source="project policy")
    combined = narrow(ADMIN, project)
    assert combined.matching_names(MALLORY) == []
    assert not combined.is_satisfied([MALLORY])
    assert combined.unmet([MALLORY]) == ["author"]


def test_project_wildcard_only_narrows() -> None:
    anyone = policy({"name": "anyone", "identity_regex": ".*", "issuer_regex": ".*"}, source="project")
    combined = narrow(ADMIN, anyone)
    assert combined.matching_names(MALLORY) == []
    assert combined.matching_names(ALICE) == ["anyone", "admin:staff"]
    assert combined.is_satisfied([ALICE])
    assert not combined.is_satisfied([MALLORY, CAROL])


def test_project_may_add_required_roles() -> None:
    project = policy(
        entry("author", "alice@example.com"),
        entry("reviewer", "bob@example.com"),
        require=["author", "reviewer"],
        source="project",
    )
    combined = narrow(ADMIN, project)
    assert combined.unmet([ALICE]) == ["reviewer"]
    assert combined.is_satisfied([ALICE, BOB])


def test_administrators_require_still_applies() -> None:
    admin = policy(
        entry("staff", "alice@example.com"),
        entry("security", "carol@example.com"),
        require=["security"],
        source="server config",
    )
    project = policy(entry("author", "alice@example.com"), require=["author"], source="project")
    combined = narrow(admin, project)
    assert not combined.is_satisfied([ALICE])
    assert combined.unmet([ALICE]) == ["admin:security"]
    assert combined.shortfall([ALICE]) == "missing: admin:security"
    assert combined.is_satisfied([ALICE, CAROL])


def test_narrowed_policy_says_what_it_combines() -> None:
    project = policy(entry("author", "alice@example.com"), require=["author"], source="project policy p.toml")
    combined = narrow(ADMIN, project)
    assert combined.source == "project policy p.toml, narrowed by server config"
    assert "require author" in combined.describe()
    assert (
        "only signers the administrator's policy also trusts (staff: alice@example.com" in combined.describe()
    )
    assert narrow(None, project) is project


def test_narrowing_keys_the_admin_does_not_trust(tmp_path: Path) -> None:
    _, ours = generate_keypair(tmp_path / "ours", None)
    _, theirs = generate_keypair(tmp_path / "theirs", None)
    ours_id, theirs_id = key_identity(load_public_key(ours)), key_identity(load_public_key(theirs))
    admin = TrustPolicy((TrustedSigner("team", identity=ours_id, issuer=KEY_ISSUER),), source="admin")
    project = load_policy(write(tmp_path / "p.toml", f'[[trusted]]\nname = "k"\nkey = "{theirs.name}"\n'))
    combined = narrow(admin, project)
    assert combined.matching_names(SignerIdentity(theirs_id, KEY_ISSUER)) == []
    assert len(combined.public_keys) == 1  # the project's key still lets its signature be checked


# ------------------------------------------------------------------ key confinement and bounded files


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    generate_keypair(tmp_path / "outside", None)
    generate_keypair(folder / "inside", None)
    return folder


@pytest.mark.parametrize(
    "key",
    ["../outside.pub", "{tmp}/outside.pub", "sub/../../outside.pub", "link.pub"],
)
def test_key_path_must_stay_in_the_project(project: Path, key: str) -> None:
    (project / "link.pub").symlink_to(project.parent / "outside.pub")
    key = key.format(tmp=project.parent)
    path = write(project / "sigstore-policy.toml", f'[[trusted]]\nname = "team"\nkey = "{key}"\n')
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert "entry 1 ('team')" in message and f"key {key!r} leads outside" in message


def test_missing_key_outside_the_project_does_not_say_whether_it_exists(project: Path) -> None:
    path = write(project / "p.toml", '[[trusted]]\nname = "t"\nkey = "/nonexistent/x.pub"\n')
    with pytest.raises(PolicyError, match="leads outside"):
        load_policy(path)


def test_key_inside_the_project_loads_and_a_wider_root_can_be_given(project: Path) -> None:
    path = write(project / "p.toml", '[[trusted]]\nname = "t"\nkey = "inside.pub"\n')
    assert len(load_policy(path).public_keys) == 1
    path = write(project / "q.toml", '[[trusted]]\nname = "t"\nkey = "../outside.pub"\n')
    assert len(load_policy(path, key_root=project.parent).public_keys) == 1


def test_fifo_as_key_or_policy_is_refused_without_waiting(project: Path) -> None:
    os.mkfifo(project / "fifo.pub")
    path = write(project / "p.toml", '[[trusted]]\nname = "t"\nkey = "fifo.pub"\n')
    with pytest.raises(PolicyError, match="not a regular file"):
        load_policy(path)
    os.mkfifo(project / "fifo.toml")
    with pytest.raises(PolicyError, match="not a regular file"):
        load_policy(project / "fifo.toml")


def test_huge_policy_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_bytes(b"#" * (MAX_POLICY_BYTES + 1))
    with pytest.raises(PolicyError, match="larger than 1024 KiB"):
        load_policy(path)


def test_number_of_entries_is_bounded(tmp_path: Path) -> None:
    many = "".join(
        f'[[trusted]]\nname = "n{i}"\nidentity = "u{i}@x"\nissuer = "i"\n'
        for i in range(MAX_TRUSTED_ENTRIES + 1)
    )
    with pytest.raises(PolicyError, match=f"at most {MAX_TRUSTED_ENTRIES}"):
        load_policy(write(tmp_path / "many.toml", many))


def test_the_example_in_docs_policy_md_is_valid(tmp_path: Path) -> None:
    docs = (Path(__file__).parents[1] / "docs" / "policy.md").read_text(encoding="utf-8")
    example = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "keys").mkdir()
    generate_keypair(tmp_path / "keys" / "ops", None)
    loaded = load_policy(write(tmp_path / "sigstore-policy.toml", example))
    assert [s.name for s in loaded.signers] == ["author", "reviewer", "ci", "ops"]
    assert loaded.require == ("author", "reviewer") and loaded.warnings == ()
    ci = SignerIdentity(
        "https://github.com/acme/analysis/.github/workflows/sign.yml@refs/heads/main",
        "https://token.actions.githubusercontent.com",
        {"repository": "acme/analysis", "ref": "refs/heads/main", "trigger": "push"},
    )
    assert loaded.matching_names(ci) == ["ci"]
    assert not loaded.is_satisfied([ALICE]) and loaded.is_satisfied([ALICE, BOB])
