"""The loopback Sigstore test instance drives the real sigstore-python client end to end."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore.dsse import DigestSet, Statement, StatementBuilder, Subject
from sigstore.errors import VerificationError
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.oidc import IdentityToken, Issuer
from sigstore.sign import SigningContext
from sigstore.verify import Verifier
from sigstore.verify.policy import AllOf, GitHubWorkflowRepository, Identity

from jupyter_sigstore.testing import LocalSigstore

ALICE = "alice@example.com"
ARTIFACT = b"results.csv contents\n1,2,3\n"
SIGSTORE_CLI = Path(sys.executable).with_name("sigstore")


@pytest.fixture(autouse=True)
def _isolated_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture(scope="module", params=[1, 2], ids=["rekor-v1", "rekor-v2"])
def inst(request: pytest.FixtureRequest) -> Iterator[LocalSigstore]:
    with LocalSigstore(rekor_version=request.param) as instance:
        yield instance


@pytest.fixture(scope="module")
def inst1() -> Iterator[LocalSigstore]:
    with LocalSigstore(rekor_version=1) as instance:
        yield instance


def _config(inst: LocalSigstore) -> ClientTrustConfig:
    return ClientTrustConfig.from_json(json.dumps(inst.trust_config()))


def _statement(digest: bytes = ARTIFACT) -> Statement:
    return (
        StatementBuilder()
        .subjects(
            [
                Subject(
                    name="results.csv",
                    digest=DigestSet(root={"sha256": hashlib.sha256(digest).hexdigest()}),
                )
            ]
        )
        .predicate_type("https://example.com/notebook-provenance/v1")
        .predicate({"cells": 3})
        .build()
    )


def _sign(inst: LocalSigstore, token: str) -> tuple[ClientTrustConfig, Bundle, Bundle]:
    config = _config(inst)
    context = SigningContext.from_trust_config(config)
    with context.signer(IdentityToken(token)) as signer:
        artifact = signer.sign_artifact(ARTIFACT)
        attestation = signer.sign_dsse(_statement())
    return config, artifact, attestation


def _fails(action: Any, *args: Any) -> None:
    with pytest.raises(VerificationError):
        action(*args)


def test_artifact_sign_and_verify(inst: LocalSigstore) -> None:
    config, bundle, _ = _sign(inst, inst.mint_token(ALICE))
    verifier = Verifier(trusted_root=config.trusted_root)
    policy = Identity(identity=ALICE, issuer=inst.issuer_url)

    verifier.verify_artifact(ARTIFACT, bundle, policy)
    verifier.verify_artifact(ARTIFACT, Bundle.from_json(bundle.to_json()), policy)

    _fails(verifier.verify_artifact, ARTIFACT + b"4", bundle, policy)
    _fails(verifier.verify_artifact, ARTIFACT, bundle, Identity(identity="mallory@example.com"))
    wrong_issuer = Identity(identity=ALICE, issuer="https://accounts.example.com")
    _fails(verifier.verify_artifact, ARTIFACT, bundle, wrong_issuer)


def test_dsse_sign_and_verify(inst: LocalSigstore) -> None:
    config, _, bundle = _sign(inst, inst.mint_token(ALICE))
    verifier = Verifier(trusted_root=config.trusted_root)
    policy = Identity(identity=ALICE, issuer=inst.issuer_url)

    payload_type, payload = verifier.verify_dsse(bundle, policy)
    assert payload_type == "application/vnd.in-toto+json"
    assert json.loads(payload)["predicateType"] == "https://example.com/notebook-provenance/v1"
    verifier.verify_dsse(Bundle.from_json(bundle.to_json()), policy)

    _fails(verifier.verify_dsse, bundle, Identity(identity="bob@example.com"))
    _fails(verifier.verify_dsse, bundle, Identity(identity=ALICE, issuer="https://evil.example"))

    tampered = json.loads(bundle.to_json())
    statement = json.loads(base64.b64decode(tampered["dsseEnvelope"]["payload"]))
    statement["predicate"]["cells"] = 4
    tampered["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    _fails(verifier.verify_dsse, Bundle.from_json(json.dumps(tampered)), policy)


def test_bundle_shape_matches_rekor_version(inst: LocalSigstore) -> None:
    _, artifact, attestation = _sign(inst, inst.mint_token(ALICE))
    for bundle, v1_kind in ((artifact, "hashedrekord"), (attestation, "dsse")):
        entry = json.loads(bundle.to_json())["verificationMaterial"]["tlogEntries"][0]
        timestamps = bundle.verification_material.timestamp_verification_data
        if inst.rekor_version == 1:
            assert entry["kindVersion"] == {"kind": v1_kind, "version": "0.0.1"}
            assert int(entry["integratedTime"]) > 0 and entry["inclusionPromise"]
            assert timestamps is None
        else:
            assert entry["kindVersion"] == {"kind": "hashedrekord", "version": "0.0.2"}
            assert "integratedTime" not in entry and "inclusionPromise" not in entry
            assert timestamps is not None and len(timestamps.rfc3161_timestamps) == 1
        assert entry["inclusionProof"]["checkpoint"]["envelope"]


def test_certificate_profile(inst1: LocalSigstore) -> None:
    _, bundle, _ = _sign(inst1, inst1.mint_token(ALICE))
    cert = bundle.signing_certificate
    assert cert.subject == x509.Name([])
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical and san.value.get_values_for_type(x509.RFC822Name) == [ALICE]
    raw_issuer = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")).value
    assert isinstance(raw_issuer, x509.UnrecognizedExtension)
    assert raw_issuer.value == inst1.issuer_url.encode()
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime.total_seconds() == 600
    assert (
        len(cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value)
        == 1
    )


def test_uri_identity_and_foreign_issuer_claim(inst1: LocalSigstore) -> None:
    identity = "https://ci.example.com/pipelines/42"
    token = inst1.mint_token(identity, issuer="https://issuer.example.org")
    config, bundle, _ = _sign(inst1, token)
    verifier = Verifier(trusted_root=config.trusted_root)
    verifier.verify_artifact(
        ARTIFACT, bundle, Identity(identity=identity, issuer="https://issuer.example.org")
    )
    _fails(verifier.verify_artifact, ARTIFACT, bundle, Identity(identity=identity, issuer=inst1.issuer_url))


def test_github_claims_in_certificate(inst: LocalSigstore) -> None:
    identity = "https://github.com/octo/notebooks/.github/workflows/sign.yml@refs/heads/main"
    github = {
        "repository": "octo/notebooks",
        "ref": "refs/heads/main",
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "workflow": "sign",
        "event_name": "push",
        "job_workflow_ref": "octo/notebooks/.github/workflows/sign.yml@refs/heads/main",
    }
    config, bundle, _ = _sign(inst, inst.mint_token(identity, github=github))
    cert = bundle.signing_certificate

    def ext(suffix: int) -> bytes:
        oid = x509.ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{suffix}")
        value = cert.extensions.get_extension_for_oid(oid).value
        assert isinstance(value, x509.UnrecognizedExtension)
        return value.value

    assert ext(2) == b"push"
    assert ext(3) == github["sha"].encode()
    assert ext(4) == b"sign"
    assert ext(5) == b"octo/notebooks"
    assert ext(6) == b"refs/heads/main"
    repository_uri = b"https://github.com/octo/notebooks"
    assert ext(12) == b"\x0c" + bytes([len(repository_uri)]) + repository_uri  # UTF8String
    policy = AllOf(
        [
            Identity(identity=identity, issuer=inst.issuer_url),
            GitHubWorkflowRepository("octo/notebooks"),
        ]
    )
    Verifier(trusted_root=config.trusted_root).verify_artifact(ARTIFACT, bundle, policy)
    _fails(
        Verifier(trusted_root=config.trusted_root).verify_artifact,
        ARTIFACT,
        bundle,
        GitHubWorkflowRepository("octo/other"),
    )


def test_stock_cli_verifies(inst: LocalSigstore, tmp_path: Path) -> None:
    _, bundle, _ = _sign(inst, inst.mint_token(ALICE))
    artifact = tmp_path / "results.csv"
    artifact.write_bytes(ARTIFACT)
    bundle_path = tmp_path / "results.csv.sigstore.json"
    bundle_path.write_text(bundle.to_json())
    trust_config = inst.write_trust_config(tmp_path / "trust_config.json")

    def verify(path: Path, identity: str = ALICE) -> subprocess.CompletedProcess[str]:
        command = [str(SIGSTORE_CLI), "--trust-config", str(trust_config), "verify", "identity"]
        command += ["--bundle", str(bundle_path), "--cert-identity", identity]
        command += ["--cert-oidc-issuer", inst.issuer_url, str(path)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env=_wide_env())

    ok = verify(artifact)
    assert ok.returncode == 0, ok.stderr
    assert verify(artifact, "mallory@example.com").returncode != 0
    modified = tmp_path / "modified.csv"
    modified.write_bytes(ARTIFACT + b"4,5,6\n")
    bundle_path.rename(tmp_path / "modified.csv.sigstore.json")
    bundle_path = tmp_path / "modified.csv.sigstore.json"
    failed = verify(modified)
    assert failed.returncode != 0 and "digest mismatch" in failed.stderr


def _wide_env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "250"}  # keep rich from wrapping CLI messages


def test_stock_cli_signs(tmp_path: Path) -> None:
    with LocalSigstore(rekor_version=2) as inst:
        trust_config = inst.write_trust_config(tmp_path / "trust_config.json")
        artifact = tmp_path / "notebook.ipynb"
        artifact.write_bytes(ARTIFACT)
        bundle = tmp_path / "notebook.ipynb.sigstore.json"
        signed = subprocess.run(
            [str(SIGSTORE_CLI), "--trust-config", str(trust_config), "sign"]
            + ["--identity-token", inst.mint_token(ALICE), "--bundle", str(bundle), str(artifact)],
            capture_output=True,
            text=True,
            timeout=120,
            env=_wide_env(),
        )
        assert signed.returncode == 0, signed.stderr
        config = _config(inst)
    Verifier(trusted_root=config.trusted_root).verify_artifact(
        ARTIFACT, Bundle.from_json(bundle.read_text()), Identity(identity=ALICE)
    )


def _post_csr(inst: LocalSigstore, token: str) -> requests.Response:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(key, hashes.SHA256())
    pem = base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()
    return requests.post(
        f"{inst.fulcio_url}/api/v2/signingCert",
        json={"certificateSigningRequest": pem},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_fulcio_checks_tokens(inst1: LocalSigstore) -> None:
    assert _post_csr(inst1, inst1.mint_token(ALICE)).status_code == 201
    assert _post_csr(inst1, inst1.mint_token(ALICE, expires_in=-60)).status_code == 401
    assert _post_csr(inst1, inst1.mint_token(ALICE, audience="other")).status_code == 401
    with LocalSigstore() as stranger:  # same claims, signed by another issuer key
        assert _post_csr(inst1, stranger.mint_token(ALICE, issuer=inst1.issuer_url)).status_code == 401


def test_rekor_v1_read_api(inst1: LocalSigstore) -> None:
    _, bundle, _ = _sign(inst1, inst1.mint_token(ALICE))
    info = requests.get(f"{inst1.rekor_v1_url}/api/v1/log", timeout=30).json()
    assert info["treeSize"] >= 2 and info["signedTreeHead"].count("\n\n") == 1
    index = bundle.log_entry._inner.log_index
    by_index = requests.get(
        f"{inst1.rekor_v1_url}/api/v1/log/entries", params={"logIndex": index}, timeout=30
    ).json()
    (uuid,) = by_index
    by_uuid = requests.get(f"{inst1.rekor_v1_url}/api/v1/log/entries/{uuid}", timeout=30).json()
    assert by_uuid[uuid]["body"] == by_index[uuid]["body"]
    assert base64.b64decode(by_uuid[uuid]["body"]) == bundle.log_entry._inner.canonicalized_body


def test_discovery_and_jwks(inst1: LocalSigstore) -> None:
    config = requests.get(f"{inst1.issuer_url}/.well-known/openid-configuration", timeout=30).json()
    assert config["issuer"] == inst1.issuer_url
    assert Issuer(inst1.issuer_url).oidc_config.token_endpoint == config["token_endpoint"]
    jwks = jwt.PyJWKSet.from_dict(requests.get(config["jwks_uri"], timeout=30).json())
    claims = jwt.decode(inst1.mint_token(ALICE), jwks.keys[0].key, algorithms=["ES256"], audience="sigstore")
    assert claims["email"] == ALICE and claims["email_verified"] is True


def _pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def test_authorization_code_flow(inst1: LocalSigstore) -> None:
    config = requests.get(f"{inst1.issuer_url}/.well-known/openid-configuration", timeout=30).json()
    verifier, challenge = _pkce()
    redirect_uri = "http://localhost:9/auth/callback"
    params = {
        "response_type": "code",
        "client_id": "sigstore",
        "redirect_uri": redirect_uri,
        "scope": "openid email",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "xyz",
    }
    inst1.set_login_identity("carol@example.com")
    try:
        auth = requests.get(
            config["authorization_endpoint"], params=params, allow_redirects=False, timeout=30
        )
    finally:
        inst1.set_login_identity(ALICE)
    assert auth.status_code == 302
    location = urllib.parse.urlsplit(auth.headers["Location"])
    query = urllib.parse.parse_qs(location.query)
    assert location.path == "/auth/callback" and query["state"] == ["xyz"]
    code = query["code"][0]

    def redeem(code_verifier: str) -> requests.Response:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        return requests.post(config["token_endpoint"], data=data, auth=("sigstore", ""), timeout=30)

    token = redeem(verifier)
    assert token.status_code == 200
    assert IdentityToken(token.json()["access_token"]).identity == "carol@example.com"
    assert redeem(verifier).json()["error"] == "invalid_grant"  # single use

    inst1.set_login_identity(None)
    try:
        denied = requests.get(
            config["authorization_endpoint"], params=params, allow_redirects=False, timeout=30
        )
    finally:
        inst1.set_login_identity(ALICE)
    assert "error=access_denied" in denied.headers["Location"]


def test_pkce_mismatch_is_rejected(inst1: LocalSigstore) -> None:
    _, challenge = _pkce()
    params = {
        "response_type": "code",
        "client_id": "sigstore",
        "redirect_uri": "http://localhost:9/cb",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    auth = requests.get(f"{inst1.issuer_url}/auth", params=params, allow_redirects=False, timeout=30)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(auth.headers["Location"]).query)["code"][0]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://localhost:9/cb",
        "code_verifier": "not-the-verifier",
    }
    answer = requests.post(f"{inst1.issuer_url}/token", data=data, auth=("sigstore", ""), timeout=30)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_sigstore_browser_flow(inst1: LocalSigstore, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_browser(url: str) -> bool:  # follows the redirects a browser would
        assert requests.get(url, timeout=30).status_code == 200
        return True

    monkeypatch.setattr("webbrowser.open", fake_browser)
    token = Issuer(inst1.issuer_url).identity_token()
    assert token.identity == ALICE and token.issuer == inst1.issuer_url
    config, bundle, _ = _sign(inst1, str(token))
    Verifier(trusted_root=config.trusted_root).verify_artifact(
        ARTIFACT, bundle, Identity(identity=ALICE, issuer=inst1.issuer_url)
    )


def test_sigstore_out_of_band_flow(
    inst1: LocalSigstore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_input(prompt: str = "") -> str:
        link = re.search(r"(http://\S+)", capsys.readouterr().err)
        assert link is not None
        return inst1.oob_code(link.group(1))

    monkeypatch.setattr("builtins.input", fake_input)
    token = Issuer(inst1.issuer_url).identity_token(force_oob=True)
    assert token.identity == ALICE


def _device_start(inst: LocalSigstore) -> dict[str, Any]:
    answer = requests.post(f"{inst.issuer_url}/device/code", data={"client_id": "sigstore"}, timeout=30)
    assert answer.status_code == 200
    grant: dict[str, Any] = answer.json()
    return grant


def _device_poll(inst: LocalSigstore, device_code: str) -> requests.Response:
    data = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": device_code}
    return requests.post(f"{inst.issuer_url}/token", data=data, auth=("sigstore", ""), timeout=30)


def test_device_flow_via_verification_page(inst1: LocalSigstore) -> None:
    grant = _device_start(inst1)
    assert _device_poll(inst1, grant["device_code"]).json()["error"] == "authorization_pending"
    form = requests.get(grant["verification_uri_complete"], timeout=30)
    assert form.status_code == 200 and grant["user_code"] in form.text
    approved = requests.post(
        grant["verification_uri"],
        data={"user_code": grant["user_code"], "identity": "dave@example.com", "action": "approve"},
        timeout=30,
    )
    assert approved.status_code == 200
    token = _device_poll(inst1, grant["device_code"])
    assert token.status_code == 200
    assert IdentityToken(token.json()["access_token"]).identity == "dave@example.com"
    assert _device_poll(inst1, grant["device_code"]).json()["error"] == "invalid_grant"


def test_device_flow_helper_denial_and_expiry(inst1: LocalSigstore) -> None:
    grant = _device_start(inst1)
    inst1.approve_device_code(grant["user_code"], identity=ALICE)
    assert IdentityToken(_device_poll(inst1, grant["device_code"]).json()["id_token"]).identity == ALICE

    denied = _device_start(inst1)
    requests.post(
        denied["verification_uri"], data={"user_code": denied["user_code"], "action": "deny"}, timeout=30
    )
    assert _device_poll(inst1, denied["device_code"]).json()["error"] == "access_denied"

    with LocalSigstore(device_code_ttl=-1) as short:
        expired = _device_start(short)
        assert _device_poll(short, expired["device_code"]).json()["error"] == "expired_token"


def test_serve_cli(tmp_path: Path) -> None:
    trust_config, token_file = tmp_path / "tc.json", tmp_path / "token.txt"
    command = [sys.executable, "-m", "jupyter_sigstore.testing", "serve", "--rekor-version", "2"]
    command += ["--trust-config-out", str(trust_config), "--token-out", str(token_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "NOT for real signing" in line and "oidc=http://127.0.0.1:" in line
        config = ClientTrustConfig.from_json(trust_config.read_text())
        token = IdentityToken(token_file.read_text().strip())
        with SigningContext.from_trust_config(config).signer(token) as signer:
            bundle = signer.sign_artifact(ARTIFACT)
        Verifier(trusted_root=config.trusted_root).verify_artifact(
            ARTIFACT, bundle, Identity(identity=ALICE, issuer=token.issuer)
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_token_command_mints_for_any_identity(sigstore_instance: LocalSigstore, tmp_path: Path) -> None:
    """`python -m jupyter_sigstore.testing token ID` asks a running instance (found through its trust
    config, given or in $JUPYTER_SIGSTORE_TRUST_CONFIG) for a token: several signers, one instance."""
    trust_config = sigstore_instance.write_trust_config(tmp_path / "tc.json")
    command = [sys.executable, "-m", "jupyter_sigstore.testing", "token"]

    def claims(*args: str, **env: str) -> dict[str, Any]:
        done = subprocess.run(
            [*command, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **env}
        )
        assert done.returncode == 0, done.stderr
        decoded: dict[str, Any] = sigstore_instance.oidc.verify_token(done.stdout.strip())
        return decoded

    bob = claims("bob@example.com", "--trust-config", str(trust_config))
    assert (bob["sub"], bob["iss"]) == ("bob@example.com", sigstore_instance.issuer_url)
    carol = claims(
        "carol@example.com", "--issuer", "https://accounts.google.com", "--lifetime", "60",
        JUPYTER_SIGSTORE_TRUST_CONFIG=str(trust_config),
    )  # fmt: skip
    assert (carol["sub"], carol["iss"], carol["exp"] - carol["iat"]) == (
        "carol@example.com",
        "https://accounts.google.com",
        60,
    )
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_SIGSTORE_TRUST_CONFIG"}
    done = subprocess.run([*command, "dave@example.com"], capture_output=True, text=True, timeout=60, env=env)
    assert (
        done.returncode != 0
        and done.stderr.strip() == "error: give --trust-config FILE (or set $JUPYTER_SIGSTORE_TRUST_CONFIG)"
    )
    stopped = tmp_path / "stopped.json"
    with LocalSigstore() as gone:
        gone.write_trust_config(stopped)
    done = subprocess.run(
        [*command, "x@example.com", "--trust-config", str(stopped)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "is it running?" in done.stderr and "Traceback" not in done.stderr


def test_merkle_log_roots_and_proofs_match_rfc_6962() -> None:
    """The log caches complete subtrees; every root and audit path must equal RFC 6962's definition."""
    from jupyter_sigstore.testing.tlog import MerkleLog, node_hash

    def split(n: int) -> int:
        return 1 << ((n - 1).bit_length() - 1)

    def mth(leaves: list[bytes]) -> bytes:
        if len(leaves) <= 1:
            return leaves[0] if leaves else hashlib.sha256(b"").digest()
        k = split(len(leaves))
        return node_hash(mth(leaves[:k]), mth(leaves[k:]))

    def path(i: int, leaves: list[bytes]) -> list[bytes]:
        if len(leaves) <= 1:
            return []
        k = split(len(leaves))
        if i < k:
            return [*path(i, leaves[:k]), mth(leaves[k:])]
        return [*path(i - k, leaves[k:]), mth(leaves[:k])]

    log = MerkleLog("test")
    for n in range(1, 70):
        log.append(b"entry %d" % n)
        for size in (1, n // 2 or 1, n):
            assert log.root(size) == mth(log.leaf_hashes[:size])
            for i in {0, size // 3, size - 1}:
                assert log.proof(i, size) == path(i, log.leaf_hashes[:size])
