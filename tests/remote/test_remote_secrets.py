"""Credentials for object storage come from the backend's standard configuration and never reach a
notebook, a signed statement, a report, the command's output or a log line."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from objstore_fixtures import put_objects

from jupyter_sigstore import api
from jupyter_sigstore.instance import Instance
from jupyter_sigstore.oidc.tokens import parse_token
from jupyter_sigstore.policy import TrustPolicy
from jupyter_sigstore.testing import LocalSigstore
from jupyter_sigstore.testing.seaweedfs import SeaweedFS

ROOT = Path(__file__).resolve().parents[2]


def statement_of(bundle: dict[str, object]) -> str:
    envelope = bundle["dsseEnvelope"]
    assert isinstance(envelope, dict)
    return base64.b64decode(envelope["payload"]).decode()


def test_the_secret_key_is_nowhere(
    s3: SeaweedFS,
    bucket: Callable[..., str],
    example: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    tmp_path: Path,
) -> None:
    secret, key_id = s3.secret_key, s3.access_key
    name = bucket(versioned=True)
    put_objects(s3, {f"{name}/run/a.csv": b"1,2\n", f"{name}/run/b.csv": b"3,4\n"})
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SIGSTORE_ID_TOKEN": sigstore_instance.mint_token("alice@example.com"),
    }
    who = ["--cert-identity", "alice@example.com", "--cert-oidc-issuer", sigstore_instance.issuer_url]
    tc = ["--trust-config", str(trust_config)]

    def run(*args: str, extra_env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "jupyter_sigstore", *args],
            cwd=example,
            env={**env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )
        return done.stdout + done.stderr

    seen = [
        run("digest", f"s3://{name}/run/"),
        run("sign", "analysis.ipynb", "--output", f"s3://{name}/run/", "--sidecar", "--json", *tc),
        run("verify", "analysis.ipynb", *tc, *who, "--json"),
        run("verify", "analysis.ipynb", *tc, *who),
        run("sign", "analysis.ipynb", "--output", "s3://no-such-bucket-x/run/", *tc),
        run("digest", f"s3://{name}/run/", extra_env={"AWS_SECRET_ACCESS_KEY": secret + "-wrong"}),
    ]
    assert "OK" not in seen[-1] and "access denied" in seen[-1]
    notebook = (example / "analysis.ipynb").read_text()
    bundle = (example / "analysis.ipynb.sigstore.json").read_text()
    statement = statement_of(json.loads(bundle))
    assert f"s3://{name}/run/a.csv" in statement and "versionId" in statement
    for text in [*seen, notebook, bundle, statement]:
        assert secret not in text
        assert key_id not in text

    # in-process, with every library's logging at DEBUG: the log holds neither
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        instance = Instance.select(trust_config=trust_config)
        signer = api.keyless_signer(
            parse_token(sigstore_instance.mint_token("alice@example.com"), "t"), instance
        )
        api.sign(
            example / "analysis.ipynb",
            signer,
            api.SignOptions(outputs=(f"s3://{name}/run/",), instance=instance),
        )
        policy = TrustPolicy.exact("alice@example.com", sigstore_instance.issuer_url)
        report = api.verify(example / "analysis.ipynb", api.VerifyOptions(policy=policy, instance=instance))
        api.digest([f"s3://{name}/run/"])
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert report.status == "verified", report.summary
    assert any("botocore" in r or "credentials" in r.lower() for r in records)  # the log did run
    report_json = json.dumps(report.to_dict())
    for text in [report_json, api.render_text(report), api.render_html(report)]:
        assert secret not in text
        assert key_id not in text
    # botocore's own DEBUG records name the access key id in the request's Authorization header (an
    # identifier, not a secret); the secret key appears in no record
    assert not [r for r in records if secret in r]


@pytest.mark.parametrize(
    "spec",
    [
        "s3://KEYID:the-secret@bucket/x.csv",
        "https://u:the-secret@example.org/x",
        "https://example.org/x?sig=the-secret",
    ],
)
def test_a_credential_written_into_a_url_is_refused_and_never_repeated(spec: str) -> None:
    from jupyter_sigstore.errors import UsageError
    from jupyter_sigstore.remote.listing import select_remote

    with pytest.raises(UsageError) as info:
        select_remote([spec])
    assert "the-secret" not in str(info.value)
