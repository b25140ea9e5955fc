"""The documentation's shell examples run, against the loopback test instance.

Every fenced block tagged ``bash``, ``sh``, ``shell`` or ``console`` in README.md and docs/*.md is an
example. A ``bash``/``sh``/``shell`` block runs whole, as ``bash -euo pipefail``; in a ``console``
block the lines starting with ``$ `` are the commands (a trailing backslash continues one) and the
other lines are sample output, not checked.

Each block runs in a fresh folder holding copies of examples/analysis.ipynb, examples/results.csv and
examples/figures/, with the project's Python environment first on PATH (``jupyter-sigstore``,
``sigstore``, ``python``) and:

- ``JUPYTER_SIGSTORE_TRUST_CONFIG``: the loopback instance's trust config (also copied into the folder
  as ``trust_config.json``), so that commands written for the public-good instance use the test one;
- ``SIGSTORE_ID_TOKEN``: a token for alice@example.com claiming the issuer https://accounts.google.com;
- ``JUPYTER_SIGSTORE_PASSWORD``: a passphrase for ``keygen`` and ``sign --key``.

An HTML comment on the line just above a block changes that:

- ``<!-- needs: public-good -->``: the block needs the public-good Sigstore instance (or its network
  services); it is not run, and shows as skipped with that reason.
- ``<!-- needs: cli SUBCOMMAND --OPTION -->``: runs once ``jupyter-sigstore SUBCOMMAND`` accepts
  ``--OPTION``; skipped until then.
- ``<!-- docs-test: skip REASON -->``: not run, for REASON (shown as skipped).
- ``<!-- docs-test: continues; identity bob@example.com -->``: ``continues`` runs the block in the
  previous block's folder (same file), after it; ``identity ID`` gives it a token for ID instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import DOCS, EXAMPLES, ROOT

from jupyter_sigstore.testing import LocalSigstore

DOC_FILES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
SHELLS = {"bash", "sh", "shell", "console"}
DOC_ISSUER = "https://accounts.google.com"
PASSPHRASE = "docs-example-passphrase"
BIN = Path(sys.executable).parent
_FENCE = re.compile(r"^(\s*)```+\s*([\w-]*)")
_MARKER = re.compile(r"^<!--\s*(needs|docs-test):\s*(.*?)\s*-->$")


@dataclass
class Block:
    """One fenced shell example and the directives written above it."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    needs: list[str] = field(default_factory=list)
    skip: str | None = None
    continues: bool = False
    identity: str = "alice@example.com"

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def script(self) -> str:
        """The commands to run: the whole block, or a console block's ``$`` lines."""
        if self.lang != "console":
            return self.text
        commands: list[str] = []
        continuing = False
        for line in self.text.splitlines():
            if continuing or line.startswith("$ "):
                commands.append(line if continuing else line[2:])
                continuing = line.rstrip().endswith("\\")
        return "\n".join(commands) + "\n"


def _directives(block: Block, comment: str) -> None:
    match = _MARKER.match(comment.strip())
    if match is None:
        return
    kind, body = match.groups()
    if kind == "needs":
        block.needs.append(body)
        return
    if body.startswith("skip"):  # the rest is the reason, whatever it holds
        block.skip = body[len("skip") :].strip() or "no reason given"
        return
    for directive in filter(None, (part.strip() for part in body.split(";"))):
        word, _, rest = directive.partition(" ")
        if word == "continues":
            block.continues = True
        elif word == "identity":
            block.identity = rest.strip()
        else:
            raise ValueError(f"unknown docs-test directive {directive!r}")


def extract(path: Path) -> tuple[list[Block], list[str]]:
    """The shell examples in one Markdown file, and problems found (unknown directives, unlabelled
    command blocks, console blocks without a ``$`` command)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    n = 0
    while n < len(lines):
        fence = _FENCE.match(lines[n])
        if fence is None:
            n += 1
            continue
        indent, lang = fence.groups()
        end = n + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        body = [line[len(indent) :] for line in lines[n + 1 : end]]
        where = f"{path.relative_to(ROOT)}:{n + 1}"
        first = next((line.strip() for line in body if line.strip()), "")
        # (a plain block starting `jupyter-sigstore` is a synopsis, as in docs/cli.md)
        if not lang and re.match(r"(\$ |python |pip |\./|\.venv/)", first):
            problems.append(f"{where}: a command example without a language tag (use ```bash or ```console)")
        if lang in SHELLS:
            block = Block(path, n + 1, lang, "\n".join(body) + "\n")
            above = n - 1
            while above >= 0 and lines[above].strip().startswith("<!--"):
                try:
                    _directives(block, lines[above])
                except ValueError as exc:
                    problems.append(f"{where}: {exc}")
                above -= 1
            if lang == "console" and not block.script().strip():
                problems.append(
                    f"{where}: a console block with no `$ ` command (a synopsis is a plain ``` block)"
                )
            blocks.append(block)
        n = end + 1
    return blocks, problems


BLOCKS = [block for path in DOC_FILES for block in extract(path)[0]]


def test_every_command_example_is_tagged_and_its_directives_known() -> None:
    problems = [problem for path in DOC_FILES for problem in extract(path)[1]]
    assert not problems, "\n".join(problems)
    assert any(block.path.name == "README.md" for block in BLOCKS)


def test_continuing_blocks_follow_a_block_in_the_same_file() -> None:
    for before, block in zip([None, *BLOCKS], BLOCKS, strict=False):
        if block.continues:
            assert before is not None and before.path == block.path, block.name


def _cli_help(*command: str) -> str:
    done = subprocess.run(
        [str(BIN / "jupyter-sigstore"), *command, "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _subcommands(help_text: str) -> list[str]:
    """The commands argparse lists under ``COMMAND``/``ACTION`` in a help text."""
    return re.findall(r"^    (\w[\w-]*)", help_text, flags=re.MULTILINE)


def test_cli_reference_names_every_command_and_option() -> None:
    """docs/cli.md documents each subcommand and each of its options, as `--help` lists them."""
    reference = (DOCS / "cli.md").read_text(encoding="utf-8")
    commands = _subcommands(_cli_help())
    assert {"sign", "verify", "inspect", "digest", "keygen", "verify-bundle", "trust"} <= set(commands)
    missing = []
    for command in commands:
        variants = [(command, action) for action in _subcommands(_cli_help(command))] or [(command,)]
        for argv in variants:
            if f"`{' '.join(argv)}`" not in reference and f"## `{argv[0]}" not in reference:
                missing.append(" ".join(argv))
            for option in set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", _cli_help(*argv))) - {"--help"}:
                if f"`{option}" not in reference:
                    missing.append(f"{' '.join(argv)} {option}")
    assert not missing, f"docs/cli.md does not mention: {', '.join(missing)}"


@pytest.fixture(scope="module")
def folders() -> dict[Path, Path]:
    """The folder each file's latest block ran in (for ``continues``)."""
    return {}


@pytest.fixture
def doc_env(trust_config: Path, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "JUPYTER_SIGSTORE_TRUST_CONFIG": str(trust_config),
        "JUPYTER_SIGSTORE_PASSWORD": PASSPHRASE,
        # policy approvals and anything else Jupyter keeps stay in the test's folder
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter" / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter" / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter" / "runtime"),
    }


def _unsupported(need: str) -> str | None:
    """Why a ``needs:`` directive keeps a block from running here, or None if it can run."""
    if need == "public-good":
        return "needs the public-good Sigstore instance"
    words = need.split()
    if len(words) >= 3 and words[0] == "cli":
        if words[-1] in _cli_help(*words[1:-1]):
            return None
        return f"runs once `jupyter-sigstore {' '.join(words[1:-1])}` accepts {words[-1]}"
    raise AssertionError(f"unknown need {need!r}")


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_shell_example_runs(
    block: Block,
    doc_env: dict[str, str],
    sigstore_instance: LocalSigstore,
    trust_config: Path,
    folders: dict[Path, Path],
    tmp_path: Path,
) -> None:
    if block.skip:
        pytest.skip(f"{block.name}: {block.skip}")
    for need in block.needs:
        reason = _unsupported(need)
        if reason:
            pytest.skip(f"{block.name}: {reason}")
    if block.continues:
        folder = folders.get(block.path)
        assert folder is not None, f"{block.name} continues a block that did not run"
    else:
        folder = tmp_path / "example"
        shutil.copytree(EXAMPLES / "figures", folder / "figures")
        for name in ("analysis.ipynb", "results.csv"):
            shutil.copy(EXAMPLES / name, folder / name)
        shutil.copy(trust_config, folder / "trust_config.json")
    folders[block.path] = folder
    env = {
        **doc_env,
        "SIGSTORE_ID_TOKEN": sigstore_instance.mint_token(block.identity, issuer=DOC_ISSUER, expires_in=900),
    }
    log = tmp_path / "output.txt"
    with log.open("wb") as out:
        # a file, not a pipe: a server the block leaves running must not hold the test up
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", block.script()],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=600)
        finally:
            with contextlib.suppress(ProcessLookupError):  # whatever the block left running
                os.killpg(process.pid, signal.SIGTERM)
    output = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, f"{block.name} exited with {code}:\n{block.script()}\n--- output ---\n{output[-6000:]}"
    assert "Traceback" not in output, output[-6000:]
