"""The lead filter engine: react-querybuilder JSON trees compiled to SQLAlchemy conditions on `leads`.

`parse_filter` checks the structure and the limits, `compile_filter` checks every rule against the workspace's field
catalogue (`FilterContext`) and builds the condition. User input only ever reaches SQL as bound parameters: field names
are looked up in a fixed catalogue and custom field keys are bound like any other value.

Semantics worth knowing:
- Every rule is two-valued (never SQL NULL), so a `not` group is the exact complement of the group, and the negative
  operators (`!=`, `doesNotContain`, `notIn`, `notBetween`, `doesNotContainAny`, `notInList`, `notInLast`) are the
  exact complements of their positive forms: they match the leads whose value is missing.
- An empty group matches every lead, with or without `not` (as react-querybuilder's own SQL export does).
- Date-only values and naive date-times are read in ctx.now's timezone. On timestamps, `<` D means before D 00:00,
  `>` D means from D+1 00:00 and `between` [a, b] includes both whole days. `inLast` is [now - n, now],
  `moreThanAgo` is before now - n (months are 30 days).
- A custom value stored with the wrong JSON type (or an impossible date) counts as missing.
- `inList` is explicit membership only (`list_members` rows with mode 'include'), whatever the list's kind.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, StrictBool, StrictStr, Tag, model_validator
from pydantic import Field as PydanticField
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Numeric,
    Text,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

from models.campaigns import CampaignRun
from models.deliveries import Delivery
from models.leads import CHANNELS, Consent, Lead, LeadLastSent, Suppression
from models.lists import LeadList, ListMember

LEADS = Lead.__table__
LAST_SENT = LeadLastSent.__table__
SAFE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MEMBERS = ListMember.__table__
LISTS = LeadList.__table__
DELIVERIES = Delivery.__table__
RUNS = CampaignRun.__table__

MAX_DEPTH = 6  # nested groups, the root included
MAX_RULES = 200  # entries of all `rules` lists together (rules and sub-groups)
MAX_VALUES = 1000  # items of a list value
MAX_STRING = 500  # characters of any string
MAX_RELATIVE = 10_000  # `amount` of a relative date, `days` of an engagement condition
MAX_INT = 2**63 - 1

OPERATORS: dict[str, tuple[str, ...]] = {
    "text": ("=", "!=", "contains", "doesNotContain", "beginsWith", "endsWith", "in", "notIn", "null", "notNull"),
    "number": ("=", "!=", "<", "<=", ">", ">=", "between", "notBetween", "null", "notNull"),
    "date": ("<", ">", "between", "inLast", "moreThanAgo", "null", "notNull"),
    "boolean": ("=", "null", "notNull"),
    "choice": ("=", "!=", "in", "notIn", "null", "notNull"),
    "tags": ("containsAny", "containsAll", "doesNotContainAny", "null", "notNull"),
    "list": ("inList", "notInList"),
    "engagement": ("inLast", "notInLast"),
}
# Negative operator -> the positive one it is the complement of.
NEGATIONS = {
    "!=": "=",
    "doesNotContain": "contains",
    "notIn": "in",
    "notBetween": "between",
    "doesNotContainAny": "containsAny",
    "notInList": "inList",
    "notInLast": "inLast",
}
CUSTOM_TYPES = ("text", "number", "date", "boolean", "choice")
DEFAULT_STATUSES = ("new", "contacted", "qualified", "proposal", "won", "lost")
CONSENT_CHOICES = tuple(c.value for c in Consent)
SUPPRESSION_CHOICES = tuple(s.value for s in Suppression)
UNIT_DAYS = {"days": 1, "weeks": 7, "months": 30}
LIKE_PATTERNS = {"contains": "%{}%", "beginsWith": "{}%", "endsWith": "%{}"}
IGNORED_KEYS = frozenset({"id", "valueSource"})
GROUP_KEYS = frozenset({"combinator", "not", "rules"})
RULE_KEYS = frozenset({"field", "operator", "value"})
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A stored custom date is read only when its first 10 characters are a possible Y-M-D (day overflow checked in SQL).
STORED_DATE = r"^(?!0000)[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"


class FilterError(ValueError):
    """A filter that cannot be used; `path` says where in the tree (e.g. "rules[1].rules[0].operator")."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class FilterContext:
    workspace_id: int
    now: datetime  # timezone-aware; relative conditions are computed from it
    custom_fields: Mapping[str, str]  # key -> text | number | date | boolean | choice
    custom_choices: Mapping[str, Sequence[str]] = field(default_factory=dict)
    statuses: Sequence[str] = DEFAULT_STATUSES
    custom_labels: Mapping[str, str] = field(default_factory=dict)  # key -> label, for field_catalogue

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("FilterContext.now must be timezone-aware")


# --- The tree -------------------------------------------------------------------------------------------------------


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_ui_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            if data.get("valueSource", "value") != "value":
                raise ValueError("only valueSource 'value' is supported")
            return {key: item for key, item in data.items() if key not in IGNORED_KEYS}
        return data


class FilterRule(_Node):
    field: StrictStr
    operator: StrictStr
    value: Any = None


def _node_kind(node: Any) -> str:
    if isinstance(node, FilterGroup) or (isinstance(node, Mapping) and ("rules" in node or "combinator" in node)):
        return "group"
    return "rule"


class FilterGroup(_Node):
    combinator: Literal["and", "or"]
    not_: StrictBool = PydanticField(default=False, alias="not")
    rules: list[
        Annotated[Annotated[FilterRule, Tag("rule")] | Annotated[FilterGroup, Tag("group")], Discriminator(_node_kind)]
    ]


def parse_filter(data: Any) -> FilterGroup:
    """The tree checked for structure and limits (not yet against the workspace's fields: see compile_filter)."""
    return _Parser().group(data, "", 1)


class _Parser:
    def __init__(self) -> None:
        self.entries = 0

    def group(self, data: Any, path: str, depth: int) -> FilterGroup:
        if not isinstance(data, Mapping):
            raise FilterError(path, "a group must be an object with 'combinator' and 'rules'")
        if depth > MAX_DEPTH:
            raise FilterError(path, f"groups may be nested at most {MAX_DEPTH} levels deep")
        _check_keys(data, GROUP_KEYS, path)
        if "combinator" not in data:
            raise FilterError(_at(path, "combinator"), "is required")
        combinator = data["combinator"]
        if not isinstance(combinator, str) or combinator not in ("and", "or"):
            raise FilterError(_at(path, "combinator"), "must be 'and' or 'or'")
        negate = data.get("not", False)
        if not isinstance(negate, bool):
            raise FilterError(_at(path, "not"), "must be true or false")
        rules = data.get("rules")
        if not isinstance(rules, list):
            raise FilterError(_at(path, "rules"), "must be a list")
        nodes: list[FilterRule | FilterGroup] = []
        for index, item in enumerate(rules):
            item_path = _at(path, f"rules[{index}]")
            self.entries += 1
            if self.entries > MAX_RULES:
                raise FilterError(item_path, f"a filter may have at most {MAX_RULES} rules")
            if not isinstance(item, Mapping):
                raise FilterError(item_path, "must be a rule (field, operator, value) or a group (combinator, rules)")
            nodes.append(
                self.group(item, item_path, depth + 1) if _node_kind(item) == "group" else _rule(item, item_path)
            )
        return FilterGroup.model_validate({"combinator": combinator, "not": negate, "rules": nodes})


def _rule(data: Mapping[str, Any], path: str) -> FilterRule:
    _check_keys(data, RULE_KEYS, path)
    for key in ("field", "operator"):
        if key not in data:
            raise FilterError(_at(path, key), "is required")
        if not isinstance(data[key], str) or not data[key]:
            raise FilterError(_at(path, key), "must be a non-empty string")
        _check_string(data[key], _at(path, key))
    value = data.get("value")
    _check_value(value, _at(path, "value"))
    return FilterRule.model_validate({"field": data["field"], "operator": data["operator"], "value": value})


def _check_keys(data: Mapping[Any, Any], allowed: frozenset[str], path: str) -> None:
    for key in data:
        name = str(key)[:50]
        if key == "valueSource" and data[key] != "value":
            raise FilterError(_at(path, name), "only 'value' is supported")
        if key not in allowed and key not in IGNORED_KEYS:
            raise FilterError(_at(path, name), f"unknown key {name!r}")


def _check_value(value: Any, path: str, nested: bool = False) -> None:
    """Scalars, or (at the top) a list or an object of scalars, within the size limits."""
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, str):
        _check_string(value, path)
        return
    if not nested and isinstance(value, list | tuple):
        if len(value) > MAX_VALUES:
            raise FilterError(path, f"a list may have at most {MAX_VALUES} values")
        for index, item in enumerate(value):
            _check_value(item, f"{path}[{index}]", nested=True)
        return
    if not nested and isinstance(value, Mapping):
        if len(value) > MAX_VALUES:
            raise FilterError(path, f"an object may have at most {MAX_VALUES} keys")
        for key, item in value.items():
            if not isinstance(key, str):
                raise FilterError(path, "object keys must be strings")
            _check_string(key, path)
            _check_value(item, _at(path, key[:50]), nested=True)
        return
    raise FilterError(path, "must be a string, number, boolean or null, or a list or object of those")


def _check_string(text: str, path: str) -> None:
    if len(text) > MAX_STRING:
        raise FilterError(path, f"strings may have at most {MAX_STRING} characters")


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- The field catalogue --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    name: str
    label: str
    type: str
    column: str = ""  # the leads column (the deliveries timestamp for engagement fields)
    choices: tuple[str, ...] = ()  # fixed choices (status takes the workspace's pipeline instead)
    upper: bool = False  # stored and compared upper-case


STANDARD_FIELDS: dict[str, _Field] = {
    f.name: f
    for f in (
        _Field("email", "Email", "text", "email"),
        _Field("phone", "Phone", "text", "phone"),
        _Field("first_name", "First name", "text", "first_name"),
        _Field("last_name", "Last name", "text", "last_name"),
        _Field("company", "Company", "text", "company"),
        _Field("job_title", "Job title", "text", "job_title"),
        _Field("source", "Source", "text", "source"),
        _Field("timezone", "Time zone", "text", "timezone"),
        _Field("locale", "Locale", "text", "locale"),
        _Field("country", "Country", "text", "country", upper=True),
        _Field("external_id", "External ID", "text", "external_id"),
        _Field("score", "Score", "number", "score"),
        _Field("owner_id", "Owner", "number", "owner_id"),
        _Field("created_at", "Created", "date", "created_at"),
        _Field("updated_at", "Updated", "date", "updated_at"),
        _Field("status", "Status", "choice", "status"),
        *(_Field(f"consent.{ch}", f"Consent ({ch})", "choice", f"consent_{ch}", CONSENT_CHOICES) for ch in CHANNELS),
        *(
            _Field(f"suppressed.{ch}", f"Suppressed ({ch})", "choice", f"suppressed_{ch}", SUPPRESSION_CHOICES)
            for ch in CHANNELS
        ),
        _Field("tags", "Tags", "tags", "tags"),
        _Field("list", "List membership", "list"),
        _Field("engagement.received", "Received a message", "engagement", "sent_at"),
        _Field("engagement.opened", "Opened a message", "engagement", "opened_at"),
        _Field("engagement.clicked", "Clicked a message", "engagement", "clicked_at"),
    )
}


def field_catalogue(ctx: FilterContext) -> list[dict[str, Any]]:
    """The fields a filter may use in this workspace, with their operators (and choices), for the UI."""
    entries = []
    for spec in STANDARD_FIELDS.values():
        entry: dict[str, Any] = {"name": spec.name, "label": spec.label, "type": spec.type}
        entry["operators"] = list(OPERATORS[spec.type])
        if spec.type == "choice":
            entry["choices"] = list(_standard_choices(spec, ctx))
        entries.append(entry)
    for key, kind in sorted(ctx.custom_fields.items()):
        if kind not in CUSTOM_TYPES:
            continue
        entry = {"name": f"custom.{key}", "label": ctx.custom_labels.get(key, key), "type": kind}
        entry["operators"] = list(OPERATORS[kind])
        if kind == "choice":
            entry["choices"] = list(ctx.custom_choices.get(key, ()))
        entries.append(entry)
    return entries


def _standard_choices(spec: _Field, ctx: FilterContext) -> tuple[str, ...]:
    return tuple(ctx.statuses) if spec.name == "status" else spec.choices


@dataclass(frozen=True)
class _Target:
    """What a rule compares: a field resolved for this workspace."""

    name: str
    type: str
    expr: Any = None  # the SQL value (None for list and engagement fields)
    nullable: bool = False
    choices: tuple[str, ...] = ()
    integer: bool = False  # a number stored in an integer column
    calendar_date: bool = False  # a date (custom fields) rather than a timestamp
    upper: bool = False
    source: str = ""  # the deliveries timestamp of an engagement field


def _resolve(name: str, ctx: FilterContext, path: str) -> _Target:
    if name.startswith("custom."):
        key = name.removeprefix("custom.")
        kind = ctx.custom_fields.get(key)
        if kind is None:
            raise FilterError(path, f"unknown field {name!r}")
        if kind not in CUSTOM_TYPES:
            raise FilterError(path, f"field {name!r} has an unsupported type {kind!r}")
        return _Target(
            name,
            kind,
            _custom_value(key, kind),
            nullable=True,
            choices=tuple(ctx.custom_choices.get(key, ())),
            calendar_date=kind == "date",
        )
    spec = STANDARD_FIELDS.get(name)
    if spec is None:
        raise FilterError(path, f"unknown field {name!r}")
    if spec.type in ("list", "engagement"):
        return _Target(name, spec.type, source=spec.column)
    column = LEADS.c[spec.column]
    return _Target(
        name,
        spec.type,
        column,
        nullable=bool(column.nullable),
        choices=_standard_choices(spec, ctx),
        integer=isinstance(column.type, Integer),
        upper=spec.upper,
    )


def _custom_value(key: str, kind: str) -> ColumnElement[Any]:
    """The custom value as SQL of its type; NULL when missing or stored with another JSON type."""
    if SAFE_KEY.match(key):
        # A plain lower_snake key is written into the SQL so that the expression index of the field
        # (custom_field_index_sql) matches the query; any other key stays a bound parameter.
        quoted = literal_column(f"'{key}'")
        stored = LEADS.c.custom_fields.op("->", return_type=postgresql.JSONB)(quoted)
        raw = LEADS.c.custom_fields.op("->>", return_type=Text)(quoted)
    else:
        stored = LEADS.c.custom_fields[key]  # `->` with the key as a bound parameter
        raw = stored.astext
    if kind == "number":
        return case((func.jsonb_typeof(stored) == "number", raw.cast(Numeric)), else_=None)
    if kind == "boolean":
        return case((func.jsonb_typeof(stored) == "boolean", raw.cast(Boolean)), else_=None)
    if kind == "date":
        # Built from its parts, then checked, so that e.g. "2023-02-30" is NULL instead of a cast error.
        day = func.substr(raw, 9, 2).cast(Integer)
        first = func.make_date(func.substr(raw, 1, 4).cast(Integer), func.substr(raw, 6, 2).cast(Integer), 1)
        candidate = (first + (day - 1)).cast(Date)
        checked = case((func.date_part("day", candidate) == day, candidate), else_=None)
        return case((raw.regexp_match(STORED_DATE), checked), else_=None)
    return raw  # text and choice


def custom_field_index_sql(workspace_id: int, key: str, kind: str) -> str | None:
    """DDL for an expression index serving range filters on a number or date custom field of one workspace."""
    if kind not in ("number", "date") or not SAFE_KEY.match(key):
        return None
    expression = _custom_value(key, kind).compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return (
        f"CREATE INDEX IF NOT EXISTS ix_leads_cf_{int(workspace_id)}_{key} ON leads (({expression})) "
        f"WHERE workspace_id = {int(workspace_id)}"
    )


# --- Compiling ------------------------------------------------------------------------------------------------------


def compile_filter(group: FilterGroup, ctx: FilterContext) -> ColumnElement[bool]:
    """The tree as a condition on `leads` (the caller adds Lead.workspace_id == ...); raises FilterError."""
    return _compile_group(group, ctx, "")


def _compile_group(group: FilterGroup, ctx: FilterContext, path: str) -> ColumnElement[bool]:
    if not group.rules:
        return true()
    parts = []
    for index, node in enumerate(group.rules):
        node_path = _at(path, f"rules[{index}]")
        if isinstance(node, FilterGroup):
            parts.append(_compile_group(node, ctx, node_path))
        else:
            parts.append(_compile_rule(node, ctx, node_path))
    combined = and_(*parts) if group.combinator == "and" else or_(*parts)
    return not_(combined) if group.not_ else combined


def _compile_rule(rule: FilterRule, ctx: FilterContext, path: str) -> ColumnElement[bool]:
    target = _resolve(rule.field, ctx, _at(path, "field"))
    operator = rule.operator
    if operator not in OPERATORS[target.type]:
        raise FilterError(_at(path, "operator"), f"unknown operator {operator!r} for field {rule.field!r}")
    if operator in ("null", "notNull"):
        missing = _missing(target)
        return missing if operator == "null" else not_(missing)
    condition = COMPILERS[target.type](target, NEGATIONS.get(operator, operator), rule.value, _at(path, "value"), ctx)
    if target.nullable:
        # Two-valued, so negations and `not` groups are exact complements; written as `x IS NOT NULL AND ...`
        # rather than coalesce(..., false) so that an index on x still serves the comparison.
        condition = and_(target.expr.is_not(None), condition)
    return not_(condition) if operator in NEGATIONS else condition


def _missing(target: _Target) -> ColumnElement[bool]:
    expr = target.expr
    if target.type == "tags":
        return expr == bindparam(None, [], type_=ARRAY(Text))
    blank = expr == "" if target.type in ("text", "choice") else false()
    return or_(expr.is_(None), blank) if target.nullable else blank


# Each compiler handles the positive operators of its type (negations and null/notNull are done above).


def _compile_text(t: _Target, op: str, value: Any, path: str, ctx: FilterContext) -> ColumnElement[bool]:
    # = and in ignore case: both sides lower-cased, except country, stored upper-case (so its index stays usable).
    fold = func.upper if t.upper else func.lower
    column = t.expr if t.upper else fold(t.expr)
    if op == "in":
        return column.in_([fold(literal(v)) for v in _strings(value, path)])
    text = _string(value, path)
    if op == "=":
        return column == fold(literal(text))
    return t.expr.ilike(LIKE_PATTERNS[op].format(like_escape(text)), escape="\\")


def like_escape(text: str) -> str:
    """The text matched literally by LIKE/ILIKE (with the default backslash escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _compile_number(t: _Target, op: str, value: Any, path: str, ctx: FilterContext) -> ColumnElement[bool]:
    if op == "between":
        first, last = _pair(value, path)
        low, high = _number(first, f"{path}[0]"), _number(last, f"{path}[1]")
        if low > high:
            raise FilterError(path, "the low end is greater than the high end")
        return t.expr.between(_number_param(low, t), _number_param(high, t))
    return _COMPARISONS[op](t.expr, _number_param(_number(value, path), t))


_COMPARISONS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": lambda x, v: x == v,
    "<": lambda x, v: x < v,
    "<=": lambda x, v: x <= v,
    ">": lambda x, v: x > v,
    ">=": lambda x, v: x >= v,
}


def _compile_date(t: _Target, op: str, value: Any, path: str, ctx: FilterContext) -> ColumnElement[bool]:
    x = t.expr
    if op in ("inLast", "moreThanAgo"):
        cutoff = ctx.now - timedelta(days=_relative_days(value, path))
        if t.calendar_date:
            start, end = _date_param(cutoff.date()), _date_param(ctx.now.date())
        else:
            start, end = _timestamp_param(cutoff), _timestamp_param(ctx.now)
        return and_(x >= start, x <= end) if op == "inLast" else x < start
    if op == "between":
        first, last = _pair(value, path)
        low, high = _when(first, f"{path}[0]", ctx), _when(last, f"{path}[1]", ctx)
        if t.calendar_date:
            low_day, high_day = _local_date(low, ctx), _local_date(high, ctx)
            if low_day > high_day:
                raise FilterError(path, "the start is after the end")
            return and_(x >= _date_param(low_day), x <= _date_param(high_day))
        start = _start_of(low, ctx)
        if isinstance(high, datetime):
            if start > high:
                raise FilterError(path, "the start is after the end")
            return and_(x >= _timestamp_param(start), x <= _timestamp_param(high))
        end = _start_of(high, ctx, days_later=1)
        if start >= end:
            raise FilterError(path, "the start is after the end")
        return and_(x >= _timestamp_param(start), x < _timestamp_param(end))
    when = _when(value, path, ctx)
    if t.calendar_date:
        day = _date_param(_local_date(when, ctx))
        return x < day if op == "<" else x > day
    if op == "<":
        return x < _timestamp_param(_start_of(when, ctx))
    if isinstance(when, datetime):
        return x > _timestamp_param(when)
    return x >= _timestamp_param(_start_of(when, ctx, days_later=1))


def _compile_boolean(t: _Target, op: str, value: Any, path: str, ctx: FilterContext) -> ColumnElement[bool]:
    if not isinstance(value, bool):
        raise FilterError(path, "expects true or false")
    return t.expr.is_(true() if value else false())


def _compile_choice(t: _Target, op: str, value: Any, path: str, ctx: FilterContext) -> ColumnElement[bool]:
    if op == "in":
        values = _strings(value, path)
        for index, item in enumerate(values):
            _check_choice(t, item, f"{path}[{index}]")
        return t.expr.in_(values)
    _check_choice(t, _string(value, path), path)
    return t.expr == value


def _check_choice(t: _Target, value: str, path: str) -> None:
    if value not in t.choices:
        allowed = ", ".join(t.choices) or "none"
        raise FilterError(path, f"{value!r} is not a choice of field {t.name!r} (allowed: {allowed})")


def _compile_tags(t: _Target, op: str, value: Any, path: str, ctx: FilterContext) -> ColumnElement[bool]:
    tags = bindparam(None, _strings(value, path), type_=ARRAY(Text))
    return t.expr.overlap(tags) if op == "containsAny" else t.expr.contains(tags)  # && and @> use the GIN index


def _compile_list(t: _Target, op: str, value: Any, path: str, ctx: FilterContext) -> ColumnElement[bool]:
    list_id = _integer(value, path, "a list id")
    return (
        select(MEMBERS.c.lead_id)
        .join(LISTS, LISTS.c.id == MEMBERS.c.list_id)
        .where(
            MEMBERS.c.list_id == list_id,
            MEMBERS.c.lead_id == LEADS.c.id,
            MEMBERS.c.mode == "include",
            LISTS.c.workspace_id == ctx.workspace_id,
        )
        .correlate(LEADS)
        .exists()
    )


def _compile_engagement(t: _Target, op: str, value: Any, path: str, ctx: FilterContext) -> ColumnElement[bool]:
    if not isinstance(value, Mapping):
        raise FilterError(path, 'expects {"days": <number of days>, "campaign_id": <campaign id or null>}')
    _check_object_keys(value, {"days", "campaign_id"}, path)
    days = _integer(value.get("days"), _at(path, "days"), "a number of days", maximum=MAX_RELATIVE)
    campaign_id = value.get("campaign_id")
    if campaign_id is not None:
        campaign_id = _integer(campaign_id, _at(path, "campaign_id"), "a campaign id")
    cutoff = _timestamp_param(ctx.now - timedelta(days=days))
    if t.source == "sent_at" and campaign_id is None:
        # lead_last_sent holds the latest sent_at of each lead's sent deliveries (triggers keep it): one row a lead.
        return (
            select(LAST_SENT.c.lead_id)
            .where(
                LAST_SENT.c.lead_id == LEADS.c.id,
                LAST_SENT.c.workspace_id == ctx.workspace_id,
                LAST_SENT.c.last_sent_at >= cutoff,
            )
            .correlate(LEADS)
            .exists()
        )
    happened_at = DELIVERIES.c[t.source]
    query = select(DELIVERIES.c.id).where(
        DELIVERIES.c.lead_id == LEADS.c.id,
        DELIVERIES.c.workspace_id == ctx.workspace_id,
        DELIVERIES.c.status == "sent",
        happened_at.is_not(None),
        happened_at >= cutoff,
    )
    if campaign_id is not None:
        query = query.join(RUNS, RUNS.c.id == DELIVERIES.c.run_id).where(
            RUNS.c.campaign_id == campaign_id, RUNS.c.workspace_id == ctx.workspace_id
        )
    return query.correlate(LEADS).exists()


COMPILERS: dict[str, Callable[[_Target, str, Any, str, FilterContext], ColumnElement[bool]]] = {
    "text": _compile_text,
    "number": _compile_number,
    "date": _compile_date,
    "boolean": _compile_boolean,
    "choice": _compile_choice,
    "tags": _compile_tags,
    "list": _compile_list,
    "engagement": _compile_engagement,
}


# --- Values ---------------------------------------------------------------------------------------------------------


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise FilterError(path, "expects a non-empty string (use null / notNull to test for a missing value)")
    if len(value) > MAX_STRING:
        raise FilterError(path, f"strings may have at most {MAX_STRING} characters")
    return value


def _strings(value: Any, path: str) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        raise FilterError(path, "expects a non-empty list of strings")
    if len(value) > MAX_VALUES:
        raise FilterError(path, f"a list may have at most {MAX_VALUES} values")
    return [_string(item, f"{path}[{index}]") for index, item in enumerate(value)]


def _pair(value: Any, path: str) -> tuple[Any, Any]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise FilterError(path, "expects two values [low, high]")
    return value[0], value[1]


def _number(value: Any, path: str) -> int | Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FilterError(path, "expects a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError(path, "expects a finite number")
    if abs(value) > MAX_INT:
        raise FilterError(path, "number out of range")
    if isinstance(value, float):
        return int(value) if value.is_integer() else Decimal(repr(value))
    return value


def _number_param(value: int | Decimal, t: _Target) -> Any:
    """BIGINT for whole numbers against integer columns (keeps their index usable), NUMERIC otherwise."""
    if isinstance(value, int) and t.integer:
        return literal(value, BigInteger())
    return literal(Decimal(value), Numeric())


def _integer(value: Any, path: str, what: str, maximum: int = 2**31 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
        raise FilterError(path, f"expects {what} (a whole number between 1 and {maximum})")
    return value


def _relative_days(value: Any, path: str) -> int:
    if not isinstance(value, Mapping):
        raise FilterError(path, 'expects {"amount": <whole number>, "unit": "days" | "weeks" | "months"}')
    _check_object_keys(value, {"amount", "unit"}, path)
    amount = _integer(value.get("amount"), _at(path, "amount"), "an amount", maximum=MAX_RELATIVE)
    unit = value.get("unit")
    if not isinstance(unit, str) or unit not in UNIT_DAYS:
        raise FilterError(_at(path, "unit"), "expects 'days', 'weeks' or 'months'")
    return amount * UNIT_DAYS[unit]


def _check_object_keys(value: Mapping[str, Any], allowed: set[str], path: str) -> None:
    for key in value:
        if key not in allowed:
            raise FilterError(_at(path, str(key)[:50]), f"unknown key {str(key)[:50]!r}")


def _when(value: Any, path: str, ctx: FilterContext) -> date | datetime:
    """An ISO date (YYYY-MM-DD) or date-time; a naive date-time is in ctx.now's timezone."""
    if isinstance(value, str) and ISO_DATE.match(value):
        try:
            if len(value) == 10:
                parsed: date | datetime = date.fromisoformat(value)
            elif value[10] in "Tt ":
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=ctx.now.tzinfo)
            else:
                raise ValueError(value)
        except ValueError:
            pass
        else:
            if not 1 < parsed.year < 9999:
                raise FilterError(path, "date out of range")
            return parsed
    raise FilterError(path, "expects an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SS±HH:MM)")


def _start_of(when: date | datetime, ctx: FilterContext, days_later: int = 0) -> datetime:
    if isinstance(when, datetime):
        return when
    return datetime.combine(when + timedelta(days=days_later), time.min, tzinfo=ctx.now.tzinfo)


def _local_date(when: date | datetime, ctx: FilterContext) -> date:
    return when.astimezone(ctx.now.tzinfo).date() if isinstance(when, datetime) else when


def _timestamp_param(value: datetime) -> Any:
    return literal(value, DateTime(timezone=True))


def _date_param(value: date) -> Any:
    return literal(value, Date())


# --- Reachability ---------------------------------------------------------------------------------------------------


def reachable(channel: str) -> ColumnElement[bool]:
    """Leads that may be sent to on this channel: an address, consent granted, not suppressed."""
    if channel not in CHANNELS:
        raise FilterError("channel", f"unknown channel {channel!r}")
    address = LEADS.c.email if channel == "email" else LEADS.c.phone
    return and_(
        address.is_not(None),
        address != "",
        LEADS.c[f"consent_{channel}"] == Consent.granted.value,
        LEADS.c[f"suppressed_{channel}"].is_(None),
    )
