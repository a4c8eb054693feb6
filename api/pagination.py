"""Offset pagination shared by the list endpoints: one count, one page, the same response shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from api.schemas import Page


class PageParams(BaseModel):
    limit: int
    offset: int
    search: str | None


def page_params(
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    search: str | None = Query(None, max_length=200, description="Case-insensitive substring match."),
) -> PageParams:
    return PageParams(limit=limit, offset=offset, search=(search or "").strip() or None)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


def search_filter(search: str | None, *columns: Any) -> ColumnElement[bool] | None:
    if not search:
        return None
    pattern = f"%{search}%"
    return or_(*(column.ilike(pattern) for column in columns))


async def paginate(
    session: AsyncSession,
    query: SelectOfScalar[Any],
    params: PageParams,
    order_by: Any,
    item_schema: type[BaseModel] | Callable[[Any], BaseModel],
    where: ColumnElement[bool] | None = None,
) -> Page[Any]:
    """`order_by` is one clause or a tuple of them; `item_schema` a model to validate rows with, or a function."""
    if where is not None:
        query = query.where(where)
    to_item = item_schema.model_validate if isinstance(item_schema, type) else item_schema
    order = order_by if isinstance(order_by, tuple) else (order_by,)
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = (await session.exec(query.order_by(*order).limit(params.limit).offset(params.offset))).all()
    return Page(items=[to_item(row) for row in rows], total=total, limit=params.limit, offset=params.offset)
