"""Due work for documents: DocuSeal's signing progress, played on the tenant clock (G32, §5.19).

A sent document moves pending → viewed → in_progress → signed, one ``document.advance`` job per
step, each step after a delay drawn from the tenant RNG (``domain.files.SIGNING_DELAYS``: opened
within minutes, filled in and signed a few minutes later). Reaching ``signed`` sets ``signedAt``
and turns a lead in ``document_sent`` or ``pending_signature`` into ``signed``; sending moved a
lead that was still being worked (new, agent phase, qualified) to ``document_sent`` (see
``domain.files.LEAD_STATUSES_BEFORE_SENDING``). The one thing a reader might get wrong: a job
belongs to one signing request (its ``providerDocumentId``); after a re-send, or a POST /files
that took the file off the signing path (declined, expired ...), the stale job does nothing.
"""

from __future__ import annotations

from ..services.documents import ADVANCE_JOB, advance_signing
from . import handles


@handles(ADVANCE_JOB)
def advance_document(tenant, payload: dict) -> list[dict]:
    return advance_signing(tenant, payload)
