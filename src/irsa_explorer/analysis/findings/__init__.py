"""The findings: the catalogue of every finding by stable code (`catalogue`), and the builders
that make a concrete finding for one pod (`builders`: injection, keys, provider, role, node;
`trust_policy`: trust-policy diagnoses and fixes; `node`: IMDS, Fargate, the Pod Identity agent, the
STS endpoint; `credentials`: profiles from mounted files, static keys' owners, roles in other accounts).
Everything is importable from here:
`from irsa_explorer.analysis import findings as F; F.NO_OIDC_PROVIDER; F.no_oidc_provider(...)`.
"""

from .builders import *  # noqa: F403
from .catalogue import *  # noqa: F403
from .catalogue import CATALOGUE, NOT_DETECTABLE, FindingSpec, catalogue_markdown  # noqa: F401
from .node import *  # noqa: F403
from .trust_policy import *  # noqa: F403
from .credentials import *  # noqa: F403  (last: its specs follow the others in docs/findings.md)
