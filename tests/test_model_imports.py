"""The API process and the worker process, each importing only what it uses, can resolve every foreign key of
every table they load: a key naming a table that no imported module defines fails at the first flush (a campaign
launch answered 500 on `herald run` when `campaign_runs.automation_id` named `automations`, which the API never
imported)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECK = """
import importlib, sys
from sqlmodel import SQLModel
importlib.import_module(sys.argv[1])
for table in SQLModel.metadata.tables.values():
    for key in table.foreign_keys:
        key.column  # raises NoReferencedTableError when the target table is not registered
print(len(SQLModel.metadata.tables))
"""


@pytest.mark.parametrize("entry_module", ["api.main", "workers.main"])
def test_each_process_resolves_the_foreign_keys_of_the_tables_it_loads(entry_module):
    done = subprocess.run([sys.executable, "-c", CHECK, entry_module], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) > 10
