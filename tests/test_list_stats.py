"""The daily list statistics: a Temporal Schedule starts ListStatsWorkflow, which records every list's size."""

from __future__ import annotations

from sqlalchemy import text
from temporalio.client import ScheduleActionStartWorkflow

from core.schedules import LIST_STATS_SCHEDULE, ensure_schedules
from models.payloads.lists import ListStatsInput, ListStatsResult

HIGH_SCORE = {"combinator": "and", "rules": [{"field": "score", "operator": ">=", "value": 50}]}


async def test_the_workflow_records_each_lists_size_once_per_day(api, worker, db, temporal_client, settings):
    for n, score in enumerate((10, 60, 90)):
        await api.post("/api/leads", json={"email": f"s{n}@example.com", "score": score, "consent_email": "granted"})
    dynamic = (await api.post("/api/lists", json={"name": "High", "kind": "dynamic", "filter": HIGH_SCORE})).json()
    static = (await api.post("/api/lists", json={"name": "Empty"})).json()

    for _ in range(2):  # a second run the same day refreshes the row instead of adding one
        result = await temporal_client.execute_workflow(
            "ListStatsWorkflow",
            ListStatsInput(day="2026-11-20"),
            id=f"list-stats-test-{settings.temporal_task_queue}",
            task_queue=settings.temporal_task_queue,
            result_type=ListStatsResult,
        )
        assert result.lists == 2 and result.failed == []
    async with db() as session:
        rows = dict((await session.execute(text("SELECT list_id, size FROM list_snapshots"))).all())
    assert rows == {dynamic["id"]: 2, static["id"]: 0}
    stats = (await api.get(f"/api/lists/{dynamic['id']}/stats")).json()
    assert stats["history"] == [{"day": "2026-11-20", "size": 2}]
    assert stats["reachable"]["email"] == 2


async def test_the_daily_schedule_is_created_once(temporal_client, task_queue):
    await ensure_schedules(temporal_client, task_queue)
    await ensure_schedules(temporal_client, task_queue)  # already there: no error
    described = await temporal_client.get_schedule_handle(LIST_STATS_SCHEDULE).describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "ListStatsWorkflow"
    [calendar] = described.schedule.spec.calendars
    assert (calendar.hour[0].start, calendar.minute[0].start) == (0, 10)
    await temporal_client.get_schedule_handle(LIST_STATS_SCHEDULE).delete()
