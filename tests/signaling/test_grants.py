import time

import jwt
import pytest

from signaling.grants import Role, TokenError, mint_token, verify_token

SECRET = "s" * 48


def test_a_token_opens_its_own_room_with_the_roles_grants():
    token = mint_token(SECRET, room="opd-1", identity="dr-a", role="doctor", ttl_s=60)
    grant = verify_token(SECRET, token, "opd-1")
    assert grant.identity == "dr-a"
    assert grant.role is Role.DOCTOR
    assert grant.publish and grant.subscribe


def test_a_token_for_room_a_never_opens_room_b():
    token = mint_token(SECRET, room="a", identity="p", role="patient")
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, token, "b")
    assert err.value.code == "token_wrong_room"


def test_expired_tokens_are_refused():
    token = mint_token(SECRET, room="a", identity="p", role="patient", ttl_s=10, now=time.time() - 3600)
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, token, "a")
    assert err.value.code == "token_expired"


def test_forged_tokens_are_refused():
    forged = mint_token("x" * 48, room="a", identity="p", role="doctor")
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, forged, "a")
    assert err.value.code == "token_invalid"
    unsigned = jwt.encode({"sub": "p", "room": "a", "exp": time.time() + 60}, key=None, algorithm="none")
    with pytest.raises(TokenError):
        verify_token(SECRET, unsigned, "a")


def test_missing_token_is_refused():
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, "", "a")
    assert err.value.code == "token_missing"


def test_observer_may_subscribe_but_not_publish():
    grant = verify_token(SECRET, mint_token(SECRET, room="a", identity="o", role="observer"), "a")
    assert grant.subscribe and not grant.publish


def test_unknown_role_is_rejected_at_mint():
    with pytest.raises(ValueError):
        mint_token(SECRET, room="a", identity="p", role="admin")
