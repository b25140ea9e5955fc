"""Local keys: keygen, sign --key / verify --key end to end, and a verifier that must refuse every
bundle it has no business accepting."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from helpers import CliRunner

from jupyter_sigstore.errors import BundleError, KeyFileError
from jupyter_sigstore.keys import (
    KEY_ISSUER,
    KeySigner,
    generate_keypair,
    key_hint,
    key_identity,
    load_private_key,
    load_public_key,
    pae,
    verify_key_bundle,
)

PASSWORD = "correct horse battery staple"
INTOTO = "application/vnd.in-toto+json"
STATEMENT: dict[str, Any] = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "a.txt", "digest": {"sha256": "ab" * 32}}],
    "predicateType": "https://example.com/p/v1",
    "predicate": {},
}


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, key.public_key()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ------------------------------------------------------------------------------------------- keygen


def test_keygen_encrypted_with_env_password(
    tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_SIGSTORE_PASSWORD", PASSWORD)
    rc, out, err = cli("keygen", "--output", str(tmp_path / "team"))
    assert rc == 0, err
    private, public = tmp_path / "team.key", tmp_path / "team.pub"
    pem = private.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert PASSWORD not in out + err
    key = load_private_key(private, lambda: PASSWORD.encode())
    assert isinstance(key.curve, ec.SECP256R1)
    assert key_hint(load_public_key(public)) == key_hint(key.public_key())


def test_keygen_never_overwrites(tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_SIGSTORE_PASSWORD", PASSWORD)
    prefix = str(tmp_path / "team")
    assert cli("keygen", "--output", prefix)[0] == 0
    before = (tmp_path / "team.key").read_bytes(), (tmp_path / "team.pub").read_bytes()
    rc, _, err = cli("keygen", "--output", prefix, "--no-password")
    assert rc == 2 and "already exists" in err and "refusing to overwrite" in err
    assert ((tmp_path / "team.key").read_bytes(), (tmp_path / "team.pub").read_bytes()) == before
    # only the public half present: still refused, nothing written
    (tmp_path / "other.pub").write_text("keep me")
    with pytest.raises(KeyFileError, match="already exists"):
        generate_keypair(tmp_path / "other", None)
    assert not (tmp_path / "other.key").exists()
    assert (tmp_path / "other.pub").read_text() == "keep me"


def test_keygen_no_password_and_no_terminal(
    tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JUPYTER_SIGSTORE_PASSWORD", raising=False)
    rc, _, err = cli("keygen", "--output", str(tmp_path / "a"))
    assert rc == 2 and "JUPYTER_SIGSTORE_PASSWORD" in err
    assert not (tmp_path / "a.key").exists()
    rc, _, err = cli("keygen", "--output", str(tmp_path / "b"), "--no-password")
    assert rc == 0, err
    assert (tmp_path / "b.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    load_private_key(tmp_path / "b.key", lambda: pytest.fail("an unencrypted key needs no passphrase"))


def test_wrong_passphrase(tmp_path: Path) -> None:
    private, _ = generate_keypair(tmp_path / "k", PASSWORD.encode())
    with pytest.raises(KeyFileError) as info:
        load_private_key(private, lambda: b"not the passphrase")
    assert str(info.value) == f"wrong passphrase for private key {private}"
    assert "not the passphrase" not in str(info.value)


def _write_private(path: Path, key: Any) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def _write_public(path: Path, key: Any) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: ec.generate_private_key(ec.SECP384R1()), "is on curve secp384r1"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "is on curve secp256k1"),
        (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "is a RSA key"),
        (lambda: ed25519.Ed25519PrivateKey.generate(), "is a Ed25519 key"),
    ],
    ids=["p384", "secp256k1", "rsa", "ed25519"],
)
def test_key_of_another_curve_or_type(tmp_path: Path, make: Callable[[], Any], expected: str) -> None:
    key = make()
    with pytest.raises(KeyFileError, match=expected):
        load_private_key(_write_private(tmp_path / "k.key", key))
    with pytest.raises(KeyFileError, match=expected):
        load_public_key(_write_public(tmp_path / "k.pub", key))


def test_public_key_in_the_wrong_format(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    private = _write_private(tmp_path / "k.key", key)
    with pytest.raises(KeyFileError, match="is a private key: pass the .pub file"):
        load_public_key(private)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    now = __import__("datetime").datetime.now(__import__("datetime").timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(KeyFileError, match="certificate, not a public key"):
        load_public_key(tmp_path / "c.pem")
    ssh = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    (tmp_path / "k.ssh").write_bytes(ssh)
    with pytest.raises(KeyFileError, match="OpenSSH key"):
        load_public_key(tmp_path / "k.ssh")
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "k.der").write_bytes(der)
    with pytest.raises(KeyFileError, match="not a PEM public key"):
        load_public_key(tmp_path / "k.der")
    (tmp_path / "broken.pub").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(KeyFileError, match="cannot be parsed"):
        load_public_key(tmp_path / "broken.pub")
    with pytest.raises(KeyFileError, match="is a public key: sign with the .key file"):
        load_private_key(_write_public(tmp_path / "p.pub", key))


# --------------------------------------------------------------------------- sign --key / verify --key


@pytest.fixture
def team_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("JUPYTER_SIGSTORE_PASSWORD", PASSWORD)
    return generate_keypair(tmp_path / "team", PASSWORD.encode())


def test_sign_and_verify_with_key(
    example: Path,
    team_keys: tuple[Path, Path],
    tmp_path: Path,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private, public = team_keys
    monkeypatch.chdir(example)
    rc, out, err = cli("sign", "analysis.ipynb", "-o", "results.csv", "--key", str(private), "--sidecar")
    assert rc == 0, err
    assert f"as {key_identity(load_public_key(public))}" in out
    bundle = json.loads((example / "analysis.ipynb.sigstore.json").read_text())
    material = bundle["verificationMaterial"]
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert material["publicKey"]["hint"] == key_hint(load_public_key(public))
    assert "certificate" not in material and material["tlogEntries"] == []
    assert bundle["dsseEnvelope"]["payloadType"] == INTOTO
    embedded = json.loads((example / "analysis.ipynb").read_text())["metadata"]["sigstore"]["signatures"]
    assert embedded[0]["bundle"] == bundle
    assert PASSWORD not in (example / "analysis.ipynb").read_text()

    rc, out, err = cli("verify", "analysis.ipynb", "--key", str(public), "--json")
    report = json.loads(out)
    assert rc == 0, (report["summary"], err)
    assert report["status"] == "verified"
    sig = report["signatures"][0]
    assert (sig["identity"], sig["issuer"], sig["trusted_as"]) == (
        key_identity(load_public_key(public)),
        KEY_ISSUER,
        ["key"],
    )

    # without the key: invalid, with a message saying what to do
    rc, out, _ = cli("verify", "analysis.ipynb", "--json")
    report = json.loads(out)
    assert rc == 1 and report["status"] == "invalid"
    assert "signed with a local key" in report["summary"] and "--key" in report["summary"]

    # with someone else's key: invalid, hint named
    _, other = generate_keypair(tmp_path / "other", None)
    rc, out, _ = cli("verify", "analysis.ipynb", "--key", str(other), "--json")
    report = json.loads(out)
    assert rc == 1 and report["status"] == "invalid"
    assert "matches none of the given keys" in report["summary"]

    # a changed output is named
    (example / "results.csv").write_text("edited\n")
    rc, out, _ = cli("verify", "analysis.ipynb", "--key", str(public), "--json")
    report = json.loads(out)
    assert rc == 1 and report["status"] == "modified"
    assert [o["status"] for o in report["outputs"]] == ["modified"]


def test_sign_with_key_wrong_passphrase_writes_nothing(
    example: Path,
    team_keys: tuple[Path, Path],
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private, _ = team_keys
    before = (example / "analysis.ipynb").read_bytes()
    monkeypatch.setenv("JUPYTER_SIGSTORE_PASSWORD", "guess")
    rc, out, err = cli("sign", str(example / "analysis.ipynb"), "--key", str(private))
    assert rc == 2 and err == f"error: wrong passphrase for private key {private}\n"
    assert "guess" not in out + err
    assert (example / "analysis.ipynb").read_bytes() == before


def test_key_and_identity_policy_combine(
    example: Path,
    team_keys: tuple[Path, Path],
    tmp_path: Path,
    trust_config: Path,
    token: Callable[..., str],
    sigstore_instance: Any,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Author signs keyless, a reviewer countersigns with a team key; policy requires both."""
    private, public = team_keys
    monkeypatch.chdir(example)
    tc = str(trust_config)
    assert cli("sign", "analysis.ipynb", "--trust-config", tc, "--identity-token", token())[0] == 0
    rc, _, err = cli("sign", "analysis.ipynb", "--countersign", "--trust-config", tc, "--key", str(private))
    assert rc == 0, err
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f'[[trusted]]\nname = "author"\nidentity = "alice@example.com"\n'
        f'issuer = "{sigstore_instance.issuer_url}"\n'
        f'[[trusted]]\nname = "reviewer"\nkey = "{public.name}"\n'  # relative to the policy file
        '[policy]\nrequire = ["author", "reviewer"]\n'
    )
    args = ["verify", "analysis.ipynb", "--trust-config", tc, "--json"]
    rc, out, err = cli(*args, "--policy", str(policy))
    report = json.loads(out)
    assert rc == 0, (report["summary"], err)
    assert [s["trusted_as"] for s in report["signatures"]] == [["author"], ["reviewer"]]
    # the same with the key on the command line instead of in the policy
    rc, out, _ = cli(
        *args,
        "--cert-identity",
        "alice@example.com",
        "--cert-oidc-issuer",
        sigstore_instance.issuer_url,
        "--key",
        str(public),
    )
    report = json.loads(out)
    assert rc == 0, report["summary"]
    assert [s["trusted_as"] for s in report["signatures"]] == [["signer"], ["key"]]
    rc, out, _ = cli(
        *args,
        "--cert-identity",
        "alice@example.com",
        "--cert-oidc-issuer",
        sigstore_instance.issuer_url,
    )
    assert rc == 1 and json.loads(out)["status"] == "invalid"  # no key: the countersignature is invalid


def test_policy_key_entry_errors(tmp_path: Path) -> None:
    from jupyter_sigstore.errors import PolicyError
    from jupyter_sigstore.policy import load_policy

    policy = tmp_path / "p.toml"
    policy.write_text('[[trusted]]\nname = "ops"\nkey = "missing.pub"\n')
    with pytest.raises(
        PolicyError, match=r"line 1: \[\[trusted\]\] entry 1 \('ops'\): public key .*missing.pub: cannot"
    ):
        load_policy(policy)
    _write_public(tmp_path / "rsa.pub", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    policy.write_text('[[trusted]]\nname = "ops"\nkey = "rsa.pub"\n')
    with pytest.raises(PolicyError, match="only EC P-256"):
        load_policy(policy)
    generate_keypair(tmp_path / "ok", None)
    policy.write_text('[[trusted]]\nname = "ops"\nkey = "ok.pub"\nidentity = "x"\n')
    with pytest.raises(PolicyError, match="a key entry takes only 'name' and 'key', not 'identity'"):
        load_policy(policy)
    policy.write_text('[[trusted]]\nname = "ops"\nkey = "ok.pub"\n')
    loaded = load_policy(policy)
    assert len(loaded.public_keys) == 1
    assert loaded.signers[0].issuer == KEY_ISSUER


# ------------------------------------------------------------------------ the verifier under attack


def _signed(key: ec.EllipticCurvePrivateKey, statement: dict[str, Any] = STATEMENT) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads(KeySigner(key).sign_statement(statement))
    return bundle


def _resign(
    bundle: dict[str, Any], key: ec.EllipticCurvePrivateKey, data: bytes, algorithm: Any = None
) -> None:
    sig = key.sign(data, ec.ECDSA(algorithm or hashes.SHA256()))
    bundle["dsseEnvelope"]["signatures"] = [{"sig": _b64(sig)}]


def test_genuine_bundle_verifies(
    keypair: tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey],
) -> None:
    key, pub = keypair
    result = verify_key_bundle(json.dumps(_signed(key)), pub)
    assert result.payload == rfc8785.dumps(STATEMENT)
    assert result.payload_type == INTOTO and result.hint == key_hint(pub)


def _tamper_cases() -> list[tuple[str, Callable[[dict[str, Any], ec.EllipticCurvePrivateKey], None], str]]:
    other = ec.generate_private_key(ec.SECP256R1())
    p384 = ec.generate_private_key(ec.SECP384R1())

    def payload(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        changed = dict(STATEMENT, subject=[{"name": "a.txt", "digest": {"sha256": "cd" * 32}}])
        b["dsseEnvelope"]["payload"] = _b64(rfc8785.dumps(changed))

    def payload_type(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["dsseEnvelope"]["payloadType"] = "application/json"
        _resign(b, k, pae("application/json", base64.b64decode(b["dsseEnvelope"]["payload"])))

    def type_swap_same_sig(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["dsseEnvelope"]["payloadType"] = "application/vnd.in-toto+json "

    def raw_payload(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        _resign(b, k, base64.b64decode(b["dsseEnvelope"]["payload"]))  # no PAE

    def sha384(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        _resign(b, k, pae(INTOTO, base64.b64decode(b["dsseEnvelope"]["payload"])), hashes.SHA384())

    def p1363(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        der = k.sign(pae(INTOTO, base64.b64decode(b["dsseEnvelope"]["payload"])), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        b["dsseEnvelope"]["signatures"] = [{"sig": _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}]

    def two_sigs(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["dsseEnvelope"]["signatures"].append({"sig": b["dsseEnvelope"]["signatures"][0]["sig"]})

    def no_sigs(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["dsseEnvelope"]["signatures"] = []

    def empty_sig(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["dsseEnvelope"]["signatures"] = [{"sig": ""}]

    def hint_changed(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["verificationMaterial"]["publicKey"]["hint"] = key_hint(other.public_key())

    def hint_missing(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["verificationMaterial"]["publicKey"] = {}

    def other_signer_own_hint(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b.update(_signed(other))  # valid bundle, but from another key

    def other_signer_forged_hint(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        hint = b["verificationMaterial"]["publicKey"]["hint"]
        b.update(_signed(other))
        b["verificationMaterial"]["publicKey"]["hint"] = hint

    def old_media_type(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2"

    def unknown_media_type(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.9+json"

    def message_signature(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        digest = hashlib.sha256(b"artifact").digest()
        del b["dsseEnvelope"]
        b["messageSignature"] = {
            "messageDigest": {"algorithm": "SHA2_256", "digest": _b64(digest)},
            "signature": _b64(k.sign(b"artifact", ec.ECDSA(hashes.SHA256()))),
        }

    def both_contents(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["messageSignature"] = {"signature": b["dsseEnvelope"]["signatures"][0]["sig"]}

    def fake_log_entry(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["verificationMaterial"]["tlogEntries"] = [
            {
                "logIndex": "1",
                "logId": {"keyId": _b64(b"\0" * 32)},
                "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                "integratedTime": "1700000000",
                "inclusionPromise": {"signedEntryTimestamp": _b64(b"x")},
                "inclusionProof": {
                    "logIndex": "1",
                    "rootHash": _b64(b"\0" * 32),
                    "treeSize": "2",
                    "hashes": [],
                    "checkpoint": {"envelope": "x"},
                },
                "canonicalizedBody": _b64(b"{}"),
            }
        ]

    def signed_by_p384(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        _resign(b, p384, pae(INTOTO, base64.b64decode(b["dsseEnvelope"]["payload"])))

    def not_base64(b: dict[str, Any], k: ec.EllipticCurvePrivateKey) -> None:
        b["dsseEnvelope"]["signatures"][0]["sig"] = "%%%"

    return [
        ("payload changed", payload, "does not verify"),
        ("payload type changed and re-signed", payload_type, "not an in-toto statement"),
        ("payload type changed, same signature", type_swap_same_sig, "not an in-toto statement"),
        ("signature over the payload, not the PAE", raw_payload, "does not verify"),
        ("ECDSA with SHA-384", sha384, "does not verify"),
        ("IEEE P1363 signature encoding", p1363, "does not verify"),
        ("two signatures", two_sigs, "exactly one signature"),
        ("no signature", no_sigs, "exactly one signature"),
        ("empty signature", empty_sig, "signature is empty"),
        ("hint of another key", hint_changed, "does not match the given public key"),
        ("no hint", hint_missing, "publicKey.hint: Field required"),
        ("signed by another key", other_signer_own_hint, "does not match the given public key"),
        ("another key, forged hint", other_signer_forged_hint, "does not verify"),
        ("bundle v0.2", old_media_type, "must be bundle v0.3"),
        ("unknown bundle version", unknown_media_type, "not a valid Sigstore bundle"),
        ("message signature without artifact", message_signature, "needs the artifact"),
        ("DSSE and message signature", both_contents, "not a valid Sigstore bundle"),
        ("unverifiable log entry", fake_log_entry, "no trusted root was given"),
        ("signed with a P-384 key", signed_by_p384, "does not verify"),
        ("signature not base64", not_base64, "DSSE signature 1 is not valid base64"),
    ]


@pytest.mark.parametrize("name, tamper, expected", _tamper_cases(), ids=[c[0] for c in _tamper_cases()])
def test_verifier_refuses(
    keypair: tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey],
    name: str,
    tamper: Callable[[dict[str, Any], ec.EllipticCurvePrivateKey], None],
    expected: str,
) -> None:
    key, pub = keypair
    bundle = _signed(key)
    tamper(bundle, key)
    with pytest.raises(BundleError) as info:
        verify_key_bundle(json.dumps(bundle), pub)
    assert expected in str(info.value), name


def _case(name: str) -> Callable[[dict[str, Any], ec.EllipticCurvePrivateKey], None]:
    return next(tamper for n, tamper, _ in _tamper_cases() if n == name)


def test_fake_log_entry_rejected_against_a_trusted_root(
    keypair: tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey], sigstore_instance: Any
) -> None:
    from sigstore.models import TrustedRoot
    from sigstore_models.trustroot.v1 import TrustedRoot as RootModel

    key, pub = keypair
    bundle = _signed(key)
    _case("unverifiable log entry")(bundle, key)
    trusted = TrustedRoot(RootModel.from_json(json.dumps(sigstore_instance.trusted_root())))
    with pytest.raises(BundleError, match="invalid log entry"):
        verify_key_bundle(json.dumps(bundle), pub, trusted_root=trusted)


def test_verifier_refuses_a_p384_verification_key(
    keypair: tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey],
) -> None:
    key, _ = keypair
    with pytest.raises(BundleError, match="only EC P-256"):
        verify_key_bundle(json.dumps(_signed(key)), ec.generate_private_key(ec.SECP384R1()).public_key())


def test_message_signature_with_artifact(
    keypair: tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey],
) -> None:
    key, pub = keypair
    bundle = _signed(key)
    _case("message signature without artifact")(bundle, key)
    text = json.dumps(bundle)
    assert verify_key_bundle(text, pub, artifact_digest=hashlib.sha256(b"artifact").digest()).payload is None
    with pytest.raises(BundleError, match="message digest does not match"):
        verify_key_bundle(text, pub, artifact_digest=hashlib.sha256(b"other").digest())
    bundle["messageSignature"].pop("messageDigest")
    with pytest.raises(BundleError, match="does not verify"):
        verify_key_bundle(json.dumps(bundle), pub, artifact_digest=hashlib.sha256(b"other").digest())


def test_countersigning_a_key_signed_notebook_needs_the_earlier_key(
    example: Path,
    team_keys: tuple[Path, Path],
    tmp_path: Path,
    trust_config: Path,
    token: Callable[..., str],
    sigstore_instance: Any,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A team key signs first; a reviewer countersigns keyless, naming the team's public key."""
    private, public = team_keys
    monkeypatch.chdir(example)
    tc = str(trust_config)
    assert cli("sign", "analysis.ipynb", "-o", "results.csv", "--key", str(private))[0] == 0
    countersign = ["sign", "analysis.ipynb", "--countersign", "--trust-config", tc, "--identity-token"]
    before = (example / "analysis.ipynb").read_bytes()

    rc, _, err = cli(*countersign, token("bob@example.com"))
    assert rc == 2 and "was made with a local key" in err and "--earlier-key" in err
    _, other = generate_keypair(tmp_path / "other", None)
    rc, _, err = cli(*countersign, token("bob@example.com"), "--earlier-key", str(other))
    assert rc == 2 and "refusing to countersign" in err and "matches none of the given keys" in err
    rc, _, err = cli("sign", "analysis.ipynb", "--earlier-key", str(public), "--key", str(private))
    assert rc == 2 and "--earlier-key is for --countersign" in err
    assert (example / "analysis.ipynb").read_bytes() == before  # every refusal wrote nothing

    rc, out, err = cli(*countersign, token("bob@example.com"), "--earlier-key", str(public))
    assert rc == 0 and out.startswith("countersigned"), err
    rc, out, err = cli(
        "verify",
        "analysis.ipynb",
        "--trust-config",
        tc,
        "--json",
        "--key",
        str(public),
        "--cert-identity",
        "bob@example.com",
        "--cert-oidc-issuer",
        sigstore_instance.issuer_url,
    )
    report = json.loads(out)
    assert rc == 0, (report["summary"], err)
    assert [s["trusted_as"] for s in report["signatures"]] == [["key"], ["signer"]]
    assert [o["path"] for o in report["outputs"]] == ["results.csv"]  # the same subjects as the first

    (example / "results.csv").write_text("edited\n")  # a change since: refused, even with the key
    rc, _, err = cli(*countersign, token("carol@example.com"), "--earlier-key", str(public))
    assert rc == 2 and "modified" in err and "results.csv" in err
