"""A large, realistic lab cluster for measuring the explorer at scale (`lab serve --scale …`).

    from irsa_explorer.lab.scale import generate, parse_scale
    report = generate(parse_scale("pods=400"), kube_server=lab.kube, aws_lab=lab.aws)
    print(report.summary())

Modules, so the shape of the cluster can be tested without servers:
- spec: `ScaleSpec` and `parse_scale`, the `--scale` option (`pods=N,…`, `full`, `quick`);
- plan: `plan_cluster(spec, cluster)` decides, deterministically from a seed, every namespace,
  service account, IAM role (with its trust policy, a share of them deliberately broken), node
  and pod;
- manifests: those objects as the clients that make them on EKS would send them;
- seed: `generate` (plan, then `seed_aws` and `seed_kube`) creates it in a running lab in seconds.

The mix mirrors what real clusters look like: most pods run under a service account annotated
for IRSA, some under one with an EKS Pod Identity association (when the lab's AWS side serves
associations), some on an unannotated or `default` service account and so on the node role;
about one IRSA role in ten has a broken trust policy (wrong namespace in `sub`, wrong audience,
a wildcard in `StringEquals`, a principal that is not the cluster's provider), a few
annotations name a role that does not exist, and a few service accounts were annotated after
their pods started (so the webhook never injected them).

Lab-internal shortcuts, taken only for speed and documented here:
- Pods, service accounts, namespaces and nodes go straight into the Kubernetes server's store,
  but every pod first passes through the server's own admission (service-account defaults,
  scheduling, the pod identity webhook), so the stored objects are exactly what a `POST` would
  have produced. 10,000 pods through HTTP would take minutes; this takes seconds.
- IAM roles are written into moto's in-process IAM backend (moto runs in the same process as
  `lab serve`): about 50,000 roles/s instead of about 200/s through boto3, and untouched by
  the lab's injected IAM latency. Everything else on the AWS side (OIDC provider, node role,
  instance profile, EC2 instances, Pod Identity associations) goes through boto3 like any
  client, since it is a handful of calls.
"""

from .manifests import pod_manifest
from .plan import TRUST_FLAWS, ScalePlan, plan_cluster
from .seed import SeedReport, generate
from .spec import FULL, QUICK, ScaleSpec, parse_scale

__all__ = [
    "FULL",
    "QUICK",
    "TRUST_FLAWS",
    "ScalePlan",
    "ScaleSpec",
    "SeedReport",
    "generate",
    "parse_scale",
    "plan_cluster",
    "pod_manifest",
]
