"""The ``run`` and ``reproduce`` commands of the ``jupyter-sigstore`` command line (see :mod:`cli`).

Exit codes as elsewhere: 0 success, 1 a failure (a cell raised, a kernel died, a reproduction FAILED,
a notebook refused as untrusted), 2 usage errors.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from .cli_options import (
    add_identity_options,
    add_instance_options,
    instance_of,
    signer_from_args,
    trust_from_args,
)
from .errors import ExecutionError, IdentityError, SigningError, UntrustedNotebookError

if TYPE_CHECKING:
    import argparse

EXIT_OK, EXIT_FAILED = 0, 1
_LISTED = 20


def _positive_float(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _execution_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("execution")
    group.add_argument("--kernel", metavar="NAME", help="kernel to use (default: the notebook's kernelspec)")
    group.add_argument(
        "--timeout", type=_positive_float, metavar="SECONDS", help="stop a cell that runs longer than this"
    )
    group.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="pass this environment variable to the kernel (repeatable; recorded as a digest only). "
        "The kernel's environment is otherwise scrubbed of tokens and cloud credentials",
    )
    group.add_argument(
        "--secret-param",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter whose value reaches the kernel through its environment, never the notebook, "
        "and is recorded as a digest only",
    )


def add_commands(sub: Any) -> None:
    """Add ``run`` and ``reproduce`` to the command line's subparsers (with the instance and
    identity options every signing command takes)."""
    run = sub.add_parser(
        "run",
        help="execute a notebook in a fresh kernel, then sign it, its outputs and how it was made",
        description="Execute NOTEBOOK in a fresh kernel (its folder as working directory, an environment "
        "without tokens or cloud credentials), save it, and sign it with its outputs and an execution "
        "provenance: one certificate, two log entries (the notebook signature, embedded, and a SLSA "
        "provenance over the notebook's bytes in NOTEBOOK.provenance.sigstore.json).",
    )
    run.add_argument("notebook", help="the .ipynb file to execute")
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a papermill-style parameter, injected after the cell tagged 'parameters' (repeatable)",
    )
    run.add_argument(
        "--input",
        "-i",
        action="append",
        default=[],
        metavar="PATH",
        help="a declared input (hashed, recorded)",
    )
    run.add_argument(
        "--output",
        "-o",
        action="append",
        default=[],
        metavar="PATH",
        help="a data output to sign with the notebook (besides those it tracks with `%%sigstore track`)",
    )
    run.add_argument("--executed", metavar="OUT", help="write the executed notebook here (default: in place)")
    run.add_argument("--allow-errors", action="store_true", help="run every cell and sign even if some raise")
    run.add_argument(
        "--ignore-tracked",
        action="store_true",
        help="sign only the --output files, not what the notebook tracks or requests",
    )
    run.add_argument(
        "--allow-outside", action="store_true", help="allow outputs outside the notebook's folder"
    )
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    _execution_options(run)
    add_identity_options(run)
    add_instance_options(run)

    rep = sub.add_parser(
        "reproduce",
        help="verify a signed notebook, re-execute it in a scratch copy and compare cell by cell",
        description="Verify NOTEBOOK against the policy (a notebook that does not verify is not executed), "
        "re-execute it in a fresh kernel in a scratch copy of its folder (working directory and HOME), and "
        "report each cell and signed output: reproduced, reproduced-normalised, exempted, differs, error "
        "or missing. Result PASSED, WARNED or FAILED; exit 0 for PASSED and WARNED (1 with --strict).",
    )
    rep.add_argument("notebook", help="the signed .ipynb file")
    rep.add_argument("--policy", metavar="FILE", help="the trust policy (its [reproduce] table adds rules)")
    rep.add_argument("--cert-identity", metavar="IDENTITY", help="the signer identity to trust")
    rep.add_argument("--cert-oidc-issuer", metavar="URL", help="the OIDC issuer of that identity")
    rep.add_argument(
        "--trust-key",
        action="append",
        default=[],
        metavar="PUB",
        help="trust this PEM public key (repeatable)",
    )
    rep.add_argument("--rules", metavar="FILE", help="normalisation rules (a TOML [reproduce] table)")
    rep.add_argument(
        "--allow-untrusted",
        action="store_true",
        help="execute the notebook even if it does not verify: it runs its code with your rights",
    )
    rep.add_argument("--strict", action="store_true", help="exit 1 for WARNED too")
    rep.add_argument(
        "--sign", action="store_true", help="add a signed in-toto Test Result attestation to the notebook"
    )
    rep.add_argument("--keep-scratch", action="store_true", help="keep the scratch copy (its path is shown)")
    rep.add_argument("--json", action="store_true", help="print the report as JSON")
    _execution_options(rep)
    add_identity_options(rep)
    add_instance_options(rep)


def cmd_run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from . import api
    from .render import escape_terminal

    instance = instance_of(args)
    options = api.RunOptions(
        parameters=tuple((n, v) for n, v in args.parameter),
        secret_parameters=tuple((n, v) for n, v in args.secret_param),
        inputs=tuple(args.input),
        outputs=tuple(args.output),
        executed=Path(args.executed) if args.executed else None,
        kernel_name=args.kernel,
        timeout=args.timeout,
        allow_errors=args.allow_errors,
        pass_env=tuple(args.env),
        use_tracked=not args.ignore_tracked,
        allow_outside=args.allow_outside,
        instance=instance,
    )
    try:
        prepared = api.prepare_run(args.notebook, options)
    except ExecutionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    run = prepared.execution
    err = sys.stderr if args.json else sys.stdout
    code = [c for c in run.cells if c.status != "skipped"]
    lines = [
        f"executed {prepared.source.path} in kernel {run.kernel.name} ({run.kernel.language} "
        f"{run.kernel.language_version or ''}): {len(code)} code cells, {len(run.errors)} raised".replace(
            " )", ")"
        )
    ]
    lines += [f"  cell {c.index + 1}: raised {c.error}" for c in run.errors]
    lines += [f"  note: {n}" for n in prepared.notes]
    shown = ", ".join(prepared.outputs[:_LISTED]) + ("…" if len(prepared.outputs) > _LISTED else "")
    lines.append(
        f"signing {prepared.target.name}"
        + (f" with outputs: {shown}" if prepared.outputs else " (no outputs)")
    )
    print("\n".join(escape_terminal(line) for line in lines), file=err, flush=True)
    try:
        result = api.sign_run(prepared, signer_from_args(args, instance))
    except (IdentityError, SigningError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    sig = result.signature
    if args.json:
        print(
            json.dumps(
                {
                    "notebook": str(result.notebook),
                    "identity": sig.identity,
                    "issuer": sig.issuer,
                    "notebook_digest": sig.notebook_digest,
                    "outputs": [{"path": o.path, "sha256": o.sha256, "size": o.size} for o in sig.outputs],
                    "log_index": sig.log_index,
                    "provenance": str(result.provenance),
                    "provenance_log_index": result.provenance_log_index,
                    "manifest": str(result.manifest) if result.manifest else None,
                    "cells": [
                        {"index": c.index, "status": c.status, "error": c.error}
                        for c in result.execution.cells
                    ],
                    "notes": list(result.notes),
                },
                indent=2,
            )
        )
        return EXIT_OK
    lines = [f"signed {result.notebook} as {sig.identity} (issuer {sig.issuer})"]
    lines.append(f"  notebook sha256 ({sig.profile}): {sig.notebook_digest}")
    lines += [f"  output {o.path}: sha256 {o.sha256}" for o in sig.outputs[:_LISTED]]
    if len(sig.outputs) > _LISTED:
        lines.append(f"  ... and {len(sig.outputs) - _LISTED:,} more outputs (--json lists them all)")
    lines.append(f"  notebook signature (with the execution record): log index {sig.log_index}")
    lines.append(
        f"  execution provenance (SLSA v1) written to {result.provenance}: "
        f"log index {result.provenance_log_index}"
    )
    if result.manifest:
        lines.append(f"  outputs manifest: {result.manifest}")
    lines += [f"  note: {n}" for n in result.notes if n not in prepared.notes]
    print("\n".join(escape_terminal(line) for line in lines))
    return EXIT_OK


def _rules(args: argparse.Namespace) -> Any:
    from . import api
    from .rules import Rules, rules_from_policy_file

    rules = api.load_rules(args.rules) if args.rules else Rules()
    if args.policy:
        from_policy = rules_from_policy_file(args.policy)
        if from_policy is not None:
            rules = rules.merged(from_policy) if args.rules else from_policy
    return rules


def cmd_reproduce(args: argparse.Namespace) -> int:
    import json

    from . import api

    policy, keys = trust_from_args(args, args.trust_key)
    instance = instance_of(args)
    options = api.ReproduceOptions(
        policy=policy,
        instance=instance,
        rules=_rules(args),
        allow_untrusted=args.allow_untrusted,
        kernel_name=args.kernel,
        timeout=args.timeout,
        pass_env=tuple(args.env),
        secret_parameters=tuple((n, v) for n, v in args.secret_param),
        keys=tuple(keys),
        keep_scratch=args.keep_scratch,
    )
    if args.allow_untrusted:
        print(
            "WARNING: --allow-untrusted: the notebook's code runs with your rights even if it does "
            "not verify",
            file=sys.stderr,
        )
    try:
        reproduction = api.reproduce(args.notebook, options)
    except (UntrustedNotebookError, ExecutionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    signed = None
    if args.sign:
        try:
            signed = api.sign_reproduction(reproduction, signer_from_args(args, instance))
        except (IdentityError, SigningError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
    from .reproduction import exit_code

    if args.json:
        value = reproduction.to_dict()
        if signed is not None:
            value["attestation"] = {"identity": signed.identity, "log_index": signed.log_index}
        print(json.dumps(value, indent=2))
    else:
        print(api.render_reproduction(reproduction))
        if signed is not None:
            print(f"  signed the result as {signed.identity}: log index {signed.log_index}")
        if reproduction.scratch:
            print(f"  scratch copy kept in {reproduction.scratch}")
    return exit_code(reproduction, strict=args.strict)
