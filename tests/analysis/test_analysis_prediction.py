"""What a service account would get with no pod (the engine's prediction for `W`), and whether
an answer from AWS agrees: pure functions over the model, a table of cases."""

from __future__ import annotations

import pytest

from analysis_builders import (
    ACCOUNT,
    PI_ROLE_ARN,
    POD_IDENTITY_TRUST,
    ROLE_ARN,
    association,
    inventory,
    irsa_trust,
    role,
    sa,
)
from irsa_explorer.analysis.prediction import (
    MATCHES,
    MISMATCH,
    UNKNOWN,
    agreement_of,
    agrees,
    compare_answer,
    predict_service_account,
    token_audience,
)
from irsa_explorer.model import LinkStatus, Mechanism, Unavailable

SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE_ARN.rsplit('/', 1)[1]}/irsa-explorer-check"


def test_an_annotated_account_the_trust_allows_gets_its_role() -> None:
    inv = inventory(sas=[sa()], roles=[role()])
    prediction = predict_service_account(inv, "default", "my-sa")
    assert prediction.mechanism is Mechanism.IRSA and prediction.role_arn == ROLE_ARN
    assert prediction.audience == "sts.amazonaws.com" == token_audience(prediction)
    assert prediction.status is LinkStatus.OK and prediction.expected_error is None
    assert [link.step for link in prediction.links] == ["oidc-provider", "role", "trust-policy", "identity"]
    assert compare_answer(prediction, True, True, SESSION).verdict == MATCHES
    other = f"arn:aws:sts::{ACCOUNT}:assumed-role/other/x"
    assert compare_answer(prediction, True, True, other).verdict == MISMATCH
    refused = compare_answer(prediction, True, False, error_code="AccessDenied")
    assert refused.verdict == MISMATCH and "AccessDenied" in refused.words


def test_the_trust_names_another_namespace_so_sts_answers_access_denied() -> None:
    inv = inventory(sas=[sa(namespace="payments")], roles=[role()])  # the trust names default/my-sa
    prediction = predict_service_account(inv, "payments", "my-sa")
    assert prediction.status is LinkStatus.BROKEN and prediction.expected_error == "AccessDenied"
    assert prediction.words == "refused — AccessDenied, at the trust-policy link"
    assert compare_answer(prediction, True, False, error_code="AccessDenied").verdict == MATCHES
    # both refuse, for another reason than the engine's: said as a mismatch
    other = compare_answer(prediction, True, False, error_code="InvalidIdentityToken")
    assert other.verdict == MISMATCH and "InvalidIdentityToken" in other.words and "AccessDenied" in other.words
    assert compare_answer(prediction, True, True, SESSION).verdict == MISMATCH


@pytest.mark.parametrize("providers, expected", [
    ([], "InvalidIdentityToken"),  # no provider for the issuer
])
def test_a_missing_provider_is_invalid_identity_token(providers, expected) -> None:
    inv = inventory(sas=[sa()], roles=[role()], providers=providers)
    assert predict_service_account(inv, "default", "my-sa").expected_error == expected


def test_the_audience_annotation_is_the_tokens_audience() -> None:
    account = sa(**{"eks.amazonaws.com/audience": "sts.amazon.com"})
    prediction = predict_service_account(inventory(sas=[account], roles=[role()]), "default", "my-sa")
    assert prediction.audience == "sts.amazon.com" == token_audience(prediction)
    assert prediction.expected_error == "InvalidIdentityToken"  # not among the provider's client IDs


def test_a_role_that_cannot_be_read_is_unknown_and_aws_answer_stands() -> None:
    inv = inventory(sas=[sa()], roles={ROLE_ARN: Unavailable("denied", "iam:GetRole")})
    prediction = predict_service_account(inv, "default", "my-sa")
    assert prediction.status is LinkStatus.UNKNOWN
    assert compare_answer(prediction, True, True, SESSION).verdict == UNKNOWN


def test_pod_identity_comes_first_and_asks_eks_auth() -> None:
    inv = inventory(sas=[sa()], roles=[role(), role(PI_ROLE_ARN, POD_IDENTITY_TRUST)], associations=[association()])
    prediction = predict_service_account(inv, "default", "my-sa")
    assert prediction.mechanism is Mechanism.POD_IDENTITY and prediction.role_arn == PI_ROLE_ARN
    assert token_audience(prediction) == "pods.eks.amazonaws.com" and prediction.status is LinkStatus.OK


def test_pod_identity_with_a_trust_that_refuses_expects_access_denied_exception() -> None:
    inv = inventory(sas=[sa()], roles=[role(PI_ROLE_ARN, irsa_trust())], associations=[association()])
    prediction = predict_service_account(inv, "default", "my-sa")
    assert prediction.expected_error == "AccessDeniedException"


def test_no_role_asks_nothing_and_compares_nothing() -> None:
    prediction = predict_service_account(inventory(sas=[sa(role_arn=None)]), "default", "my-sa")
    assert prediction.mechanism is Mechanism.NONE and prediction.effective is None
    assert compare_answer(prediction, False, False).verdict == UNKNOWN


def test_a_pods_own_answer_against_its_chain_in_words() -> None:
    prediction = predict_service_account(inventory(sas=[sa()], roles=[role()]), "default", "my-sa")
    effective = prediction.effective
    assert agrees(effective, True, SESSION) is True
    assert agreement_of(True, effective).verdict == MATCHES
    assert agreement_of(False, effective).verdict == MISMATCH
    assert agreement_of(None, effective).verdict == UNKNOWN
