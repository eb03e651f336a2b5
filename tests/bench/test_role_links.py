"""Per-role links and link schedules: `--profile doctor=lan,patient=2g` and `--schedule 0:3g,20:2g`."""

from __future__ import annotations

import pytest

from bench.profiles import PROFILES, ProfileError
from bench.role_links import RoleLinks, parse_profiles, parse_role_links, parse_schedules


def test_a_plain_profile_keeps_meaning_every_role() -> None:
    profiles, uniform = parse_profiles("2g", third_party=True)
    assert uniform and profiles == {"patient": PROFILES["2g"], "doctor": PROFILES["2g"], "hub": PROFILES["2g"]}
    custom, uniform = parse_profiles("rate=150k,delay=300ms")
    assert uniform and set(custom) == {"patient", "doctor"}
    assert custom["patient"].rate_bps == 150_000 and custom["doctor"].delay_ms == 300


def test_roles_get_their_own_links_and_unnamed_roles_are_on_lan() -> None:
    profiles, uniform = parse_profiles("doctor=lan,patient=2g")
    assert not uniform and profiles == {"patient": PROFILES["2g"], "doctor": PROFILES["lan"]}
    profiles, _ = parse_profiles("patient=edge-bad", third_party=True)
    assert profiles == {"patient": PROFILES["edge-bad"], "doctor": PROFILES["lan"], "hub": PROFILES["lan"]}
    profiles, _ = parse_profiles("hub=4g,patient=2g", third_party=True)
    assert profiles["hub"] == PROFILES["4g"] and profiles["doctor"] == PROFILES["lan"]


def test_a_roles_profile_may_be_a_custom_spec_whose_commas_continue_it() -> None:
    profiles, _ = parse_profiles("doctor=lan,patient=rate=150k,delay=300ms,loss=2%")
    patient = profiles["patient"]
    assert (patient.rate_bps, patient.delay_ms, patient.loss) == (150_000, 300, pytest.approx(0.02))
    assert profiles["doctor"] == PROFILES["lan"]


@pytest.mark.parametrize(
    ("profile", "third_party", "message"),
    [
        ("nurse=2g", False, "unknown role or spec key 'nurse'"),
        ("patient=2g,nurse=lan", False, "unknown role or spec key 'nurse'"),
        ("patient=2g,patient=3g", False, "patient given twice"),
        ("patient=6g", False, "--profile patient: unknown profile '6g'"),
        ("patient=", False, "--profile patient: no profile given"),
        ("hub=4g", False, "hub=… needs --third-party"),
        ("2g,doctor=lan", False, "one profile for every role, or ROLE=PROFILE"),
        ("patient=rate=fast", False, "rate='fast'"),
    ],
)
def test_a_bad_per_role_profile_is_refused_with_a_message_naming_the_problem(
    profile: str, third_party: bool, message: str
) -> None:
    with pytest.raises(ProfileError, match=message.replace("(", r"\(")):
        parse_profiles(profile, third_party)


def test_a_bare_schedule_is_the_patients_and_roles_can_be_named() -> None:
    schedules = parse_schedules(["0:3g,20:2g,40:edge-bad,60:3g"])
    assert list(schedules) == ["patient"]
    assert [(s.at_s, s.profile.name) for s in schedules["patient"]] == [(0, "3g"), (20, "2g"), (40, "edge-bad"), (60, "3g")]
    both = parse_schedules(["patient=0:3g,20:2g,doctor=10:4g", "hub=5s:rate=300k,delay=50ms,15:lan"], third_party=True)
    assert [(s.at_s, s.profile.name) for s in both["doctor"]] == [(10, "4g")]
    hub = both["hub"]
    assert hub[0].at_s == 5 and hub[0].profile.rate_bps == 300_000 and hub[0].profile.delay_ms == 50
    assert hub[1].profile == PROFILES["lan"]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("3g,20:2g", "'3g' is not a step: expected SECONDS:PROFILE"),
        ("0:3g,20:2g,10:3g", "step times must increase (10 s after 20 s)"),
        ("0:3g,0:2g", "step times must increase"),
        ("0:3g,20:5g", "at 20 s: unknown profile '5g'"),
        ("0:3g,20:", "at 20 s: no profile given"),
        ("nurse=0:3g", "unknown role or spec key 'nurse'"),
        ("hub=0:3g", "hub=… needs --third-party"),
        ("0:3g,60:2g", "the step at 60 s is not inside the measured window (--seconds 40)"),
        ("-5:3g", "'-5:3g' is not a step"),
        ("0:3g,20:rate=150k,speed=2", "unknown role or spec key 'speed'"),
    ],
)
def test_a_bad_schedule_is_refused_with_a_message_naming_the_problem(schedule: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_schedules([schedule], third_party=False, seconds=40)


def test_a_role_scheduled_twice_is_refused() -> None:
    with pytest.raises(ProfileError, match="patient given twice"):
        parse_schedules(["0:3g,20:2g", "patient=0:2g"])


def test_a_schedule_sets_the_initial_link_the_changes_and_the_plan_of_its_weakest_link() -> None:
    links = parse_role_links("doctor=lan,patient=4g", ["0:3g,20:2g,40:3g"], seconds=60)
    assert links.initial("patient") == PROFILES["3g"], "a step at 0 replaces the role's --profile"
    assert [(s.at_s, s.profile.name) for s in links.changes("patient")] == [(20, "2g"), (40, "3g")]
    assert links.weakest("patient") == PROFILES["2g"]
    assert links.initial("doctor") == PROFILES["lan"] and not links.shaped("doctor") and links.shaped("patient")
    later = parse_role_links("lan", ["doctor=10:2g"])
    assert later.initial("doctor") == PROFILES["lan"] and later.shaped("doctor"), "a lan role scheduled onto 2g needs a link"
    assert links.describe("patient") == "0:3g,20:2g,40:3g" and links.describe("doctor") == "lan"
    assert links.describe() == "patient=0:3g,20:2g,40:3g,doctor=lan"
    assert parse_role_links("doctor=lan,patient=2g").describe() == "patient=2g,doctor=lan"
    assert parse_role_links("2g").describe() == "2g"
    assert parse_role_links("2g", ["30:3g"]).describe("patient") == "0:2g,30:3g", "the initial link is named too"
    assert RoleLinks.from_dict(links.to_dict()) == links


def test_a_part_that_is_neither_a_role_nor_a_spec_key_is_named() -> None:
    with pytest.raises(ProfileError, match="'3g' names no role: expected ROLE=PROFILE"):
        parse_profiles("patient=2g,3g")
    with pytest.raises(ProfileError, match="'x' is not a step"):
        parse_schedules(["0:3g,x"])
