"""The image: Dockerfile lint and rules, and the wheel it installs, built and run here.

This machine has no Docker engine, so nothing here builds the image. What the image holds
is the wheel its build stage makes from the files it copies; that wheel is built from the
same files, installed into a directory of its own, and run as the image's user from a
directory that user cannot write (tests/deploy/test_manifests_start.py starts every
component from it the way the manifests do).
"""
import re
import subprocess
import zipfile

from tests.support.deploy import GID, REPO, UID, Dockerfile, as_unprivileged, tool

COMPONENTS = ("gateway", "consent", "logs", "handover", "notifications")


def test_hadolint_finds_nothing_in_the_dockerfile():
    result = subprocess.run([tool("hadolint"), "--no-color", "--failure-threshold", "info",
                             str(REPO / "Dockerfile")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_keeps_the_rules_hadolint_does_not_check():
    dockerfile = Dockerfile.read()
    # slim Python 3.11, pinned by exact version and by digest, the same base in every stage
    base = dockerfile.args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+@sha256:[0-9a-f]{64}", base), base
    assert [stage.base for stage in dockerfile.stages] == ["${PYTHON_IMAGE}"] * 2
    build, runtime = dockerfile.stages
    assert build.name == "build" and runtime.name == "runtime"
    # the runtime stage takes the virtualenv from the build stage and nothing else
    assert runtime.all("COPY") == ["--from=build /opt/stafett /opt/stafett"]
    # a numeric, unprivileged user, the one the manifests run as
    assert runtime.all("USER") == [f"{UID}:{GID}"]
    # exec form, one image for every component: the component is the argument
    assert dockerfile.entrypoint() == ["/opt/stafett/bin/python", "-P", "-m", "stafett.run"]
    assert runtime.all("CMD") == []


def test_dockerignore_lets_in_exactly_what_the_build_stage_copies():
    dockerfile = Dockerfile.read()
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"
    let_in = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert let_in == set(dockerfile.copied_sources(dockerfile.stages[0]))


def test_the_wheel_carries_every_file_of_its_packages(installed):
    """Templates, migrations, assets and the default configuration: nothing the code reads
    from its own package is left behind."""
    tracked = subprocess.run(["git", "ls-files", "stafett", "services", "gateway"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.split()
    with zipfile.ZipFile(installed.wheel) as wheel:
        packaged = set(wheel.namelist())
    assert "stafett/stafett.yaml" in packaged
    assert sorted(set(tracked) - packaged) == []


def test_an_installed_wheel_starts_from_its_packaged_configuration(installed):
    """As the image's user, in a directory it cannot write, with nothing of the checkout on
    the path: the defaults come from the installed package."""
    script = (
        "import stafett.config as c\n"
        "print(c.DEFAULT_CONFIG)\n"
        f"for name in {COMPONENTS!r}:\n"
        "    config = c.component_config(name)\n"
        "    assert config['COMPONENT'] == name and config['AMQP_URI'], name\n"
        "print('ok')\n")
    result = subprocess.run(as_unprivileged() + [installed.python, "-P", "-c", script],
                            cwd=installed.workdir(), env=installed.environment(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    default_config, ok = result.stdout.split()
    assert default_config == str(installed.site / "stafett" / "stafett.yaml")
    assert str(installed.venv) != str(REPO) and not default_config.startswith(str(REPO))
    assert ok == "ok"

    usage = subprocess.run(as_unprivileged() + [installed.python, "-P", "-m", "stafett.run"],
                           cwd=installed.workdir(), env=installed.environment(),
                           capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2
    assert "{consent,gateway,handover,logs,notifications}" in usage.stderr
