"""Outputs on S3, against a real S3-compatible server (SeaweedFS): digest, sign and verify through the
CLI with the loopback Sigstore instance, buckets with and without versioning, and bad input."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from objstore_fixtures import put_objects

from jupyter_sigstore.cli import main
from jupyter_sigstore.testing import LocalSigstore
from jupyter_sigstore.testing.seaweedfs import SeaweedFS

ALICE = "alice@example.com"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Cli:
    """Runs ``jupyter-sigstore`` in-process in the example folder, signing as a loopback identity."""

    def __init__(self, capsys: pytest.CaptureFixture[str], trust_config: Path, issuer: str, mint: Any):
        self.capsys, self.trust_config, self.issuer, self.mint = capsys, trust_config, issuer, mint

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        rc = main(list(args))
        out, err = self.capsys.readouterr()
        return rc, out, err

    def sign(self, *extra: str, notebook: str = "analysis.ipynb") -> tuple[int, str, str]:
        token = self.mint(ALICE)
        return self(
            "sign", notebook, "--trust-config", str(self.trust_config), "--identity-token", token, *extra
        )

    def verify(self, *extra: str, trusted: bool = True, notebook: str = "analysis.ipynb") -> dict[str, Any]:
        who = ["--cert-identity", ALICE, "--cert-oidc-issuer", self.issuer] if trusted else []
        rc, out, err = self(
            "verify", notebook, "--trust-config", str(self.trust_config), *who, "--json", *extra
        )
        report: dict[str, Any] = json.loads(out)
        assert rc == (0 if report["status"] == "verified" else 1), (rc, report["status"], err)
        return report

    def text(self, *extra: str) -> str:
        rc, out, err = self(
            "verify",
            "analysis.ipynb",
            "--trust-config",
            str(self.trust_config),
            "--cert-identity",
            ALICE,
            "--cert-oidc-issuer",
            self.issuer,
            *extra,
        )
        return out


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str],
    example: Path,
    trust_config: Path,
    sigstore_instance: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
    s3: SeaweedFS,
) -> Cli:
    monkeypatch.chdir(example)
    return Cli(capsys, trust_config, sigstore_instance.issuer_url, sigstore_instance.mint_token)


def run_objects(bucket: str) -> dict[str, bytes]:
    """A run's outputs: parquet-like parts, a checkpoint, a figure, and what the rules leave out."""
    return {
        f"{bucket}/run-42/part-0.parquet": os.urandom(3000),
        f"{bucket}/run-42/part-1.parquet": os.urandom(70_000),
        f"{bucket}/run-42/model/checkpoint.bin": os.urandom(2_500_000),
        f"{bucket}/run-42/figures/loss.png": b"\x89PNG fake",
        f"{bucket}/run-42/.ipynb_checkpoints/x.ipynb": b"{}",
        f"{bucket}/run-42/tmp/scratch.txt": b"scratch",
        f"{bucket}/run-420/other.txt": b"not below run-42/",
    }


def by_url(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["path"]: o for o in report["outputs"]}


def test_digest_names_each_object_with_the_sha256_of_its_bytes(
    cli: Cli, s3: SeaweedFS, bucket: Callable[..., str]
) -> None:
    name = bucket()
    objects = run_objects(name)
    put_objects(s3, objects)
    rc, out, err = cli("digest", f"s3://{name}/run-42/", "--exclude", "tmp/")
    assert rc == 0, err
    expected = {
        f"s3://{key}": sha(data)
        for key, data in objects.items()
        if "/run-42/" in key and "/tmp/" not in key and ".ipynb_checkpoints" not in key
    }
    lines = out.splitlines()
    assert lines == [f"sha256:{digest}  {url}" for url, digest in sorted(expected.items())]


def test_digest_of_a_url_pattern_and_a_single_object(
    cli: Cli, s3: SeaweedFS, bucket: Callable[..., str]
) -> None:
    name = bucket()
    objects = run_objects(name)
    put_objects(s3, objects)
    rc, out, err = cli("digest", f"s3://{name}/run-42/**/*.parquet", f"s3://{name}/run-420/other.txt")
    assert rc == 0, err
    assert out.splitlines() == [
        f"sha256:{sha(objects[f'{name}/run-42/part-0.parquet'])}  s3://{name}/run-42/part-0.parquet",
        f"sha256:{sha(objects[f'{name}/run-42/part-1.parquet'])}  s3://{name}/run-42/part-1.parquet",
        f"sha256:{sha(b'not below run-42/')}  s3://{name}/run-420/other.txt",
    ]


def test_a_prefix_without_its_slash_is_taken_as_a_prefix(
    cli: Cli, s3: SeaweedFS, bucket: Callable[..., str]
) -> None:
    name = bucket()
    put_objects(s3, run_objects(name))
    rc, out, err = cli("digest", f"s3://{name}/run-42")
    assert rc == 0, err
    assert len(out.splitlines()) == 5  # what the default excludes leave (not run-420/, not the checkpoint)
    assert all(f"s3://{name}/run-42/" in line for line in out.splitlines())


def test_sign_and_verify_a_notebook_with_a_prefix_on_a_versioned_bucket(
    cli: Cli, s3: SeaweedFS, bucket: Callable[..., str]
) -> None:
    name = bucket(versioned=True)
    objects = run_objects(name)
    put_objects(s3, objects)
    rc, out, err = cli.sign(
        "--output", f"s3://{name}/run-42/", "--output", "results.csv", "--exclude", "tmp/", "--json"
    )
    assert rc == 0, err
    signed = json.loads(out)
    remote = {o["path"]: o for o in signed["outputs"] if o["path"].startswith("s3://")}
    assert set(remote) == {
        f"s3://{name}/run-42/part-0.parquet",
        f"s3://{name}/run-42/part-1.parquet",
        f"s3://{name}/run-42/model/checkpoint.bin",
        f"s3://{name}/run-42/figures/loss.png",
    }
    fs = s3.filesystem(version_aware=True)
    for url, entry in remote.items():
        info = fs.info(url)
        assert entry["sha256"] == sha(objects[url[len("s3://") :]])
        assert entry["version_id"] == info["VersionId"]  # names exactly the version that was hashed
        assert entry["etag"] == info["ETag"].strip('"')

    report = cli.verify()
    assert report["status"] == "verified", report["summary"]
    outputs = by_url(report)
    assert all(outputs[url]["status"] == "ok" and outputs[url]["remote"] for url in remote)
    assert outputs["results.csv"]["status"] == "ok"


def test_verify_names_changed_missing_and_added_objects_and_the_signed_versions(
    cli: Cli, s3: SeaweedFS, bucket: Callable[..., str]
) -> None:
    name = bucket(versioned=True)
    objects = run_objects(name)
    put_objects(s3, objects)
    assert cli.sign("--output", f"s3://{name}/run-42/", "--exclude", "tmp/")[0] == 0
    fs = s3.filesystem(version_aware=True)
    part0, part1 = f"s3://{name}/run-42/part-0.parquet", f"s3://{name}/run-42/part-1.parquet"
    signed_version = fs.info(part0)["VersionId"]
    fs.pipe(part0, b"rewritten")  # a new current version
    fs.rm(part1)  # a delete marker: the signed version stays
    fs.pipe(f"s3://{name}/run-42/part-2.parquet", b"new")

    report = cli.verify()
    assert report["status"] == "modified"
    outputs = by_url(report)
    assert outputs[part0]["status"] == "modified"
    assert outputs[part0]["actual_sha256"] == sha(b"rewritten")
    assert outputs[part0]["version_id"] == signed_version
    assert outputs[part0]["signed_version_exists"] is True
    assert outputs[part1]["status"] == "missing"
    assert outputs[part1]["signed_version_exists"] is True
    assert outputs[f"s3://{name}/run-42/part-2.parquet"]["status"] == "added"
    text = cli.text()
    assert f"output {part0}: modified" in text
    assert f"the signed version still exists as version {signed_version}" in text
    assert "part-2.parquet: added (not in the signature)" in text


def test_a_bucket_without_versioning_says_what_changed_and_no_version(
    cli: Cli, s3: SeaweedFS, bucket: Callable[..., str]
) -> None:
    name = bucket()
    url = f"s3://{name}/model.bin"
    put_objects(s3, {f"{name}/model.bin": b"weights v1"})
    rc, out, err = cli.sign("--output", url, "--json")
    assert rc == 0, err
    (entry,) = [o for o in json.loads(out)["outputs"] if o["path"] == url]
    assert "version_id" not in entry and entry["etag"]
    assert cli.verify()["status"] == "verified"
    s3.filesystem().pipe(url, b"weights v2")
    report = cli.verify()
    out_report = by_url(report)[url]
    assert (out_report["status"], out_report["version_id"], out_report["signed_version_exists"]) == (
        "modified",
        None,
        None,
    )
    s3.filesystem().rm(url)
    assert by_url(cli.verify())[url]["status"] == "missing"


def test_a_signer_the_policy_does_not_trust_gets_no_url_read(
    cli: Cli, s3: SeaweedFS, bucket: Callable[..., str]
) -> None:
    """A stranger's valid signature must not make the verifier fetch the URLs it names (with the
    verifier's credentials, from a store of the stranger's choosing): they are not checked."""
    name = bucket()
    url = f"s3://{name}/data.csv"
    put_objects(s3, {f"{name}/data.csv": b"a,b\n1,2\n"})
    assert cli.sign("--output", url)[0] == 0
    s3.filesystem().rm(url)  # were it read, it would be reported missing
    report = cli.verify(trusted=False)
    assert report["status"] == "untrusted-signer"
    entry = by_url(report)[url]
    assert entry["status"] == "not-checked"
    assert "not read with your credentials" in entry["error"]
    assert "1 remote output not checked" in report["summary"]
    # asked explicitly, it is read
    assert by_url(cli.verify("--remote-outputs", "always", trusted=False))[url]["status"] == "missing"


def test_countersigning_reads_the_remote_outputs_it_vouches_for(
    cli: Cli, s3: SeaweedFS, bucket: Callable[..., str], sigstore_instance: LocalSigstore
) -> None:
    name = bucket()
    url = f"s3://{name}/data.csv"
    put_objects(s3, {f"{name}/data.csv": b"a,b\n1,2\n"})
    assert cli.sign("--output", url)[0] == 0
    s3.filesystem().pipe(url, b"tampered")
    bob = sigstore_instance.mint_token("bob@example.com")
    rc, _, err = cli(
        "sign",
        "analysis.ipynb",
        "--countersign",
        "--trust-config",
        str(cli.trust_config),
        "--identity-token",
        bob,
    )
    assert rc == 2
    assert "refusing to countersign" in err and "data.csv changed" in err


# --- bad input: one clear error each, nothing written ---------------------------------------------


def _unchanged(example: Path) -> Callable[[], None]:
    before = (example / "analysis.ipynb").read_bytes()

    def check() -> None:
        assert (example / "analysis.ipynb").read_bytes() == before
        assert not list(example.glob("*.sigstore.json"))

    return check


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_bucket_that_does_not_exist(cli: Cli, example: Path) -> None:
    unchanged = _unchanged(example)
    for spec in (
        "s3://no-such-bucket-jss/run/",
        "s3://no-such-bucket-jss/run/x.bin",
        "s3://no-such-bucket-jss/*.bin",
    ):
        rc, _, err = cli.sign("--output", spec)
        assert rc == 2
        assert "no-such-bucket-jss" in one_error_line(err) and "does not exist" in err
    unchanged()


def test_an_object_that_does_not_exist(cli: Cli, example: Path, bucket: Callable[..., str]) -> None:
    name = bucket()
    unchanged = _unchanged(example)
    rc, _, err = cli.sign("--output", f"s3://{name}/nothing.bin")
    assert rc == 2
    assert one_error_line(err) == (
        f"error: output s3://{name}/nothing.bin does not exist "
        "(no object, and no object below it as a prefix)"
    )
    rc, _, err = cli.sign("--output", f"s3://{name}/*.parquet")
    assert one_error_line(err) == f"error: output pattern s3://{name}/*.parquet matches no object"
    unchanged()


def test_denied_access_with_a_wrong_secret_key(
    cli: Cli, example: Path, s3: SeaweedFS, bucket: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = bucket()
    put_objects(s3, {f"{name}/data.csv": b"1"})
    unchanged = _unchanged(example)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-" + "x" * 20)
    for spec in (f"s3://{name}/data.csv", f"s3://{name}/"):
        rc, _, err = cli.sign("--output", spec)
        assert rc == 2
        line = one_error_line(err)
        assert "access denied" in line and "credentials" in line
        assert "wrong-secret" not in err
    unchanged()


def test_a_store_that_cannot_be_reached(cli: Cli, example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    unchanged = _unchanged(example)
    rc, _, err = cli.sign("--output", "s3://some-bucket/data.csv")
    assert rc == 2
    assert "cannot reach the object store" in one_error_line(err)
    unchanged()


def test_urls_that_could_carry_credentials_are_refused_without_echoing_them(cli: Cli, example: Path) -> None:
    unchanged = _unchanged(example)
    for spec in (
        "s3://AKIAEXAMPLE:sekrit-value@bucket/x.csv",
        "https://user:sekrit-value@example.org/data.csv",
        "https://example.org/data.csv?X-Amz-Signature=sekrit-value",
        "s3://bucket/x.csv#sekrit-value",
    ):
        rc, _, err = cli.sign("--output", spec)
        assert rc == 2
        assert "sekrit-value" not in err
        one_error_line(err)
    rc, _, err = cli.sign("--output", "file:///etc/passwd")
    assert "not accepted" in one_error_line(err)
    rc, _, err = cli.sign("--output", "simplecache::s3://bucket/x")
    assert "not accepted" in one_error_line(err)
    unchanged()
