"""Offline guard for the test session: any connection to a host other than this machine fails loudly.

The root ``conftest.py`` installs it in the pytest process (collection and fixtures included) and
puts this folder on ``PYTHONPATH``, so that every Python subprocess a test starts (the command line,
the notebooks' Jupyter kernels under nbval) imports it at startup as ``sitecustomize``. Loopback
stays open: Jupyter talks to its kernels over 127.0.0.1.
"""
import ipaddress
import socket

LOCAL_NAMES = {None, "", "localhost", "localhost.localdomain"}


class NetworkBlocked(RuntimeError):
    pass


def _is_local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(host):
    raise NetworkBlocked(f"tests run offline: no connection to {host!r} (weights and data must be local)")


def install() -> None:
    if getattr(socket, "_course_offline", False):
        return
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def guarded(method):
        def wrapper(self, address, *args, **kwargs):
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
                _refuse(address[0])
            return method(self, address, *args, **kwargs)
        return wrapper

    def guarded_getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            _refuse(host)
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded(connect)
    socket.socket.connect_ex = guarded(connect_ex)
    socket.getaddrinfo = guarded_getaddrinfo  # create_connection and urllib resolve through it
    socket._course_offline = True


install()
