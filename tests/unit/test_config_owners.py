"""No configuration key is read by two services: each setting has one owner (issue 13,
"one owner per rule"). A service that needs another's decision asks it (RPC, events),
never reads its setting "with the same value". Kernel-level keys, read through the kernel
(broker, database, secrets, metrics...), are not the services' own and are not counted."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
#: a key a service reads itself: config.get("KEY" / config["KEY"] (self.config,
#: self.container.config, a config argument), the kernel's key helpers
#: (symmetric_key(config, "KEY", ...), KeyringSource(config, "KEY", ...)) and a timer's
#: configured interval (configured_timer("KEY", ...))
READS = re.compile(r"""(?:config(?:\.get\(|\[)\s*|(?:symmetric_key|KeyringSource)\(\s*\w+,\s*"""
                   r"""|configured_timer\(\s*)["']([A-Z][A-Z0-9_]+)["']""")
#: read by the kernel for every component, never a service's rule
KERNEL_KEYS = frozenset({"AMQP_URI", "DATABASE_URL", "SECRETS_DIR", "SECRETS_CREATE",
                         "RPC_TIMEOUT", "METRICS_ADDRESS", "METRICS_HTTP"})


def keys_read(text: str) -> set[str]:
    return set(READS.findall(text)) - KERNEL_KEYS


def readers() -> dict[str, set[str]]:
    found = defaultdict(set)
    for path in SERVICES.glob("*/**/*.py"):
        if "migrations" in path.parts:
            continue
        for key in keys_read(path.read_text(encoding="utf-8")):
            found[key].add(path.relative_to(SERVICES).parts[0])
    return found


def test_the_scan_finds_every_way_a_service_reads_a_key():
    text = '''
        int(self.config.get("A_DAYS", 3)); config["B_URL"]; self.container.config.get('C_KEY')
        symmetric_key(config, "D_KEY", KEY_FILE); KeyringSource(config, "E_KEYS", F)
        @configured_timer("F_SECONDS", 60)
        config.get("AMQP_URI"); config.get(self.config_key); comment "G_NOT_READ"
    '''
    assert keys_read(text) == {"A_DAYS", "B_URL", "C_KEY", "D_KEY", "E_KEYS", "F_SECONDS"}


def test_the_scan_sees_the_services_settings():
    found = readers()
    assert found["CONSENT_YOUTH_AGE"] >= {"consent"}
    assert found["HANDOVER_GRACE_DAYS"] == {"handover"}
    assert len(found) > 20


def test_no_configuration_key_is_read_by_two_services():
    shared = {key: sorted(owners) for key, owners in readers().items() if len(owners) > 1}
    assert shared == {}, f"settings read by more than one service: {shared}"


def test_the_assurance_levels_are_the_consent_service_s_alone():
    """Whether a citizen's login is enough is consent's decision (``Actor.assured``): only
    it reads the levels, and no other service names a level in its code."""
    found = readers()
    assert found["CONSENT_CITIZEN_ACR"] == {"consent"}
    assert found["CONSENT_CHILD_ACR"] == {"consent"}
    assert not {key for key in found if key.endswith("_ACR") and not key.startswith("CONSENT_")}
    named = sorted(str(path.relative_to(ROOT)) for path in SERVICES.glob("*/**/*.py")
                   if path.relative_to(SERVICES).parts[0] != "consent"
                   and "migrations" not in path.parts
                   and "idporten-loa" in path.read_text(encoding="utf-8"))
    assert named == [], f"an assurance level named outside the consent service: {named}"
