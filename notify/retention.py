"""What of notify the platform's retention job prunes (server/retention/), and what it keeps by design.

Pruned: escalation steps done ``MUSTER_RETENTION_ENDED_DAYS`` ago. A done
step is never read again (only the next step of a recipient is claimed, and
it was inserted with the step before it), and its outbound message's
``step_id`` becomes NULL.

Kept with their broadcast: the broadcast, its recipients with their stages,
and the outbound messages (``notify_outbound``: every SMS, call and push with
its tries and the provider's status), which are its delivery record, read by
the sender's dashboard (``/broadcasts/{id}/deliveries``). They go when the
broadcast or the person is deleted (cascade; personal_data.py). Rate limit
rows are the platform's (``paid_usage``, pruned by server/channels).
"""
from __future__ import annotations

import datetime as dt

from notify.models import EscalationStep
from server.config import Settings
from server.retention.registry import Pruning, aged_rows


def done_steps_pruning(settings: Settings) -> Pruning:
    """Through the index ``(done_at, due_at)``: a range of the done steps, oldest first."""
    return aged_rows("done escalation steps", EscalationStep.done_at, dt.timedelta(days=settings.retention_ended_days),
                     batch=settings.retention_batch)
