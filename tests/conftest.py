"""Shared fixtures: an isolated sigstore cache, the loopback Sigstore instance, tokens, example copies,
the in-process CLI runner; and the markers that sort tests into lanes (see ``scripts/test.sh``).

Fixtures here stay light; pytest-jupyter's fixtures are loaded only by the server tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers import EXAMPLES, ROOT, CliRunner

from jupyter_sigstore.testing import LocalSigstore

if TYPE_CHECKING:
    from jupyter_sigstore.options import VerifyOptions
    from jupyter_sigstore.signing import KeylessSigner


@pytest.fixture(autouse=True)
def _isolated_sigstore_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sigstore-python writes trusted roots to $XDG_CACHE_HOME / $XDG_DATA_HOME: keep tests apart."""
    base = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    monkeypatch.setenv("JUPYTER_SIGSTORE_APPROVALS", str(base / "approved-policies.json"))
    monkeypatch.delenv("SIGSTORE_ID_TOKEN", raising=False)
    # ambient credential detection must not find a real CI's credentials
    for var in ("GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def sigstore_instance() -> Iterator[LocalSigstore]:
    """A loopback Fulcio + Rekor v1 + TSA + OIDC instance for the whole session."""
    with LocalSigstore(rekor_version=1) as inst:
        yield inst


@pytest.fixture(scope="session")
def sigstore_instance_v2() -> Iterator[LocalSigstore]:
    """A loopback instance whose log is Rekor v2 (entries timestamped by the TSA)."""
    with LocalSigstore(rekor_version=2) as inst:
        yield inst


@pytest.fixture(scope="session")
def trust_config(sigstore_instance: LocalSigstore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The loopback instance's ClientTrustConfig file."""
    return sigstore_instance.write_trust_config(tmp_path_factory.mktemp("tc") / "trust_config.json")


@pytest.fixture
def token(sigstore_instance: LocalSigstore) -> Callable[..., str]:
    """Mint an identity token from the loopback issuer: ``token("alice@example.com")``."""

    def mint(identity: str = "alice@example.com", **kwargs: object) -> str:
        return sigstore_instance.mint_token(identity, **kwargs)  # type: ignore[arg-type]

    return mint


@pytest.fixture
def signer(trust_config: Path, token: Callable[..., str]) -> KeylessSigner:
    """A keyless signer as alice@example.com on the loopback instance."""
    from jupyter_sigstore.instance import Instance
    from jupyter_sigstore.oidc.tokens import parse_token
    from jupyter_sigstore.signing import KeylessSigner

    return KeylessSigner(Instance.select(trust_config=trust_config), parse_token(token(), "test"))


@pytest.fixture
def options(sigstore_instance: LocalSigstore, trust_config: Path) -> VerifyOptions:
    """Verify options for the loopback instance, with a policy trusting alice@example.com."""
    from jupyter_sigstore import api
    from jupyter_sigstore.instance import Instance
    from jupyter_sigstore.policy import TrustPolicy

    policy = TrustPolicy.exact("alice@example.com", sigstore_instance.issuer_url)
    return api.VerifyOptions(policy=policy, instance=Instance.select(trust_config=trust_config))


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``jupyter-sigstore`` in-process: ``code, out, err = cli("sign", "analysis.ipynb", ...)``."""
    return CliRunner(capsys)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of examples/ (analysis.ipynb, results.csv, figures/summary.png)."""
    target = tmp_path / "example"
    ignore = shutil.ignore_patterns(
        "make_example.py", "*.sigstore.json", "simulation.ipynb", "reproduce-rules.toml"
    )
    shutil.copytree(EXAMPLES, target, ignore=ignore)
    return target


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of tests/browser ``browser`` and of tests/server ``server``, in one place; and run
    the browser tests last: Playwright's sync API keeps an event loop running in the main thread for
    its session, which breaks pytest-jupyter's server fixtures if they come after it."""
    folders = {ROOT / "tests" / "browser": pytest.mark.browser, ROOT / "tests" / "server": pytest.mark.server}
    for item in items:
        parents = Path(str(item.path)).parents
        for folder, mark in folders.items():
            if folder in parents:
                item.add_marker(mark)
    browser = ROOT / "tests" / "browser"
    items.sort(key=lambda item: browser in Path(str(item.path)).parents)
