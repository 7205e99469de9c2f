"""The demo `make run` seeds: logs in all three colours, told as the personas would."""
from stafett.dev.demo import EMMA


def test_the_demo_stories_seed_and_read_back(platform):
    platform.seed()
    told = platform.seed_stories()
    assert set(told) == {"emma", "jonas", "sara"}
    teacher = platform.client("teacher")
    emma = teacher.get(f"/api/v1/logs/{told['emma']}").json()
    outcomes = {m["title"]: m["latest_outcome"] for m in emma["measures"]}
    assert outcomes["Starte dagen noen minutter etter de andre"] == "green"
    assert outcomes["Pulten nærmest døra"] == "green"
    # she proposed both herself, and that is always shown
    assert {m["proposer_role"] for m in emma["measures"]
            if m["title"] in ("Starte dagen noen minutter etter de andre",
                              "Pulten nærmest døra")} == {"child"}
    assert any("Fraværet har gått ned" in e["text"] for e in emma["entries"])
    colours = {m["latest_outcome"] for log in told.values()
               for m in platform.client("teacher" if log == told["emma"] else
                                        "kindergarten-teacher" if log == told["jonas"] else
                                        "nurse").get(f"/api/v1/logs/{log}").json()["measures"]}
    assert {"green", "yellow", "red"} <= colours
    summaries = teacher.get("/api/v1/logs").json()["items"]
    assert summaries[0]["overdue_measures"] == 1  # PPT's assessment is past its date
    assert platform.seed_stories() == {"already_seeded": True}
    # the child reads her own log in the child view
    child_view = platform.client("child").get(f"/api/v1/logs/{told['emma']}").json()
    assert child_view["viewer_role"] == "child"
    assert all(e["kind"] != "note" for e in child_view["entries"])  # staff-only note hidden
    assert EMMA["name"] not in str(child_view["measures"])
