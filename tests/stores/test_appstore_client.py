"""The App Store Connect client against the fake: the JWT Apple asks for (verified by
the fake with the test key's public key), a token reused until shortly before its end,
the version and its phased release read, Apple's error words kept."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from stores.appstore_client import AscFailure, phase_get, phase_patch, token_for, tokens_forget, version_find
from stores.models import AppStoreSource

from .appstore_servers import (
    APP_ID,
    ISSUER_ID,
    KEY_ID,
    OTHER_PEM,
    PUBLIC_KEY,
    FakeAppStoreConnect,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(db: Any) -> AppStoreSource:
    from ..releases.factories import ProductFactory

    return AppStoreSource.objects.create(
        product=ProductFactory(slug="ios"),
        issuer_id=ISSUER_ID,
        key_id=KEY_ID,
        private_key_env="GONOGO_TEST_ASC_KEY",
        app_id=APP_ID,
    )


def test_the_token_is_es256_with_apples_header_and_claims(
    asc: FakeAppStoreConnect, source: AppStoreSource
) -> None:
    token = token_for(source)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": KEY_ID, "typ": "JWT"}
    claims = jwt.decode(token, PUBLIC_KEY, algorithms=["ES256"], audience="appstoreconnect-v1")
    assert claims["iss"] == ISSUER_ID and claims["aud"] == "appstoreconnect-v1"
    assert 0 < claims["exp"] - claims["iat"] <= 1200
    assert abs(claims["iat"] - time.time()) < 5


def test_a_token_is_reused_until_shortly_before_it_ends(
    asc: FakeAppStoreConnect, source: AppStoreSource
) -> None:
    now = time.time()
    first = token_for(source, now=now)
    assert token_for(source, now=now + 600) == first
    later = token_for(source, now=now + 19 * 60 - 30)  # under a minute left: a new one
    assert later != first
    tokens_forget()
    asc.add_version("1.0.0")
    version_find(source, "1.0.0")
    version_find(source, "1.0.0")
    tokens = {r.token for r in asc.requests}
    assert len(tokens) == 1 and all(r.claims for r in asc.requests)


def test_reads_the_version_and_its_phased_release(asc: FakeAppStoreConnect, source: AppStoreSource) -> None:
    asc.add_version("0.9.0")
    asc.add_version("1.0.0", state="PAUSED", day=3)
    version_id = version_find(source, "1.0.0")
    assert version_id == asc.versions["1.0.0"]
    seen = asc.requests[-1]
    assert seen.path == f"/v1/apps/{APP_ID}/appStoreVersions"
    assert seen.query["filter[versionString]"] == ["1.0.0"] and seen.query["filter[platform]"] == ["IOS"]
    phase = phase_get(source, version_id)
    assert phase is not None and (phase.state, phase.current_day) == ("PAUSED", 3)
    assert phase.start_date is not None and phase.total_pause_days == 0
    assert version_find(source, "2.0.0") is None


def test_a_version_without_phased_release_reads_none(
    asc: FakeAppStoreConnect, source: AppStoreSource
) -> None:
    asc.add_version("1.0.0", phased=False)
    assert phase_get(source, asc.versions["1.0.0"]) is None


def test_a_wrong_key_is_refused_in_apples_words_and_not_retried(
    asc: FakeAppStoreConnect, source: AppStoreSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GONOGO_TEST_ASC_KEY", OTHER_PEM)
    tokens_forget()
    with pytest.raises(AscFailure) as caught:
        version_find(source, "1.0.0")
    assert caught.value.status == 401 and not caught.value.retry
    assert "Authentication credentials are missing or invalid." in caught.value.message
    assert asc.requests[-1].claims is None  # the fake checked the signature


def test_a_missing_key_says_which_variable(
    asc: FakeAppStoreConnect, source: AppStoreSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GONOGO_TEST_ASC_KEY")
    with pytest.raises(AscFailure, match="GONOGO_TEST_ASC_KEY"):
        token_for(source)
    assert asc.requests == []


def test_the_patch_body_is_the_json_api_document(asc: FakeAppStoreConnect, source: AppStoreSource) -> None:
    phase = asc.add_version("1.0.0")
    assert phase is not None
    answer = phase_patch(source, phase.id, "PAUSED")
    assert answer is not None and answer.state == "PAUSED" and phase.state == "PAUSED"
    seen = asc.patches()[-1]
    assert seen.path == f"/v1/appStoreVersionPhasedReleases/{phase.id}"
    assert seen.json() == {
        "data": {
            "type": "appStoreVersionPhasedReleases",
            "id": phase.id,
            "attributes": {"phasedReleaseState": "PAUSED"},
        }
    }


@pytest.mark.parametrize(
    ("scripted", "retry"),
    [
        (
            (
                503,
                {
                    "errors": [
                        {
                            "status": "503",
                            "code": "UNAVAILABLE",
                            "title": "Service Unavailable",
                            "detail": "Try again.",
                        }
                    ]
                },
            ),
            True,
        ),
        (
            (
                429,
                {
                    "errors": [
                        {
                            "status": "429",
                            "code": "RATE_LIMIT_EXCEEDED",
                            "title": "The request rate limit has been reached.",
                            "detail": "Wait.",
                        }
                    ]
                },
            ),
            True,
        ),
        ((500, b"<html>oops</html>"), True),
        ((200, b"not json"), True),
        ("timeout", True),
        (
            (
                403,
                {
                    "errors": [
                        {
                            "status": "403",
                            "code": "FORBIDDEN_ERROR",
                            "title": "This request is forbidden for security reasons",
                            "detail": "The API key in use does not allow this request",
                        }
                    ]
                },
            ),
            False,
        ),
    ],
)
def test_failures_say_whether_to_try_again(
    asc: FakeAppStoreConnect, source: AppStoreSource, scripted: Any, retry: bool
) -> None:
    asc.script.append(scripted)
    with pytest.raises(AscFailure) as caught:
        version_find(source, "1.0.0")
    assert caught.value.retry is retry
    if scripted != "timeout" and isinstance(scripted[1], dict):
        error = scripted[1]["errors"][0]
        assert caught.value.message == f"{error['title']} — {error['detail']}"
