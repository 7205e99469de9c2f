"""The test lanes: each folder under tests/ is a marker, and `make unit` runs this one alone."""
import re
from pathlib import Path

from tests.conftest import LANES

ROOT = Path(__file__).resolve().parents[2]


def test_a_test_carries_the_marker_of_its_folder(request):
    assert request.node.get_closest_marker("unit") is not None
    assert request.node.get_closest_marker("integration") is None


def test_every_lane_is_a_folder_and_a_registered_marker():
    import tomllib

    registered = {m.split(":")[0] for m in tomllib.loads(
        (ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]}
    folders = {p.name for p in (ROOT / "tests").iterdir()
               if p.is_dir() and (p / "__init__.py").exists() and p.name != "support"}
    assert set(LANES) == folders
    assert set(LANES) <= registered


def test_make_unit_runs_the_unit_folder_and_make_test_everything():
    makefile = (ROOT / "Makefile").read_text()
    unit = re.search(r"^unit:.*\n\t(.*)$", makefile, re.M).group(1)
    assert unit.endswith("pytest -q -W ignore::DeprecationWarning tests/unit")
    assert "services" not in re.search(r"^unit:(.*)$", makefile, re.M).group(1)
    everything = re.search(r"^test:.*\n\t(.*)$", makefile, re.M).group(1)
    assert everything.endswith("-m tests.shards -q -W ignore::DeprecationWarning")
