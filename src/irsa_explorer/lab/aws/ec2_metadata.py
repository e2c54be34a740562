"""Instance metadata options as EC2 keeps them, where moto does not (moto 5.2):

- `ModifyInstanceMetadataOptions` changes only the options it is given; moto replaces all of
  them, so `--http-put-response-hop-limit 1` alone would also drop HttpTokens=required.
- An instance launched from a launch template gets the template's `MetadataOptions` (managed
  node groups, Karpenter and self-managed groups set them there), overridden field by field by
  any given in RunInstances; moto ignores the template's.

The lab's IMDS and every DescribeInstances answer read moto's instances, so both are fixed in
moto's EC2 backend, once per process (`install`), by wrapping the two backend methods.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_installed = False
_lock = threading.Lock()
# RunInstances MetadataOptions members, as moto's response handler passes them on.
_MEMBERS = ("HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "HttpProtocolIpv6", "InstanceMetadataTags")


def install() -> None:
    """Wrap moto's EC2 backend methods (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.ec2.models.instances import InstanceBackend

        InstanceBackend.modify_instance_metadata_options = _keeping_unchanged(
            InstanceBackend.modify_instance_metadata_options)
        InstanceBackend.run_instances = _with_template_options(InstanceBackend.run_instances)
        _installed = True


def _keeping_unchanged(modify: Any) -> Any:
    @functools.wraps(modify)
    def wrapper(self: Any, instance_id: str, http_tokens: str | None = None, hop_limit: int | None = None,
                http_endpoint: str | None = None, dry_run: bool | None = False, http_protocol: str | None = None,
                metadata_tags: str | None = None) -> Any:
        current = self.get_instance(instance_id).metadata_options
        return modify(
            self, instance_id,
            http_tokens=http_tokens or current.http_tokens,
            hop_limit=hop_limit if hop_limit is not None else current.http_put_response_hop_limit,
            http_endpoint=http_endpoint or current.http_endpoint,
            dry_run=dry_run,
            http_protocol=http_protocol or current.http_protocol_ipv6,
            metadata_tags=metadata_tags or current.instance_metadata_tags,
        )

    return wrapper


def _with_template_options(run: Any) -> Any:
    @functools.wraps(run)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        template = kwargs.get("launch_template")
        if template:
            data = self._get_template_from_args(template).data or {}
            from_template = {k: v for k, v in (data.get("MetadataOptions") or {}).items() if k in _MEMBERS}
            if from_template:
                given = {k: v for k, v in (kwargs.get("metadata_options") or {}).items() if v is not None}
                kwargs["metadata_options"] = {**from_template, **given}
        return run(self, *args, **kwargs)

    return wrapper
