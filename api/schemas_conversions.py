"""The shapes of conversions: `POST /api/conversions` and the snippet's `POST /public/conversions`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from domain.attribution import Model

MAX_VALUE = 1e12
ID_PATTERN = r"^[^\x00-\x1f\x7f]{1,200}$"
CURRENCY_PATTERN = r"^[A-Za-z]{3}$"


class ConversionFields(BaseModel):
    """What both the API and the snippet may say about a conversion."""

    model_config = ConfigDict(extra="forbid")

    value: float | None = Field(None, ge=0, le=MAX_VALUE, description="The conversion's value, kept to the cent")
    currency: str | None = Field(None, pattern=CURRENCY_PATTERN, description="ISO 4217 code, e.g. EUR")
    name: str | None = Field(None, min_length=1, max_length=120, description="What converted, e.g. signup, order")
    id: str | None = Field(
        None, pattern=ID_PATTERN, description="Your id of the conversion (an order number): a repeat counts once"
    )

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value


class ConversionIn(ConversionFields):
    """One conversion of a lead: give exactly one of lead_id, email, external_id."""

    lead_id: int | None = Field(None, gt=0)
    email: EmailStr | None = None
    external_id: str | None = Field(None, min_length=1, max_length=200)
    occurred_at: datetime | None = Field(
        None, description="When it happened (default now; UTC when no offset); at most 5 minutes in the future"
    )
    model: Model = Field("last_touch", description="Attribution model: last_touch, first_touch or linear")
    window_days: int = Field(30, ge=1, le=365, description="Clicks at most this many days before count")


class PublicConversionIn(ConversionFields):
    """From the conversion snippet: the `hc` token of the click that brought the visitor."""

    token: str = Field(min_length=3, max_length=100)


class CreditOut(BaseModel):
    delivery_id: int | None
    campaign_id: int | None
    run_id: int | None
    step: int | None
    variant: str | None
    share: float = Field(description="The touch's part of the conversion (1 for last and first touch)")
    value: str | None = Field(description="The touch's part of the value, a decimal string (parts add up)")


class ConversionOut(BaseModel):
    conversion_id: str
    duplicate: bool = Field(description="True when this id was recorded before: nothing new was written")
    lead_id: int
    occurred_at: datetime
    value: str | None = Field(description="The whole value, a decimal string to the cent")
    credits: list[CreditOut] = Field(description="The credited touches; empty for an unattributed conversion")
