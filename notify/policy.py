"""Escalation policies and the plan they give each recipient.

A policy says: SMS whoever has not *read* after ``sms_after_s``; call whoever
has not *confirmed* after ``call_after_s``; repeat both ``repeats`` more times,
``repeat_interval_s`` apart; stop as soon as the recipient confirms. Before any
of that, a Web Push goes to browsers of people whose devices have not
acknowledged the notice after ``push_after_s``.

``plan_for`` turns a policy into an ordered list of steps (offset from the
send time, channel, attempt). It is pure and deterministic, so only the
*next* step of each recipient needs a row: performing step k inserts step
k+1 from the same plan.

SMS and calls cost money, so ``check_policy`` holds a policy to the operator's
minimum delay and most repeats, and ``paid_messages_per_phone`` says the most
of each a recipient with a phone can be sent (what a send reserves).
"""
from __future__ import annotations

from dataclasses import dataclass

from notify.models import STAGES
from server.errors import InvalidInput

# Each channel is skipped once the recipient reached this stage.
SATISFIED_AT = {"push": STAGES.index("delivered"), "sms": STAGES.index("read"), "call": STAGES.index("confirmed")}
CONFIRMED = STAGES.index("confirmed")


@dataclass(frozen=True)
class PlannedStep:
    offset_s: float
    channel: str  # push | sms | call
    attempt: int


def plan_for(policy: dict, *, has_phone: bool, has_push: bool) -> list[PlannedStep]:
    steps: list[PlannedStep] = []
    if has_push and policy.get("push_after_s") is not None:
        steps.append(PlannedStep(policy["push_after_s"], "push", 0))
    if has_phone:
        for attempt in range(policy["repeats"] + 1):
            later = attempt * policy["repeat_interval_s"]
            if policy.get("sms_after_s") is not None:
                steps.append(PlannedStep(policy["sms_after_s"] + later, "sms", attempt))
            if policy.get("call_after_s") is not None:
                steps.append(PlannedStep(policy["call_after_s"] + later, "call", attempt))
    return sorted(steps, key=lambda s: (s.offset_s, s.channel != "push", s.channel != "sms"))


PAID_CHANNELS = ("sms", "call")


def paid_messages_per_phone(policy: dict) -> dict[str, int]:
    """The most SMS and calls the policy sends one recipient who has a phone and never confirms."""
    steps = plan_for(policy, has_phone=True, has_push=False)
    return {channel: sum(1 for s in steps if s.channel == channel) for channel in PAID_CHANNELS}


def check_policy(policy: dict, *, min_delay_s: int, max_repeats: int, field_prefix: str = "") -> None:
    """Refuse a policy that would send SMS or calls sooner, or more often, than the operator allows."""
    paid = [channel for channel in PAID_CHANNELS if policy.get(f"{channel}_after_s") is not None]
    if not paid:
        return
    for channel in paid:
        if policy[f"{channel}_after_s"] < min_delay_s:
            raise InvalidInput("{channel}_after_s: SMS and calls go at the earliest {min_delay_s} s after sending on this server",
                               field=f"{field_prefix}{channel}_after_s", code="policy_too_fast", channel=channel, min_delay_s=min_delay_s)
    if policy["repeats"] > max_repeats:
        raise InvalidInput("repeats: SMS and calls are repeated at most {max_repeats} times on this server",
                           field=f"{field_prefix}repeats", code="policy_too_many_repeats", max_repeats=max_repeats)
    if policy["repeats"] and policy["repeat_interval_s"] < min_delay_s:
        raise InvalidInput("repeat_interval_s: SMS and calls are repeated at least {min_delay_s} s apart on this server",
                           field=f"{field_prefix}repeat_interval_s", code="policy_too_fast", min_delay_s=min_delay_s)
