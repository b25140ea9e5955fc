"""What ``%sigstore track`` and ``%sigstore sign`` record when no front end can act on them.

Under nbclient, nbconvert, papermill or ``jupyter-sigstore run`` nobody answers the kernel's comm, and
a file the kernel signs on disk is overwritten by the client's save. So the magics write their request
into the notebook itself, as an output of the cell that made it (mime type :data:`REQUEST_MIME`): the
client saves it with the notebook, and ``run`` or ``jupyter-sigstore sign --pending`` reads it back
after execution. A request is only a wish: what gets signed is listed, and checked to lie inside the
notebook's folder, by the command that signs, outside the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import BundleError
from .outputs import check_relative_path

REQUEST_MIME = "application/vnd.jupyter-sigstore.request+json"
REQUEST_VERSION = 1


def track_output(paths: list[str], inputs: list[dict[str, Any]], text: str) -> dict[str, Any]:
    """The display data ``%sigstore track`` emits in a headless kernel."""
    value = {"version": REQUEST_VERSION, "track": paths, "inputs": inputs}
    return {REQUEST_MIME: value, "text/plain": text}


def sign_output(outputs: list[str], text: str) -> dict[str, Any]:
    """The display data ``%sigstore sign`` emits in a headless kernel."""
    return {REQUEST_MIME: {"version": REQUEST_VERSION, "sign": {"outputs": outputs}}, "text/plain": text}


@dataclass(frozen=True)
class Requests:
    """The requests recorded in a notebook's outputs: tracked outputs, declared inputs (path and
    sha256 when declared) and signing requests (each with its extra outputs)."""

    tracked: tuple[str, ...] = ()
    inputs: tuple[tuple[str, str], ...] = ()
    sign: tuple[tuple[str, ...], ...] = ()

    @property
    def sign_outputs(self) -> list[str]:
        return list(dict.fromkeys(name for request in self.sign for name in request))


def read_requests(nb: dict[str, Any]) -> Requests:
    """Every request recorded in ``nb``'s outputs, in order. Paths must be relative paths below
    the notebook's folder; anything else is refused with the cell that holds it."""
    tracked: list[str] = []
    inputs: dict[str, str] = {}
    sign: list[tuple[str, ...]] = []
    for n, cell in enumerate(nb.get("cells") or []):
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        for out in outputs if isinstance(outputs, list) else []:
            data = out.get("data") if isinstance(out, dict) else None
            value = data.get(REQUEST_MIME) if isinstance(data, dict) else None
            if not isinstance(value, dict):
                continue
            where = f"cell {n + 1}"
            track = value.get("track")
            if isinstance(track, list):
                tracked += [_path(p, where) for p in track]
            for item in value.get("inputs") or []:
                if isinstance(item, dict):
                    inputs[_path(item.get("path"), where)] = str(item.get("sha256") or "")
            request = value.get("sign")
            if isinstance(request, dict):
                sign.append(tuple(_path(p, where) for p in request.get("outputs") or []))
    return Requests(tuple(dict.fromkeys(tracked)), tuple(inputs.items()), tuple(sign))


def _path(value: Any, where: str) -> str:
    try:
        return check_relative_path(value)
    except BundleError:
        raise BundleError(
            f"{where} requests {value!r}, which is not a relative path inside the notebook's folder"
        ) from None
