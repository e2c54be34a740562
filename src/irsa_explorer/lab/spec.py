"""The cluster a lab simulates: shared by the Kubernetes side, the AWS side and scenarios."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabCluster:
    name: str = "eks-oidc-demo"
    region: str = "us-east-2"
    account: str = "113534181560"
    issuer_id: str = "8AF2D61DF335B97C72A2ADEA1614706B"
    version: str = "1.27"

    @property
    def issuer(self) -> str:
        """The OIDC issuer URL as EKS forms it (what tokens carry in `iss`)."""
        return f"https://oidc.eks.{self.region}.amazonaws.com/id/{self.issuer_id}"

    @property
    def issuer_host_path(self) -> str:
        """The issuer without https://: IAM's provider URL and the trust-condition key prefix."""
        return self.issuer.removeprefix("https://")

    @property
    def oidc_provider_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:oidc-provider/{self.issuer_host_path}"

    @property
    def arn(self) -> str:
        return f"arn:aws:eks:{self.region}:{self.account}:cluster/{self.name}"
