"""Handler for ``PATCH /api/v1/submissions/{submissionId}`` (§3.14, G30).

The one thing a reader might get wrong: a status change here shows on the lead only when the
submission is the lead's latest one (G31); that rule lives in ``services.submissions``.
"""

from __future__ import annotations

from ..services import submissions
from .render import ok, tenant


async def update_submission(submission_id, body):
    return ok(submissions.update_submission(tenant(), submission_id, body))
