"""The e-mail an alert sends: its subject and plain text, from its payload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["email_message"]


_SUBJECTS = {
    "credits.below_threshold": "Credits are running low",
    "credits.depleted": "No credits left",
    "org.read_only": "Your organization is read-only",
    "credits.forecast_depletion": "Credits will run out soon",
    "payment.failed": "A payment failed",
    "org.grace": "Your organization's grace state changed",
}


def email_message(payload: Mapping[str, Any], org_name: str) -> tuple[str, str]:
    """The subject and plain text of an alert's e-mail, from its payload."""
    kind = str(payload.get("type", ""))
    data: Mapping[str, Any] = payload.get("data") or {}
    subject = f"{_SUBJECTS.get(kind, kind)}: {org_name}"
    lines = [f"{subject}.", "", f"Available: {data.get('available', '?')} credits."]
    if "threshold" in data:
        lines.append(f"Threshold: {data['threshold']} credits.")
    if "used" in data:
        lines.append(
            f"Used: {data['used']} of {data.get('cycle_grant')} credits "
            f"(the alert is at {data.get('percent')}% used)."
        )
    elif "percent" in data:
        lines.append(f"Threshold: {data['percent']}% of {data.get('cycle_grant')} credits.")
    if "depletes_at" in data:
        lines.append(
            f"At {data.get('burn_per_day')} credits a day they run out around "
            f"{data['depletes_at']}."
        )
    moved = data.get("transition")
    if isinstance(moved, Mapping):
        lines.append(
            f"Now {moved.get('to')} (was {moved.get('from')}) since {moved.get('at')}, "
            f"caused by {moved.get('cause_type')} {moved.get('cause_ref') or ''}".rstrip()
            + "."
        )
    if "invoice_id" in data:
        lines.append(f"Invoice {data['invoice_id']}: {data.get('reason', '')}")
    lines += ["", f"Organization: {data.get('org_id', '')}", f"Event: {kind}"]
    return subject, "\n".join(lines) + "\n"
