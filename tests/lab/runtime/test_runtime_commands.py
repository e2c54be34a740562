"""Simulated images and their programs (no AWS calls)."""

from __future__ import annotations

import pytest

from irsa_explorer.lab.runtime.containers import ContainerContext, Runtime


class NoAws:
    """The runtime only needs these to reach AWS; these tests never get that far."""

    endpoint_url = "http://127.0.0.1:9"
    pod_identity_agent_url = "http://127.0.0.1:9/_lab/pod-identity"

    def imds_url(self, node_name: str) -> str:
        return f"http://127.0.0.1:9/_lab/imds/{node_name}"


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime(NoAws())


def context(image: str = "amazon/aws-cli:2.15.30", **kwargs) -> ContainerContext:
    defaults = dict(
        namespace="default", pod_name="my-pod", pod_uid="uid-1", container="main", image=image,
        node_name=None, service_account="my-sa", env={"AWS_REGION": "us-east-2"},
        files={"/etc/hostname": "my-pod\n"},
    )
    defaults.update(kwargs)
    return ContainerContext(**defaults)


@pytest.mark.parametrize(
    ("image", "entrypoint"),
    [
        ("amazon/aws-cli", ["aws"]),
        ("amazon/aws-cli:2.15.30", ["aws"]),
        ("public.ecr.aws/aws-cli/aws-cli:latest", ["aws"]),
        ("busybox", []),
        ("alpine:3.19", []),
        ("nginx@sha256:0123", []),
    ],
)
def test_entrypoints(runtime, image, entrypoint):
    assert runtime.entrypoint(image) == entrypoint


def test_unknown_program_is_not_in_path(runtime):
    result = runtime.run(context(), ["bash", "-c", "echo hi"])

    assert (result.exit_code, result.stdout) == (127, "")
    assert result.stderr == 'exec: "bash": executable file not found in $PATH'


def test_no_shell_even_by_path(runtime):
    result = runtime.run(context("busybox"), ["/bin/sh", "-c", "id"])

    assert result.exit_code == 127
    assert result.stderr == 'exec: "/bin/sh": stat /bin/sh: no such file or directory'


def test_busybox_has_no_aws(runtime):
    result = runtime.run(context("busybox"), ["aws", "sts", "get-caller-identity"])

    assert result.exit_code == 127
    assert result.stderr == 'exec: "aws": executable file not found in $PATH'


def test_cat_reads_files_and_reports_missing_ones(runtime):
    found = runtime.run(context(), ["cat", "/etc/hostname"])
    missing = runtime.run(context(), ["cat", "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"])

    assert (found.stdout, found.exit_code) == ("my-pod\n", 0)
    assert missing.exit_code == 1
    assert missing.stderr == "cat: /var/run/secrets/eks.amazonaws.com/serviceaccount/token: No such file or directory\n"


def test_env_and_printenv(runtime):
    ctx = context(env={"AWS_ROLE_ARN": "arn:aws:iam::113534181560:role/r", "AWS_REGION": "us-east-2"})

    lines = runtime.run(ctx, ["env"]).stdout.splitlines()
    assert "AWS_ROLE_ARN=arn:aws:iam::113534181560:role/r" in lines
    assert "HOSTNAME=my-pod" in lines
    assert lines[0].startswith("PATH=")
    assert runtime.run(ctx, ["printenv", "AWS_REGION"]).stdout == "us-east-2\n"
    absent = runtime.run(ctx, ["printenv", "AWS_WEB_IDENTITY_TOKEN_FILE"])
    assert (absent.stdout, absent.exit_code) == ("", 1)


def test_id_runs_as_root(runtime):
    assert runtime.run(context("busybox"), ["id"]).stdout == "uid=0(root) gid=0(root) groups=0(root)\n"


def test_sleep_is_long_running(runtime):
    assert runtime.is_long_running(["sleep", "3600"])
    assert runtime.is_long_running(["/bin/sleep", "infinity"])
    assert not runtime.is_long_running(["sleep", "0.1"])
    assert not runtime.is_long_running(["aws", "sts", "get-caller-identity"])
    assert runtime.run(context(), ["sleep", "0.01"]).exit_code == 0
    assert runtime.run(context(), ["sleep", "soon"]).stderr == "sleep: invalid time interval 'soon'\n"


def test_aws_without_a_command_is_a_usage_error(runtime):
    result = runtime.run(context(), ["aws"])

    assert result.exit_code == 252
    assert "aws: error: the following arguments are required: command" in result.stderr


def test_aws_unknown_operation_is_a_usage_error(runtime):
    result = runtime.run(context(), ["aws", "sts", "get-caller-identities"])

    assert result.exit_code == 252
    assert "Invalid choice: 'get-caller-identities'" in result.stderr


def test_aws_missing_required_parameter(runtime):
    result = runtime.run(context(), ["aws", "iam", "get-role"])

    assert result.exit_code == 252
    assert "the following arguments are required: --role-name" in result.stderr


def test_no_region_for_a_regional_service(runtime):
    result = runtime.run(context(env={}), ["aws", "eks", "list-clusters"])

    assert result.exit_code == 253
    assert result.stderr.startswith("You must specify a region.")


def test_table_output_is_refused_not_faked(runtime):
    result = runtime.run(context(), ["aws", "sts", "get-caller-identity", "--output", "table"])

    assert result.exit_code == 252
    assert "does not render --output table" in result.stderr


def test_aws_version(runtime):
    result = runtime.run(context(), ["aws", "--version"])

    assert result.stdout.startswith("aws-cli/2.")
