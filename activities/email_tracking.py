"""Tracking applied to a rendered campaign email, for one delivery (docs/tracking.md).

Shared by the flow engine and the legacy single-step engine. Test sends and previews never come here: their links
and images stay as the template has them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from temporalio.exceptions import ApplicationError

from core.settings import Settings
from core.tracking_links import click_url_maker, open_pixel_url
from domain.rendering import RenderedMessage
from domain.tracking import add_open_pixel, add_utm, track_links, track_text_links, untracked_urls
from models.payloads.campaign_tracking import CampaignTracking


def parse_tracking(data: Any) -> CampaignTracking:
    """A campaign's stored `tracking` (the defaults when absent); a malformed one fails the activity for good."""
    try:
        return CampaignTracking.model_validate(data or {})
    except ValueError as exc:
        raise ApplicationError(
            f"the campaign's tracking settings are invalid: {exc}", type="ConfigurationError", non_retryable=True
        ) from exc


def track_email(
    rendered: RenderedMessage,
    settings: Settings,
    delivery_id: int,
    tracking: CampaignTracking,
    *,
    unsubscribe_url: str,
) -> RenderedMessage:
    """Links through click redirects (with the UTM parameters), the open pixel at the end of the HTML; the
    unsubscribe link and `data-no-track` links are left as they are."""
    html, text = rendered.html, rendered.text
    utm = tracking.utm
    if tracking.clicks or utm is not None:
        click_url = click_url_maker(settings, delivery_id)
        done: dict[str, str] = {}  # a link is usually in both parts

        def destination(url: str) -> str:
            if url not in done:
                target = add_utm(url, utm.source, utm.medium, utm.campaign) if utm is not None else url
                done[url] = click_url(target) if tracking.clicks else target
            return done[url]

        skip = {unsubscribe_url}
        text = track_text_links(text, destination, skip=skip | untracked_urls(html))
        html = track_links(html, destination, skip=skip)
    if tracking.opens and html:
        html = add_open_pixel(html, open_pixel_url(settings, delivery_id))
    return replace(rendered, html=html, text=text)
