"""The domain's plain data: what the data sources return and what the analysis reads.

Nothing here imports Textual, kubernetes or boto3. Everything is a frozen dataclass so it can
be shared between worker threads and the UI without copies or locks.

A value that could not be fetched is an `Unavailable` carrying the reason (and, when known,
the missing permission) — never a default that would read as "none" or "ok".

By subject: `common` (EKS names, enums, Unavailable, ObjectRef), `kube` (Kubernetes objects),
`aws` (AWS objects), `trust` (trust-policy evaluations), `chain` (identity chains and
findings), `inventory` (one view's snapshot), `cloudtrail` (events read from CloudTrail). Import from here: `from irsa_explorer.model import Pod`.
"""

from .aws import *  # noqa: F403
from .chain import *  # noqa: F403
from .cloudtrail import *  # noqa: F403
from .common import *  # noqa: F403
from .inventory import *  # noqa: F403
from .kube import *  # noqa: F403
from .trust import *  # noqa: F403
