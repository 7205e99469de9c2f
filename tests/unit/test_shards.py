"""`make test`'s shards: every test runs in exactly one shard, files stay whole, the
estimated load is balanced, and the shards' port ranges never overlap."""
from pathlib import Path

import pytest

from tests import shards


class Item:
    def __init__(self, path, *fixtures):
        self.path = Path(path)
        self.fixturenames = fixtures


ITEMS = ([Item("/r/tests/unit/test_a.py") for _ in range(300)]
         + [Item("/r/tests/e2e/test_b.py", "platform") for _ in range(4)]
         + [Item("/r/tests/e2e/test_c.py", "platform") for _ in range(3)]
         + [Item("/r/tests/browser/test_d.py", "browser") for _ in range(2)]
         + [Item("/r/tests/deploy/test_e.py") for _ in range(2)])


class Config:
    def __init__(self):
        self.deselected = []
        self.hook = self

    def pytest_deselected(self, items):
        self.deselected.extend(items)


def run_shard(monkeypatch, index, count):
    monkeypatch.setenv(shards.ENV, f"{index}/{count}")
    items, config = list(ITEMS), Config()
    shards.select(config, items)
    return items, config.deselected


@pytest.mark.parametrize("count", [2, 3])
def test_every_test_runs_in_exactly_one_shard_and_files_stay_whole(monkeypatch, count):
    kept = [run_shard(monkeypatch, index, count)[0] for index in range(count)]
    assert sorted(map(id, sum(kept, []))) == sorted(map(id, ITEMS))
    files = [{str(item.path) for item in shard} for shard in kept]
    for a in range(count):
        for b in range(a + 1, count):
            assert not files[a] & files[b]


def test_the_load_is_dealt_largest_first_onto_the_lighter_shard(monkeypatch):
    first, dropped = run_shard(monkeypatch, 0, 2)
    second, _ = run_shard(monkeypatch, 1, 2)
    load = [sum(map(shards.cost, shard)) for shard in (first, second)]
    # b (16 s), d (14), c (12), e (12), a (9): in file order, b+c+d against e+a, 42
    # against 21, would be a bad deal; largest first gives 16+12=28 against 14+12+9=35
    assert sorted(load) == [28.0, 35.0]
    assert len(dropped) == len(ITEMS) - len(first)


def test_without_a_shard_everything_runs(monkeypatch):
    monkeypatch.delenv(shards.ENV, raising=False)
    items, config = list(ITEMS), Config()
    shards.select(config, items)
    assert len(items) == len(ITEMS) and config.deselected == []
    assert shards.port_range() is None


def test_shards_draw_ports_from_ranges_that_never_overlap_the_kernels(monkeypatch):
    ranges = []
    for index in range(2):
        monkeypatch.setenv(shards.ENV, f"{index}/2")
        ranges.append(shards.port_range())
    assert not set(ranges[0]) & set(ranges[1])
    assert max(ranges[1]) < 32768  # Linux's ephemeral ports start there


def test_a_shard_outside_its_count_is_refused(monkeypatch):
    with pytest.raises(ValueError, match="0 <= k < n"):
        shards.parse("2/2")


def test_a_shards_free_ports_are_its_own_and_never_repeat(monkeypatch):
    from tests.support import platform

    monkeypatch.setenv(shards.ENV, "1/2")
    monkeypatch.setattr(platform, "_next_port", None)
    ports = [platform.free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(port in shards.port_range() for port in ports)
