"""The SQL unit of work's session lifecycle: every session it opens is closed, and one that
is open already cannot be entered again (a second session would orphan the first's
pooled connection)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from patron_shared.db.tables import MessagingTables
from patron_shared.db.uow import UnitOfWork
from patron_shared.testing import run_without_io


class RecordedSession:
    def __init__(self) -> None:
        self.statements = 0
        self.closed = False

    async def execute(self, *args: Any, **kwargs: Any) -> None:
        self.statements += 1

    async def rollback(self) -> None:
        pass

    async def close(self) -> None:
        self.closed = True


def unit_of_work() -> tuple[UnitOfWork, list[RecordedSession]]:
    opened: list[RecordedSession] = []

    def open_session() -> RecordedSession:
        opened.append(RecordedSession())
        return opened[-1]

    factory = cast(async_sessionmaker[AsyncSession], open_session)
    uow = UnitOfWork(factory, MessagingTables.define(MetaData()), tenant_id="demo", source="tests")
    return uow, opened


def test_entering_an_open_unit_of_work_again_is_refused_and_leaves_its_session_alone() -> None:
    uow, opened = unit_of_work()

    async def nested() -> None:
        async with uow:
            with pytest.raises(RuntimeError, match="open already"):
                async with uow:
                    pass
            assert uow.session is opened[0]

    run_without_io(nested())

    assert len(opened) == 1
    assert opened[0].closed


def test_a_unit_of_work_may_be_entered_again_once_closed() -> None:
    uow, opened = unit_of_work()

    async def twice() -> None:
        for _ in range(2):
            async with uow:
                pass

    run_without_io(twice())

    assert [session.closed for session in opened] == [True, True]
