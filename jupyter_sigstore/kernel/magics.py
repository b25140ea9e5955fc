"""``%sigstore`` and ``%%sigstore`` magics for IPython kernels (load with ``%load_ext jupyter_sigstore``).

Signing the open notebook goes through the front end over the ``jupyter_sigstore`` comm so that what
the user sees is what gets signed and the editor's own save writes the signature
(docs/kernel-protocol.md); without a front-end extension the saved file is signed on disk, with
checks. User errors show as one line (no traceback) and leave every file as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import os
import shlex
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from IPython.core.magic import Magics, line_cell_magic, magics_class

from ..errors import (
    IdentityError,
    NotebookError,
    SigstoreNotebookError,
    UsageError,
)
from ..instance import TRUST_CONFIG_ENV
from .comm import FrontendLink, SignRequest, notebook_hint
from .login import SESSION, LoginPrompt, Method

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from IPython.core.interactiveshell import InteractiveShell

    from ..instance import Instance
    from ..policy import TrustPolicy
    from ..report import VerificationReport

ENV_POLICY = "JUPYTER_SIGSTORE_POLICY"
REPORT_MIME = "application/vnd.jupyter-sigstore.report+json"
UNTITLED = "Untitled*.ipynb"

HELP = """\
%sigstore — sign and verify this notebook and its data outputs with Sigstore

  %sigstore track PATH...            declare data outputs of this notebook (kept in its metadata)
  %sigstore untrack PATH...          stop tracking them
  %sigstore sign [NOTEBOOK] [--output PATH]... [--countersign [--earlier-key PUB]...] [--on-disk]
                                     sign the notebook as shown plus its tracked outputs
  %sigstore verify [NOTEBOOK] [--policy FILE | --cert-identity ID --cert-oidc-issuer URL]
                                     verify the saved notebook and its outputs
  %sigstore login [--device | --oob] [--timeout SECONDS]
                                     get an identity (ambient credentials, device code or OOB code)
  %sigstore whoami / %sigstore logout
  %sigstore status                   notebook, tracked outputs, identity, front end, last signing
  %sigstore config [--trust-config FILE | --staging | --production] [--policy FILE]
  %%sigstore output NAME             run the cell and save its rich output as the tracked output NAME

Instance: $JUPYTER_SIGSTORE_TRUST_CONFIG or `%sigstore config --trust-config FILE` (default: public
Sigstore). Policy: --policy, `%sigstore config --policy`, or $JUPYTER_SIGSTORE_POLICY.
Details: docs/magics.md."""


class MagicError(Exception):
    """A user error shown as one line instead of a traceback (IPython honours _render_traceback_)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def _render_traceback_(self) -> list[str]:
        return [f"jupyter-sigstore: {self.message}"]


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see `%sigstore help`)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message or f"{self.prog}: see `%sigstore help`")


def _parser(prog: str) -> _Parser:
    return _Parser(prog=f"%sigstore {prog}", add_help=False, allow_abbrev=False)


def _load_public_keys(paths: list[str]) -> list[EllipticCurvePublicKey]:
    if not paths:
        return []
    from ..keys import load_public_key

    return [load_public_key(p) for p in paths]


# -- the magics ----------------------------------------------------------------------------


@magics_class
class SigstoreMagics(Magics):
    """The ``%sigstore`` line magic and ``%%sigstore output`` cell magic."""

    def __init__(self, shell: InteractiveShell) -> None:
        super().__init__(shell)
        self.trust_config: Path | None = None
        self.staging = False
        self.policy_file: Path | None = None
        self.identity = SESSION
        self.link = FrontendLink(identity=SESSION)
        self.tracked: dict[Path, list[str]] = {}
        self.finished: list[float] = []  # when each cell (after loading) finished
        self.current_cell: str | None = None
        if env := os.environ.get(TRUST_CONFIG_ENV):
            self.trust_config = Path(env)
        if env := os.environ.get(ENV_POLICY):
            self.policy_file = Path(env)

    # IPython events ------------------------------------------------------------------------
    def pre_run_cell(self, info: Any) -> None:
        self.current_cell = getattr(info, "raw_cell", None)

    def post_run_cell(self, result: Any) -> None:
        self.finished.append(time.time())

    @property
    def in_kernel(self) -> bool:
        return getattr(self.shell, "kernel", None) is not None

    @property
    def under_run(self) -> bool:
        """Started by ``jupyter-sigstore run``, which signs once execution ends."""
        from ..execution import ENV_RUN

        return self.in_kernel and bool(os.environ.get(ENV_RUN))

    @property
    def headless(self) -> bool:
        """A kernel no front end acts for: ``run``, or a client (nbclient, nbconvert, papermill) that
        tells the kernel nothing (jupyter_server names every session, consoles included, in
        ``JPY_SESSION_NAME``). Requests are then recorded in the notebook's outputs."""
        if self.under_run:
            return True
        return self.in_kernel and not os.environ.get("JPY_SESSION_NAME") and self.own_notebook() is None

    def anchor(self) -> Path:
        """The notebook that relative names are relative to; headless without a known notebook,
        a stand-in in the working directory (where nbclient and nbconvert start the kernel)."""
        own = self.own_notebook()
        if own is None and self.headless:
            return Path.cwd() / "(headless).ipynb"
        return self.notebook(None)

    def start(self) -> None:
        """Open the front-end link when running in a Jupyter kernel."""
        if self.in_kernel:
            self.link.open(self.own_notebook())

    # entry point ---------------------------------------------------------------------------
    @line_cell_magic
    def sigstore(self, line: str, cell: str | None = None) -> Any:
        """Sign and verify this notebook and its data outputs with Sigstore (``%sigstore help``)."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise MagicError(f"cannot parse the arguments: {exc}") from None
        command, args = (words[0], words[1:]) if words else ("help", [])
        try:
            if cell is not None:
                if command != "output":
                    raise UsageError("as a cell magic use `%%sigstore output NAME`")
                return self._output(args, cell)
            handler = _COMMANDS.get(command)
            if handler is None:
                raise UsageError(f"unknown command {command!r} (see `%sigstore help`)")
            return handler(self, args)
        except SigstoreNotebookError as exc:
            raise MagicError(str(exc)) from None
        except KeyboardInterrupt:
            raise MagicError(f"{command} cancelled; nothing was written") from None

    # notebook and instance -----------------------------------------------------------------
    def own_notebook(self) -> Path | None:
        """The notebook this kernel runs for (jupyter_server's ``JPY_SESSION_NAME`` / ``__session__``,
        VS Code's ``__vsc_ipynb_file__``), or None in a plain IPython session."""
        ns = self.shell.user_ns if self.shell is not None else {}
        candidates = (os.environ.get("JPY_SESSION_NAME"), ns.get("__session__"), ns.get("__vsc_ipynb_file__"))
        for value in candidates:
            if isinstance(value, str) and value.endswith(".ipynb"):
                return Path(value).resolve()
        return None

    def notebook(self, explicit: str | None) -> Path:
        """The notebook a command acts on: explicit, else this kernel's; one clear line if none."""
        if explicit:
            path = Path(explicit).expanduser()
            if not path.exists():
                raise NotebookError(f"{explicit}: no such notebook")
            return path.resolve()
        own = self.own_notebook()
        if own is None:
            raise UsageError(
                "this kernel has no notebook (plain IPython or a console?); name one: e.g. "
                "`%sigstore sign analysis.ipynb`"
            )
        return own

    def instance(self) -> Instance:
        from ..instance import Instance

        return Instance.select(staging=self.staging, trust_config=self.trust_config)

    def policy(self, args: argparse.Namespace) -> TrustPolicy | None:
        from ..policy import TrustPolicy, load_policy

        if args.cert_identity or args.cert_oidc_issuer:
            if not (args.cert_identity and args.cert_oidc_issuer):
                raise UsageError("--cert-identity and --cert-oidc-issuer must be given together")
            return TrustPolicy.exact(args.cert_identity, args.cert_oidc_issuer)
        path = args.policy or self.policy_file
        return load_policy(path) if path else None

    def tracked_for(self, notebook: Path) -> list[str]:
        """The session's tracked list, seeded from the file's ``metadata.sigstore.tracked``."""
        from .. import api

        if notebook not in self.tracked:
            self.tracked[notebook] = api.tracked(notebook) if notebook.exists() else []
        return self.tracked[notebook]

    # commands ------------------------------------------------------------------------------
    def _help(self, args: list[str]) -> None:
        print(HELP)

    def _config(self, args: list[str]) -> None:
        p = _parser("config")
        group = p.add_mutually_exclusive_group()
        group.add_argument("--trust-config", metavar="FILE")
        group.add_argument("--staging", action="store_true")
        group.add_argument("--production", action="store_true")
        p.add_argument("--policy", metavar="FILE")
        ns = p.parse_args(args)
        if ns.trust_config:
            path = Path(ns.trust_config).expanduser()
            from ..instance import Instance

            Instance.select(trust_config=path).client_trust_config(offline=True)  # fail now if bad
            self.trust_config, self.staging = path.resolve(), False
        elif ns.staging or ns.production:
            self.trust_config, self.staging = None, bool(ns.staging)
        if ns.policy:
            from ..policy import load_policy

            path = Path(ns.policy).expanduser()
            load_policy(path)
            self.policy_file = path.resolve()
        instance = self.instance()
        where = f" ({instance.trust_config})" if instance.trust_config else ""
        print(f"instance: {instance.name}{where}; policy: {self.policy_file or 'none'}")

    def _track(self, args: list[str], *, untrack: bool = False) -> None:
        from .. import api
        from ..tracking import add, forget_names, normalise, remove

        p = _parser("untrack" if untrack else "track")
        p.add_argument("paths", nargs="+", metavar="PATH")
        p.add_argument("--notebook", metavar="NOTEBOOK")
        if not untrack:
            p.add_argument("--input", action="store_true")
        ns = p.parse_args(args)
        if not untrack and (ns.input or (self.headless and not ns.notebook)):
            self._record_track(ns.paths, inputs=ns.input)
            return
        notebook = self.notebook(ns.notebook)
        current = self.tracked_for(notebook)
        if untrack:
            new = remove(current, forget_names(notebook, ns.paths))
        else:
            new = add(current, normalise(notebook, ns.paths))
        own = notebook == self.own_notebook()
        if not own:
            api.set_tracked(notebook, new)
        self.tracked[notebook] = new
        if own:
            self.link.send("track", tracked=new)
        where = "" if own else f" (saved in {notebook.name})"
        print(f"tracked outputs: {', '.join(new) or 'none'}{where}")

    def _untrack(self, args: list[str]) -> None:
        if self.headless and "--notebook" not in args:
            raise UsageError(
                "untrack is not recorded when the notebook runs without a front end: remove the "
                "`%sigstore track` line instead"
            )
        self._track(args, untrack=True)

    def _record_track(self, paths: list[str], *, inputs: bool) -> None:
        """Record tracked outputs (or declared inputs, with their sha256 now) in this cell's output,
        which the client saves with the notebook (see jupyter_sigstore.headless)."""
        from ..hashing import sha256_file
        from ..headless import track_output
        from ..tracking import normalise

        anchor = self.anchor()
        names = normalise(anchor, paths)
        if inputs:
            declared = []
            for name in names:
                path = anchor.parent / name
                if not path.is_file():
                    raise UsageError(f"input {name} is not a file (declare input files one by one)")
                declared.append({"path": name, "sha256": sha256_file(path)})
            text = f"declared inputs: {', '.join(names)} (recorded for `jupyter-sigstore run`)"
            _display_raw(track_output([], declared, text))
            return
        text = f"tracked outputs: {', '.join(names)} (recorded in this notebook; signed by "
        text += "`jupyter-sigstore run`)" if self.under_run else "`jupyter-sigstore sign --pending`)"
        _display_raw(track_output(names, [], text))

    def _sign(self, args: list[str]) -> None:
        from ..tracking import names_of

        p = _parser("sign")
        p.add_argument("notebook", nargs="?", metavar="NOTEBOOK")
        p.add_argument("--output", "-o", action="append", default=[], metavar="PATH")
        p.add_argument("--countersign", action="store_true")
        p.add_argument("--replace", action="store_true")
        p.add_argument("--earlier-key", action="append", default=[], metavar="PUB")
        p.add_argument("--on-disk", action="store_true")
        ns = p.parse_args(args)
        if ns.earlier_key and not ns.countersign:
            raise UsageError("--earlier-key is for --countersign (it verifies an earlier signature)")
        if ns.replace and ns.countersign:
            raise UsageError(
                "--replace and --countersign cannot be combined: a countersignature keeps the others"
            )
        if self.headless:
            self._record_sign(ns)
            return
        earlier_keys = _load_public_keys(ns.earlier_key)
        notebook = self.notebook(ns.notebook)
        own = notebook == self.own_notebook()
        if fnmatch.fnmatch(notebook.name, UNTITLED):
            raise UsageError(
                f"{notebook.name} is untitled: rename and save it first (the name is part of the signature)"
            )
        if not notebook.exists():
            raise NotebookError(f"{notebook} is not saved yet: save it first; nothing was signed")
        # notebook-relative names; outputs are found (once) when the notebook is signed
        outputs = list(dict.fromkeys([*self.tracked_for(notebook), *names_of(notebook, ns.output)]))
        _check_exist(notebook, outputs)
        login = self.identity.current()
        if login is not None and login.expired(self.identity.now()):
            self.identity.require()  # raises the one-line "expired" error
        use_link = own and not ns.on_disk and self.link.state in ("unknown", "present")
        if not use_link:
            tracked = self.tracked_for(notebook)
            self._sign_on_disk(notebook, outputs, tracked, ns.countersign, ns.replace, own, earlier_keys)
            return
        parent = getattr(self.shell, "parent_header", None) or {}
        request = SignRequest(
            uuid.uuid4().hex,
            notebook,
            outputs,
            ns.countersign,
            "kernel" if login is not None else "frontend",
            self.instance(),
            earlier_keys,
            replace=ns.replace,
            payload={
                "notebook": notebook_hint(notebook),
                "outputs": outputs,
                "countersign": ns.countersign,
                "replace": ns.replace,
                "signer": "kernel" if login is not None else "frontend",
                # shown in the front end's confirmation as what the kernel says about itself
                "identity": login.identity if login is not None else None,
                "parent_msg_id": (parent.get("header") or {}).get("msg_id"),
            },
        )
        self.link.request_signature(request)
        who = f" as {login.identity}" if login is not None else ""
        what = f" and {len(outputs)} output(s): {', '.join(outputs)}" if outputs else ""
        print(
            f"signing requested: when execution finishes, the front end asks you to confirm; then this "
            f"notebook{what} is signed{who} and saved"
        )
        if self.link.state == "unknown":
            print(
                "(no jupyter-sigstore front-end extension has answered yet; if no 'signed' notification "
                "appears, save the notebook and run `%sigstore sign` again to sign the saved file)"
            )

    def _record_sign(self, ns: argparse.Namespace) -> None:
        """Headless: never sign here (the client's save would overwrite a signature written now);
        record the request for ``run`` or ``jupyter-sigstore sign --pending``."""
        from ..headless import sign_output
        from ..tracking import names_of

        later = (
            "`jupyter-sigstore run NOTEBOOK`"
            if self.under_run
            else "`jupyter-sigstore sign --pending NOTEBOOK`"
        )
        if ns.notebook or ns.on_disk or ns.countersign or ns.replace or ns.earlier_key:
            raise UsageError(
                "this notebook runs without a front end, whose save would overwrite a signature made "
                f"now; nothing was signed: sign after execution with {later}"
            )
        anchor = self.anchor()
        outputs = names_of(anchor, ns.output, base=Path.cwd())
        _check_exist(anchor, outputs)
        what = f" and {len(outputs)} output(s): {', '.join(outputs)}" if outputs else ""
        if self.under_run:
            text = f"signing requested: `jupyter-sigstore run` signs this notebook{what} when execution ends"
        else:
            text = (
                f"signing requested, NOT signed yet: no front end can sign this notebook{what} while it "
                "runs headless; after execution run `jupyter-sigstore sign --pending NOTEBOOK`"
            )
        _display_raw(sign_output(outputs, text))

    def _sign_on_disk(
        self,
        notebook: Path,
        outputs: list[str],
        tracked: list[str],
        countersign: bool,
        replace: bool,
        own: bool,
        earlier_keys: list[EllipticCurvePublicKey],
    ) -> None:
        from .. import api

        login = self.identity.require()  # first: logging in runs a cell, so save after it
        if own:
            self._check_saved(notebook)
        instance = self.instance()
        result = api.sign(
            notebook,
            api.keyless_signer(login.token, instance),
            api.SignOptions(
                outputs=tuple(outputs),
                base=notebook.parent,
                track=tuple(tracked),
                countersign=countersign,
                replace=replace,
                earlier_keys=tuple(earlier_keys),
                instance=instance,
            ),
        )
        what = f" and {len(result.outputs)} output(s)" if result.outputs else ""
        print(f"signed the saved file {notebook.name}{what} as {login.identity}")
        if result.dropped:
            print(f"replaced earlier signature(s) by {', '.join(result.dropped)}")
        if own:
            print(
                "your editor still holds the unsigned copy: reload the notebook from disk now "
                "(JupyterLab: File > Reload Notebook from Disk) before editing or saving, "
                "or the signature is lost"
            )

    def _check_saved(self, notebook: Path) -> None:
        """Refuse to sign the kernel's own notebook on disk unless the file holds what was run."""
        from ..nbfile import load_notebook

        mtime = notebook.stat().st_mtime
        # self.finished holds the cells that ran before this one (this cell has not finished yet).
        if any(t > mtime for t in self.finished):
            raise NotebookError(
                f"{notebook.name} has outputs that are not saved yet: save the notebook (Ctrl+S), then run "
                "`%sigstore sign` again; nothing was signed"
            )
        source = (self.current_cell or "").strip()
        if source:
            cells = load_notebook(notebook).nb.get("cells") or []
            texts = {_source(c).strip() for c in cells if isinstance(c, dict)}
            if source not in texts:
                raise NotebookError(
                    f"{notebook.name} on disk does not contain this cell yet: save the notebook (Ctrl+S), "
                    "then run `%sigstore sign` again; nothing was signed"
                )

    def _verify(self, args: list[str]) -> Any:
        from .. import api

        p = _parser("verify")
        p.add_argument("notebook", nargs="?", metavar="NOTEBOOK")
        p.add_argument("--policy", metavar="FILE")
        p.add_argument("--cert-identity", metavar="IDENTITY")
        p.add_argument("--cert-oidc-issuer", metavar="URL")
        ns = p.parse_args(args)
        notebook = self.notebook(ns.notebook)
        report = api.verify(notebook, api.VerifyOptions(policy=self.policy(ns), instance=self.instance()))
        _display_report(report)

    def _login(self, args: list[str]) -> None:
        p = _parser("login")
        group = p.add_mutually_exclusive_group()
        group.add_argument("--device", action="store_true")
        group.add_argument("--oob", action="store_true")
        p.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS")
        ns = p.parse_args(args)
        if not ns.timeout > 0 or ns.timeout == float("inf"):
            raise UsageError("--timeout must be a positive number of seconds")
        if self.headless:
            raise UsageError(
                "this kernel runs headless (no one can answer a login here): the identity comes from "
                "`jupyter-sigstore run` or `sign --pending`, which sign after execution; nothing was stored"
            )
        method: Method = "device" if ns.device else "oob" if ns.oob else "auto"
        # The URL and code are shown in one display that is replaced when the login ends, so the
        # notebook's saved outputs never keep a login code (the front end applies the update).
        display_id = f"jupyter-sigstore-login-{uuid.uuid4().hex}"
        shown: list[LoginPrompt] = []

        def show(prompt: LoginPrompt) -> None:
            shown.append(prompt)  # first: an interrupt right after the display must still replace it
            _show_prompt(prompt, display_id=display_id)

        ended = "Sign-in ended without an identity; nothing was stored."
        try:
            login = self.identity.login(
                self.instance(), method=method, timeout=ns.timeout, show=show, ask_code=_ask_code
            )
            ended = f"logged in as {login.describe()}"
        except KeyboardInterrupt:
            ended = "Sign-in cancelled; nothing was stored."
            raise IdentityError("login cancelled; no identity was stored") from None
        finally:
            if shown:
                from IPython.display import update_display

                update_display({"text/plain": ended}, display_id=display_id, raw=True)  # type: ignore[no-untyped-call]
        if not shown:
            print(ended)

    def _whoami(self, args: list[str]) -> None:
        _parser("whoami").parse_args(args)
        login = self.identity.current()
        if login is None:
            print("not logged in (run `%sigstore login`)")
        elif login.expired(self.identity.now()):
            print(f"{login.describe()} - EXPIRED, run `%sigstore login` again")
        else:
            print(login.describe())

    def _logout(self, args: list[str]) -> None:
        _parser("logout").parse_args(args)
        print("logged out" if self.identity.logout() else "not logged in")

    def _status(self, args: list[str]) -> None:
        _parser("status").parse_args(args)
        own = self.own_notebook()
        login = self.identity.login_state
        lines = [
            f"notebook: {own or 'none (plain IPython?)'}",
            f"tracked outputs: {', '.join(self.tracked_for(own)) if own and own.exists() else '-'}",
            f"identity: {login.describe() if login else 'not logged in'}",
            f"front end: {self._frontend_text()}",
            f"instance: {self.instance().name}",
        ]
        if self.link.last_result:
            lines.append(f"last signing: {self.link.last_result}")
        print("\n".join(lines))

    def _frontend_text(self) -> str:
        return {
            "none": "none (not in a Jupyter kernel)",
            "unknown": "no answer yet from a jupyter-sigstore extension",
            "present": f"{self.link.frontend} with the jupyter-sigstore extension",
            "absent": "no jupyter-sigstore extension (signing uses the saved file)",
        }[self.link.state]

    def _output(self, args: list[str], cell: str) -> None:
        from IPython.utils.capture import capture_output

        p = _parser("output")
        p.add_argument("name", metavar="NAME")
        ns = p.parse_args(args)
        notebook = self.anchor()
        target = (notebook.parent / ns.name).resolve()
        if notebook.parent.resolve() not in target.parents:
            raise UsageError(f"output {ns.name} must be inside the notebook's folder")
        shell: Any = self.shell
        outer = self.current_cell
        with capture_output(display=True) as captured:
            # The value of the last expression is shown by the display hook as usual.
            result = shell.run_cell(cell, store_history=False)
        self.current_cell = outer
        captured.show()  # type: ignore[no-untyped-call]
        bundles = [dict(o.data) for o in captured.outputs]
        if result.result is not None:
            data, _ = shell.display_formatter.format(result.result)
            bundles.append(dict(data))
        if not result.success:
            raise UsageError(f"the cell failed; {ns.name} was not written")
        if captured.stdout:
            bundles.insert(0, {"text/plain": captured.stdout})
        data = _output_bytes(ns.name, bundles, result.result)
        from ..nbfile import atomic_write

        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data)
        if self.headless:
            self._record_track([str(target)], inputs=False)
            return
        extra = [] if notebook == self.own_notebook() else ["--notebook", str(notebook)]
        self._track([str(target), *extra])


def _literal(text: Any) -> Any:
    import ast

    try:
        return ast.literal_eval("".join(text) if isinstance(text, list) else str(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return object()  # not JSON: skipped by the caller


def _check_exist(notebook: Path, names: list[str]) -> None:
    """Every named local output (not pattern) must exist now, before anything is sent or signed (URLs
    are read when signing)."""
    from ..remote.scheme import is_url
    from ..walking import has_wildcard

    for name in names:
        if not has_wildcard(name) and not is_url(name) and not os.path.lexists(notebook.parent / name):
            raise UsageError(f"output {name} does not exist; nothing was signed")


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _output_bytes(name: str, bundles: list[dict[str, Any]], value: Any = None) -> bytes:
    """The file content for ``%%sigstore output NAME``, chosen by NAME's extension: for ``.json`` the
    cell's value as JSON (or its ``application/json`` output)."""
    import base64

    suffix = Path(name).suffix.lower()
    if suffix == ".json":
        candidates = [value] if value is not None else []
        candidates += [b["application/json"] for b in bundles if "application/json" in b]
        # ipykernel publishes a nested cell's value as text (its repr): read it back if it is a literal
        # (the last one shown is the cell's value; printed text comes first in ``bundles``)
        candidates += [_literal(b["text/plain"]) for b in reversed(bundles) if "text/plain" in b]
        for candidate in candidates:
            try:
                return (json.dumps(candidate, indent=1, sort_keys=True, allow_nan=False) + "\n").encode()
            except (TypeError, ValueError):
                continue
        raise UsageError(
            f"the cell's value is not JSON, so {name} was not written: end the cell with a dict, list, "
            "string or number (or write the file yourself and `%sigstore track` it)"
        )
    wanted = {
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".svg": "image/svg+xml",
        ".html": "text/html",
        ".txt": "text/plain",
        ".md": "text/markdown",
    }.get(suffix)
    if wanted is None:
        return (json.dumps(bundles, indent=1, sort_keys=True, default=str) + "\n").encode("utf-8")
    found = [b[wanted] for b in bundles if wanted in b]
    if not found:
        have = sorted({m for b in bundles for m in b}) or ["nothing"]
        raise UsageError(f"the cell produced no {wanted} output for {name} (it produced {', '.join(have)})")
    value = found[-1]
    if wanted in ("image/png", "image/jpeg"):
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)
    text = "".join(value) if isinstance(value, list) else str(value)
    return text.encode("utf-8")


def _display_raw(data: dict[str, Any]) -> None:
    from IPython.display import display

    display(data, raw=True)  # type: ignore[no-untyped-call]


def _display_report(report: VerificationReport) -> None:
    from IPython.display import display

    from ..render import render_html, render_text

    display(  # type: ignore[no-untyped-call]
        {
            "text/plain": render_text(report),
            "text/html": render_html(report),
            REPORT_MIME: report.to_dict(),
        },
        raw=True,
    )


def _show_prompt(prompt: LoginPrompt, *, display_id: str) -> None:
    from html import escape

    from IPython.display import display

    link = f'<a href="{escape(prompt.url)}" target="_blank" rel="noopener">'
    if prompt.flow == "device":
        wait = f"Waiting up to {prompt.wait_text()} (interrupt the kernel to cancel)…"
        text = f"To sign in, open {prompt.url}\nand enter the code {prompt.user_code}\n{wait}"
        html = (
            f"<p>To sign in, open {link}{escape(prompt.url)}</a> and enter the code "
            f"<b><code>{escape(prompt.user_code or '')}</code></b></p><p>{escape(wait)}</p>"
        )
    else:
        text = f"To sign in, open {prompt.url}\nthen paste the code it shows below."
        html = f"<p>To sign in, open {link}this link</a>, then paste the code it shows below.</p>"
    display({"text/plain": text, "text/html": html}, raw=True, display_id=display_id)  # type: ignore[no-untyped-call]


def _ask_code(prompt: str) -> str:
    import getpass

    return getpass.getpass(prompt)


_COMMANDS = {
    "help": SigstoreMagics._help,
    "config": SigstoreMagics._config,
    "track": SigstoreMagics._track,
    "untrack": SigstoreMagics._untrack,
    "sign": SigstoreMagics._sign,
    "verify": SigstoreMagics._verify,
    "login": SigstoreMagics._login,
    "whoami": SigstoreMagics._whoami,
    "logout": SigstoreMagics._logout,
    "status": SigstoreMagics._status,
}

_LOADED: dict[int, SigstoreMagics] = {}


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register the magics and the cell hooks; open the front-end comm in a Jupyter kernel."""
    if id(ipython) in _LOADED:
        return
    magics = SigstoreMagics(ipython)
    ipython.register_magics(magics)
    ipython.events.register("pre_run_cell", magics.pre_run_cell)
    ipython.events.register("post_run_cell", magics.post_run_cell)
    _LOADED[id(ipython)] = magics
    try:
        magics.start()
    except Exception as exc:  # a broken comm must not break loading the magics
        print(f"jupyter-sigstore: front-end link unavailable ({type(exc).__name__})", file=sys.stderr)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Close the comm and remove the hooks (the magics stay until the kernel restarts, as usual)."""
    magics = _LOADED.pop(id(ipython), None)
    if magics is None:
        return
    magics.link.close()
    for event, hook in (("pre_run_cell", magics.pre_run_cell), ("post_run_cell", magics.post_run_cell)):
        with contextlib.suppress(ValueError):
            ipython.events.unregister(event, hook)
