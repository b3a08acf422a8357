"""Due work for calls: a call ringing → answered → hung up, and auto-dialer attempts.

Handlers are thin: each hands its job to the service that owns the use case and reports what it
did as the job's effects (shown by ``POST /_sandbox/clock/advance``). The one thing a reader might
get wrong: the outcome of a call is already in the job payload (decided when the call was placed);
these jobs only play it out, drawing durations and transcript wording from the tenant RNG in job
order, which is what makes a replay write identical bytes.
"""

from __future__ import annotations

from ..services import dialer, voice
from . import handles


@handles(voice.ANSWER_JOB)
def call_answer(tenant, payload: dict):
    return voice.answer_call(tenant, payload)


@handles(voice.END_JOB)
def call_end(tenant, payload: dict):
    ended = voice.finish_call(tenant, payload)
    return [ended, dialer.after_call(tenant, ended) if ended else None]


@handles(dialer.ATTEMPT_JOB)
def dialer_attempt(tenant, payload: dict):
    return dialer.run_attempt(tenant, payload)
