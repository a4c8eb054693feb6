"""Imports every table so SQLModel.metadata is complete (Alembic and tests rely on it)."""

from sqlmodel import SQLModel

from models.audit import AuditEntry
from models.automations import Automation, AutomationVersion, Journey, JourneyAction, JourneyStepRow
from models.campaigns import Campaign, CampaignRun, RunAudience
from models.deliveries import Delivery
from models.events import Event
from models.imports import ImportKey, ImportMapping, ImportRejection, LeadExport, LeadImport, SuppressionEntry
from models.leads import CustomFieldDefinition, Lead, LeadEvent
from models.lists import LeadList, ListMember, ListSnapshot
from models.media import MediaAsset, MediaUsage
from models.outbox import OutboxMessage
from models.reports import ReportDefinition, ReportRun
from models.secrets import WorkspaceSecret
from models.templates import BrandGuidelines, ContentBlock, Template, TemplateFolder, TemplateVersion
from models.workspaces import ApiKey, LoginFailure, LoginSession, Membership, User, Workspace

metadata = SQLModel.metadata

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Automation",
    "AutomationVersion",
    "BrandGuidelines",
    "Campaign",
    "CampaignRun",
    "ContentBlock",
    "CustomFieldDefinition",
    "Delivery",
    "Event",
    "ImportKey",
    "ImportMapping",
    "ImportRejection",
    "Journey",
    "JourneyAction",
    "JourneyStepRow",
    "Lead",
    "LeadEvent",
    "LeadExport",
    "LeadImport",
    "LeadList",
    "ListMember",
    "ListSnapshot",
    "LoginFailure",
    "LoginSession",
    "MediaAsset",
    "MediaUsage",
    "Membership",
    "OutboxMessage",
    "ReportDefinition",
    "ReportRun",
    "RunAudience",
    "SuppressionEntry",
    "Template",
    "TemplateFolder",
    "TemplateVersion",
    "User",
    "Workspace",
    "WorkspaceSecret",
    "metadata",
]
