"""Task-queue names shared by the API (which starts workflows) and the workers (which poll them)."""

from core.settings import get_settings


def main_task_queue() -> str:
    return get_settings().temporal_task_queue
