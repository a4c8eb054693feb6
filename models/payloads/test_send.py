"""Payloads of TestSendWorkflow: ids and addresses (the few a person typed), never rendered content."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TestSendInput(BaseModel):
    __test__ = False  # not a pytest class

    workspace_id: int
    template_id: int
    version: int = Field(description="The version number to send")
    to: list[str] = Field(min_length=1, max_length=5)
    lead_id: int | None = Field(default=None, description="Whose data fills the tokens; None: a sample lead")
    test_id: str = Field(description="The workflow id; makes each message's Message-ID unique")


class TestSendRecipient(BaseModel):
    to: str
    ok: bool
    message_id: str | None = None
    error: str | None = None


class TestSendResult(BaseModel):
    __test__ = False

    results: list[TestSendRecipient]
