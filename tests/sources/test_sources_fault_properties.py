"""Property: whatever mix of 5xx answers, garbage bodies, dropped and cut connections the lab's
lists and AWS answers get (tests/fault_proxy.py, by plan: the n-th request of each kind), the
report completes — exit 2 only when the pod list itself kept failing — with one line at most on
stderr, no traceback and no class name. Hypothesis draws the plans, derandomized: the same
examples on every run."""

from __future__ import annotations

import io
import json
import tempfile

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from fault_proxy import FaultProxy, Rule, actions, aws_env_through, kubeconfig_through, lists
from irsa_explorer.cli import build_parser
from irsa_explorer.report import EXIT_CANNOT_RUN, main
from irsa_explorer.sources import kube_paging
from irsa_explorer.sources.aws import AwsSource
from irsa_explorer.sources.kube import KubeSource

KUBE_FAULTS = st.lists(st.sampled_from(["ok", "500", "503", "garbage", "drop", "truncate"]), max_size=6)
AWS_FAULTS = st.lists(st.sampled_from(["ok", "500", "garbage", "drop"]), max_size=2)
CLASS_NAMES = ("Error:", "Exception", "Traceback")


# No shrinking: each example is a real report against the lab; a failure prints its plans.
# Both outcomes are examples of their own (drawn plans seldom fault the pod list on every try),
# so six drawn plans are enough for the mixes; each example costs a whole report.
@settings(max_examples=6, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pods=KUBE_FAULTS, service_accounts=KUBE_FAULTS, nodes=KUBE_FAULTS, aws=AWS_FAULTS)
@example(pods=["500", "garbage", "truncate"] * 2, service_accounts=[], nodes=[], aws=[])  # exit 2
@example(pods=["garbage", "drop", "truncate", "503"], service_accounts=["500"] * 6, nodes=["drop"] * 6,
         aws=["garbage", "drop"])  # the pods on the last try; the other lists never answer
def test_the_report_completes_whatever_the_faults(lab, monkeypatch, pods, service_accounts, nodes, aws) -> None:
    monkeypatch.setattr(kube_paging, "PAGE_BACKOFF", (0.01, 0.02))  # the same tries, less waiting
    kube_proxy = FaultProxy(lab.kube_url, [Rule(lists("pods"), plan=pods),
                                           Rule(lists("serviceaccounts"), plan=service_accounts),
                                           Rule(lists("nodes"), plan=nodes)])
    aws_proxy = FaultProxy(lab.aws_endpoint, [Rule(actions(), plan=aws)])
    # the kubeconfig holds the lab's client key: a folder of this example's, removed with it
    with tempfile.TemporaryDirectory(prefix="irsa-faults-") as folder:
        kube = KubeSource(kubeconfig=str(kubeconfig_through(lab.kubeconfig, kube_proxy, folder)))
        source = AwsSource.from_env(aws_env_through(lab.aws_env, aws_proxy))
        out, err = io.StringIO(), io.StringIO()
        try:
            code = main(build_parser().parse_args(["report", "-A", "--format", "json"]), stdout=out, stderr=err,
                        sources=(kube, source))
        finally:
            kube.close()
            kube_proxy.close()
            aws_proxy.close()
    # The pod list is the one list a run cannot go on without: it ends the run only when it had
    # a fault on every try (urllib3 absorbs some 503s itself, so count faults, not tries).
    faults_on_pods = sum(fault != "ok" for fault in pods)
    if faults_on_pods < kube_paging.PAGE_TRIES:
        assert code != EXIT_CANNOT_RUN, err.getvalue()
    if code == EXIT_CANNOT_RUN:
        assert faults_on_pods >= kube_paging.PAGE_TRIES and "list pods" in err.getvalue(), err.getvalue()
    assert err.getvalue().count("\n") <= 1
    assert not any(name in err.getvalue() for name in CLASS_NAMES), err.getvalue()
    if code != EXIT_CANNOT_RUN:
        document = json.loads(out.getvalue())
        assert len(document["pods"]) == 3
        assert not any(name in note for note in document["notes"] for name in CLASS_NAMES), document["notes"]
