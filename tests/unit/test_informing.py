"""The worker's informer keeps its cache coherent with its own writes across re-lists."""

from __future__ import annotations

import asyncio
from typing import Any

from kontinue.kube.informing import Informer


def _obj(name: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": str(rv)}}


class _ListRacingAWrite:
    """A client whose list was taken (at version 10) before a write of ours (version 11)
    was answered: the list arrives without the object the write made."""

    def __init__(self) -> None:
        self.informer: Informer | None = None

    async def list_with_version(self, kind: str, **options: Any) -> tuple[list[Any], str]:
        assert self.informer is not None
        self.informer.observe(_obj("child", 11))  # answered while the list was on its way
        return [_obj("old", 7)], "10"


def test_a_relist_older_than_a_write_of_ours_does_not_delete_what_it_made() -> None:
    events: list[tuple[str, str]] = []
    client = _ListRacingAWrite()
    informer = Informer(
        client,  # type: ignore[arg-type]
        "executions",
        "ns",
        lambda kind, obj: events.append((kind, obj["metadata"]["name"])),
    )
    client.informer = informer
    informer.cache["gone"] = _obj("gone", 5)  # deleted before the list: it must go
    asyncio.run(informer._relist())
    assert ("DELETED", "child") not in events
    assert ("DELETED", "gone") in events
    assert set(informer.cache) == {"child", "old"}
