from __future__ import annotations

from pathlib import Path

import pytest

from smartbms.core.events import Event, EventKind
from smartbms.errors import StorageError
from smartbms.eventlog import EventLog


def test_append_and_query_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    with EventLog(path) as log:
        log.append(
            [
                Event(1.0, EventKind.TRIP, "A-CELL-OV", "cell_ov tripped", {"value": 3.7}),
                Event(2.0, EventKind.STATE, "PROTECTION", "NORMAL -> PROTECTION"),
            ]
        )
        log.append([])
    with EventLog(path) as log:
        events = log.query()
        assert [e.code for e in events] == ["A-CELL-OV", "PROTECTION"]
        assert events[0].data == {"value": 3.7}
        assert [e.code for e in log.query(kinds=["state"])] == ["PROTECTION"]
        assert [e.code for e in log.query(since=1.5)] == ["PROTECTION"]
        assert [e.code for e in log.query(limit=1)] == ["PROTECTION"]
        assert log.count() == 2


def test_unwritable_location_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot open the event log"):
        EventLog(blocker / "events.sqlite")
