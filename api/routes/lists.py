from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from api.context import guard
from api.errors import ApiError
from api.schemas import ListCreate, ListOut
from api.scoping import ScopeDep
from domain.permissions import Permission
from models.leads import Lead
from models.lists import LeadList, ListMember

router = APIRouter(prefix="/api/lists", tags=["lists"])
ADD_MEMBERS = text(
    "INSERT INTO list_members (list_id, lead_id, added_at) SELECT :list_id, unnest(CAST(:ids AS integer[])), now()"
)


@router.get("", response_model=list[ListOut], **guard(Permission.workspace_read))
async def list_lists(scope: ScopeDep) -> list[ListOut]:
    counts = select(ListMember.list_id, func.count().label("n")).group_by(col(ListMember.list_id)).subquery()
    rows = await scope.session.exec(
        select(LeadList, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.list_id == LeadList.id)
        .where(scope.where(LeadList))
        .order_by(col(LeadList.name))
    )
    return [
        ListOut(id=lst.id, name=lst.name, description=lst.description, member_count=n, created_at=lst.created_at)
        for lst, n in rows.all()
    ]


@router.post("", response_model=ListOut, status_code=201, **guard(Permission.lists_write))
async def create_list(body: ListCreate, scope: ScopeDep) -> ListOut:
    lead_ids = sorted(set(body.lead_ids))
    if lead_ids:
        found = set(
            (await scope.session.exec(select(Lead.id).where(scope.where(Lead), col(Lead.id).in_(lead_ids)))).all()
        )
        missing = [i for i in lead_ids if i not in found]
        if missing:
            raise ApiError(422, f"unknown lead ids: {missing[:10]}", field="lead_ids")
    lst = scope.add(LeadList(name=body.name.strip(), description=body.description))
    try:
        await scope.session.flush()
    except IntegrityError as exc:
        await scope.session.rollback()
        raise ApiError(409, f"a list named {body.name!r} already exists", field="name") from exc
    if lead_ids:
        await scope.session.execute(ADD_MEMBERS, {"list_id": lst.id, "ids": lead_ids})
    scope.audit("list.created", "list", lst.id, after={"name": lst.name, "members": len(lead_ids)})
    await scope.session.commit()
    await scope.session.refresh(lst)
    return ListOut(
        id=lst.id, name=lst.name, description=lst.description, member_count=len(lead_ids), created_at=lst.created_at
    )
