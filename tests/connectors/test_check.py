"""check-processors: each processor read once, and each kind of failure named with what to fix."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import socket
import ssl

import httpx
import pytest

from cli.main import main
from config.policy import load_policy
from config.settings import PROJECT_ROOT
from connectors.check import check_processor, check_processors
from connectors.http import use_transports
from tests.connectors.conftest import sandbox_settings

DEMO = ["mailchimp", "ibooking", "nets", "physica", "exceline"]
CONTROLLERS = PROJECT_ROOT / "config" / "controllers"


def failing(error: Exception) -> httpx.MockTransport:
    """A transport whose every request fails before an answer, as `error` (with its cause) says."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return httpx.MockTransport(handler)


def connect_error(message: str, cause: BaseException) -> httpx.ConnectError:
    """An httpx.ConnectError caused by `cause`, as httpx raises it from the socket's error."""
    try:
        raise cause
    except BaseException:
        try:
            raise httpx.ConnectError(message) from cause
        except httpx.ConnectError as error:
            return error


def keyed(right: str) -> httpx.MockTransport:
    """A processor that answers 401 to any key but `right`, and an empty list to the right one."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {right}":
            return httpx.Response(401, json={"error": "invalid api key"})
        return httpx.Response(200, json={"items": [], "nextCursor": None})

    return httpx.MockTransport(handler)


async def test_every_demo_processor_answers_the_sandbox(sandbox):
    """Against the sandbox, each of the demo chain's processors answers with its key and its lookup."""
    with use_transports(sandbox.transports()):
        checks = await check_processors(DEMO, sandbox_settings())

    assert [(system, True) for system in DEMO] == [(c.system, c.answered) for c in checks]


@pytest.mark.parametrize("controller", ["aktiv365", "k24", "mova", "spenst", "vekstly"])
async def test_every_processor_a_chain_names_answers_the_sandbox(controller, sandbox):
    """Each processor of each chain's policy is checked, the stand-ins the seeds name by role only (MOVA's CRM
    and image bank, Spenst's access control and app) and Credicare (no API: nothing to reach) among them."""
    systems = list(dict.fromkeys(p.system for p in load_policy(controller, CONTROLLERS).processors))
    with use_transports(sandbox.transports()):
        checks = await check_processors(systems, sandbox_settings())

    assert [(system, True) for system in systems] == [(c.system, c.answered) for c in checks]
    assert {"mova": {"crm", "imagebank"}, "spenst": {"access", "app"}, "aktiv365": {"credicare"},
            "k24": {"mailchimp"}}.get(controller, set()) <= set(systems)


async def test_a_refused_key_is_named_as_the_key():
    """A 401 says the key was refused and names the variable that holds it."""
    with use_transports({"ibooking": keyed("right")}):
        check = await check_processor("ibooking", sandbox_settings(api_key="wrong"))
        right = await check_processor("ibooking", sandbox_settings(api_key="right"))

    assert (False, True) == (check.answered, right.answered)
    assert check.reason.startswith("the key was refused (HTTP 401): check SLETT_PROCESSORS__IBOOKING__API_KEY")


async def test_a_host_that_does_not_resolve_is_named_as_dns():
    """A name the resolver does not know is reported as DNS, pointing at the base URL."""
    gone = connect_error("[Errno -2] Name or service not known", socket.gaierror(-2, "Name or service not known"))
    with use_transports({"physica": failing(gone)}):
        check = await check_processor("physica", sandbox_settings())

    assert False is check.answered
    assert "the host name does not resolve (DNS)" in check.reason
    assert check.reason.endswith("check the host in SLETT_PROCESSORS__PHYSICA__BASE_URL")


async def test_a_refused_connection_is_named():
    """A host where nothing listens is reported as a refused connection (a real closed port on loopback)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    check = await check_processor("ibooking", sandbox_settings(base_url=f"http://127.0.0.1:{port}"))

    assert False is check.answered
    assert "connection refused (nothing listens at that host and port)" in check.reason


async def test_a_tls_failure_is_named():
    """A certificate the trust store refuses is reported as TLS."""
    untrusted = connect_error("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
                              ssl.SSLCertVerificationError(1, "certificate verify failed"))
    with use_transports({"lifevision": failing(untrusted)}):
        check = await check_processor("lifevision", sandbox_settings())

    assert False is check.answered
    assert "TLS failed (SSLCertVerificationError)" in check.reason


@pytest.mark.parametrize("system", ["ibooking", "exceline", "nets"])
async def test_a_wrong_base_path_is_named_as_404(system, sandbox):
    """A base URL with a wrong path answers 404, which points at the base URL's path (Exceline's member lookup
    would read a 404 as "no such member", so its guest listing is read instead)."""
    with use_transports(sandbox.transports()):
        check = await check_processor(system, sandbox_settings(base_url=f"http://{system}.sandbox/wrong/v9"))

    assert False is check.answered
    assert check.reason.startswith(
        f"the path is not found (HTTP 404): check the path in SLETT_PROCESSORS__{system.upper()}__BASE_URL")


async def test_a_processor_with_no_api_needs_nothing():
    """Credicare has no API: nothing is reached, and that is not a failure."""
    check = await check_processor("credicare", sandbox_settings())

    assert (True, "no API: its steps are a person's, nothing to reach") == (check.answered, check.reason)


async def test_a_processor_without_settings_is_named():
    """A processor the settings do not name fails with the variables to set."""
    settings = sandbox_settings().model_copy(update={"processors": {}})

    check = await check_processor("ibooking", settings)

    assert False is check.answered
    assert "not configured" in check.reason and "SLETT_PROCESSORS__IBOOKING__BASE_URL" in check.reason


def processor_env(monkeypatch, **keys: str) -> None:
    """The environment the command reads its settings from: every demo processor at the sandbox."""
    monkeypatch.setenv("SLETT_SUBJECT_KEY", "x" * 32)
    for system in DEMO:
        monkeypatch.setenv(f"SLETT_PROCESSORS__{system.upper()}__BASE_URL", f"http://{system}.sandbox")
        monkeypatch.setenv(f"SLETT_PROCESSORS__{system.upper()}__API_KEY", keys.get(system, "test"))


def test_the_command_prints_each_processor_and_exits_zero(monkeypatch, sandbox, capsys):
    """`slett check-processors --controller demo` prints one line per processor and exits 0 when all answer."""
    processor_env(monkeypatch)
    with use_transports(sandbox.transports()):
        code = main(["check-processors", "--controller", "demo"])

    lines = capsys.readouterr().out.splitlines()
    assert 0 == code
    assert [f"ok   {s}: answers: the key is accepted and the lookup reads" for s in DEMO] == lines[:-1]
    assert "5 of 5 processors answer" == lines[-1]


def test_the_command_exits_non_zero_naming_what_failed(monkeypatch, sandbox, capsys):
    """One processor refusing the key makes the command fail, naming it and the reason."""
    processor_env(monkeypatch, ibooking="wrong")
    with use_transports({**sandbox.transports(), "ibooking": keyed("right")}):
        code = main(["check-processors", "--controller", "demo"])

    out = capsys.readouterr().out
    assert 1 == code
    assert "FAIL ibooking: the key was refused (HTTP 401)" in out
    assert out.rstrip().endswith("4 of 5 processors answer; fix ibooking before the first real request")
