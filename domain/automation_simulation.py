"""The simulator's pure parts (#10): the trigger event a simulated lead enters with, and the results' per-node counts
and totals from the simulated paths. The journeys themselves run the real JourneyWorkflow (see
activities/simulation_activities.py), so a simulation takes the very decisions a live run would."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.automation_graph import matches_trigger, node_by_id, trigger_nodes
from models.payloads.automation import (
    AddedToListNode,
    AutomationGraph,
    CampaignInteractionNode,
    CustomFieldChangedNode,
    ExternalEventNode,
    JourneyEvent,
    LeadCreatedNode,
    LeadStatusChangedNode,
    Node,
    SimulatedEngagement,
    TagAddedNode,
)
from models.payloads.simulation import ASSUMED, NodeCount, SimulatedLead

_ASSUMED_ENGAGEMENT: dict[str, tuple[str, ...]] = {"none": (), "opens": ("opened",), "clicks": ("opened", "clicked")}
_ASSUMED_TEXT = {
    "none": ASSUMED,
    "opens": "every lead opens each message the moment it is sent (and clicks none); no other event arrives",
    "clicks": "every lead opens and clicks each message the moment it is sent; no other event arrives",
}


class NoTrigger(ValueError):
    """The graph has no trigger of that id (or no trigger at all)."""


def simulated_trigger(graph: AutomationGraph, trigger_node: str | None = None) -> Node:
    """The trigger a simulation enters its leads at: the one named, else the graph's first."""
    if trigger_node is not None:
        node = node_by_id(graph, trigger_node)
        if node is None or node.category != "trigger":
            raise NoTrigger(f"'{trigger_node}' is not a trigger of this automation")
        return node
    triggers = trigger_nodes(graph)
    if not triggers:
        raise NoTrigger("the automation has no trigger")
    return triggers[0]


def simulated_event(
    node: Node, *, lead_id: int, event_id: str, lead_status: str | None = None, field_value: Any = None
) -> JourneyEvent:
    """An event that fires this trigger for the lead (`matches_trigger` holds), as the dispatcher would pass it.

    A status trigger from any status comes from the lead's current status (when it differs); a field trigger on any
    change carries the lead's current value; Schedules (date and recurring triggers) send `scheduled`."""
    base: dict[str, Any] = {"event_id": event_id, "lead_id": lead_id}
    if isinstance(node, LeadStatusChangedNode):
        config = node.config
        source = config.from_status or (lead_status if lead_status != config.to_status else None)
        event = JourneyEvent(kind="status_changed", from_status=source, to_status=config.to_status, **base)
    elif isinstance(node, LeadCreatedNode):
        sources = node.config.sources
        event = JourneyEvent(kind="lead_created", source=sources[0] if sources else "api", **base)
    elif isinstance(node, AddedToListNode):
        event = JourneyEvent(kind="added_to_list", list_id=node.config.list_id, **base)
    elif isinstance(node, TagAddedNode):
        event = JourneyEvent(kind="tag_added", tags=(node.config.tag,), **base)
    elif isinstance(node, CustomFieldChangedNode):
        config = node.config
        value = config.to_value if config.to_value is not None else field_value
        event = JourneyEvent(kind="field_changed", field=config.field, value=value, **base)
    elif isinstance(node, ExternalEventNode):
        event = JourneyEvent(kind="external_event", name=node.config.event, data={"simulated": True}, **base)
    elif isinstance(node, CampaignInteractionNode):
        config = node.config
        event = JourneyEvent(
            kind="campaign_interaction", interaction=config.interaction, campaign_id=config.campaign_id, **base
        )
    elif node.category == "trigger":  # date_field, recurring_schedule: their Schedule fires
        event = JourneyEvent(kind="scheduled", node_id=node.id, **base)
    else:
        raise NoTrigger(f"'{node.id}' is not a trigger")
    assert matches_trigger(node, event), f"the simulated event does not fire {node.type}"
    return event


def node_counts(leads: Iterable[SimulatedLead]) -> dict[str, NodeCount]:
    """Per node: the steps taken there (per outcome), the journeys that ended there, those still waiting there."""
    counts: dict[str, NodeCount] = {}
    for lead in leads:
        for step in lead.path:
            count = counts.setdefault(step.node_id, NodeCount())
            count.passed += 1
            outcome = step.outcome or step.end or "end"
            count.outcomes[outcome] = count.outcomes.get(outcome, 0) + 1
        if lead.end == "unfinished" and lead.waiting_at is not None:
            counts.setdefault(lead.waiting_at, NodeCount()).waiting += 1
        elif lead.entered and lead.path:
            counts.setdefault(lead.path[-1].node_id, NodeCount()).ended += 1
    return counts


def totals(leads: Iterable[SimulatedLead]) -> dict[str, int]:
    found = {"leads": 0, "entered": 0}
    for lead in leads:
        found["leads"] += 1
        found["entered"] += int(lead.entered)
        found[lead.end] = found.get(lead.end, 0) + 1
    return found


def assumed_engagement(engagement: SimulatedEngagement) -> tuple[str, ...]:
    """What a simulated lead does with each message sent to it, at once: ("opened",), ("opened", "clicked") or
    nothing. The journey counts these as that message's events (waits for them end, engagement conditions see
    them) without any signal: the test server's clock skips ahead of anything sent from outside."""
    return _ASSUMED_ENGAGEMENT[engagement]


def assumed_world(engagement: SimulatedEngagement) -> str:
    """What the results say the simulation assumed."""
    return _ASSUMED_TEXT[engagement]


def engagement_of(selection: dict[str, Any]) -> SimulatedEngagement:
    """The engagement a simulation's stored selection assumes (none when it says nothing, or something unknown)."""
    found = selection.get("engagement")
    return found if found in _ASSUMED_ENGAGEMENT else "none"  # type: ignore[return-value]
