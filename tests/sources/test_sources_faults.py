"""Faults between the sources and the lab (tests/fault_proxy.py): 5xx answers, garbage bodies,
dropped and cut connections, hangs, watches that end at once. A list or lookup that fails for a
reason that may pass is asked again with backoff; one that keeps failing becomes "unknown +
why" for what depends on it, and the run goes on. Deterministic: the proxy decides by rule and
count, never by timing."""

from __future__ import annotations

import io
import json
import threading

import pytest

from fault_proxy import FaultProxy, Rule, actions, aws_env_through, kubeconfig_through, lists, path_matches, watches
from irsa_explorer.cli import build_parser
from irsa_explorer.report import EXIT_CANNOT_RUN, main
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource, WatchStatus
from irsa_explorer.sources.kube_paging import PAGE_TRIES

CLASS_NAMES = ("JSONDecodeError", "ProtocolError", "RemoteDisconnected", "MaxRetryError", "ApiException",
               "ValueError", "KeyError", "TypeError", "ReadTimeoutError", "IncompleteRead")


@pytest.fixture(autouse=True)
def short_page_backoff(monkeypatch):
    """The same tries, less waiting: a list that keeps failing waited 0.5+1+2+4 s between its
    five tries, holding a worker 7.5 s per test (what is asked, how often, is what is tested)."""
    from irsa_explorer.sources import kube_paging

    monkeypatch.setattr(kube_paging, "PAGE_BACKOFF", (0.01, 0.02))


@pytest.fixture
def proxied(lab, tmp_path):
    """`proxied(kube_rules, aws_rules, request_timeout=10)` → (kube, aws, kube proxy, aws proxy)."""
    made: list = []

    def make(kube_rules=(), aws_rules=(), request_timeout=10.0):
        kube_proxy, aws_proxy = FaultProxy(lab.kube_url, kube_rules), FaultProxy(lab.aws_endpoint, aws_rules)
        kubeconfig = kubeconfig_through(lab.kubeconfig, kube_proxy, tmp_path, f"kubeconfig-{len(made)}")
        kube = KubeSource(kubeconfig=str(kubeconfig), request_timeout=request_timeout)
        aws = AwsSource.from_env(aws_env_through(lab.aws_env, aws_proxy), request_timeout=request_timeout)
        made.append((kube, kube_proxy, aws_proxy))
        return kube, aws, kube_proxy, aws_proxy

    yield make
    for kube, kube_proxy, aws_proxy in made:
        kube.close()
        kube_proxy.close()
        aws_proxy.close()


def report(kube, aws, fmt: str = "json") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(build_parser().parse_args(["report", "-A", "--format", fmt]), stdout=out, stderr=err, sources=(kube, aws))
    return code, out.getvalue(), err.getvalue()


def pods_of(output: str) -> dict[str, dict]:
    return {f"{p['namespace']}/{p['name']}": p for p in json.loads(output)["pods"]}


def test_a_nodes_list_that_keeps_failing_leaves_node_roles_unknown_and_the_report_runs(proxied) -> None:
    kube, aws, kube_proxy, _ = proxied([Rule(lists("nodes"), fault="500")])
    code, out, err = report(kube, aws)
    assert code != EXIT_CANNOT_RUN, err
    assert len(kube_proxy.faults("500")) == PAGE_TRIES  # asked again with backoff, then given up
    document = json.loads(out)
    said = " ".join(document["notes"])
    assert "list nodes: HTTP 500" in said and f"asked {PAGE_TRIES} times" in said and "node roles are unknown" in said
    node_role_pod = pods_of(out)["default/eks-iam-test2"]
    assert node_role_pod["verdict"] == "unknown"


def test_one_500_on_each_list_is_asked_again_and_nothing_is_lost(proxied) -> None:
    kube, aws, kube_proxy, _ = proxied([Rule(lists(), plan=["500"])])
    code, out, err = report(kube, aws)
    assert code != EXIT_CANNOT_RUN, err
    assert {s.key for s in kube_proxy.faults("500")} >= {"GET /api/v1/pods", "GET /api/v1/nodes", "GET /api/v1/serviceaccounts"}
    assert json.loads(out)["notes"] == []
    assert pods_of(out)["default/eks-iam-test3"]["verdict"] == "ok"


@pytest.mark.parametrize("fault", ["garbage", "drop", "truncate", "503"])
def test_garbage_drops_and_cut_answers_on_the_pod_list_are_asked_again(proxied, fault) -> None:
    kube, aws, kube_proxy, _ = proxied([Rule(lists("pods", "nodes", "serviceaccounts"), plan=[fault])])
    code, out, err = report(kube, aws)
    assert code != EXIT_CANNOT_RUN, err
    assert kube_proxy.faults(fault)
    assert json.loads(out)["notes"] == []
    assert pods_of(out)["default/eks-iam-test3"]["verdict"] == "ok"


def test_a_service_account_list_that_keeps_failing_makes_their_pods_unknown_not_wrong(proxied) -> None:
    kube, aws, _, _ = proxied([Rule(lists("serviceaccounts"), fault="garbage")])
    code, out, err = report(kube, aws)
    assert code != EXIT_CANNOT_RUN, err
    said = " ".join(json.loads(out)["notes"])
    assert "service accounts: unknown" in said and "not the JSON asked for" in said
    assert not any(name in said for name in CLASS_NAMES), said
    assert pods_of(out)["default/eks-iam-test3"]["verdict"] == "unknown"  # its IRSA role cannot be known


def test_a_pod_list_that_keeps_failing_is_one_line_without_class_names(proxied) -> None:
    kube, aws, _, _ = proxied([Rule(lists("pods"), fault="drop")])
    code, out, err = report(kube, aws)
    assert code == EXIT_CANNOT_RUN
    assert err.count("\n") == 1 and "closed the connection" in err and f"asked {PAGE_TRIES} times" in err, err
    assert not any(name in err for name in CLASS_NAMES), err


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_thirty_percent_of_list_answers_500_the_report_completes(proxied, seed) -> None:
    # 30% of every list answer (pods, service accounts, nodes, namespaces; each page) and of
    # every AWS answer are 500s: each run completes, what kept failing is said.
    kube, aws, kube_proxy, aws_proxy = proxied([Rule(lists(), fraction=0.3, seed=seed)],
                                               [Rule(actions(), fraction=0.3, seed=seed)])
    code, out, err = report(kube, aws)
    assert code != EXIT_CANNOT_RUN, err
    assert kube_proxy.faults("500") or aws_proxy.faults("500")
    assert len(pods_of(out)) == 3


def test_a_hung_get_role_costs_one_timeout_not_one_per_role(proxied) -> None:
    kube, aws, _, aws_proxy = proxied(aws_rules=[Rule(actions("GetRole"), fault="hang")], request_timeout=2)
    code, out, err = report(kube, aws)
    assert code != EXIT_CANNOT_RUN, err
    irsa = pods_of(out)["default/eks-iam-test3"]
    assert irsa["verdict"] == "unknown"
    assert "no answer from" in json.dumps(irsa) and "in 2 s" in json.dumps(irsa)
    assert len(aws_proxy.faults("hang")) <= aws.max_workers  # those already in flight; none asked after


def test_aws_500s_on_every_get_role_leave_the_role_unknown_with_why(proxied) -> None:
    kube, aws, _, aws_proxy = proxied(aws_rules=[Rule(actions("GetRole"), fault="500")])
    code, out, err = report(kube, aws)
    assert code != EXIT_CANNOT_RUN, err
    irsa = pods_of(out)["default/eks-iam-test3"]
    assert irsa["verdict"] == "unknown"
    assert len(aws_proxy.faults("500")) > 1  # botocore asked again before giving up


def watch_statuses(kube, rules_proxy, resource="pods", wanted=3, backoff=(0.05, 1.0)):
    """The watch's statuses until `wanted` reconnects were said (or it yielded an event)."""
    stop = threading.Event()
    statuses: list[WatchStatus] = []

    def on_status(status: WatchStatus) -> None:
        statuses.append(status)
        if sum(s.state == "reconnecting" for s in statuses) >= wanted:
            stop.set()

    guard = threading.Timer(300, stop.set)  # a hang guard: a watch that never says a thing ends the test
    guard.start()
    try:
        events = list(kube.watch(resource, None, "1", stop, poll_seconds=5, on_status=on_status, backoff=backoff))
    finally:
        guard.cancel()
    assert sum(s.state == "reconnecting" for s in statuses) >= wanted, statuses
    return statuses, events


def test_a_watch_that_ends_at_once_backs_off_and_says_so(proxied) -> None:
    kube, _, kube_proxy, _ = proxied([Rule(watches("pods"), fault="end")])
    statuses, _ = watch_statuses(kube, kube_proxy)
    reconnecting = [s for s in statuses if s.state == "reconnecting"]
    assert [s.attempt for s in reconnecting] == [1, 2, 3]
    assert [s.retry_in for s in reconnecting] == [0.05, 0.1, 0.2]  # doubling, not at once
    assert "ended the watch at once" in reconnecting[0].reason
    assert "reconnecting in" in str(reconnecting[0])
    # one request per backoff (a connection urllib3 finds closed may send one again), not hundreds a second
    assert 3 <= len(kube_proxy.faults("end")) <= 6


@pytest.mark.parametrize("fault", ["500", "garbage", "drop"])
def test_a_watch_answered_with_faults_backs_off(proxied, fault) -> None:
    kube, _, kube_proxy, _ = proxied([Rule(watches("nodes"), fault=fault)])
    statuses, _ = watch_statuses(kube, kube_proxy, "nodes")
    reconnecting = [s for s in statuses if s.state == "reconnecting"]
    assert [s.retry_in for s in reconnecting] == [0.05, 0.1, 0.2]
    assert not any(name in s.reason for s in reconnecting for name in CLASS_NAMES), reconnecting


def test_a_watch_comes_back_after_ending_at_once(proxied) -> None:
    kube, _, kube_proxy, _ = proxied([Rule(watches("pods"), plan=["end", "end"])])
    stop = threading.Event()
    statuses: list[WatchStatus] = []

    def on_status(status: WatchStatus) -> None:
        statuses.append(status)
        if status.state == "watching":
            stop.set()

    for _ in kube.watch("pods", None, "", stop, poll_seconds=5, on_status=on_status, backoff=(0.05, 1.0)):
        break  # "" lists every pod first: the watch is up
    assert [s.state for s in statuses] == ["reconnecting", "reconnecting", "watching"]


def test_a_namespace_list_that_keeps_failing_falls_back_to_the_contexts_namespace(lab_for, tmp_path) -> None:
    # auditor@… may list namespaces but not every pod: the fallback lists namespaces, which fail
    restricted = lab_for("restricted-user")
    proxy = FaultProxy(restricted.kube_url, [Rule(lists("namespaces"), fault="500")])
    kube = KubeSource(context="auditor@eks-oidc-demo.us-east-2.eksctl.io",
                      kubeconfig=str(kubeconfig_through(restricted.kubeconfig, proxy, tmp_path)))
    try:
        listing = kube.list_pods(None)
    finally:
        kube.close()
        proxy.close()
    assert {p.namespace for p in listing.items} == {"default"}
    said = " ".join(listing.notes)
    assert f"list namespaces: HTTP 500 injected 500 (asked {PAGE_TRIES} times): showing only the context's namespace" in said
    assert "forbidden too" not in said


def test_one_namespace_that_keeps_failing_leaves_the_others_shown(lab_for, tmp_path) -> None:
    restricted = lab_for("restricted-user")
    proxy = FaultProxy(restricted.kube_url, [Rule(path_matches(r"/namespaces/team-b/pods$"), fault="500")])
    kube = KubeSource(context="auditor@eks-oidc-demo.us-east-2.eksctl.io",
                      kubeconfig=str(kubeconfig_through(restricted.kubeconfig, proxy, tmp_path)))
    try:
        listing = kube.list_pods(None)
    finally:
        kube.close()
        proxy.close()
    assert {p.namespace for p in listing.items} == {"default"}
    assert any(note.startswith("list pods in namespace 'team-b': HTTP 500") and note.endswith("not shown")
               for note in listing.notes), listing.notes


def test_a_hung_nodes_list_costs_one_request_timeout_and_the_run_goes_on(proxied) -> None:
    kube, aws, kube_proxy, _ = proxied([Rule(lists("nodes"), fault="hang")], request_timeout=2)
    code, out, err = report(kube, aws)
    assert code != EXIT_CANNOT_RUN, err
    assert len(kube_proxy.faults("hang")) == 1  # a timeout is not asked again
    said = " ".join(json.loads(out)["notes"])
    assert "no answer from" in said and "in 2 s" in said and "node roles are unknown" in said


@pytest.mark.parametrize("fault", ["garbage", "truncate"])
def test_a_garbled_aws_answer_is_asked_again(proxied, fault) -> None:
    kube, aws, _, aws_proxy = proxied(aws_rules=[Rule(actions("GetCallerIdentity", "GetRole"), plan=[fault])])
    code, out, err = report(kube, aws)
    assert code != EXIT_CANNOT_RUN, err
    assert {s.key for s in aws_proxy.faults(fault)} == {"POST / GetCallerIdentity", "POST / GetRole"}
    assert pods_of(out)["default/eks-iam-test3"]["verdict"] == "ok"


def test_aws_answers_that_stay_garbled_leave_the_role_unknown_in_one_line(proxied) -> None:
    kube, aws, _, aws_proxy = proxied(aws_rules=[Rule(actions("GetRole"), fault="garbage")])
    code, out, err = report(kube, aws)
    assert code != EXIT_CANNOT_RUN, err
    irsa = json.dumps(pods_of(out)["default/eks-iam-test3"])
    assert "answered with something that is not the XML AWS sends" in irsa
    assert len(aws_proxy.faults("garbage")) == 2 * 3  # two roles (IRSA's, the nodes'), 3 tries each, not botocore's 8
