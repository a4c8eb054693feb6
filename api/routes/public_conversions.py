"""The conversion snippet for landing pages: `GET /public/conversions/snippet.js` and the `POST /public/conversions`
it sends (docs/tracking.md, "Conversions").

A click redirect adds `hc=<delivery>.<sig>` to its destination (api/routes/public_tracking.py). The snippet keeps
that token in a first-party cookie (30 days) and, on `herald.convert({value, currency, name, id})`, posts it back
with the conversion. The body is JSON sent as `text/plain` (a CORS "simple" request: no preflight), so any site can
call it; what it grants is bounded by the token: a conversion of that one delivery, credited to it (share 1).
Anything not signed by us, or a delivery deleted since, is a 404 and records nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy import text

from api.context import guard
from api.conversion_service import ConversionInput, conversion_out, record_conversion
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError, field_path
from api.request_body import read_json_body
from api.schemas_conversions import ConversionOut, PublicConversionIn
from core.tracking_links import parse_conversion_token
from domain.attribution import Touch
from domain.permissions import PUBLIC

router = APIRouter(prefix="/public/conversions", tags=["public"])
ACTOR = "conversion snippet"
MAX_BODY_BYTES = 4096
CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
DELIVERY_SQL = text(
    "SELECT d.id AS delivery_id, d.workspace_id, d.lead_id, r.campaign_id, d.run_id, d.step, d.variant, d.channel "
    "FROM deliveries d JOIN campaign_runs r ON r.id = d.run_id WHERE d.id = :id"
)
SNIPPET = """/* Herald conversion snippet: herald.convert({value: 49.9, currency: "EUR", name: "order", id: "A-1"}) */
(function (w, d) {
  var endpoint = %(endpoint)s, name = "herald_hc", days = 30;
  var found = /[?&]hc=([^&#]*)/.exec(w.location.search), token = null;
  if (found) {
    token = decodeURIComponent(found[1]);
    d.cookie = name + "=" + encodeURIComponent(token) + "; Max-Age=" + days * 86400 + "; Path=/; SameSite=Lax" +
      (w.location.protocol === "https:" ? "; Secure" : "");
  } else {
    found = new RegExp("(?:^|; )" + name + "=([^;]*)").exec(d.cookie);
    token = found ? decodeURIComponent(found[1]) : null;
  }
  var herald = w.herald = w.herald || {};
  herald.token = token;
  herald.convert = function (options) {
    options = options || {};
    if (!token) return Promise.resolve(false);
    var body = JSON.stringify({token: token, value: options.value, currency: options.currency, name: options.name,
                               id: options.id});
    if (!w.fetch) {
      if (w.navigator.sendBeacon) return Promise.resolve(w.navigator.sendBeacon(endpoint, body));
      return Promise.resolve(false);
    }
    return w.fetch(endpoint, {method: "POST", mode: "cors", credentials: "omit", keepalive: true,
                              headers: {"Content-Type": "text/plain"}, body: body})
      .then(function (response) { return response.ok; }, function () { return false; });
  };
})(window, document);
"""


@router.get(
    "/snippet.js",
    response_class=Response,
    responses={200: {"content": {"application/javascript": {}}, "description": "The conversion snippet"}},
    **guard(PUBLIC),
)
async def snippet(settings: SettingsDep) -> Response:
    """The script a landing page includes; it defines `herald.convert({value, currency, name, id})`."""
    endpoint = json.dumps(f"{settings.public_url.rstrip('/')}/public/conversions")
    return Response(
        SNIPPET % {"endpoint": endpoint},
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"},
    )


@router.post(
    "",
    response_model=ConversionOut,
    status_code=201,
    openapi_extra={
        "x-permission": PUBLIC,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": PublicConversionIn.model_json_schema()},
                "text/plain": {"schema": {"type": "string", "description": "The same JSON, as text/plain"}},
            },
        },
    },
)
async def record_public(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """A conversion from the snippet, credited to the delivery of the token (`hc`); JSON as `application/json` or
    `text/plain`. 201, or 200 with `duplicate: true` for an `id` recorded before."""
    body = await _body(request)
    delivery_id = parse_conversion_token(settings, body.token)
    if delivery_id is None:
        raise ApiError(404, "token: not a conversion token of this Herald", field="token")
    delivery = (await session.execute(DELIVERY_SQL, {"id": delivery_id})).one_or_none()
    if delivery is None:
        raise ApiError(404, "token: the message it came from no longer exists", field="token")
    now = datetime.now(UTC)
    conversion = ConversionInput(
        workspace_id=delivery.workspace_id,
        lead_id=delivery.lead_id,
        occurred_at=now,
        value=None if body.value is None else Decimal(str(body.value)),
        currency=body.currency,
        name=body.name,
        source="snippet",
        dedupe=None if body.id is None else f"conversion:{body.id}",
    )
    touch = Touch(
        delivery.delivery_id,
        delivery.campaign_id,
        delivery.run_id,
        delivery.step,
        delivery.variant,
        now,
        delivery.channel,
    )
    recorded = await record_conversion(session, conversion, ACTOR, touches=[touch])
    await session.commit()
    out = conversion_out(delivery.lead_id, recorded)
    return Response(
        out.model_dump_json(),
        status_code=200 if recorded.duplicate else 201,
        media_type="application/json",
        headers=CORS,
    )


async def _body(request: Request) -> PublicConversionIn:
    data = await read_json_body(request, MAX_BODY_BYTES)
    if not isinstance(data, dict):
        raise ApiError(422, "body: a JSON object", field="body")
    try:
        return PublicConversionIn.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = field_path(error["loc"])
        raise ApiError(422, f"{field}: {error['msg']}", field=field) from None
