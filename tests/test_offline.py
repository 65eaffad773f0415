"""The offline guard holds everywhere in the session: tests, module fixtures, subprocesses."""
import socket
import subprocess
import sys

import pytest

BLOCKED = "tests run offline"


@pytest.fixture(scope="module")
def attempt_in_module_fixture():
    try:
        socket.create_connection(("example.com", 80), timeout=1)
    except RuntimeError as err:
        return str(err)
    return "connected"


def test_a_test_cannot_reach_the_network():
    with pytest.raises(RuntimeError, match=BLOCKED):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    with pytest.raises(RuntimeError, match=BLOCKED):
        socket.getaddrinfo("pypi.org", 443)


def test_a_module_fixture_cannot_reach_the_network(attempt_in_module_fixture):
    assert BLOCKED in attempt_in_module_fixture


def test_a_subprocess_cannot_reach_the_network():
    """The notebooks' kernels under nbval are subprocesses too: they inherit the same PYTHONPATH."""
    code = "import urllib.request; urllib.request.urlopen('http://example.com', timeout=1)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and BLOCKED in done.stderr, done.stderr


def test_loopback_stays_open():
    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
