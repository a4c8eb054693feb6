"""What a bounce or complaint notice does to Herald's data (docs/tracking.md, "Bounces and complaints").

For each notice: the delivery its Message-ID names (ours only), else none; the leads it is about (the delivery's
lead, else every lead holding the address, in every workspace); per lead one `events` row whose `dedupe_key` makes a
repeated report a no-op. Only a newly recorded hard bounce or complaint touches the lead: `suppressed_email`
(`bounced`, keeping an earlier reason; `complained`, with consent `denied`), the hashed suppression list and a
timeline row. A soft bounce is recorded and nothing else. The delivery row is never rewritten (a `sent` one stays
`sent`: the provider accepted it). The caller commits: one transaction for the whole request.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from api.lead_service import note_on_timeline
from domain.bounces import BounceNotice, parse_message_id
from domain.suppression import REMEMBER_ADDRESSES_SQL

ACTOR = "email provider"
DELIVERY_SQL = text(
    "SELECT d.id AS delivery_id, d.workspace_id, d.lead_id, r.campaign_id, d.run_id, d.step, d.variant, d.channel, "
    "l.email FROM deliveries d JOIN campaign_runs r ON r.id = d.run_id JOIN leads l ON l.id = d.lead_id "
    "WHERE d.run_id = :run_id AND d.step = :step AND d.lead_id = :lead_id AND d.fallback = :fallback"
)
LEADS_SQL = text("SELECT id AS lead_id, workspace_id, email FROM leads WHERE email = :email ORDER BY id")
INSERT_EVENT_SQL = text(
    "INSERT INTO events (workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, channel, type, "
    "machine, metadata, dedupe_key) VALUES (:workspace_id, :delivery_id, :lead_id, :campaign_id, :run_id, :step, "
    ":variant, :channel, :type, false, CAST(:metadata AS jsonb), :dedupe_key) "
    "ON CONFLICT (workspace_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING RETURNING id"
)
SUPPRESS_SQL = {
    "bounce": text(
        "UPDATE leads SET suppressed_email = coalesce(suppressed_email, 'bounced'), updated_at = now() WHERE id = :id"
    ),
    "complaint": text(
        "UPDATE leads SET suppressed_email = 'complained', consent_email = 'denied', updated_at = now() WHERE id = :id"
    ),
}
REASON = {"bounce": "bounced", "complaint": "complained"}
_NO_DELIVERY = {"delivery_id": None, "campaign_id": None, "run_id": None, "step": None, "variant": None}


class BounceReceipt(BaseModel):
    """What a webhook request did."""

    received: int = Field(description="Notices in the request (one per recipient)")
    recorded: int = Field(description="Events written (a notice about an address held in two workspaces: two)")
    duplicates: int = Field(description="Events already recorded from an earlier delivery of the same report")
    unmatched: int = Field(default=0, description="Notices about no known delivery or lead: nothing recorded")
    message: str | None = Field(default=None, description="For the administrator (SNS subscription confirmations)")


async def record_notices(session: AsyncSession, notices: list[BounceNotice]) -> BounceReceipt:
    receipt = BounceReceipt(received=len(notices), recorded=0, duplicates=0)
    for notice in notices:
        targets = await _targets(session, notice)
        if not targets:
            receipt.unmatched += 1
        for target in targets:
            if await _record(session, notice, target):
                receipt.recorded += 1
            else:
                receipt.duplicates += 1
    return receipt


async def _targets(session: AsyncSession, notice: BounceNotice) -> list[dict[str, Any]]:
    """The delivery's lead when the Message-ID is ours and the delivery still exists, else every lead with the
    address. Each target says whether the lead still holds the address (`holds`): only then is it suppressed."""
    ours = parse_message_id(notice.message_id)
    if ours is not None:
        row = (await session.execute(DELIVERY_SQL, ours._asdict())).one_or_none()
        if row is not None:
            target = dict(row._mapping)
            return [{**target, "holds": (target["email"] or "").lower() == notice.email.lower()}]
    rows = (await session.execute(LEADS_SQL, {"email": notice.email})).all()
    return [{**_NO_DELIVERY, **row._mapping, "channel": "email", "holds": True} for row in rows]


async def _record(session: AsyncSession, notice: BounceNotice, target: dict[str, Any]) -> bool:
    """Writes the event; when it is new, applies a hard bounce or complaint to the lead. False for a repeat."""
    metadata: dict[str, Any] = {
        "provider": notice.provider,
        "permanent": notice.permanent,
        "diagnostic": notice.diagnostic,
        "provider_event_id": notice.event_id,
    }
    if notice.provider_message_id:
        metadata["provider_message_id"] = notice.provider_message_id
    if notice.occurred_at is not None:
        metadata["reported_at"] = notice.occurred_at.isoformat()
    if not target["holds"]:
        metadata["lead_address_changed"] = True
    params = {
        key: target[key]
        for key in ("workspace_id", "delivery_id", "lead_id", "campaign_id", "run_id", "step", "variant", "channel")
    }
    inserted = (
        await session.execute(
            INSERT_EVENT_SQL,
            {**params, "type": notice.kind, "metadata": json.dumps(metadata), "dedupe_key": notice.dedupe_key},
        )
    ).scalar_one_or_none()
    if inserted is None:
        return False
    if notice.permanent and target["holds"]:
        await _suppress(session, notice, target)
    return True


async def _suppress(session: AsyncSession, notice: BounceNotice, target: dict[str, Any]) -> None:
    await session.execute(SUPPRESS_SQL[notice.kind], {"id": target["lead_id"]})
    reason = REASON[notice.kind]
    await session.execute(
        text(REMEMBER_ADDRESSES_SQL),
        {"w": target["workspace_id"], "channel": "email", "reason": reason, "addresses": [target["email"]]},
    )
    data = {
        "channel": "email",
        "via": notice.provider,
        "diagnostic": notice.diagnostic,
        "run_id": target["run_id"],
        "step": target["step"],
    }
    await note_on_timeline(session, target["workspace_id"], target["lead_id"], reason, data, ACTOR)
