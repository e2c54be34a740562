"""Which STS endpoint an IRSA pod's SDK exchanges its token at: the regional one
(sts.REGION.amazonaws.com) or the legacy global sts.amazonaws.com (in us-east-1).

The setting is `AWS_STS_REGIONAL_ENDPOINTS` (`regional` | `legacy`) in the container. The EKS
pod identity webhook adds `AWS_STS_REGIONAL_ENDPOINTS=regional` to every container it injects
IRSA into (as EKS runs it; a self-managed webhook does so for service accounts annotated
`eks.amazonaws.com/sts-regional-endpoints: "true"`), and leaves a value the container sets
itself alone.

`legacy` sends the call to the global endpoint for the regions that existed before regional
STS endpoints (botocore's LEGACY_GLOBAL_STS_REGIONS, copied below) and to the regional one
elsewhere. Left unset, the SDK decides: regional in AWS CLI v2, in boto3/botocore 1.40 and AWS
CLI v1 1.42 on (July 2025), and in the SDK major versions released since July 2022 (Java v2,
Go v2, JavaScript v3); global in older botocore and AWS CLI v1 and in Java v1, Go v1 and
JavaScript v2. Any other value is refused by botocore (InvalidSTSRegionalEndpointsConfigError)
when it creates an STS client.

Why it matters: the global endpoint makes every cluster depend on us-east-1 (an outage there
stops IRSA everywhere), it is not what an STS interface VPC endpoint serves in a private
cluster (the call times out), and it is slower from other regions.
"""

from __future__ import annotations

from irsa_explorer.model import Container, StsEndpoint

GLOBAL_ENDPOINT = "sts.amazonaws.com"
# botocore/args.py LEGACY_GLOBAL_STS_REGIONS (botocore 1.44): where `legacy` means the global endpoint.
LEGACY_GLOBAL_STS_REGIONS = frozenset({
    "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "aws-global", "ca-central-1",
    "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1",
    "us-east-2", "us-west-1", "us-west-2",
})
SDK_DEFAULTS = ("regional in AWS CLI v2, boto3/botocore ≥ 1.40, AWS CLI v1 ≥ 1.42 and the SDKs released since "
                "July 2022 (Java v2, Go v2, JavaScript v3); the global sts.amazonaws.com in older botocore and "
                "AWS CLI v1, Java v1, Go v1 and JavaScript v2")


def sts_endpoint(container: Container | None, cluster_region: str | None) -> StsEndpoint:
    """Where `container`'s SDK sends AssumeRoleWithWebIdentity, from its env."""
    setting = container.env_value("AWS_STS_REGIONAL_ENDPOINTS") if container else None
    region = None
    if container is not None:
        region = container.env_value("AWS_REGION") or container.env_value("AWS_DEFAULT_REGION")
    region = region or cluster_region
    regional = f"sts.{region}.amazonaws.com" if region else None
    where = f"region {region}" if region else "the pod's region"
    if setting is None:
        if region and region not in LEGACY_GLOBAL_STS_REGIONS:
            return StsEndpoint(None, "regional", regional,
                               f"AWS_STS_REGIONAL_ENDPOINTS is not set; in {where} every SDK calls {regional}")
        return StsEndpoint(None, "sdk-default", None,
                           f"AWS_STS_REGIONAL_ENDPOINTS is not set, so the SDK decides: {SDK_DEFAULTS}")
    value = setting  # botocore compares exactly: "Regional" is refused
    if value == "regional":
        return StsEndpoint(setting, "regional", regional,
                           f"AWS_STS_REGIONAL_ENDPOINTS=regional: the SDK calls {regional or 'the regional endpoint'}")
    if value == "legacy":
        if region and region not in LEGACY_GLOBAL_STS_REGIONS:
            return StsEndpoint(setting, "regional", regional,
                               f"AWS_STS_REGIONAL_ENDPOINTS=legacy, but {where} has no global-endpoint fallback: "
                               f"the SDK calls {regional}")
        return StsEndpoint(setting, "global", GLOBAL_ENDPOINT,
                           f"AWS_STS_REGIONAL_ENDPOINTS=legacy: the SDK calls the legacy global endpoint "
                           f"{GLOBAL_ENDPOINT} (in us-east-1), not {regional or 'the regional one'}")
    return StsEndpoint(setting, "invalid", None,
                       f"AWS_STS_REGIONAL_ENDPOINTS={setting!r} is neither 'regional' nor 'legacy': botocore (boto3, "
                       "the AWS CLI) refuses it with InvalidSTSRegionalEndpointsConfigError when it creates an STS client")
