"""The command-line options several commands share: which Sigstore instance, who signs, and whom to
trust (adding them to a parser, and turning the parsed values into an
:class:`~jupyter_sigstore.instance.Instance`, a signer or a trust policy)."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: this module is loaded by every command, `digest` included
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from .instance import Instance
    from .policy import TrustPolicy

PASSWORD_ENV = "JUPYTER_SIGSTORE_PASSWORD"


def add_instance_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Sigstore instance (default: public-good production)")
    group.add_argument("--staging", action="store_true", help="use the public-good staging instance")
    group.add_argument(
        "--trust-config",
        metavar="FILE",
        help="a Sigstore ClientTrustConfig JSON for a private or test instance "
        "(default: $JUPYTER_SIGSTORE_TRUST_CONFIG, unless --staging)",
    )


def add_identity_options(parser: argparse.ArgumentParser) -> None:
    ident = parser.add_argument_group("identity (first found wins)")
    ident.add_argument(
        "--identity-token",
        metavar="TOKEN",
        help="an OIDC identity token, or @FILE to read it from a file (- or @- for stdin); a token on the "
        "command line shows in the process list: prefer $SIGSTORE_ID_TOKEN or a file",
    )
    ident.add_argument(
        "--identity-token-file", metavar="FILE", help="read the OIDC identity token from FILE (- for stdin)"
    )
    ident.add_argument(
        "--oauth-force-oob",
        action="store_true",
        help="interactive login: print a URL and read the code instead of opening a browser",
    )
    ident.add_argument(
        "--key",
        metavar="KEY",
        help="sign with a local EC P-256 private key (from `jupyter-sigstore keygen`) instead of an identity;"
        f" its passphrase comes from ${PASSWORD_ENV} or a prompt",
    )


def instance_of(args: argparse.Namespace) -> Instance:
    """The instance the options name; without --staging or --trust-config, $JUPYTER_SIGSTORE_TRUST_CONFIG."""
    import os

    from .instance import TRUST_CONFIG_ENV, Instance

    trust_config = args.trust_config
    if trust_config is None and not args.staging:
        trust_config = os.environ.get(TRUST_CONFIG_ENV) or None
    return Instance.select(staging=args.staging, trust_config=trust_config)


def signer_from_args(args: argparse.Namespace, instance: Any) -> Any:
    """The signer the identity options name: a local key, else a keyless signer for the first token
    found (option, file, $SIGSTORE_ID_TOKEN, ambient CI credentials, interactive login)."""
    from . import api
    from .errors import UsageError

    if args.key:
        return api.key_signer(args.key)
    from .oidc.terminal import obtain_token

    explicit, source = None, "--identity-token"
    if args.identity_token and args.identity_token_file:
        raise UsageError("give --identity-token or --identity-token-file, not both")
    if args.identity_token_file:
        from .oidc.sources import read_token_file

        explicit = read_token_file(args.identity_token_file)
        source = "the file " + args.identity_token_file
    elif args.identity_token:
        from .oidc.sources import read_token_argument

        explicit, source = read_token_argument(args.identity_token)
    token = obtain_token(instance, explicit=explicit, explicit_source=source, force_oob=args.oauth_force_oob)
    return api.keyless_signer(token, instance)


def trust_from_args(
    args: argparse.Namespace, key_files: list[str] | None
) -> tuple[TrustPolicy | None, list[Any]]:
    """The trust policy ``--cert-identity``/``--cert-oidc-issuer`` or ``--policy`` name, widened by the
    public keys in ``key_files``; and those keys."""
    from .errors import UsageError
    from .policy import TrustPolicy, load_policy

    if (args.cert_identity is None) != (args.cert_oidc_issuer is None):
        raise UsageError("--cert-identity and --cert-oidc-issuer must be given together")
    policy = TrustPolicy.exact(args.cert_identity, args.cert_oidc_issuer) if args.cert_identity else None
    if args.policy:
        if policy is not None:
            raise UsageError(
                "--policy and --cert-identity cannot be combined: put the identity in the policy"
            )
        policy = load_policy(args.policy)
    keys: list[Any] = []
    if key_files:
        from .keys import load_public_key
        from .policy import key_policy

        keys = [load_public_key(k) for k in key_files]
        policy = key_policy(keys, base=policy)
    return policy, keys
