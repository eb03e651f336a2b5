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


def _signed(**claims) -> str:
    now = int(time.time())
    body = {"iss": "vaidya", "aud": "vaidya-room", "sub": "p", "room": "a", "role": "patient",
            "grants": {"publish": True, "subscribe": True}, "iat": now, "exp": now + 60, **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


@pytest.mark.parametrize("claims", [
    {"grants": {"publish": "no", "subscribe": True}},
    {"grants": {"publish": True, "subscribe": 1}},
    {"grants": [1]},
    {"grants": "all"},
    {"sub": {"a": 1}},
    {"sub": 5},
    {"role": 5},
    {"role": ["doctor"]},
    {"exp": int(time.time()) + 10 * 365 * 24 * 3600},  # years ahead
    {"iat": 0},  # a lifetime of decades
])
def test_a_signed_token_with_a_wrongly_typed_or_absurd_claim_is_token_invalid(claims):
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, _signed(**claims), "a")
    assert err.value.code == "token_invalid"


def test_an_expiry_that_is_not_an_integer_is_token_invalid():
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, _signed(exp=time.time() + 60.5), "a")
    assert err.value.code == "token_invalid"


def test_grants_must_be_real_booleans_and_default_to_false():
    grant = verify_token(SECRET, _signed(grants={"publish": False, "subscribe": True}), "a")
    assert (grant.publish, grant.subscribe) == (False, True)
    grant = verify_token(SECRET, _signed(grants={}), "a")
    assert (grant.publish, grant.subscribe) == (False, False)


def test_the_longest_token_minted_here_is_accepted():
    from signaling.grants import MAX_TTL_S

    token = mint_token(SECRET, room="a", identity="p", role="patient", ttl_s=MAX_TTL_S)
    assert verify_token(SECRET, token, "a").identity == "p"


def test_a_token_with_a_deeply_nested_header_is_token_invalid():
    import base64

    header = base64.urlsafe_b64encode(b"[" * 3000).rstrip(b"=").decode()
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, f"{header}.e30.x", "a")
    assert err.value.code == "token_invalid"


def test_a_token_names_its_holder_for_the_others_and_a_bad_name_is_refused() -> None:
    from signaling.grants import mint_token, verify_token

    secret = "s" * 40
    token = mint_token(secret, room="r", identity="doctor:1", role="doctor", name="Dr. Asha Rao")
    assert verify_token(secret, token, "r").name == "Dr. Asha Rao"
    assert verify_token(secret, mint_token(secret, room="r", identity="pt", role="patient"), "r").name is None
    for bad in ("", " ", "x" * 81, "Asha\u202eoaR", "Asha\x07"):
        with pytest.raises(ValueError):
            mint_token(secret, room="r", identity="pt", role="patient", name=bad)
