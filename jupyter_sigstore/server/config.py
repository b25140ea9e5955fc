"""Server-side settings: ``c.Sigstore.*`` in any Jupyter Server config file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from traitlets import Bool, CaselessStrEnum, Dict, Int, Unicode
from traitlets.config import Configurable

from ..errors import PolicyError
from ..instance import Instance
from ..policy import TrustPolicy, load_policy, policy_from_dict

POLICY_FILE_NAME = "sigstore-policy.toml"


class Sigstore(Configurable):
    """jupyter-sigstore's server settings (``c.Sigstore.<name>`` in jupyter_server_config.py).

    Example::

        c.Sigstore.policy_file = "/etc/jupyter/sigstore-policy.toml"
        c.Sigstore.trust_config = "/etc/jupyter/sigstore-trust-config.json"
    """

    policy_file = Unicode(
        "",
        help="Trust policy (TOML, see docs/policy.md) used when no sigstore-policy.toml is found between "
        "the notebook's folder and the server root. Relative paths are relative to the server root.",
    ).tag(config=True)

    policy = Dict(
        {},
        help="An inline trust policy with the policy file's shape, e.g. {'trusted': [{'name': 'me', "
        "'identity': 'me@example.com', 'issuer': 'https://accounts.google.com'}]}. "
        "Used when policy_file is empty.",
    ).tag(config=True)

    project_policies = Bool(
        True,
        help=f"Look for a {POLICY_FILE_NAME} in the notebook's folder and its parents up to the server "
        "root. The nearest one applies only once the user approved that exact file (by its hash), and "
        "under the server's own policy it can only narrow whom to trust.",
    ).tag(config=True)

    instance = CaselessStrEnum(
        ["production", "staging"],
        default_value="production",
        help="The Sigstore instance: the public-good 'production' one or 'staging'.",
    ).tag(config=True)

    trust_config = Unicode(
        "",
        help="A Sigstore ClientTrustConfig JSON file for a private instance (wins over 'instance').",
    ).tag(config=True)

    auto_verify = Bool(
        True,
        help="Default for the front end's 'verify on open' (each user's lab setting overrides it).",
    ).tag(config=True)

    allow_signing = Bool(True, help="Allow signing through the server's REST API.").tag(config=True)

    ambient_credentials = Bool(
        True,
        help="Let users sign with the server's ambient OIDC credentials ($SIGSTORE_ID_TOKEN or CI "
        "credentials such as GitHub Actions'), when the server has them.",
    ).tag(config=True)

    max_notebook_bytes = Int(
        64 * 1024 * 1024,
        help="Notebooks larger than this are not verified (the badge says so); 0 means no limit.",
    ).tag(config=True)

    remote_outputs = CaselessStrEnum(
        ["never", "on-request", "on-open"],
        default_value="on-request",
        help="When the server reads signed outputs named by URL (s3://, gs://, https://...) with its own "
        "credentials: 'on-request' (default: only when the user asks, e.g. the sidebar's 'Check remote "
        "outputs'; opening a notebook never fetches a URL it names), 'on-open' (also when a notebook is "
        "verified on open), or 'never'. Even when allowed, only the URLs of signatures the trust policy "
        "trusts are read.",
    ).tag(config=True)

    dask_scheduler = Unicode(
        "",
        help="A Dask scheduler address (e.g. tcp://scheduler:8786) to hash remote outputs on, when they "
        "are checked; empty: hash them in the server process.",
    ).tag(config=True)

    oidc_client_id = Unicode(
        "sigstore",
        help="OAuth client id of the sign-in flows, and the audience every token signed in here must name "
        "(Fulcio accepts the client id it was configured with for the issuer; 'sigstore' for public good).",
    ).tag(config=True)

    def remote_checks(self, requested: bool) -> Literal["trusted", "never"]:
        """Whether a verification reads remote outputs (for trusted signers) or reports them unchecked."""
        if self.remote_outputs == "on-open" or (requested and self.remote_outputs == "on-request"):
            return "trusted"
        return "never"

    def select_instance(self, override: str | None = None) -> Instance:
        """The Instance these settings name; a user may pick ``production`` or ``staging`` instead."""
        if override in ("production", "staging"):
            return Instance.select(staging=override == "staging")
        if self.trust_config:
            return Instance.select(trust_config=Path(self.trust_config).expanduser())
        return Instance.select(staging=self.instance == "staging")

    def server_policy(self, root: Path) -> tuple[TrustPolicy | None, str | None, str | None]:
        """The server's own policy: (policy, source description, error)."""
        try:
            if self.policy_file:
                path = Path(self.policy_file).expanduser()
                path = path if path.is_absolute() else root / path
                # the administrator's own file: its keys may live anywhere the administrator chose
                policy = load_policy(path, key_root=Path("/"))
                return policy, f"server config (c.Sigstore.policy_file = {path})", None
            if self.policy:
                data: dict[str, Any] = dict(self.policy)
                return policy_from_dict(data, "c.Sigstore.policy"), "server config (c.Sigstore.policy)", None
        except PolicyError as exc:
            return None, "server config", str(exc)
        return None, None, None


#: The name the brief and the docs use for the settings class.
SigstoreConfig = Sigstore
