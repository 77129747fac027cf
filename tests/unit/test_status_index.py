"""edl.status_index: indices never reused, random-looking, lists of 1.5 x capacity, rolling to a
new list id when full; the state file written atomically and read strictly."""

from __future__ import annotations

import json
import os
import threading

import pytest

from edl.errors import KeyStoreError
from edl.status_index import (
    DEFAULT_CAPACITY,
    FileStatusIndexAllocator,
    StatusIndexAllocator,
    StatusListSlot,
    list_size_for,
    permuted_index,
)


@pytest.fixture
def no_fsync(monkeypatch):
    """Thousands of atomic rewrites in a test: the renames stay, the disk flushes go."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


def test_the_file_allocator_is_a_status_index_allocator(tmp_path):
    assert isinstance(FileStatusIndexAllocator(tmp_path / "s.json"), StatusIndexAllocator)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 17, 64, 1000, 1501])
def test_permutation_is_a_bijection(size):
    key = bytes(range(32))
    assert sorted(permuted_index(key, size, n) for n in range(size)) == list(range(size))


def test_permutation_depends_on_the_key_and_looks_random():
    size = 150_000
    one = [permuted_index(b"\x01" * 32, size, n) for n in range(200)]
    two = [permuted_index(b"\x02" * 32, size, n) for n in range(200)]
    assert one != two
    assert one != sorted(one)  # not in issuance order
    steps = [abs(b - a) for a, b in zip(one, one[1:], strict=False)]
    assert sum(s < 100 for s in steps) < 5  # consecutive licences are not neighbours
    assert max(one) > size // 2 and min(one) < size // 2


def test_list_sizes():
    assert list_size_for(100_000) == 150_000
    assert list_size_for(1) == 4 and list_size_for(3) == 8  # whole bytes at 2 bits
    assert list_size_for(DEFAULT_CAPACITY) == 150_000
    for bad in (0, -1, True, 2**30):
        with pytest.raises(ValueError):
            list_size_for(bad)


def test_ten_thousand_allocations_never_repeat(tmp_path, no_fsync):
    allocator = FileStatusIndexAllocator(tmp_path / "status-index.json")
    allocator.set_capacity("cn-qingdao", 1000)  # lists of 1,500: 10,000 fill six and start a seventh
    # 1,000 one by one, 9,000 in batches of 50: 1,180 rewrites of the state file in all
    got = [allocator.allocate("cn-qingdao") for _ in range(1000)]
    for _ in range(180):
        got += allocator.allocate_many("cn-qingdao", 50)
    assert len(set(got)) == 10_000
    assert {list_id for list_id, _ in got} == {1, 2, 3, 4, 5, 6, 7}
    for list_id in range(1, 7):  # a full list hands out every place once
        assert sorted(i for lid, i in got if lid == list_id) == list(range(1500))
    assert all(0 <= i < 1500 for _, i in got)
    assert got[:1500] != sorted(got[:1500])
    assert allocator.lists("cn-qingdao") == tuple(
        StatusListSlot(list_id=n, size=1500, allocated=1500 if n < 7 else 1000) for n in range(1, 8)
    )


def test_state_survives_a_new_allocator_and_batches(tmp_path):
    path = tmp_path / "status-index.json"
    first = FileStatusIndexAllocator(path, default_capacity=100)
    batch = first.allocate_many("jp-ichikawa", 120)
    again = FileStatusIndexAllocator(path, default_capacity=100)
    more = again.allocate_many("jp-ichikawa", 120)  # 152 per list: rolls to list 2 mid-batch
    assert len(set(batch + more)) == 240
    assert [s.allocated for s in again.lists("jp-ichikawa")] == [152, 88]
    assert again.lists("cn-qingdao") == ()


def test_cities_are_independent(tmp_path):
    allocator = FileStatusIndexAllocator(tmp_path / "s.json", default_capacity=10)
    allocator.set_capacity("cn-guangzhou", 20)
    allocator.allocate("cn-qingdao")
    allocator.allocate("cn-guangzhou")
    assert allocator.lists("cn-qingdao")[0].size == 16 and allocator.lists("cn-guangzhou")[0].size == 32


def test_a_new_capacity_sizes_the_next_list_only(tmp_path):
    allocator = FileStatusIndexAllocator(tmp_path / "s.json", default_capacity=2)
    allocator.allocate_many("cn-qingdao", 4)
    allocator.set_capacity("cn-qingdao", 10)
    allocator.allocate_many("cn-qingdao", 2)
    assert [(s.list_id, s.size, s.allocated) for s in allocator.lists("cn-qingdao")] == [
        (1, 4, 4),
        (2, 16, 2),
    ]


def test_state_file_is_written_whole_and_private(tmp_path):
    path = tmp_path / "keys" / "status-index.json"
    FileStatusIndexAllocator(path).allocate("cn-qingdao")
    state = json.loads(path.read_text())
    entry = state["cities"]["cn-qingdao"]["lists"][0]
    assert set(entry) == {"id", "size", "key", "next"} and entry["next"] == 1 and len(entry["key"]) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["status-index.json", "status-index.json.lock"]


def test_threads_never_share_an_index(tmp_path, no_fsync):
    allocator = FileStatusIndexAllocator(tmp_path / "s.json", default_capacity=100)
    results: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work():
        mine = [allocator.allocate("cn-qingdao") for _ in range(100)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 400


def _state(capacity=1, lists=(), city="cn-qingdao", version=1):
    return json.dumps({"version": version, "cities": {city: {"capacity": capacity, "lists": list(lists)}}})


def _list(**changes):
    return {"id": 1, "size": 4, "next": 0, "key": "0" * 64, **changes}


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        _state(version=2),
        _state(city="CN"),
        _state(capacity=-1),
        _state(lists=[_list(next=5)]),
        _state(lists=[_list(id=2)]),
        _state(lists=[_list(key="xy")]),
        _state(lists=[_list(size=0)]),
        _state(lists=[{**_list(), "extra": 1}]),
    ],
    ids=[
        "text",
        "array",
        "version",
        "city id",
        "capacity",
        "next beyond size",
        "first id",
        "key",
        "size",
        "keys",
    ],
)
def test_damaged_state_is_a_key_store_error(tmp_path, content):
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(KeyStoreError) as failure:
        FileStatusIndexAllocator(path).allocate("cn-qingdao")
    assert str(path) in failure.value.message
    assert path.read_text() == content  # nothing written over it


def test_caller_mistakes(tmp_path):
    allocator = FileStatusIndexAllocator(tmp_path / "s.json")
    for bad in ("CN-Qingdao", "", "x", "../etc"):
        with pytest.raises(ValueError):
            allocator.allocate(bad)
    with pytest.raises(ValueError):
        allocator.allocate_many("cn-qingdao", 0)
    with pytest.raises(ValueError):
        FileStatusIndexAllocator(tmp_path / "s.json", default_capacity=0)
    with pytest.raises(ValueError):
        permuted_index(b"k" * 32, 10, 10)
