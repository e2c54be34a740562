"""The CloudTrail pane on the walkthrough lab (Pilot, LookupEvents over the wire): eks-iam-test1's
pane shows the AccessDenied of its `s3 ls` as the node role's session; a role's pane shows who
assumed it; a caller without cloudtrail:LookupEvents reads "unknown" naming it. Values are
drawn literally."""

from __future__ import annotations

import uuid

from irsa_explorer.screens.main import PodsScreen
from irsa_explorer.screens.roles import RolesScreen
from irsa_explorer.widgets.panes.cloudtrail import DELIVERY, CloudTrailPane
from ui_pilot_helpers import filter_to, make_app, wait_until

MY_SA_ROLE = "arn:aws:iam::113534181560:role/eksctl-eks-oidc-demo-addon-iamserviceaccount--Role1-4JIbFaEdQaXO"


def pane_text(pane: CloudTrailPane) -> str:
    return "\n".join(str(widget.render()) for widget in pane.children)


def loaded(pane: CloudTrailPane) -> bool:
    trail = pane.trails.get(pane.subject.key) if pane.subject else None
    return trail is not None and not trail.loading


async def test_pod_pane_shows_the_access_denied_of_its_s3_ls(lab):
    app = make_app(lab)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.state.inventory is not None and not app.state.stage
                         and len(app.state.chains) == len(app.state.pods), "the load")
        await filter_to(pilot, "eks-iam-test1")
        screen = app.screen
        assert isinstance(screen, PodsScreen)
        pane = screen.query_one(CloudTrailPane)
        assert "6: look this pod's events up" in pane_text(pane)  # not asked as the cursor passes
        await pilot.press("6")
        await wait_until(pilot, lambda: loaded(pane), "the pod's CloudTrail events")
        await pilot.pause()
        text = pane_text(pane)
        assert "ListBuckets (s3) AccessDenied" in text, text
        assert "assumed-role/eksctl-eks-oidc-demo-nodegroup-ng--NodeInstanceRole-rL7RY47katu4/i-" in text
        assert "Access Denied" in text
        assert DELIVERY in text and "every pod on node" in text
        assert app.history.current.pane == "cloudtrail"


async def test_m_asks_for_the_next_pages_and_the_pane_says_when_there_are_none(lab):
    from irsa_explorer.sources.kube import KubeSource
    from irsa_explorer.sources.livecheck import who_am_i

    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        pod = next(p for p in kube.list_pods("default").items if p.name == "eks-iam-test3")
        for _ in range(2):  # two web identities, two sessions' calls: more than a page of one
            assert who_am_i(kube, pod).ok
    finally:
        kube.close()
    app = make_app(lab)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.state.inventory is not None and not app.state.stage
                         and len(app.state.chains) == len(app.state.pods), "the load")
        await filter_to(pilot, "eks-iam-test3")
        pane = app.screen.query_one(CloudTrailPane)
        pane.page_size = 1  # one event per lookup and page
        await pilot.press("6")
        await wait_until(pilot, lambda: loaded(pane), "the first page")
        first = pane.trails[pane.subject.key].page
        assert first.more and "m: more (older) events" in pane_text(pane)
        seen = len(first.events)
        for _ in range(20):  # each m: the next page of each lookup that has more
            if not pane.trails[pane.subject.key].page.more:
                break
            await pilot.press("m")
            await wait_until(pilot, lambda: loaded(pane), "the next page")
            page = pane.trails[pane.subject.key].page
            assert len(page.events) > seen and len({e.event_id for e in page.events}) == len(page.events)
            seen = len(page.events)
        await pilot.pause()
        text = pane_text(pane)
        assert not pane.trails[pane.subject.key].page.more and "No older events" in text
        names = [e.name for e in pane.trails[pane.subject.key].page.events]
        assert names.count("AssumeRoleWithWebIdentity") >= 2 and "GetCallerIdentity" in names
        times = [e.time for e in pane.trails[pane.subject.key].page.events]
        assert times == sorted(times, reverse=True)


async def test_role_pane_shows_who_assumed_it(lab, lab_aws_client):
    from irsa_explorer.sources.kube import KubeSource
    from irsa_explorer.sources.livecheck import who_am_i

    kube = KubeSource(kubeconfig=str(lab.kubeconfig))
    try:
        pod = next(p for p in kube.list_pods("default").items if p.name == "eks-iam-test3")
        assert who_am_i(kube, pod).ok  # an AssumeRoleWithWebIdentity to find
    finally:
        kube.close()
    app = make_app(lab)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.state.inventory is not None and not app.state.stage, "the load")
        await pilot.press("colon", *"roles", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RolesScreen), "the roles view")
        screen = app.screen
        screen.table.focus()
        await wait_until(pilot, lambda: screen.table.selected_key is not None, "a role selected")
        while screen.table.selected_key != MY_SA_ROLE:
            before = screen.table.selected_key
            await pilot.press("down")
            await wait_until(pilot, lambda: True, "the cursor")
            assert screen.table.selected_key != before, "my-sa's role is not listed"
        pane = screen.query_one(CloudTrailPane)
        await wait_until(pilot, lambda: pane.subject is not None and pane.subject.key == f"role:{MY_SA_ROLE}"
                         and loaded(pane), "the role's CloudTrail events")
        await pilot.pause()
        text = pane_text(pane)
        assert "AssumeRoleWithWebIdentity" in text and "sub system:serviceaccount:default:my-sa" in text, text
        assert "GetCallerIdentity" in text  # what the session did


async def test_without_the_permission_the_pane_says_unknown_and_names_it(lab, lab_aws_client):
    iam = lab_aws_client(lab, "iam")
    name = f"no-trail-ui-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument='{"Version": "2012-10-17", "Statement": '
                        '[{"Effect": "Allow", "Action": ["iam:*", "eks:*", "ec2:Describe*"], "Resource": "*"}]}')
    key = iam.create_access_key(UserName=name)["AccessKey"]

    class Lab:
        kubeconfig = lab.kubeconfig
        aws_env = dict(lab.aws_env, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])

    app = make_app(Lab)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.state.inventory is not None and not app.state.stage
                         and len(app.state.chains) == len(app.state.pods), "the load")
        await filter_to(pilot, "eks-iam-test3")
        await pilot.press("6")
        pane = app.screen.query_one(CloudTrailPane)
        await wait_until(pilot, lambda: loaded(pane), "the lookup's answer")
        await pilot.pause()
        text = pane_text(pane)
        assert "unknown: needs cloudtrail:LookupEvents" in text, text
        assert "AssumeRole" not in text.replace("AssumeRoleWithWebIdentity", "")  # no event shown as if read


async def test_every_value_of_a_record_is_drawn_literally():
    from datetime import datetime, timezone

    from textual.app import App

    from irsa_explorer.model import TrailEvent, TrailPage, TrailQuery, TrailSubject
    from irsa_explorer.widgets.panes.cloudtrail import Trail

    hostile = "[bold red]x[/] [/] [@click=app.quit]y[/] \\"
    subject = TrailSubject("role:arn", f"role {hostile}", (TrailQuery("ResourceName", "arn"),), note=hostile)
    event = TrailEvent("e1", f"Get{hostile}", "iam.amazonaws.com", datetime(2026, 12, 5, tzinfo=timezone.utc),
                       "WebIdentityUser", hostile, subject=hostile, role_arn=f"arn:aws:iam::1:role/{hostile}",
                       session_name="s", error_code=hostile, error_message=hostile)

    class PaneApp(App):
        def compose(self):
            yield CloudTrailPane()

    app = PaneApp()
    async with app.run_test(size=(200, 40)) as pilot:
        pane = app.query_one(CloudTrailPane)
        pane.trails[subject.key] = Trail(subject, TrailPage((event,), (), datetime.now(timezone.utc)), loading=False)
        pane.show(type("State", (), {"now": staticmethod(lambda: datetime.now(timezone.utc))})(), subject)
        await pilot.pause()
        text = pane_text(pane)
        assert text.count("[bold red]x[/] [/] [@click=app.quit]y[/]") >= 5, text
