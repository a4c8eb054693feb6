"""Request and response bodies of the workspace secrets API (api/routes/secrets.py): names and dates out, values
only in."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.secrets import MAX_SECRET_VALUE


class SecretOut(BaseModel):
    """A secret as the API shows it: never its value."""

    name: str
    created_at: datetime
    updated_at: datetime = Field(description="When the value was last set")
    last_used_at: datetime | None = Field(description="When a journey's webhook last sent it (null: never)")
    created_by_email: str | None


class SecretValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(
        min_length=1,
        max_length=MAX_SECRET_VALUE,
        repr=False,
        description="Sent as the webhook's `Authorization` header exactly as given, e.g. `Bearer xyz` or "
        "`Basic dXNlcjpwYXNz`: printable ASCII on one line. Write-only: never returned.",
        json_schema_extra={"writeOnly": True},
    )

    @field_validator("value")
    @classmethod
    def _header_safe(cls, value: str) -> str:
        # An HTTP header value: no line break may smuggle another header, and the client sends ASCII.
        if not all(" " <= char <= "~" for char in value):
            raise ValueError("printable ASCII characters on one line only (it is sent as an HTTP header)")
        return value
