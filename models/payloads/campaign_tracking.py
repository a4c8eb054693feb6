"""What a campaign's email tracks (`campaigns.tracking`): the open pixel, click redirects, UTM parameters.

The campaign API validates it (a 422 names `tracking.utm.source`...) and the send engines read it with the run's
context. See docs/tracking.md.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Printable, no control characters; trimmed. Values are percent-encoded when they are added to a link.
UtmValue = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class Utm(BaseModel):
    """Added to every tracked http(s) link that does not have the parameter already."""

    model_config = ConfigDict(extra="forbid")

    source: UtmValue = Field(description="utm_source, e.g. herald")
    medium: UtmValue = Field(description="utm_medium, e.g. email")
    campaign: UtmValue = Field(description="utm_campaign, e.g. november-newsletter")


class CampaignTracking(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opens: bool = Field(default=True, description="Add the open pixel to each email")
    clicks: bool = Field(default=True, description="Send each http(s) link through a click redirect")
    utm: Utm | None = Field(default=None, description="UTM parameters added to the links; null: none")
