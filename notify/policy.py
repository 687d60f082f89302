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
"""
from __future__ import annotations

from dataclasses import dataclass

from notify.models import STAGES

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
