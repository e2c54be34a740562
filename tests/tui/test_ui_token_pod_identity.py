"""The token pane reads an EKS Pod Identity token (`p`) from a pod the lab's webhook gave one,
decodes it and checks its signature against the cluster's JWKS, over exec like the IRSA token."""

from __future__ import annotations

import pytest

from irsa_explorer.widgets.panes.token import TokenPane
from test_ui_pilot import text_of
from ui_pilot_helpers import SIZE, filter_to, make_app, pod_uid, press_confirming, settle


@pytest.fixture(scope="module")
def pod_identity_lab(lab_for):
    return lab_for("pod-identity")


async def test_pod_identity_token_is_read_decoded_and_verified(pod_identity_lab):
    app = make_app(pod_identity_lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "uploader-after")
        await pilot.press("2")
        await settle(pilot)
        pane = app.screen.query_one(TokenPane)
        assert "(Pod Identity)" in text_of(pane)  # the mounted token is named for what it is
        await press_confirming(pilot, "p")
        await settle(pilot)
        view = app.state.tokens[pod_uid(app, "uploader-after")]
        assert view.error is None, view.error
        assert view.source == "EKS Pod Identity token"
        shown = text_of(pane)
        assert view.raw.rsplit(".", 1)[1] not in shown  # the signature stays masked
        assert "pods.eks.amazonaws.com" in shown and "system:serviceaccount:default:uploader" in shown
        assert "verified" in shown


async def test_a_pod_without_one_says_so(pod_identity_lab):
    app = make_app(pod_identity_lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await filter_to(pilot, "uploader-before")  # started before the association: no token
        await press_confirming(pilot, "2", "p")
        await settle(pilot)
        view = app.state.tokens[pod_uid(app, "uploader-before")]
        assert view.raw is None and view.error
        assert "No such file" in view.error or "exited" in view.error
