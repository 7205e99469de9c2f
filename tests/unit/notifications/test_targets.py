"""Where a webhook may go: the address classifier, host names, and the registration check.

Every inward category in both address families is refused, and public addresses (also in
the IPv6 forms that carry a public IPv4 address) are allowed.
"""
from __future__ import annotations

import ipaddress
import socket
import time

import eventlet
import pytest

from services.notifications import targets
from services.notifications.targets import (BENCHMARKING, INTERNAL_NAME, LINK_LOCAL, LOOPBACK,
                                            METADATA, MULTICAST, PRIVATE, RESERVED, SHARED,
                                            UNIQUE_LOCAL, UNSPECIFIED, Blocked, Target,
                                            TargetPolicy, Unresolvable, address_category)

REFUSED = [
    # IPv4
    ("127.0.0.1", LOOPBACK), ("127.255.255.254", LOOPBACK),
    ("10.0.0.5", PRIVATE), ("172.16.0.1", PRIVATE), ("172.31.255.255", PRIVATE),
    ("192.168.1.1", PRIVATE),
    ("169.254.1.1", LINK_LOCAL), ("169.254.169.254", METADATA),
    ("169.254.170.2", METADATA), ("100.100.100.200", METADATA), ("168.63.129.16", METADATA),
    ("192.0.0.192", METADATA),
    ("100.64.0.1", SHARED), ("100.127.255.254", SHARED),
    ("224.0.0.1", MULTICAST), ("239.255.255.250", MULTICAST),
    ("0.0.0.0", UNSPECIFIED), ("0.1.2.3", UNSPECIFIED),
    ("198.18.0.1", BENCHMARKING), ("198.19.255.254", BENCHMARKING),
    ("240.0.0.1", RESERVED), ("255.255.255.255", RESERVED), ("192.0.2.10", RESERVED),
    ("198.51.100.7", RESERVED), ("203.0.113.9", RESERVED), ("192.0.0.8", RESERVED),
    # IPv6
    ("::1", LOOPBACK), ("::", UNSPECIFIED),
    ("fe80::1", LINK_LOCAL), ("febf:ffff::1", LINK_LOCAL), ("fe80::1%eth0", LINK_LOCAL),
    ("fc00::1", UNIQUE_LOCAL), ("fd12:3456:789a::1", UNIQUE_LOCAL),
    ("fd00:ec2::254", METADATA),
    ("ff02::1", MULTICAST), ("ff0e::1", MULTICAST),
    ("2001:db8::1", RESERVED), ("2001:2::1", BENCHMARKING), ("fec0::1", RESERVED),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", RESERVED),     # Teredo
    ("100::1", RESERVED), ("::127.0.0.1", RESERVED), ("64:ff9b:1::a00:5", RESERVED),
    # IPv6 forms of inward IPv4 addresses: IPv4-mapped, NAT64, 6to4
    ("::ffff:127.0.0.1", LOOPBACK), ("::ffff:10.0.0.5", PRIVATE),
    ("::ffff:169.254.169.254", METADATA), ("::ffff:100.64.0.1", SHARED),
    ("64:ff9b::7f00:1", LOOPBACK), ("64:ff9b::a9fe:a9fe", METADATA),
    ("64:ff9b::c0a8:101", PRIVATE),
    ("2002:7f00:1::1", LOOPBACK), ("2002:a00:5::1", PRIVATE), ("2002:a9fe:a9fe::", METADATA),
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "151.101.1.69", "100.63.255.255",
          "100.128.0.1", "172.32.0.1", "198.20.0.1", "11.0.0.1",
          "2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:400f:80c::200e",
          "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address, category", REFUSED)
def test_inward_addresses_are_refused_with_their_category(address, category):
    assert address_category(address) == category
    assert address_category(ipaddress.ip_address(address.split("%")[0])) == category


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    assert address_category(address) is None


def test_the_table_covers_both_families_and_every_category():
    categories = {category for _, category in REFUSED}
    assert categories == {LOOPBACK, PRIVATE, LINK_LOCAL, METADATA, SHARED, MULTICAST,
                          UNSPECIFIED, BENCHMARKING, RESERVED, UNIQUE_LOCAL}
    families = {ipaddress.ip_address(a.split("%")[0]).version for a, _ in REFUSED}
    assert families == {4, 6} == {ipaddress.ip_address(a).version for a in PUBLIC}


@pytest.mark.parametrize("host, address", [
    ("127.0.0.1", "127.0.0.1"), ("127.1", "127.0.0.1"), ("2130706433", "127.0.0.1"),
    ("0x7f.0.0.1", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("012.0.0.5", "10.0.0.5"),
    ("::1", "::1"), ("example.org", None), ("1.example", None), ("8.8.8.8.nip.io", None)])
def test_legacy_ipv4_spellings_are_read_as_the_address_they_reach(host, address):
    found = targets.literal_address(host)
    assert (str(found) if found else None) == address


@pytest.mark.parametrize("host, category", [
    ("metadata.google.internal", METADATA), ("METADATA.GOOGLE.INTERNAL.", METADATA),
    ("metadata.goog", METADATA), ("instance-data.ec2.internal", METADATA),
    ("metadata", METADATA), ("metadata.tencentyun.com", METADATA),
    ("db.internal", INTERNAL_NAME), ("printer.local", INTERNAL_NAME),
    ("kubernetes.default.svc.cluster.local", INTERNAL_NAME), ("router.home.arpa", INTERNAL_NAME),
    ("redis", INTERNAL_NAME), ("fagsystem.example", None), ("hooks.kommune.no", None),
    ("localhost", None)])      # localhost: judged by what it resolves to (loopback)
def test_host_names_refused_before_resolution(host, category):
    assert targets.name_category(host) == category


# -- the policy: vetting a target, resolving once -------------------------------------------------

class Dns:
    def __init__(self, **answers):
        self.answers = {k.replace("_", "."): v for k, v in answers.items()}
        self.questions = []

    def __call__(self, host, port):
        self.questions.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


def test_a_name_is_resolved_once_and_every_address_checked():
    dns = Dns(hooks_example=["93.184.215.14", "2606:4700::1111"])
    policy = TargetPolicy(resolver=dns)
    addresses = policy.vet(Target.parse("https://hooks.example:8443/x?y=1"))
    assert [str(a) for a in addresses] == ["93.184.215.14", "2606:4700::1111"]
    assert dns.questions == [("hooks.example", 8443)]


@pytest.mark.parametrize("answers, category", [
    (["127.0.0.1"], LOOPBACK), (["93.184.215.14", "10.0.0.5"], PRIVATE),
    (["::ffff:169.254.169.254"], METADATA), (["fd00::1"], UNIQUE_LOCAL)])
def test_one_inward_address_among_the_answers_refuses_the_name(answers, category):
    policy = TargetPolicy(resolver=Dns(hooks_example=answers))
    with pytest.raises(Blocked) as refused:
        policy.vet(Target.parse("https://hooks.example/x"))
    assert refused.value.category == category


def test_a_name_that_does_not_resolve_is_unresolvable():
    with pytest.raises(Unresolvable):
        TargetPolicy(resolver=Dns()).vet(Target.parse("https://gone.example/x"))
    with pytest.raises(Unresolvable):
        TargetPolicy(resolver=Dns(empty_example=[])).vet(Target.parse("https://empty.example/"))


def test_metadata_names_are_refused_without_asking_dns():
    dns = Dns(metadata_google_internal=["93.184.215.14"])
    with pytest.raises(Blocked) as refused:
        TargetPolicy(resolver=dns).vet(Target.parse("http://metadata.google.internal/x"))
    assert refused.value.category == METADATA and dns.questions == []


def test_loopback_only_by_the_explicit_setting_and_nothing_else_inward():
    dns = Dns(localhost=["127.0.0.1", "::1"], inward_example=["10.0.0.5"])
    strict, dev = TargetPolicy(resolver=dns), TargetPolicy(allow_loopback=True, resolver=dns)
    for url in ("https://127.0.0.1:8443/x", "https://[::1]/x", "http://localhost:9/x",
                "https://[::ffff:127.0.0.1]/x"):
        with pytest.raises(Blocked):
            strict.vet(Target.parse(url))
        assert dev.vet(Target.parse(url))
    for url in ("https://10.0.0.5/x", "https://169.254.169.254/", "https://[fd00::1]/",
                "https://inward.example/x", "https://0.0.0.0:8443/"):
        with pytest.raises(Blocked):
            dev.vet(Target.parse(url))


def test_settings_come_from_the_notifications_config():
    assert TargetPolicy.from_config({}).allow_loopback is False
    assert TargetPolicy.from_config({}).resolver is targets.system_resolver
    policy = TargetPolicy.from_config({
        "WEBHOOK_ALLOW_LOOPBACK": "true",
        "WEBHOOK_RESOLVER": "tests.support.notifications.FAKE_DNS.resolve"})
    from tests.support.notifications import FAKE_DNS
    assert policy.allow_loopback is True and policy.resolver == FAKE_DNS.resolve


def test_the_url_is_taken_apart_once_for_the_connection_and_the_host_header():
    target = Target.parse("https://Hooks.Example.:8443/a/b?c=1#frag")
    assert (target.scheme, target.host, target.port, target.path, target.host_header) == (
        "https", "hooks.example", 8443, "/a/b?c=1", "hooks.example:8443")
    six = Target.parse("https://[2606:4700::1111]/")
    assert (six.host, six.port, six.path, six.host_header) == (
        "2606:4700::1111", 443, "/", "[2606:4700::1111]")
    legacy = Target.parse("http://2130706433:8080/")
    assert (legacy.host, str(legacy.address), legacy.host_header) == (
        "127.0.0.1", "127.0.0.1", "127.0.0.1:8080")


# -- registration: the 422 detail -----------------------------------------------------------------

@pytest.mark.parametrize("url, detail", [
    ("https://127.0.0.1:8443/x", "127.0.0.1 is refused (loopback address)"),
    ("https://10.0.0.5/", "10.0.0.5 is refused (private address)"),
    ("https://[::1]/", "::1 is refused (loopback address)"),
    ("https://169.254.169.254/", "169.254.169.254 is refused (cloud metadata address)"),
    ("https://[fe80::1%25eth0]/", "fe80::1 is refused (link-local address)"),
    ("https://[::ffff:10.0.0.5]/", "::ffff:a00:5 is refused (private address)"),
    ("https://metadata.google.internal/", "metadata.google.internal is refused "
                                          "(cloud metadata)"),
    ("https://2130706433/", "127.0.0.1 is refused (loopback address)")])
def test_registration_names_the_category_of_an_address_written_in_the_url(url, detail):
    refusal = TargetPolicy(resolver=Dns()).registration_refusal(url)
    assert refusal == f"{detail}; webhooks go to public internet addresses only"


def test_registration_says_the_same_for_a_name_resolving_inward_or_not_at_all():
    """Otherwise registering names would tell which internal names exist."""
    policy = TargetPolicy(resolver=Dns(db_kommune_no=["10.1.2.3"], ok_kommune_no=["8.8.8.8"]))
    inward = policy.registration_refusal("https://db.kommune.no/")
    missing = policy.registration_refusal("https://nope.kommune.no/")
    assert inward == missing == targets.PUBLIC_NAME_ONLY
    assert "10.1.2.3" not in inward
    assert policy.registration_refusal("https://ok.kommune.no/hooks") is None


@pytest.mark.parametrize("url", ["https://ok.kommune.no:0/", "https://ok.kommune.no:99999/",
                                 "ftp://ok.kommune.no/", "https:///x"])
def test_registration_refuses_a_url_without_a_usable_host_and_port(url):
    policy = TargetPolicy(resolver=Dns(ok_kommune_no=["8.8.8.8"]))
    assert policy.registration_refusal(url) == "not a valid URL"


def test_a_resolver_failing_in_any_way_is_unresolvable_never_an_error():
    def broken(host, port):
        raise RuntimeError("resolver bug")
    with pytest.raises(Unresolvable):
        TargetPolicy(resolver=broken).vet(Target.parse("https://ok.kommune.no/"))


def hanging(host, port):
    eventlet.sleep(30)


def test_a_resolver_that_hangs_is_unresolvable_within_its_deadline():
    started = time.monotonic()
    with pytest.raises(Unresolvable):
        TargetPolicy(resolver=hanging, resolve_timeout=0.2).vet(
            Target.parse("https://ok.kommune.no/"))
    assert time.monotonic() - started < 2
    started = time.monotonic()
    assert TargetPolicy(resolver=hanging).registration_refusal(
        "https://ok.kommune.no/") == targets.PUBLIC_NAME_ONLY
    assert time.monotonic() - started < targets.REGISTRATION_RESOLVE_SECONDS + 1


def test_the_callers_deadline_is_not_taken_for_the_resolvers():
    with pytest.raises(eventlet.Timeout):
        with eventlet.Timeout(0.1):
            TargetPolicy(resolver=hanging, resolve_timeout=10).vet(
                Target.parse("https://ok.kommune.no/"))


def test_registration_refuses_credentials_in_the_url():
    policy = TargetPolicy(resolver=Dns(ok_kommune_no=["8.8.8.8"]))
    assert "user name or password" in policy.registration_refusal(
        "https://user:pw@ok.kommune.no/hooks")
