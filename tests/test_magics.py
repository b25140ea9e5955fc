"""The %sigstore magics in a real kernel against the loopback Sigstore instance."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from kernel_harness import NotebookDriver

from jupyter_sigstore import api
from jupyter_sigstore.policy import TrustPolicy
from jupyter_sigstore.testing import LocalSigstore

pytestmark = pytest.mark.kernel  # every test here drives a real IPython kernel

CODE = re.compile(r"enter the code ([A-Z]{4}-[A-Z]{4})")


@pytest.fixture
def minted(sigstore_instance: LocalSigstore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the test issuer hands out during the test (to prove none leaks)."""
    tokens: list[str] = []
    original = sigstore_instance.oidc.mint_token

    def recording(*args: Any, **kwargs: Any) -> str:
        token = original(*args, **kwargs)
        tokens.append(token)
        return token

    monkeypatch.setattr(sigstore_instance.oidc, "mint_token", recording)
    return tokens


@pytest.fixture
def driver(trust_config: Path, tmp_path: Path) -> Iterator[Callable[..., NotebookDriver]]:
    started: list[NotebookDriver] = []

    def start(name: str = "analysis.ipynb", **kwargs: Any) -> NotebookDriver:
        env = {**os.environ, "JUPYTER_SIGSTORE_TRUST_CONFIG": str(trust_config)}
        d = NotebookDriver(tmp_path / name, env=env, **kwargs)
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


def approver(inst: LocalSigstore, identity: str = "alice@example.com") -> Callable[[dict[str, Any]], None]:
    def on_output(out: dict[str, Any]) -> None:
        text = str(out.get("data", {}).get("text/plain", ""))
        match = CODE.search(text)
        if match:
            inst.approve_device_code(match.group(1), identity=identity)

    return on_output


def error_line(d: NotebookDriver, cell: dict[str, Any]) -> str:
    """The one error line of a failed magic (and proof there is no traceback)."""
    errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
    assert len(errors) == 1, d.text(cell)
    assert len(errors[0]["traceback"]) == 1
    assert "Traceback" not in d.text(cell)
    line = errors[0]["traceback"][0]
    assert line.startswith("jupyter-sigstore: ")
    return str(line)


def alice(inst: LocalSigstore) -> TrustPolicy:
    return TrustPolicy.exact("alice@example.com", inst.issuer_url)


def test_track_sign_verify_tamper_with_extension(
    driver: Callable[..., NotebookDriver],
    sigstore_instance: LocalSigstore,
    minted: list[str],
    trust_config: Path,
) -> None:
    from jupyter_sigstore.instance import Instance

    d = driver(extension=True)
    d.save()  # JupyterLab creates the file when the notebook is created
    d.run("%load_ext jupyter_sigstore")
    d.run("open('results.csv', 'w').write('site,temp\\nA,12.5\\n')")
    cell = d.run("%sigstore track results.csv")
    assert "tracked outputs: results.csv" in d.text(cell)
    assert d.model["metadata"]["sigstore"]["tracked"] == ["results.csv"]  # applied via the comm
    cell = d.run("%sigstore login --device --timeout 60", on_output=approver(sigstore_instance))
    assert "logged in as alice@example.com" in d.text(cell)
    # An edit the user never saved: the signature must cover what the editor shows.
    d.model["cells"].insert(0, nbformat.v4.new_markdown_cell("# unsaved title"))
    sign = d.run("%sigstore sign")
    assert "signing requested" in d.text(sign)
    assert d.results and d.results[-1]["type"] == "signature", d.results
    assert d.results[-1]["identity"] == "alice@example.com"

    saved = json.loads(d.path.read_text())
    assert "".join(saved["cells"][0]["source"]) == "# unsaved title"
    assert any("signing requested" in "".join(o.get("text", "")) for o in saved["cells"][-1]["outputs"])
    assert saved["metadata"]["sigstore"]["tracked"] == ["results.csv"]
    report = api.verify(
        d.path,
        api.VerifyOptions(
            policy=alice(sigstore_instance), instance=Instance.select(trust_config=trust_config)
        ),
    )
    assert report.status == "verified", api.render_text(report)
    assert [o.path for o in report.outputs] == ["results.csv"]

    issuer = sigstore_instance.issuer_url
    check = f"%sigstore verify --cert-identity alice@example.com --cert-oidc-issuer {issuer}"
    cell = d.run(check)
    assert "VERIFIED" in d.text(cell)
    html = [o["data"]["text/html"] for o in cell["outputs"] if "text/html" in o.get("data", {})]
    assert html and "Verified" in html[0]

    (d.path.parent / "results.csv").write_text("site,temp\nA,99.9\n")
    cell = d.run(check)
    assert "MODIFIED" in d.text(cell)
    assert "output results.csv: modified" in d.text(cell)

    # No token text anywhere: saved notebook, every kernel message, the kernel's own log.
    assert minted
    haystacks = [d.path.read_text(), json.dumps(d.messages, default=str), d.log.read_text(errors="replace")]
    for token in minted:
        for hay in haystacks:
            assert token not in hay
            assert token.split(".")[2] not in hay


def test_fallback_signs_saved_file_only_when_saved(
    driver: Callable[..., NotebookDriver], sigstore_instance: LocalSigstore, trust_config: Path
) -> None:
    d = driver(extension=False)
    d.run("%load_ext jupyter_sigstore")
    d.run("open('results.csv', 'w').write('x\\n1\\n')")
    d.run("%sigstore track results.csv")
    d.run("%sigstore login --device --timeout 60", on_output=approver(sigstore_instance))
    cell = d.run("%sigstore status")
    assert "no jupyter-sigstore extension" in d.text(cell)

    # Never saved: refuse.
    cell = d.run("%sigstore sign")
    assert "not saved yet" in error_line(d, cell)
    assert not d.path.exists()

    # Saved, but a cell ran after the save: refuse, nothing written.
    d.save()
    d.run("y = 2")
    before = d.path.read_bytes()
    cell = d.run("%sigstore sign")
    assert "save the notebook" in error_line(d, cell)
    assert d.path.read_bytes() == before

    # Saved with the sign cell in it: sign the file on disk and say to reload.
    d.model["cells"].append(nbformat.v4.new_code_cell("%sigstore sign"))
    d.save()
    d.model["cells"].pop()
    cell = d.run("%sigstore sign")
    assert "signed the saved file analysis.ipynb and 1 output(s) as alice@example.com" in d.text(cell)
    assert "reload the notebook from disk" in d.text(cell)
    from jupyter_sigstore.instance import Instance

    report = api.verify(
        d.path,
        api.VerifyOptions(
            policy=alice(sigstore_instance), instance=Instance.select(trust_config=trust_config)
        ),
    )
    assert report.status == "verified", api.render_text(report)
    assert json.loads(d.path.read_text())["metadata"]["sigstore"]["tracked"] == ["results.csv"]


def test_sign_before_the_front_end_answered_is_sent_again_addressed(
    driver: Callable[..., NotebookDriver], sigstore_instance: LocalSigstore, trust_config: Path
) -> None:
    """A `sign` that names no front end signs nowhere (docs/kernel-protocol.md); a request made
    before the hello reply arrived ("Run All" right after `%load_ext`) goes out again addressed."""
    from jupyter_sigstore.instance import Instance

    d = driver(extension=True)
    d.save()
    cell = d.run(
        "%load_ext jupyter_sigstore\n%sigstore login --device --timeout 60\n%sigstore sign",
        on_output=approver(sigstore_instance),
    )
    assert "signing requested" in d.text(cell)
    unaddressed = [m for m in d.ignored if m["type"] == "sign"]
    assert len(unaddressed) == 1 and "to" not in unaddressed[0]
    assert [r["type"] for r in d.results] == ["signature"]
    assert d.results[0]["kept"] == 0 and d.results[0]["replaced"] == []
    report = api.verify(
        d.path,
        api.VerifyOptions(
            policy=alice(sigstore_instance), instance=Instance.select(trust_config=trust_config)
        ),
    )
    assert report.status == "verified", api.render_text(report)
    assert len(report.signatures) == 1


def test_unknown_frontend_sends_request_and_writes_nothing(
    driver: Callable[..., NotebookDriver], sigstore_instance: LocalSigstore
) -> None:
    d = driver(extension=None)  # e.g. nbclient: ignores the comm, never answers
    d.save()
    before = d.path.read_bytes()
    d.run("%load_ext jupyter_sigstore")
    d.run("%sigstore login --device --timeout 60", on_output=approver(sigstore_instance))
    cell = d.run("%sigstore sign")
    assert "no jupyter-sigstore front-end extension has answered yet" in d.text(cell)
    assert d.path.read_bytes() == before


def test_bad_input_one_line_nothing_written(
    driver: Callable[..., NotebookDriver], sigstore_instance: LocalSigstore
) -> None:
    d = driver(extension=False)
    d.save()
    before = d.path.read_bytes()
    d.run("%load_ext jupyter_sigstore")
    cases = {
        "%sigstore frobnicate": "unknown command 'frobnicate'",
        "%sigstore sign --bogus": "unrecognized arguments: --bogus",
        "%sigstore track missing.csv": "output missing.csv does not exist",
        "%sigstore track": "the following arguments are required",
        "%sigstore verify nope.ipynb": "nope.ipynb: no such notebook",
        "%sigstore sign": "no identity: run `%sigstore login` first",
        "%sigstore login --timeout -1": "--timeout must be a positive number",
        "%sigstore untrack results.csv": "results.csv is not tracked",
        "%sigstore config --trust-config /nonexistent.json": "trust config /nonexistent.json",
        '%sigstore sign "unterminated': "cannot parse the arguments",
    }
    for source, expected in cases.items():
        cell = d.run(source)
        assert expected in error_line(d, cell), source
    assert d.path.read_bytes() == before
    cell = d.run("%sigstore help")
    assert "%sigstore track PATH" in d.text(cell)


def test_login_timeout_cancel_and_expiry(
    driver: Callable[..., NotebookDriver], sigstore_instance: LocalSigstore
) -> None:
    d = driver(extension=False)
    d.run("%load_ext jupyter_sigstore")
    cell = d.run("%sigstore login --device --timeout 1")
    assert "login timed out after 1 s" in error_line(d, cell)

    def interrupt(out: dict[str, Any]) -> None:
        if CODE.search(str(out.get("data", {}).get("text/plain", ""))):
            d.km.interrupt_kernel()

    cell = d.run("%sigstore login --device --timeout 60", on_output=interrupt)
    assert "login cancelled" in error_line(d, cell)
    cell = d.run("%sigstore whoami")
    assert "not logged in" in d.text(cell)

    # A token that expires between login and signing: the kernel's clock moves past its expiry.
    d.run("%sigstore login --device --timeout 60", on_output=approver(sigstore_instance))
    d.save()
    before = d.path.read_bytes()
    d.run(
        "import datetime as _dt\n"
        "from jupyter_sigstore.kernel.login import SESSION as _session\n"
        "_session.now = lambda: _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(hours=2)"
    )
    cell = d.run("%sigstore whoami")
    assert "EXPIRED" in d.text(cell)
    cell = d.run("%sigstore sign")
    assert "expired" in error_line(d, cell)
    assert d.path.read_bytes() == before
    cell = d.run("%sigstore logout")
    assert "logged out" in d.text(cell)


def test_untitled_and_no_notebook(driver: Callable[..., NotebookDriver], tmp_path: Path) -> None:
    d = driver("Untitled1.ipynb", extension=False)
    d.save()
    d.run("%load_ext jupyter_sigstore")
    cell = d.run("%sigstore sign")
    assert "Untitled1.ipynb is untitled" in error_line(d, cell)

    # a kernel that no client names a notebook for (nbclient, nbconvert, papermill, `jupyter console`):
    # signing is recorded for `jupyter-sigstore sign --pending`, never done where a save would undo it
    t = driver("other.ipynb", extension=False, session_name=False)
    t.run("%load_ext jupyter_sigstore")
    cell = t.run("%sigstore sign")
    assert "NOT signed yet" in t.text(cell) and "jupyter-sigstore sign --pending" in t.text(cell)
    cell = t.run(f"%sigstore sign {d.path}")
    assert "nothing was signed: sign after execution with" in error_line(t, cell)
    cell = t.run(f"%sigstore verify {d.path}")
    assert "UNSIGNED" in t.text(cell)


def test_cell_magic_output_is_tracked(driver: Callable[..., NotebookDriver]) -> None:
    d = driver(extension=True)
    d.run("%load_ext jupyter_sigstore")
    cell = d.run(
        "%%sigstore output table.html\n"
        "from IPython.display import HTML\n"
        "HTML('<table><tr><td>1</td></tr></table>')"
    )
    assert (d.path.parent / "table.html").exists(), cell["outputs"]
    assert (d.path.parent / "table.html").read_text() == "<table><tr><td>1</td></tr></table>"
    assert "tracked outputs: table.html" in d.text(cell)
    assert any("text/html" in o.get("data", {}) for o in cell["outputs"])
    assert d.model["metadata"]["sigstore"]["tracked"] == ["table.html"]
    cell = d.run("%%sigstore output fig.png\nprint('no image')")
    assert "produced no image/png output" in error_line(d, cell)
    # a .json output holds the cell's value as JSON, not its text repr (issue 15.7)
    cell = d.run("%%sigstore output stats.json\n{'max': 3, 'names': ['a', 'b']}")
    assert (d.path.parent / "stats.json").exists(), cell["outputs"]
    assert json.loads((d.path.parent / "stats.json").read_text()) == {"max": 3, "names": ["a", "b"]}
    cell = d.run("%%sigstore output bad.json\nobject()")
    assert "not JSON" in error_line(d, cell) and not (d.path.parent / "bad.json").exists()


def test_countersign_a_key_signed_notebook_from_the_kernel(
    driver: Callable[..., NotebookDriver], sigstore_instance: LocalSigstore, trust_config: Path
) -> None:
    from jupyter_sigstore.instance import Instance
    from jupyter_sigstore.keys import (
        KeySigner,
        generate_keypair,
        load_private_key,
        load_public_key,
    )
    from jupyter_sigstore.policy import key_policy

    d = driver(extension=False)
    other = d.path.parent / "report.ipynb"
    other.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# r")])))
    private, public = generate_keypair(d.path.parent / "team", None)
    api.sign(other, KeySigner(load_private_key(private)))
    before = other.read_bytes()
    d.run("%load_ext jupyter_sigstore")
    d.run("%sigstore login --device --timeout 60", on_output=approver(sigstore_instance, "bob@example.com"))

    cell = d.run("%sigstore sign report.ipynb --countersign")
    assert "was made with a local key" in error_line(d, cell) and "--earlier-key" in error_line(d, cell)
    cell = d.run("%sigstore sign report.ipynb --earlier-key team.pub")
    assert "--earlier-key is for --countersign" in error_line(d, cell)
    assert other.read_bytes() == before

    cell = d.run("%sigstore sign report.ipynb --countersign --earlier-key team.pub")
    assert "signed the saved file report.ipynb as bob@example.com" in d.text(cell), d.text(cell)
    bob = TrustPolicy.exact("bob@example.com", sigstore_instance.issuer_url)
    report = api.verify(
        other,
        api.VerifyOptions(
            policy=key_policy([load_public_key(public)], base=bob),
            instance=Instance.select(trust_config=trust_config),
            keys=(load_public_key(public),),
        ),
    )
    assert report.status == "verified", api.render_text(report)
    assert [s.identity for s in report.signatures][1] == "bob@example.com"
