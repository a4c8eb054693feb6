"""The lead filter engine against real PostgreSQL: every operator, groups, validation, limits, injection, scoping."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql

from domain.filters import (
    FilterContext,
    FilterError,
    FilterGroup,
    compile_filter,
    field_catalogue,
    parse_filter,
    reachable,
)
from models.campaigns import CampaignRun
from models.deliveries import Delivery
from models.leads import Lead
from models.lists import LeadList, ListMember
from tests.conftest import Tenant, make_tenant
from tests.factories import make_campaign, make_leads

NOW = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
CUSTOM = {"plan": "choice", "seats": "number", "renewal": "date", "trial": "boolean", "note": "text"}
PLANS = ["free", "pro", "enterprise"]
ALL = {"Ann", "Bob", "Cy", "Dee", "Eve", "Fay"}


def context(workspace_id: int, **overrides: Any) -> FilterContext:
    values: dict[str, Any] = {"custom_fields": CUSTOM, "custom_choices": {"plan": PLANS}, "now": NOW}
    return FilterContext(workspace_id=workspace_id, **{**values, **overrides})


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def one(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"combinator": "and", "rules": [{"field": field, "operator": operator, "value": value}]}


def people_rows(admin_id: int) -> list[dict[str, Any]]:
    """Six leads with distinct values; custom fields include wrong JSON types and impossible dates on purpose."""
    return [
        dict(
            first_name="Ann",
            last_name="Smith",
            email="ann@example.com",
            phone="+33611111111",
            company="Acme",
            job_title="CEO",
            source="web",
            timezone="Europe/Paris",
            locale="fr",
            country="FR",
            external_id="ext-1",
            score=10,
            status="new",
            tags=["vip", "b2b"],
            consent_email="granted",
            consent_sms="granted",
            created_at=at("2024-06-28T10:00:00+00:00"),
            updated_at=at("2024-06-30T10:00:00+00:00"),
            custom_fields={"plan": "pro", "seats": 10, "renewal": "2024-06-15", "trial": True, "note": "hello world"},
        ),
        dict(
            first_name="Bob",
            last_name="Jones",
            email="bob@test.org",
            company="Globex",
            job_title="CTO",
            source="import",
            country="US",
            score=50,
            status="contacted",
            tags=["b2b"],
            consent_email="denied",
            consent_sms="granted",  # but no phone
            created_at=at("2024-05-15T00:00:00+00:00"),
            updated_at=at("2024-05-15T00:00:00+00:00"),
            custom_fields={"plan": "free", "seats": "12", "renewal": 20240101, "trial": "true", "note": 42},
        ),
        dict(
            first_name="Cy",
            last_name="",
            phone="+14155550000",
            score=0,
            status="won",
            consent_sms="granted",
            suppressed_sms="bounced",
            created_at=at("2023-12-31T23:30:00+00:00"),
            updated_at=at("2023-12-31T23:30:00+00:00"),
            custom_fields={"plan": 5, "seats": 3.5, "renewal": "2023-02-30", "trial": False, "note": ""},
        ),
        dict(
            first_name="Dee",
            last_name="O'Hara",
            email="dee@example.com",
            phone="+447700900000",
            company="x' OR 1=1 --",
            score=-5,
            status="lost",
            tags=["vip"],
            consent_email="granted",
            consent_whatsapp="granted",
            suppressed_email="unsubscribed",
            created_at=at("2024-01-01T00:00:00+00:00"),
            updated_at=at("2024-01-01T00:00:00+00:00"),
            custom_fields={"renewal": "2025-01-01"},
        ),
        dict(
            first_name="Eve",
            last_name="Smith",
            email="EVE@Example.COM",
            company="50% off",
            job_title="a_b",
            source="back\\slash",
            country="DE",
            score=100,
            owner_id=admin_id,
            status="qualified",
            tags=["vip", "b2b", "x"],
            consent_email="granted",
            consent_whatsapp="granted",  # but no phone
            created_at=at("2024-06-30T23:00:00+00:00"),
            updated_at=at("2024-06-30T23:00:00+00:00"),
            custom_fields={"plan": "enterprise", "seats": None, "renewal": "2024-13-01", "trial": None, "note": "100%"},
        ),
        dict(
            first_name="Fay",
            last_name="Lee",
            email="fay@example.com",
            phone="",
            company="Acme Corp",
            score=20,
            status="new",
            consent_sms="granted",  # but an empty phone
            created_at=at("2024-07-01T11:00:00+00:00"),
            updated_at=at("2024-07-01T11:00:00+00:00"),
            custom_fields={"plan": "free", "seats": 20, "renewal": "2024-07-01T09:00:00Z", "trial": 1, "note": "a_b"},
        ),
    ]


@pytest.fixture
async def people(db, tenant: Tenant) -> Tenant:
    async with db() as session:
        session.add_all([Lead(workspace_id=tenant.workspace_id, **row) for row in people_rows(tenant.admin_id)])
        await session.commit()
    return tenant


async def matching(db, workspace_id: int, tree: Any, ctx: FilterContext | None = None) -> set[str]:
    condition = compile_filter(parse_filter(tree), ctx or context(workspace_id))
    async with db() as session:
        rows = await session.execute(select(Lead.first_name).where(Lead.workspace_id == workspace_id, condition))
        return set(rows.scalars())


OPERATOR_CASES = [
    # text
    ("email", "=", "ANN@example.com", {"Ann"}),
    ("email", "=", "eve@example.com", {"Eve"}),
    ("email", "!=", "ann@example.com", ALL - {"Ann"}),
    ("email", "contains", "example", {"Ann", "Dee", "Eve", "Fay"}),
    ("email", "doesNotContain", "example", {"Bob", "Cy"}),
    ("email", "beginsWith", "B", {"Bob"}),
    ("email", "endsWith", ".org", {"Bob"}),
    ("email", "in", ["BOB@test.org", "dee@example.com"], {"Bob", "Dee"}),
    ("email", "notIn", ["BOB@test.org", "dee@example.com"], {"Ann", "Cy", "Eve", "Fay"}),
    ("email", "null", None, {"Cy"}),
    ("email", "notNull", None, ALL - {"Cy"}),
    ("last_name", "null", "", {"Cy"}),
    ("last_name", "=", "o'hara", {"Dee"}),
    ("phone", "beginsWith", "+44", {"Dee"}),
    ("phone", "null", None, {"Bob", "Eve", "Fay"}),
    ("company", "contains", "acme", {"Ann", "Fay"}),
    ("company", "null", None, {"Cy"}),
    ("job_title", "endsWith", "o", {"Ann", "Bob"}),
    ("job_title", "beginsWith", "ct", {"Bob"}),
    ("source", "=", "WEB", {"Ann"}),
    ("timezone", "=", "europe/paris", {"Ann"}),
    ("locale", "notNull", None, {"Ann"}),
    ("country", "=", "fr", {"Ann"}),
    ("country", "in", ["us", "DE"], {"Bob", "Eve"}),
    ("country", "notIn", ["us", "DE"], {"Ann", "Cy", "Dee", "Fay"}),
    ("country", "null", None, {"Cy", "Dee", "Fay"}),
    ("external_id", "=", "EXT-1", {"Ann"}),
    ("external_id", "null", None, ALL - {"Ann"}),
    ("custom.note", "=", "42", {"Bob"}),
    ("custom.note", "contains", "o", {"Ann"}),
    ("custom.note", "doesNotContain", "o", {"Bob", "Cy", "Dee", "Eve", "Fay"}),
    ("custom.note", "endsWith", "%", {"Eve"}),
    ("custom.note", "in", ["HELLO WORLD", "a_b"], {"Ann", "Fay"}),
    ("custom.note", "null", None, {"Cy", "Dee"}),
    ("custom.note", "notNull", None, {"Ann", "Bob", "Eve", "Fay"}),
    # number
    ("score", "=", 10, {"Ann"}),
    ("score", "=", 10.0, {"Ann"}),
    ("score", "!=", 10, ALL - {"Ann"}),
    ("score", "<", 0, {"Dee"}),
    ("score", "<=", 0, {"Cy", "Dee"}),
    ("score", ">", 20, {"Bob", "Eve"}),
    ("score", ">=", 20, {"Bob", "Eve", "Fay"}),
    ("score", ">", 9.5, {"Ann", "Bob", "Eve", "Fay"}),
    ("score", "between", [0, 20], {"Ann", "Cy", "Fay"}),
    ("score", "notBetween", [0, 20], {"Bob", "Dee", "Eve"}),
    ("score", "null", None, set()),
    ("score", "notNull", None, ALL),
    ("owner_id", "null", None, ALL - {"Eve"}),
    ("owner_id", "notNull", None, {"Eve"}),
    ("custom.seats", "=", 3.5, {"Cy"}),
    ("custom.seats", "!=", 10, ALL - {"Ann"}),
    ("custom.seats", ">", 5, {"Ann", "Fay"}),  # Bob's "12" is a string, not a number
    ("custom.seats", "<", 5, {"Cy"}),
    ("custom.seats", ">=", 10, {"Ann", "Fay"}),
    ("custom.seats", "<=", 10, {"Ann", "Cy"}),
    ("custom.seats", "between", [3.5, 10], {"Ann", "Cy"}),
    ("custom.seats", "notBetween", [3.5, 10], {"Bob", "Dee", "Eve", "Fay"}),
    ("custom.seats", "null", None, {"Bob", "Dee", "Eve"}),
    ("custom.seats", "notNull", None, {"Ann", "Cy", "Fay"}),
    # date: timestamps (date-only values are whole days in ctx.now's timezone, here UTC)
    ("created_at", "<", "2024-01-01", {"Cy"}),
    ("created_at", "<", "2024-01-01T01:00:00+01:00", {"Cy"}),
    ("created_at", ">", "2024-06-30", {"Fay"}),
    ("created_at", ">", "2024-06-30T22:00:00Z", {"Eve", "Fay"}),
    ("created_at", "between", ["2024-01-01", "2024-06-30"], {"Ann", "Bob", "Dee", "Eve"}),
    ("created_at", "between", ["2024-01-01T00:00:01Z", "2024-06-28T10:00:00Z"], {"Ann", "Bob"}),
    ("created_at", "null", None, set()),
    ("created_at", "notNull", None, ALL),
    ("updated_at", ">", "2024-06-29", {"Ann", "Eve", "Fay"}),
    # date: custom (stored "YYYY-MM-DD..." strings; numbers and impossible dates count as missing)
    ("custom.renewal", "<", "2024-07-01", {"Ann"}),
    ("custom.renewal", ">", "2024-06-30", {"Dee", "Fay"}),
    ("custom.renewal", ">", "2024-06-30T23:30:00-02:00", {"Dee"}),  # that is July 1st in UTC
    ("custom.renewal", "between", ["2024-06-15", "2024-07-01"], {"Ann", "Fay"}),
    ("custom.renewal", "null", None, {"Bob", "Cy", "Eve"}),
    ("custom.renewal", "notNull", None, {"Ann", "Dee", "Fay"}),
    # boolean (custom only; "true" as a string and 1 as a number are not booleans)
    ("custom.trial", "=", True, {"Ann"}),
    ("custom.trial", "=", False, {"Cy"}),
    ("custom.trial", "null", None, {"Bob", "Dee", "Eve", "Fay"}),
    ("custom.trial", "notNull", None, {"Ann", "Cy"}),
    # choice
    ("status", "=", "new", {"Ann", "Fay"}),
    ("status", "!=", "new", {"Bob", "Cy", "Dee", "Eve"}),
    ("status", "in", ["won", "lost"], {"Cy", "Dee"}),
    ("status", "notIn", ["won", "lost"], {"Ann", "Bob", "Eve", "Fay"}),
    ("status", "null", None, set()),
    ("status", "notNull", None, ALL),
    ("consent.email", "=", "granted", {"Ann", "Dee", "Eve"}),
    ("consent.email", "in", ["denied", "unknown"], {"Bob", "Cy", "Fay"}),
    ("consent.sms", "!=", "granted", {"Dee", "Eve"}),
    ("consent.whatsapp", "=", "granted", {"Dee", "Eve"}),
    ("suppressed.email", "=", "unsubscribed", {"Dee"}),
    ("suppressed.email", "!=", "bounced", ALL),
    ("suppressed.email", "null", None, ALL - {"Dee"}),
    ("suppressed.sms", "notNull", None, {"Cy"}),
    ("suppressed.sms", "notIn", ["bounced"], ALL - {"Cy"}),
    ("suppressed.whatsapp", "null", None, ALL),
    ("custom.plan", "=", "free", {"Bob", "Fay"}),
    ("custom.plan", "!=", "free", {"Ann", "Cy", "Dee", "Eve"}),
    ("custom.plan", "in", ["pro", "enterprise"], {"Ann", "Eve"}),
    ("custom.plan", "notIn", ["pro", "enterprise"], {"Bob", "Cy", "Dee", "Fay"}),
    ("custom.plan", "null", None, {"Dee"}),
    # tags
    ("tags", "containsAny", ["vip"], {"Ann", "Dee", "Eve"}),
    ("tags", "containsAny", ["x", "b2b"], {"Ann", "Bob", "Eve"}),
    ("tags", "containsAny", ["VIP"], set()),
    ("tags", "containsAll", ["b2b", "vip"], {"Ann", "Eve"}),
    ("tags", "doesNotContainAny", ["vip"], {"Bob", "Cy", "Fay"}),
    ("tags", "null", None, {"Cy", "Fay"}),
    ("tags", "notNull", None, {"Ann", "Bob", "Dee", "Eve"}),
]


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"), OPERATOR_CASES, ids=[f"{c[0]} {c[1]} {c[2]!r}" for c in OPERATOR_CASES]
)
async def test_operator(db, people, field, operator, value, expected):
    assert await matching(db, people.workspace_id, one(field, operator, value)) == expected


async def test_owner_id_compares_numbers(db, people):
    ws, admin = people.workspace_id, people.admin_id
    assert await matching(db, ws, one("owner_id", "=", admin)) == {"Eve"}
    assert await matching(db, ws, one("owner_id", "!=", admin)) == ALL - {"Eve"}  # unowned leads included
    assert await matching(db, ws, one("owner_id", "between", [admin, admin + 1])) == {"Eve"}


RELATIVE_CASES = [  # ctx.now = 2024-07-01 12:00 UTC; months are 30 days
    ("created_at", "inLast", 3, "days", {"Eve", "Fay"}),  # Ann was 3 days and 2 hours ago
    ("created_at", "inLast", 1, "weeks", {"Ann", "Eve", "Fay"}),
    ("created_at", "inLast", 2, "months", {"Ann", "Bob", "Eve", "Fay"}),
    ("created_at", "moreThanAgo", 2, "months", {"Cy", "Dee"}),
    ("created_at", "moreThanAgo", 182, "days", {"Cy", "Dee"}),  # cutoff 2024-01-01 12:00
    ("created_at", "moreThanAgo", 183, "days", set()),  # cutoff 2023-12-31 12:00
    ("custom.renewal", "inLast", 30, "days", {"Ann", "Fay"}),  # Dee's is in the future
    ("custom.renewal", "inLast", 2, "weeks", {"Fay"}),
    ("custom.renewal", "moreThanAgo", 1, "weeks", {"Ann"}),
]


@pytest.mark.parametrize(("field", "operator", "amount", "unit", "expected"), RELATIVE_CASES)
async def test_relative_dates(db, people, field, operator, amount, unit, expected):
    tree = one(field, operator, {"amount": amount, "unit": unit})
    assert await matching(db, people.workspace_id, tree) == expected


async def test_relative_dates_follow_ctx_now(db, people):
    later = context(people.workspace_id, now=NOW + timedelta(days=365))
    assert (
        await matching(db, people.workspace_id, one("created_at", "inLast", {"amount": 3, "unit": "days"}), later)
        == set()
    )
    assert (
        await matching(db, people.workspace_id, one("created_at", "moreThanAgo", {"amount": 1, "unit": "days"}), later)
        == ALL
    )


async def test_dates_are_read_in_the_timezone_of_ctx_now(db, people):
    paris = context(people.workspace_id, now=NOW.astimezone(ZoneInfo("Europe/Paris")))
    # After June 30 in Paris = from 2024-06-30 22:00 UTC: Eve (23:00 UTC) is in, unlike in UTC.
    assert await matching(db, people.workspace_id, one("created_at", ">", "2024-06-30"), paris) == {"Eve", "Fay"}
    assert await matching(db, people.workspace_id, one("created_at", "<", "2024-01-01"), paris) == set()
    naive = one("created_at", "<", "2024-01-01T00:30:00")  # 2023-12-31 23:30 UTC in Paris, Cy is not before
    assert await matching(db, people.workspace_id, naive, paris) == set()


async def test_groups(db, people):
    ws = people.workspace_id
    score_or_won = {
        "combinator": "or",
        "rules": [
            {"field": "score", "operator": ">", "value": 50},
            {"field": "status", "operator": "=", "value": "won"},
        ],
    }
    assert await matching(db, ws, score_or_won) == {"Eve", "Cy"}
    nested = {
        "combinator": "and",
        "rules": [
            {"field": "status", "operator": "in", "value": ["new", "qualified"]},
            {
                "combinator": "or",
                "rules": [
                    {"field": "tags", "operator": "containsAny", "value": ["x"]},
                    {"field": "country", "operator": "=", "value": "FR"},
                ],
            },
        ],
    }
    assert await matching(db, ws, nested) == {"Ann", "Eve"}
    assert await matching(db, ws, {**nested, "not": True}) == ALL - {"Ann", "Eve"}
    inner_not = {
        "combinator": "and",
        "rules": [{"field": "status", "operator": "=", "value": "new"}, {**score_or_won, "not": True}],
    }
    assert await matching(db, ws, inner_not) == {"Ann", "Fay"}


async def test_not_groups_are_exact_complements_even_with_missing_values(db, people):
    ws = people.workspace_id
    for rule in (
        {"field": "email", "operator": "contains", "value": "example"},  # Cy has no email
        {"field": "custom.seats", "operator": ">", "value": 5},  # missing and wrongly typed values
        {"field": "custom.renewal", "operator": "<", "value": "2024-07-01"},
        {"field": "custom.trial", "operator": "=", "value": True},
        {"field": "suppressed.email", "operator": "in", "value": ["unsubscribed"]},
    ):
        positive = await matching(db, ws, {"combinator": "and", "rules": [rule]})
        negative = await matching(db, ws, {"combinator": "and", "not": True, "rules": [rule]})
        assert positive | negative == ALL and not positive & negative, rule


async def test_empty_groups_match_everything(db, people):
    ws = people.workspace_id
    assert await matching(db, ws, {"combinator": "and", "rules": []}) == ALL
    assert await matching(db, ws, {"combinator": "or", "not": True, "rules": []}) == ALL
    with_empty = {"combinator": "and", "rules": [one("score", ">", 20), {"combinator": "or", "rules": []}]}
    assert await matching(db, ws, with_empty) == {"Bob", "Eve"}


async def test_deepest_allowed_nesting_works(db, people):
    tree: dict[str, Any] = one("first_name", "=", "ann")
    for _ in range(5):  # the root and five nested groups: six levels
        tree = {"combinator": "or", "rules": [tree]}
    assert await matching(db, people.workspace_id, tree) == {"Ann"}


async def test_ui_keys_are_ignored(db, people):
    tree = {
        "id": "root",
        "combinator": "and",
        "not": False,
        "rules": [
            {"id": "r-1", "field": "status", "operator": "=", "valueSource": "value", "value": "won"},
            {"id": "g-1", "combinator": "or", "rules": []},
        ],
    }
    assert await matching(db, people.workspace_id, tree) == {"Cy"}
    parsed = parse_filter(tree)
    assert parsed.model_dump(by_alias=True) == {
        "combinator": "and",
        "not": False,
        "rules": [
            {"field": "status", "operator": "=", "value": "won"},
            {"combinator": "or", "not": False, "rules": []},
        ],
    }
    assert isinstance(FilterGroup.model_validate(tree), FilterGroup)


# --- Injection --------------------------------------------------------------------------------------------------------


async def test_injection_attempts_are_inert(db, people):
    ws = people.workspace_id
    assert await matching(db, ws, one("company", "=", "x' OR 1=1 --")) == {"Dee"}
    assert await matching(db, ws, one("company", "contains", "' OR 1=1 --")) == {"Dee"}
    assert await matching(db, ws, one("email", "=", "x' OR 1=1 --")) == set()
    assert await matching(db, ws, one("last_name", "in", ["' OR ''='", "O'Hara"])) == {"Dee"}
    # LIKE wildcards and the escape character match literally.
    assert await matching(db, ws, one("company", "contains", "%")) == {"Eve"}
    assert await matching(db, ws, one("first_name", "contains", "%")) == set()
    assert await matching(db, ws, one("job_title", "contains", "_")) == {"Eve"}
    assert await matching(db, ws, one("first_name", "beginsWith", "_")) == set()
    assert await matching(db, ws, one("source", "contains", "\\")) == {"Eve"}
    assert await matching(db, ws, one("source", "endsWith", "\\")) == set()
    assert await matching(db, ws, one("custom.note", "contains", "_")) == {"Fay"}
    assert await matching(db, ws, one("tags", "containsAny", ["vip' OR 1=1 --"])) == set()

    for field in ("email; DROP TABLE leads", "custom.a'b", "leads.email", "custom.", "Email"):
        with pytest.raises(FilterError) as caught:
            compile_filter(parse_filter(one(field, "=", "x")), context(ws))
        assert caught.value.path == "rules[0].field"
        assert caught.value.message == f"unknown field {field!r}"

    async with db() as session:
        assert (await session.execute(text("SELECT to_regclass('public.leads') IS NOT NULL"))).scalar_one()
        assert (await session.execute(select(func.count()).select_from(Lead))).scalar_one() == len(ALL)


async def test_custom_field_keys_are_bound_parameters(db, people):
    ws = people.workspace_id
    async with db() as session:
        lead = (await session.execute(select(Lead).where(Lead.first_name == "Ann"))).scalar_one()
        lead.custom_fields = {**lead.custom_fields, "a'b": "quoted"}
        await session.commit()
    ctx = context(ws, custom_fields={**CUSTOM, "a'b": "text"})
    assert await matching(db, ws, one("custom.a'b", "=", "QUOTED"), ctx) == {"Ann"}
    assert await matching(db, ws, one("custom.a'b", "null"), ctx) == ALL - {"Ann"}


def test_user_input_never_reaches_the_sql_text():
    ctx = context(1, custom_fields={**CUSTOM, "k'); DROP TABLE leads; --": "number"})
    tree = {
        "combinator": "or",
        "rules": [
            {"field": "company", "operator": "contains", "value": "zq' OR 1=1 --"},
            {"field": "custom.k'); DROP TABLE leads; --", "operator": ">", "value": 12345},
            {"field": "tags", "operator": "containsAll", "value": ["zqtag"]},
            {"field": "created_at", "operator": "inLast", "value": {"amount": 3, "unit": "days"}},
        ],
    }
    statement = select(Lead.id).where(compile_filter(parse_filter(tree), ctx))
    compiled = statement.compile(dialect=postgresql.asyncpg.dialect())
    sql = str(compiled)
    for fragment in ("zq", "DROP", "12345", "zqtag"):
        assert fragment not in sql
    params = list(compiled.params.values())
    assert "%zq' OR 1=1 --%" in params and "k'); DROP TABLE leads; --" in params


# --- Validation -------------------------------------------------------------------------------------------------------


def rule(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "operator": operator, "value": value}


ERROR_CASES = [
    ([], "", "a group must be an object"),
    ({"rules": []}, "combinator", "is required"),
    ({"combinator": "xor", "rules": []}, "combinator", "must be 'and' or 'or'"),
    ({"combinator": "and", "rules": {}}, "rules", "must be a list"),
    ({"combinator": "and", "not": "yes", "rules": []}, "not", "must be true or false"),
    ({"combinator": "and", "rules": [], "limit": 5}, "limit", "unknown key 'limit'"),
    ({"combinator": "and", "rules": ["email = 'x'"]}, "rules[0]", "must be a rule"),
    ({"combinator": "and", "rules": [{**rule("email", "=", "x"), "extra": 1}]}, "rules[0].extra", "unknown key"),
    ({"combinator": "and", "rules": [{"operator": "=", "value": "x"}]}, "rules[0].field", "is required"),
    ({"combinator": "and", "rules": [rule("email", "", "x")]}, "rules[0].operator", "must be a non-empty string"),
    (
        {"combinator": "and", "rules": [{**rule("email", "=", "score"), "valueSource": "field"}]},
        "rules[0].valueSource",
        "only 'value' is supported",
    ),
    (
        {
            "combinator": "and",
            "rules": [rule("email", "notNull"), {"combinator": "or", "rules": [rule("email", "like", "x")]}],
        },
        "rules[1].rules[0].operator",
        "unknown operator 'like' for field 'email'",
    ),
    (one("nope", "=", "x"), "rules[0].field", "unknown field 'nope'"),
    (one("custom.unknown", "=", "x"), "rules[0].field", "unknown field 'custom.unknown'"),
    (one("tags", "=", "x"), "rules[0].operator", "unknown operator '=' for field 'tags'"),
    (one("list", "null"), "rules[0].operator", "unknown operator 'null'"),
    (one("score", ">", "5"), "rules[0].value", "expects a number"),
    (one("score", ">", True), "rules[0].value", "expects a number"),
    (one("score", "=", None), "rules[0].value", "expects a number"),
    (one("score", "<", 2**70), "rules[0].value", "out of range"),
    (one("score", "between", [1]), "rules[0].value", "expects two values"),
    (one("score", "between", 5), "rules[0].value", "expects two values"),
    (one("score", "between", [1, "a"]), "rules[0].value[1]", "expects a number"),
    (one("score", "between", [9, 1]), "rules[0].value", "low end is greater"),
    (one("email", "=", 5), "rules[0].value", "non-empty string"),
    (one("email", "contains", ""), "rules[0].value", "non-empty string"),
    (one("email", "in", []), "rules[0].value", "non-empty list"),
    (one("email", "in", "a,b"), "rules[0].value", "non-empty list"),
    (one("email", "in", ["a", 3]), "rules[0].value[1]", "non-empty string"),
    (one("status", "=", "archived"), "rules[0].value", "'archived' is not a choice of field 'status'"),
    (one("status", "in", ["new", "zzz"]), "rules[0].value[1]", "not a choice"),
    (one("consent.sms", "=", "yes"), "rules[0].value", "allowed: granted, denied, unknown"),
    (one("suppressed.email", "=", "spam"), "rules[0].value", "allowed: unsubscribed, bounced, complained"),
    (one("custom.plan", "=", "gold"), "rules[0].value", "not a choice"),
    (one("custom.trial", "=", "true"), "rules[0].value", "expects true or false"),
    (one("created_at", "<", "01/02/2024"), "rules[0].value", "expects an ISO date"),
    (one("created_at", "<", "2024-02-30"), "rules[0].value", "expects an ISO date"),
    (one("created_at", "<", "2024-02-01 junk"), "rules[0].value", "expects an ISO date"),
    (one("created_at", "<", "0001-01-01"), "rules[0].value", "out of range"),
    (one("created_at", "<", 20240101), "rules[0].value", "expects an ISO date"),
    (one("created_at", "=", "2024-01-01"), "rules[0].operator", "unknown operator '='"),
    (one("created_at", "between", ["2024-02-01", "2024-01-01"]), "rules[0].value", "start is after the end"),
    (one("custom.renewal", "between", ["2024-02-01", "x"]), "rules[0].value[1]", "expects an ISO date"),
    (one("created_at", "inLast", 3), "rules[0].value", "expects {"),
    (one("created_at", "inLast", {"amount": 3, "unit": "years"}), "rules[0].value.unit", "days"),
    (one("created_at", "inLast", {"amount": 0, "unit": "days"}), "rules[0].value.amount", "whole number"),
    (one("created_at", "inLast", {"amount": 2.5, "unit": "days"}), "rules[0].value.amount", "whole number"),
    (one("created_at", "inLast", {"amount": 1, "unit": "days", "x": 1}), "rules[0].value.x", "unknown key"),
    (one("tags", "containsAny", "vip"), "rules[0].value", "non-empty list"),
    (one("list", "inList", "12"), "rules[0].value", "a list id"),
    (one("list", "inList", -1), "rules[0].value", "a list id"),
    (one("engagement.opened", "inLast", {"campaign_id": 1}), "rules[0].value.days", "a number of days"),
    (one("engagement.opened", "inLast", {"days": 3, "campaign_id": "1"}), "rules[0].value.campaign_id", "campaign id"),
    (one("engagement.opened", "inLast", {"days": 3, "run": 1}), "rules[0].value.run", "unknown key"),
    (one("engagement.opened", "inLast", 3), "rules[0].value", "expects {"),
    (one("engagement.opened", "=", 3), "rules[0].operator", "unknown operator '='"),
    (one("email", "=", {"a": [1]}), "rules[0].value.a", "must be a string"),
    (one("email", "in", [["a"]]), "rules[0].value[0]", "must be a string"),
]


@pytest.mark.parametrize(
    ("tree", "path", "message"), ERROR_CASES, ids=[f"{c[1] or 'root'}: {c[2]}" for c in ERROR_CASES]
)
def test_errors_name_the_path(tree, path, message):
    with pytest.raises(FilterError) as caught:
        compile_filter(parse_filter(tree), context(1))
    assert caught.value.path == path
    assert message in caught.value.message
    assert str(caught.value) == f"{path}: {caught.value.message}"
    assert isinstance(caught.value, ValueError)


def test_unsupported_custom_type_is_an_error_and_hidden_from_the_catalogue():
    ctx = context(1, custom_fields={**CUSTOM, "blob": "json"})
    with pytest.raises(FilterError) as caught:
        compile_filter(parse_filter(one("custom.blob", "null")), ctx)
    assert caught.value.path == "rules[0].field"
    assert "custom.blob" not in {entry["name"] for entry in field_catalogue(ctx)}


def nest(levels: int) -> dict[str, Any]:
    tree: dict[str, Any] = {"combinator": "and", "rules": []}
    for _ in range(levels - 1):
        tree = {"combinator": "and", "rules": [tree]}
    return tree


def test_limits():
    parse_filter(nest(6))
    with pytest.raises(FilterError) as caught:
        parse_filter(nest(7))
    assert caught.value.path == ".".join(["rules[0]"] * 6)
    assert "nested" in caught.value.message

    parse_filter({"combinator": "and", "rules": [rule("score", ">", n) for n in range(200)]})
    with pytest.raises(FilterError) as caught:
        parse_filter({"combinator": "and", "rules": [rule("score", ">", n) for n in range(201)]})
    assert caught.value.path == "rules[200]"

    def group(size: int) -> dict[str, Any]:
        return {"combinator": "and", "rules": [rule("score", ">", 1)] * size}

    spread = {"combinator": "or", "rules": [group(99), group(98)]}
    with pytest.raises(FilterError) as caught:  # groups count too: 3 groups + 197 rules fit, the next rule does not
        parse_filter({"combinator": "and", "rules": [spread, rule("score", ">", 1)]})
    assert caught.value.path == "rules[1]"

    compile_filter(parse_filter(one("email", "in", [f"a{n}@x.test" for n in range(1000)])), context(1))
    with pytest.raises(FilterError) as caught:
        parse_filter(one("email", "in", [f"a{n}@x.test" for n in range(1001)]))
    assert (caught.value.path, caught.value.message) == ("rules[0].value", "a list may have at most 1000 values")

    compile_filter(parse_filter(one("email", "contains", "x" * 500)), context(1))
    for value, path in (("x" * 501, "rules[0].value"), (["ok", "x" * 501], "rules[0].value[1]")):
        with pytest.raises(FilterError) as caught:
            parse_filter(one("email", "in", value))
        assert caught.value.path == path
        assert "500 characters" in caught.value.message
    with pytest.raises(FilterError) as caught:
        parse_filter(one("custom." + "k" * 500, "null"))
    assert caught.value.path == "rules[0].field"


def test_filter_context_needs_an_aware_now():
    with pytest.raises(ValueError, match="timezone-aware"):
        FilterContext(workspace_id=1, now=datetime(2024, 1, 1), custom_fields={})


# --- Reachability -----------------------------------------------------------------------------------------------------


async def test_reachable(db, people):
    async def names(channel: str) -> set[str]:
        async with db() as session:
            rows = await session.execute(
                select(Lead.first_name).where(Lead.workspace_id == people.workspace_id, reachable(channel))
            )
            return set(rows.scalars())

    assert await names("email") == {"Ann", "Eve"}  # Bob denied, Cy no address, Dee unsubscribed, Fay unknown
    assert await names("sms") == {"Ann"}  # Bob no phone, Cy bounced, Fay empty phone, Dee no consent
    assert await names("whatsapp") == {"Dee"}  # Eve consented but has no phone
    with pytest.raises(FilterError):
        reachable("pigeon")


# --- Lists and engagement: subqueries that must stay inside the workspace ---------------------------------------------


async def first_names(db, ids: list[int]) -> list[str]:
    async with db() as session:
        rows = await session.execute(select(Lead.id, Lead.first_name).where(Lead.id.in_(ids)))
        by_id = {row.id: row.first_name for row in rows}
    return [by_id[i] for i in ids]


async def test_list_membership(db, tenant):
    ws = tenant.workspace_id
    other = await make_tenant(db, "Globex", "admin@globex.test")
    lead_ids = await make_leads(db, 3, workspace_id=ws)
    a, b, c = await first_names(db, lead_ids)
    ids = dict(zip((a, b, c), lead_ids, strict=True))
    async with db() as session:
        ours = LeadList(workspace_id=ws, name="Ours", kind="hybrid")
        theirs = LeadList(workspace_id=other.workspace_id, name="Theirs")
        session.add_all([ours, theirs])
        await session.flush()
        session.add_all(
            [
                ListMember(list_id=ours.id, lead_id=ids[a]),
                ListMember(list_id=ours.id, lead_id=ids[b], mode="exclude"),
                ListMember(list_id=theirs.id, lead_id=ids[c]),  # a foreign list naming our lead: must not count
            ]
        )
        await session.commit()
        ours_id, theirs_id = ours.id, theirs.id

    assert await matching(db, ws, one("list", "inList", ours_id)) == {a}
    assert await matching(db, ws, one("list", "notInList", ours_id)) == {b, c}
    assert await matching(db, ws, one("list", "inList", theirs_id)) == set()
    assert await matching(db, ws, one("list", "notInList", theirs_id)) == {a, b, c}
    assert await matching(db, ws, one("list", "inList", theirs_id + 1000)) == set()


async def make_run(db, workspace_id: int, campaign_id: int) -> int:
    async with db() as session:
        run = CampaignRun(
            workspace_id=workspace_id, campaign_id=campaign_id, number=1, workflow_id=f"test-{uuid.uuid4().hex}"
        )
        session.add(run)
        await session.commit()
        return run.id


async def test_engagement(db, tenant):
    ws = tenant.workspace_id
    other = await make_tenant(db, "Globex", "admin@globex.test")
    lead_ids = await make_leads(db, 4, workspace_id=ws)
    a, b, c, d = await first_names(db, lead_ids)
    first_campaign = await make_campaign(db, None, workspace_id=ws, name="First")
    second_campaign = await make_campaign(db, None, workspace_id=ws, name="Second")
    their_campaign = await make_campaign(db, None, workspace_id=other.workspace_id, name="Theirs")
    first_run = await make_run(db, ws, first_campaign)
    second_run = await make_run(db, ws, second_campaign)
    their_run = await make_run(db, other.workspace_id, their_campaign)

    def ago(days: float) -> datetime:
        return NOW - timedelta(days=days)

    async with db() as session:
        session.add_all(
            [
                Delivery(
                    workspace_id=ws,
                    run_id=first_run,
                    step=0,
                    lead_id=lead_ids[0],
                    channel="email",
                    status="sent",
                    sent_at=ago(2),
                    opened_at=ago(1),
                ),
                Delivery(
                    workspace_id=ws,
                    run_id=second_run,
                    step=0,
                    lead_id=lead_ids[1],
                    channel="email",
                    status="sent",
                    sent_at=ago(10),
                    opened_at=ago(9),
                    clicked_at=ago(9),
                ),
                # Not sent: never counts, whatever its timestamps say.
                Delivery(
                    workspace_id=ws,
                    run_id=first_run,
                    step=0,
                    lead_id=lead_ids[2],
                    channel="email",
                    status="failed",
                    sent_at=ago(1),
                    opened_at=ago(1),
                    clicked_at=ago(1),
                ),
                # Another workspace's delivery naming our lead: never counts.
                Delivery(
                    workspace_id=other.workspace_id,
                    run_id=their_run,
                    step=0,
                    lead_id=lead_ids[3],
                    channel="email",
                    status="sent",
                    sent_at=ago(1),
                    opened_at=ago(1),
                    clicked_at=ago(1),
                ),
            ]
        )
        await session.commit()

    def engaged(kind: str, operator: str, days: int, campaign_id: int | None = None) -> dict[str, Any]:
        return one(f"engagement.{kind}", operator, {"days": days, "campaign_id": campaign_id})

    everyone = {a, b, c, d}
    assert await matching(db, ws, engaged("received", "inLast", 3)) == {a}
    assert await matching(db, ws, engaged("received", "inLast", 14)) == {a, b}
    assert await matching(db, ws, engaged("received", "notInLast", 3)) == {b, c, d}
    assert await matching(db, ws, one("engagement.received", "inLast", {"days": 14})) == {a, b}
    assert await matching(db, ws, engaged("opened", "inLast", 7)) == {a}
    assert await matching(db, ws, engaged("opened", "inLast", 30)) == {a, b}
    assert await matching(db, ws, engaged("opened", "notInLast", 30)) == {c, d}
    assert await matching(db, ws, engaged("clicked", "inLast", 30)) == {b}
    assert await matching(db, ws, engaged("clicked", "inLast", 5)) == set()
    assert await matching(db, ws, engaged("clicked", "notInLast", 30)) == {a, c, d}
    assert await matching(db, ws, engaged("received", "inLast", 30, first_campaign)) == {a}
    assert await matching(db, ws, engaged("received", "inLast", 30, second_campaign)) == {b}
    assert await matching(db, ws, engaged("opened", "notInLast", 30, second_campaign)) == everyone - {b}
    assert await matching(db, ws, engaged("received", "inLast", 30, their_campaign)) == set()
    # Evaluated for the other workspace (leads left unscoped on purpose), only its own delivery counts.
    async with db() as session:
        condition = compile_filter(parse_filter(engaged("clicked", "inLast", 30)), context(other.workspace_id))
        seen = await session.execute(select(Lead.first_name).where(condition))  # no workspace scope on leads
        assert set(seen.scalars()) == {d}


async def test_last_sent_is_noted_per_lead(db, tenant):
    """lead_last_sent (what "received in the last N days" reads) keeps each lead's latest send, from deliveries
    inserted sent or marked sent later, ignores other workspaces' deliveries, and forgets a deleted lead."""
    ws = tenant.workspace_id
    other = await make_tenant(db, "Initech", "admin@initech.test")
    first, second = await make_leads(db, 2, workspace_id=ws)
    run = await make_run(db, ws, await make_campaign(db, None, workspace_id=ws, name="Noted"))
    their_run = await make_run(
        db, other.workspace_id, await make_campaign(db, None, workspace_id=other.workspace_id, name="Theirs")
    )

    async def noted() -> dict[int, tuple[int, datetime]]:
        async with db() as session:
            rows = await session.execute(text("SELECT lead_id, workspace_id, last_sent_at FROM lead_last_sent"))
            return {row.lead_id: (row.workspace_id, row.last_sent_at) for row in rows if row.lead_id in (first, second)}

    async with db() as session:
        claimed = Delivery(workspace_id=ws, run_id=run, step=0, lead_id=first, channel="email", status="sending")
        session.add(claimed)
        session.add(  # another workspace's delivery naming our lead
            Delivery(
                workspace_id=other.workspace_id,
                run_id=their_run,
                step=0,
                lead_id=second,
                channel="email",
                status="sent",
                sent_at=NOW,
            )
        )
        await session.commit()
        assert await noted() == {}
        claimed.status, claimed.sent_at = "sent", NOW - timedelta(days=2)  # marked sent
        session.add(  # inserted sent, later
            Delivery(workspace_id=ws, run_id=run, step=1, lead_id=first, channel="sms", status="sent", sent_at=NOW)
        )
        await session.commit()
        assert await noted() == {first: (ws, NOW)}
        session.add(  # an older send does not move it back
            Delivery(
                workspace_id=ws,
                run_id=run,
                step=2,
                lead_id=first,
                channel="email",
                status="sent",
                sent_at=NOW - timedelta(days=5),
            )
        )
        await session.commit()
        assert await noted() == {first: (ws, NOW)}
    assert await matching(db, ws, one("engagement.received", "inLast", {"days": 1})) == set(
        await first_names(db, [first])
    )
    async with db() as session:
        await session.execute(text("DELETE FROM leads WHERE id = :id"), {"id": first})
        await session.commit()
    assert await noted() == {}


# --- The catalogue ----------------------------------------------------------------------------------------------------


def test_field_catalogue():
    ctx = context(
        1,
        statuses=["new", "won"],
        custom_fields={"plan": "choice", "seats": "number"},
        custom_labels={"plan": "Plan"},
    )
    catalogue = {entry["name"]: entry for entry in field_catalogue(ctx)}
    assert catalogue["email"] == {
        "name": "email",
        "label": "Email",
        "type": "text",
        "operators": [
            "=",
            "!=",
            "contains",
            "doesNotContain",
            "beginsWith",
            "endsWith",
            "in",
            "notIn",
            "null",
            "notNull",
        ],
    }
    assert catalogue["status"]["choices"] == ["new", "won"]
    assert catalogue["consent.sms"]["choices"] == ["granted", "denied", "unknown"]
    assert catalogue["suppressed.whatsapp"]["choices"] == ["unsubscribed", "bounced", "complained"]
    assert catalogue["custom.plan"] == {
        "name": "custom.plan",
        "label": "Plan",
        "type": "choice",
        "operators": ["=", "!=", "in", "notIn", "null", "notNull"],
        "choices": PLANS,
    }
    assert catalogue["custom.seats"]["label"] == "seats" and "choices" not in catalogue["custom.seats"]
    assert catalogue["created_at"]["operators"] == ["<", ">", "between", "inLast", "moreThanAgo", "null", "notNull"]
    assert catalogue["tags"]["operators"] == ["containsAny", "containsAll", "doesNotContainAny", "null", "notNull"]
    assert catalogue["list"]["operators"] == ["inList", "notInList"]
    assert {"engagement.received", "engagement.opened", "engagement.clicked"} <= set(catalogue)
    # Every field of the catalogue compiles with one of its operators.
    for name, entry in catalogue.items():
        if "null" in entry["operators"]:
            compile_filter(parse_filter(one(name, "null")), ctx)


ROUND_TRIP_TREES = [
    {"combinator": "and", "rules": []},
    {
        "combinator": "or",
        "not": True,
        "rules": [
            {"field": "score", "operator": "between", "value": [1, 5]},
            {"combinator": "and", "rules": [{"field": "tags", "operator": "containsAny", "value": ["vip"]}]},
            {"field": "created_at", "operator": "inLast", "value": {"amount": 3, "unit": "weeks"}},
            {"field": "email", "operator": "notNull"},
        ],
    },
]


@pytest.mark.parametrize("tree", ROUND_TRIP_TREES)
def test_parsed_trees_round_trip_through_json(tree):
    import json

    parsed = parse_filter(tree)
    dumped = json.loads(json.dumps(parsed.model_dump(by_alias=True)))
    assert parse_filter(dumped) == parsed


async def test_a_saved_list_keeps_its_filter_exactly(api, tenant):
    tree = ROUND_TRIP_TREES[1]
    created = await api.post("/api/lists", json={"name": "Round trip", "kind": "dynamic", "filter": tree})
    assert created.status_code == 201, created.text
    assert (await api.get(f"/api/lists/{created.json()['id']}")).json()["filter"] == tree
