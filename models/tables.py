"""Imports every table so SQLModel.metadata is complete (Alembic and tests rely on it)."""

from sqlmodel import SQLModel

from models.campaigns import Campaign, CampaignRun, RunAudience
from models.deliveries import Delivery
from models.leads import Lead
from models.lists import LeadList, ListMember
from models.outbox import OutboxMessage
from models.templates import Template

metadata = SQLModel.metadata

__all__ = [
    "Campaign",
    "CampaignRun",
    "Delivery",
    "Lead",
    "LeadList",
    "ListMember",
    "OutboxMessage",
    "RunAudience",
    "Template",
    "metadata",
]
