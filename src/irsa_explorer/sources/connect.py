"""The one place where data sources are built: from the command line's options, from a lab,
or for another kubeconfig context. The TUI and the report both take a `Sources` from here."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # imported lazily: `--help` pays for neither client library
    from irsa_explorer.lab.launcher import LabProcess
    from irsa_explorer.sources.aws import AwsSource
    from irsa_explorer.sources.kube import KubeSource


def _nothing() -> None:
    return None


@dataclass
class Sources:
    """A cluster and an account to read, which part of the cluster, and how to let go of both."""

    kube: KubeSource
    aws: AwsSource
    namespace: str | None = None  # None: all namespaces
    cluster_name: str | None = None  # the EKS cluster, when known
    close: Callable[[], None] = field(default=_nothing)


@dataclass(frozen=True)
class Target:
    """What the options name: kubectl's and the aws CLI's settings (None: their defaults)."""

    context: str | None = None
    kubeconfig: str | None = None
    profile: str | None = None
    region: str | None = None
    namespace: str | None = None
    cluster: str | None = None
    request_timeout: float | None = 10.0  # seconds per request (connect, and between bytes); 0: none
    # ACCOUNT=PROFILE: the profile that reads roles of another account (cross-account IRSA);
    # () → $IRSA_EXPLORER_ACCOUNT_PROFILES
    account_profiles: tuple[str, ...] = ()


def from_options(target: Target) -> Sources:
    """Sources for the current (or named) kubeconfig context and AWS as the aws CLI resolves it.

    Raises ClusterError (one line naming the file and the context) when the kubeconfig cannot
    be used; never raises for AWS: its problems are `sources.aws.problem()`, and every AWS
    lookup answers with that line, so the Kubernetes side works without AWS.

    The profile: --profile, else $AWS_PROFILE, else the one the context's exec plugin uses
    (`aws eks update-kubeconfig --profile P` writes it there), else the default chain.
    The region: --region, else the cluster's region read from the context (the ARN of
    `aws eks update-kubeconfig`, eksctl's name, the plugin's --region), else $AWS_REGION,
    $AWS_DEFAULT_REGION or the profile's — the cluster's own region wins over a default one.
    """
    import os

    from irsa_explorer.sources.aws import AwsSource
    from irsa_explorer.sources.kube import KubeSource

    kube = KubeSource(context=target.context, kubeconfig=target.kubeconfig, request_timeout=target.request_timeout)
    profile = target.profile or (None if os.environ.get("AWS_PROFILE") else kube.aws_profile())
    aws = AwsSource(profile=profile, region=target.region or kube.default_region(),
                    request_timeout=target.request_timeout, account_profiles=account_profiles(target))
    return Sources(kube, aws, target.namespace or None, target.cluster or kube.default_cluster_name(), kube.close)


def account_profiles(target: Target) -> dict[str, str]:
    """{account: profile} from --account-profile, else $IRSA_EXPLORER_ACCOUNT_PROFILES.
    Raises ValueError with one line for a malformed one."""
    import os

    from irsa_explorer.sources.aws_accounts import ACCOUNT_PROFILES_ENV, parse_account_profiles

    return parse_account_profiles(target.account_profiles or os.environ.get(ACCOUNT_PROFILES_ENV))


def for_lab(lab: LabProcess, target: Target = Target()) -> Sources:
    """Sources pointed at a running lab (its kubeconfig and aws.env); closing them stops it."""
    from irsa_explorer.sources.aws import AwsSource
    from irsa_explorer.sources.kube import KubeSource

    kube = KubeSource(context=target.context, kubeconfig=str(lab.kubeconfig), request_timeout=target.request_timeout)
    aws = AwsSource.from_env(dict(lab.aws_env), region=target.region, request_timeout=target.request_timeout,
                             account_profiles=account_profiles(target) if target.account_profiles else None)

    def close() -> None:
        kube.close()
        lab.stop()

    return Sources(kube, aws, target.namespace or None, target.cluster or kube.default_cluster_name(), close)


def switch_context(sources: Sources, context: str) -> Sources:
    """Sources for another context of the same kubeconfig; the AWS side stays."""
    from irsa_explorer.sources.kube import KubeSource

    kube = KubeSource(context=context, kubeconfig=sources.kube.kubeconfig,
                      request_timeout=getattr(sources.kube, "request_timeout", 10.0))

    def close() -> None:  # the new context's connections, then the previous ones
        kube.close()
        sources.close()

    return Sources(kube, sources.aws, sources.namespace, kube.default_cluster_name(), close)


def lab_in_background(
    scenario: str, extra_args: list[str] | None = None, directory: str | None = None
) -> tuple[Callable[[], Sources], Callable[[], None]]:
    """(connect, stop): the lab starts at once in a thread; `connect` waits for it and returns
    sources pointed at it. `directory` (`learn --dir`) receives its kubeconfig and aws.env and
    is kept when it stops; None: a folder of its own, removed with it.

    Starting it here rather than in `connect` lets `lab serve` start up (about two seconds,
    mostly its own imports and seeding) while the TUI draws its first screen; meanwhile the
    kubernetes and boto3 clients and the analysis are imported, so the first request goes out
    the moment the lab says `ready`.
    """
    from irsa_explorer.lab.launcher import start_lab

    labs: list[LabProcess] = []
    failures: list[BaseException] = []

    def start() -> None:
        try:
            labs.append(start_lab(scenario, directory, extra_args=extra_args or ()))
        except BaseException as error:  # raised by connect, in the worker that shows it
            failures.append(error)

    def warm_imports() -> None:
        import irsa_explorer.analysis.identity  # noqa: F401
        import irsa_explorer.sources.aws  # noqa: F401
        import irsa_explorer.sources.inventory  # noqa: F401
        import irsa_explorer.sources.kube  # noqa: F401

    starting = threading.Thread(target=start, name="lab-start", daemon=True)
    starting.start()
    threading.Thread(target=warm_imports, name="warm-imports", daemon=True).start()

    def connect() -> Sources:
        starting.join()
        if failures:
            from irsa_explorer.lab.launcher import LabStartError

            if isinstance(failures[0], LabStartError):  # its output, in one line, where the pods would be
                from irsa_explorer.sources.kube import ClusterError
                from irsa_explorer.sources.kubeconfig import summarise

                said = str(failures[0]).split("\n", 1)
                raise ClusterError(f"the lab did not start: {summarise(said[-1]) or said[0]}") from None
            raise failures[0]
        return for_lab(labs[0])

    def stop() -> None:
        starting.join()
        for lab in labs:
            lab.stop()

    return connect, stop
