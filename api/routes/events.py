"""`POST /api/events`: something happened to a lead outside Herald (a signup, a purchase, a form): it goes on the
lead's timeline (`external_event`) and to the journeys: `external_event` triggers of that name start, running
journeys waiting for it (or having it as a goal) receive it (docs/automations.md, "Trigger intake").

Idempotent with `event_id` (per lead): a repeat gets the first answer and starts nothing (the journey event's id is
`external:<event_id>`, so even a journey started before a failed commit is not started twice). Without it, each
call is a new event (id `lead-event:<timeline row id>`). The dispatch happens inside the request's transaction: if
Temporal cannot be reached, nothing is written and the answer is a 503 (retry with the same `event_id`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import text
from sqlmodel import col

from api.context import guard
from api.errors import ApiError
from api.journey_dispatch import journey_intake
from api.lead_service import phone_e164
from api.scoping import Scope, ScopeDep
from core.journey_intake import lead_event_id
from domain.contacts import normalise_email
from domain.permissions import Permission
from models.leads import Lead, LeadEvent
from models.payloads.automation import EventName, JourneyEvent

router = APIRouter(prefix="/api/events", tags=["events"])
MAX_DATA_BYTES = 16_384
EVENT_ID_PATTERN = r"^[A-Za-z0-9_.:@=+/-]{1,100}$"
LEAD_KEYS = ("id", "email", "external_id", "phone")
TIMELINE_TYPE = "external_event"


class LeadRef(BaseModel):
    """Exactly one of these finds the lead."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    email: str | None = Field(default=None, min_length=3, max_length=320)
    external_id: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, min_length=3, max_length=40)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: EventName = Field(description="What happened, as `external_event` triggers and waits name it")
    lead: LeadRef
    event_id: str | None = Field(
        default=None,
        pattern=EVENT_ID_PATTERN,
        description="Your id of this event (per lead): a retry with the same id starts nothing twice",
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description=f"Properties (at most {MAX_DATA_BYTES} bytes of JSON), for templates"
    )
    occurred_at: AwareDatetime | None = Field(default=None, description="When it happened (default: now)")

    @field_validator("data")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()) > MAX_DATA_BYTES:
            raise ValueError(f"at most {MAX_DATA_BYTES} bytes of JSON")
        return value


class DispatchedJourney(BaseModel):
    automation_id: int | None = Field(description="None: a running journey of another trigger that received it")
    action: Literal["started", "signalled", "refused", "filtered", "duplicate"]
    workflow_id: str | None


class EventAccepted(BaseModel):
    event_id: str = Field(description="The id journeys know this event by")
    journeys: list[DispatchedJourney]


@router.post("", response_model=EventAccepted, status_code=202, **guard(Permission.leads_write))
async def post_event(body: EventIn, scope: ScopeDep, request: Request) -> EventAccepted:
    """Records the event on the lead's timeline and starts or signals the journeys it concerns; 202 with what was
    done per automation (a repeated `event_id`: the first answer)."""
    lead = await _lead(scope, body.lead)
    session = scope.session
    row: LeadEvent | None = None
    if body.event_id is not None:
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:w, hashtext(:key))"),
            {"w": scope.workspace_id, "key": f"external-event:{lead.id}:{body.event_id}"},
        )
        row = await _recorded(scope, lead.id, body.event_id)
        if row is not None and row.data.get("name") != body.name:
            raise ApiError(409, "event_id: already used for another event of this lead", field="event_id")
        if row is not None and "journeys" in row.data:
            answer = _answer(row)
            await session.rollback()  # nothing written: the lock goes
            return answer
    occurred_at = body.occurred_at or datetime.now(UTC)
    if row is None:
        row = scope.add(
            LeadEvent(
                lead_id=lead.id,
                type=TIMELINE_TYPE,
                data={
                    "name": body.name,
                    "event_id": body.event_id,
                    "data": body.data,
                    "occurred_at": occurred_at.isoformat(),
                },
                actor=scope.context.actor,
            )
        )
        await session.flush()
    assert row.id is not None
    event = JourneyEvent(
        kind="external_event",
        event_id=f"external:{body.event_id}" if body.event_id is not None else lead_event_id(row.id),
        lead_id=lead.id,
        occurred_at=occurred_at,
        name=body.name,
        data=body.data,
    )
    (outcome,) = await journey_intake(request.app).dispatch(scope.workspace_id, [event], session=session)
    if outcome.error is not None:
        await session.rollback()
        raise ApiError(
            503,
            f"the event could not be delivered to the journeys ({outcome.error}); nothing was recorded: try again "
            "(with an event_id, nothing is done twice)",
            code="unavailable",
        )
    journeys = [
        {"automation_id": r.automation_id, "action": r.action, "workflow_id": r.workflow_id} for r in outcome.results
    ]
    row.data = {**row.data, "journey_event_id": event.event_id, "journeys": journeys}
    await session.commit()
    return _answer(row)


async def _lead(scope: Scope, ref: LeadRef) -> Lead:
    given = [name for name in LEAD_KEYS if getattr(ref, name) is not None]
    if len(given) != 1:
        raise ApiError(422, "lead: give exactly one of id, email, external_id, phone", field="lead")
    key = given[0]
    if key == "id":
        lead = await scope.find(Lead, ref.id or 0)
    else:
        value: str = getattr(ref, key)
        if key == "email":
            value = normalise_email(value)
        elif key == "phone":
            value, _region = await phone_e164(scope, value)
        query = scope.select(Lead).where(getattr(Lead, key) == value)
        lead = (await scope.session.exec(query.order_by(col(Lead.id)).limit(1))).first()
    if lead is None:
        raise ApiError(404, f"lead: no lead with this {key} in the workspace", field="lead")
    return lead


async def _recorded(scope: Scope, lead_id: int, event_id: str) -> LeadEvent | None:
    query = scope.select(LeadEvent).where(
        LeadEvent.lead_id == lead_id,
        LeadEvent.type == TIMELINE_TYPE,
        col(LeadEvent.data)["event_id"].astext == event_id,
    )
    return (await scope.session.exec(query.order_by(col(LeadEvent.id)).limit(1))).first()


def _answer(row: LeadEvent) -> EventAccepted:
    return EventAccepted(
        event_id=row.data.get("journey_event_id") or lead_event_id(row.id or 0),
        journeys=[DispatchedJourney.model_validate(item) for item in row.data.get("journeys", [])],
    )
