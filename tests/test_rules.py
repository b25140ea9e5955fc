"""Normalisation rules, the kernel environment scrub and parameter injection (no kernel needed)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from jupyter_sigstore.errors import PolicyError, UsageError
from jupyter_sigstore.execution import inject_parameters, kernel_environment, parse_parameter
from jupyter_sigstore.rules import Rules, load_rules, png_pixels, rules_from_dict, same_pngs


def test_defaults_normalise_addresses_timestamps_durations_and_progress_bars() -> None:
    rules = Rules()
    text = (
        "<object object at 0x7f3a2c1b9e50>\n2026-11-30 18:58:01.123456\ntook 12.5 ms\n"
        "10%|█         | 1/10\r100%|██████████| 10/10 [00:01<00:00]\n"
    )
    assert rules.normalise(text) == (
        "<object object at 0xADDRESS>\n<timestamp>\ntook <duration>\n<progress>\n"
    )
    assert rules.normalise("mean 0.5") == "mean 0.5"  # numbers that are results stay


def test_user_replacement_with_groups_and_non_ascii_text() -> None:
    rules = rules_from_dict(
        {"defaults": False, "replace": [{"pattern": r"run-(\d+)-[a-f]+", "replacement": "run-\\1-… é"}]},
        "test",
    )
    assert rules.normalise("ünïcode run-7-abc!") == "ünïcode run-7-… é!"
    assert rules.describe() == ["rule 'run-(\\\\d+)-[a-f]+': /run-(\\d+)-[a-f]+/ -> 'run-\\\\1-… é'"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"unknown": 1}, "unknown key 'unknown'"),
        ({"defaults": "yes"}, "defaults must be true or false"),
        ({"replace": [{"pattern": "("}]}, "does not compile"),
        ({"replace": [{"pattern": "x", "extra": 1}]}, "unknown key 'extra'"),
        ({"files": [{"path": "*.png", "compare": "pixels"}]}, "compare must be 'png-pixels'"),
        ({"ignore_cells": [1]}, "ignore_cells must be a list of strings"),
    ],
)
def test_bad_rules_are_one_actionable_line(table: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        rules_from_dict(table, "rules file r.toml")


def test_rules_file_and_merge(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[reproduce]\nallow_exemptions = false\nignore_tags = ["slow"]\n')
    rules = load_rules(path)
    assert not rules.allow_exemptions and rules.ignore_tags == {"slow"}
    merged = Rules().merged(rules)
    assert not merged.allow_exemptions and len(merged.replacements) == len(Rules().replacements)
    (tmp_path / "empty.toml").write_text("x = 1\n")
    with pytest.raises(PolicyError, match="has no \\[reproduce\\] table"):
        load_rules(tmp_path / "empty.toml")


def _png(pixels: bytes, text: bytes, level: int = 6) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Software\x00" + text)
        + chunk(b"IDAT", zlib.compress(b"\x00" + pixels, level))
        + chunk(b"IEND", b"")
    )


def test_pngs_compare_on_pixels_not_text_chunks_or_compression() -> None:
    a = _png(b"\xff\x00\x00", b"matplotlib 3.9", 1)
    b = _png(b"\xff\x00\x00", b"matplotlib 3.10", 9)
    assert a != b and same_pngs(a, b)
    assert not same_pngs(a, _png(b"\xff\x00\x01", b"matplotlib 3.9"))
    assert png_pixels(b"not a png") is None
    assert png_pixels(a[:20]) is None


def test_kernel_environment_keeps_what_programs_need_and_drops_credentials() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": "/src",
        "SIGSTORE_ID_TOKEN": "jwt",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://x",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
        "GITHUB_TOKEN": "ghp",
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AZURE_CLIENT_SECRET": "s",
        "GOOGLE_APPLICATION_CREDENTIALS": "/k.json",
        "JUPYTER_TOKEN": "j",
        "JUPYTER_SIGSTORE_PASSWORD": "p",
        "CONDA_PREFIX": "/opt/conda",
        "XDG_AUTH_TOKEN": "x",
        "HTTPS_PROXY": "http://user:pass@proxy",
    }
    env, record = kernel_environment(environ=environ)
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": "/src",
        "CONDA_PREFIX": "/opt/conda",
    }
    assert record == []
    env, record = kernel_environment(["HTTPS_PROXY", "MODE=fast"], environ=environ)
    assert env["HTTPS_PROXY"] == "http://user:pass@proxy" and env["MODE"] == "fast"
    assert [r["name"] for r in record] == ["HTTPS_PROXY", "MODE"]
    assert "pass@proxy" not in str(record)
    with pytest.raises(UsageError, match="no such variable"):
        kernel_environment(["MISSING"], environ=environ)


def test_parameters_are_read_as_papermill_reads_them() -> None:
    assert [parse_parameter("x", v).value for v in ("1", "0.5", "True", "None", "abc", "1e3")] == [
        1,
        0.5,
        True,
        None,
        "abc",
        1000.0,
    ]
    assert parse_parameter("key", "123", secret=True).value == "123"
    with pytest.raises(UsageError, match="not an identifier"):
        parse_parameter("not-a-name", "1")


def test_parameters_go_after_the_parameters_cell_and_replace_earlier_injections() -> None:
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# t"},
            {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "a = 1", "outputs": []},
            {
                "cell_type": "code",
                "metadata": {"tags": ["injected-parameters"]},
                "source": "a = 0",
                "outputs": [],
            },
            {"cell_type": "code", "metadata": {}, "source": "print(a)", "outputs": []},
        ]
    }
    new, note = inject_parameters(nb, [parse_parameter("a", "2"), parse_parameter("k", "s", secret=True)])
    assert note is None
    sources = [c["source"] for c in new["cells"]]
    assert (
        sources[2] == '# Parameters\na = 2\nk = __import__("os").environ.pop("JUPYTER_SIGSTORE_SECRET_k")\n'
    )
    assert len(new["cells"]) == 4 and sources[3] == "print(a)"
    plain = {"cells": [{"cell_type": "code", "metadata": {}, "source": "x", "outputs": []}]}
    new, note = inject_parameters(plain, [parse_parameter("a", "2")])
    assert note is not None and new["cells"][0]["metadata"]["tags"] == ["injected-parameters"]
