"""Each role's access link, and how it changes during the measured window: the `--profile` and
`--schedule` options as data.

Real consultations mix links (a doctor on a LAN, a patient on 2G, a hub specialist on 4G), and a
patient's link changes mid-call. Roles: `patient`, `doctor` and, with `--third-party`, `hub`.

`--profile`: one profile for every role (`2g`, or a custom spec `rate=150k,delay=300ms`), or per role,
`doctor=lan,patient=2g` (roles not named are on `lan`). A role's value may itself be a custom spec:
`doctor=lan,patient=rate=150k,delay=300ms,loss=2%` — a comma-separated part that does not start with
`ROLE=` continues the spec before it (spec keys and role names never clash).

`--schedule`: `SECONDS:PROFILE` steps, seconds from the start of the measured window, strictly
increasing: `0:3g,20:2g,40:edge-bad,60:3g`. The bare form applies to the patient; `ROLE=` names
another (`doctor=0:lan,30:3g`), and several roles go in one value or in repeated options:
`patient=0:3g,20:2g,doctor=10:4g`. A step may be a custom spec (`0:3g,20:rate=150k,delay=300ms`). A
step at 0 sets the role's link from its join on (it replaces that role's `--profile`); until a
schedule's first step, a role is on its `--profile`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bench.profiles import SPEC_KEYS, LinkProfile, ProfileError, get_profile

ROLES = ("patient", "doctor", "hub")
"""The bench's roles, in the order each consultation's members join."""
DEFAULT_ROLE_PROFILE = "lan"
SCHEDULE_DEFAULT_ROLE = "patient"
_STEP = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*s?\s*:(.*)$", re.DOTALL)


@dataclass(frozen=True)
class LinkStep:
    """From `at_s` seconds into the measured window on, a role's link is `profile`."""

    at_s: float
    profile: LinkProfile


@dataclass(frozen=True)
class RoleLinks:
    """Every role's link at join, and the steps that change it during the window."""

    profiles: dict[str, LinkProfile]
    schedules: dict[str, tuple[LinkStep, ...]] = field(default_factory=dict)
    uniform: bool = True
    """Whether `--profile` gave one profile for every role (the report then keeps its old shape)."""

    def initial(self, role: str) -> LinkProfile:
        """The role's link from its join until its schedule's first step after 0."""
        steps = self.schedules.get(role, ())
        return steps[0].profile if steps and steps[0].at_s == 0 else self.profiles[role]

    def changes(self, role: str) -> tuple[LinkStep, ...]:
        """The steps that change a live link (a step at 0 is the initial link, not a change)."""
        return tuple(step for step in self.schedules.get(role, ()) if step.at_s > 0)

    def every(self, role: str) -> list[LinkProfile]:
        return [self.initial(role), *(step.profile for step in self.changes(role))]

    def weakest(self, role: str) -> LinkProfile:
        """The slowest link the role ever has: its synthetic phone sends what that link carries
        (pre-encoded media cannot follow the link as it changes)."""
        return min(self.every(role), key=lambda p: p.rate_bps if p.rate_bps else float("inf"))

    def shaped(self, role: str) -> bool:
        """Whether the role needs a link in the shaping relay at all."""
        return any(p.shaped for p in self.every(role))

    @property
    def any_shaped(self) -> bool:
        return any(self.shaped(role) for role in self.profiles)

    def describe(self, role: str | None = None) -> str:
        """`2g`, `doctor=lan,patient=2g`, or one role's `0:3g,20:2g` (for the report and the table)."""
        if role is not None:
            if not self.schedules.get(role):
                return self.profiles[role].name
            return ",".join(f"{at:g}:{profile.name}" for at, profile in self.steps(role))
        if self.uniform and not self.schedules:
            return next(iter(self.profiles.values())).name
        return ",".join(f"{role}={self.describe(role)}" for role in self.profiles)

    def steps(self, role: str) -> list[tuple[float, LinkProfile]]:
        """The role's link over the window: (from second, profile), the first at 0."""
        return [(0.0, self.initial(role)), *((step.at_s, step.profile) for step in self.changes(role))]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a worker process's JSON config (`from_dict` reads it back)."""
        return {
            "profiles": {role: p.to_dict() for role, p in self.profiles.items()},
            "schedules": {role: [[s.at_s, s.profile.to_dict()] for s in steps] for role, steps in self.schedules.items()},
            "uniform": self.uniform,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoleLinks:
        return cls(
            {role: LinkProfile(**p) for role, p in data["profiles"].items()},
            {role: tuple(LinkStep(at, LinkProfile(**p)) for at, p in steps) for role, steps in data["schedules"].items()},
            data["uniform"],
        )


def roles(third_party: bool) -> tuple[str, ...]:
    return ROLES if third_party else ROLES[:2]


def _by_role(text: str, option: str) -> list[tuple[str | None, str]]:
    """Split `ROLE=value,ROLE=value` into (role, value); a leading part without a role gets None.

    A part that does not start with `ROLE=` continues the value before it (a custom spec's commas)."""
    groups: list[tuple[str | None, list[str]]] = []
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip().lower() in ROLES:
            groups.append((key.strip().lower(), [value]))
        elif sep and key.rsplit(":", 1)[-1].strip().lower() not in SPEC_KEYS:  # `20:rate=…` is a step's spec
            raise ProfileError(f"{option}: unknown role or spec key {key.strip()!r} "
                               f"(roles: {', '.join(ROLES)}; spec keys: {', '.join(SPEC_KEYS)})")
        elif groups and (sep or groups[-1][0] is None or option == "--schedule"):
            groups[-1][1].append(part)
        elif groups:
            raise ProfileError(f"{option}: {part.strip()!r} names no role: expected ROLE=PROFILE (roles: {', '.join(ROLES)})")
        else:
            groups.append((None, [part]))
    seen: set[str] = set()
    for role, _ in groups:
        if role in seen:
            raise ProfileError(f"{option}: {role} given twice")
        if role is not None:
            seen.add(role)
    return [(role, ",".join(parts)) for role, parts in groups]


def _check_role(role: str, option: str, third_party: bool) -> None:
    if role == "hub" and not third_party:
        raise ProfileError(f"{option}: hub=… needs --third-party (there is no hub specialist without it)")


def _profile(value: str, where: str) -> LinkProfile:
    if not value.strip():
        raise ProfileError(f"{where}: no profile given")
    try:
        return get_profile(value.strip())
    except ProfileError as exc:
        raise ProfileError(f"{where}: {exc}") from None


def parse_profiles(text: str, third_party: bool = False) -> tuple[dict[str, LinkProfile], bool]:
    """`--profile`: every role's link at join, and whether one profile was given for all of them."""
    groups = _by_role(text, "--profile")
    members = roles(third_party)
    if groups[0][0] is None:
        if len(groups) > 1:
            raise ProfileError(f"--profile {text!r}: give one profile for every role, or ROLE=PROFILE for each")
        profile = _profile(groups[0][1], "--profile")
        return {role: profile for role in members}, True
    profiles = {role: get_profile(DEFAULT_ROLE_PROFILE) for role in members}
    for role, value in groups:
        assert role is not None
        _check_role(role, "--profile", third_party)
        profiles[role] = _profile(value, f"--profile {role}")
    return profiles, False


def _steps(value: str, where: str) -> tuple[LinkStep, ...]:
    steps: list[tuple[float, list[str]]] = []
    for part in value.split(","):
        step = _STEP.match(part)
        if step:
            steps.append((float(step.group(1)), [step.group(2)]))
        elif steps and "=" in part:  # the next key of a custom spec
            steps[-1][1].append(part)
        else:
            raise ProfileError(f"{where}: {part.strip()!r} is not a step: expected SECONDS:PROFILE, like 0:3g,20:2g")
    parsed = tuple(LinkStep(at, _profile(",".join(spec), f"{where} at {at:g} s")) for at, spec in steps)
    for before, after in zip(parsed, parsed[1:]):
        if after.at_s <= before.at_s:
            raise ProfileError(f"{where}: step times must increase ({after.at_s:g} s after {before.at_s:g} s)")
    return parsed


def parse_schedules(
    texts: list[str], third_party: bool = False, seconds: float | None = None
) -> dict[str, tuple[LinkStep, ...]]:
    """`--schedule` (repeatable): each role's steps. A step after the window (`seconds`) is refused."""
    schedules: dict[str, tuple[LinkStep, ...]] = {}
    for text in texts:
        for role, value in _by_role(text, "--schedule"):
            role = role or SCHEDULE_DEFAULT_ROLE
            _check_role(role, "--schedule", third_party)
            if role in schedules:
                raise ProfileError(f"--schedule: {role} given twice")
            steps = schedules[role] = _steps(value, f"--schedule {role}")
            if seconds is not None and steps[-1].at_s >= seconds:
                raise ProfileError(f"--schedule {role}: the step at {steps[-1].at_s:g} s is not inside the "
                                   f"measured window (--seconds {seconds:g})")
    return schedules


def parse_role_links(
    profile: str, schedules: list[str] | None = None, third_party: bool = False, seconds: float | None = None
) -> RoleLinks:
    """Both options at once: what `vaidya-bench consults` runs. Raises ProfileError naming the problem."""
    profiles, uniform = parse_profiles(profile, third_party)
    return RoleLinks(profiles, parse_schedules(schedules or [], third_party, seconds), uniform)
