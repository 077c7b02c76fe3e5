"""An OpenAI-compatible chat server "elsewhere": in a network namespace this helper creates for the test,
reached from the test process over a veth pair, so a test can see what a client sends to an endpoint that
is not on loopback. Traffic never leaves the machine: the only route to the server is the veth pair.

    with remote_chat_server("hello") as server:
        client_call(server.endpoint)          # e.g. http://10.213.41.2:40123/v1
        assert server.requests()[0]["model"] == ...

Needs root (``ip netns add``); without it the helper raises ``NetnsUnavailable`` rather than skipping.
Run as ``python tests/netns_server.py --serve ...`` (by the helper, inside the namespace) it is the server.
"""

from __future__ import annotations

import argparse
import ipaddress
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

TEST_RANGE = ipaddress.ip_network("10.213.0.0/16")  # the /30s of the test hosts are taken from here
_IP_TIMEOUT_S = 15
_READY_TRIES, _READY_PAUSE_S = 200, 0.05  # up to 10 s for the server to start and report its port
_CONNECT_TRIES, _CONNECT_PAUSE_S = 50, 0.1
_ADDRESS_TRIES = 64
_SERVER_MAX_S = 1800  # the server stops by itself after this, or as soon as the test process is gone
_counter = itertools.count()


class NetnsUnavailable(RuntimeError):
    """The test cannot create its network namespace (not root, no CAP_SYS_ADMIN/CAP_NET_ADMIN, no ``ip``)."""


@dataclass
class RemoteServer:
    namespace: str
    host_interface: str  # the veth end in the test's namespace
    peer_interface: str  # the veth end inside ``namespace``
    host_address: str  # the test process's address on the veth pair
    address: str  # the server's address
    port: int
    log_path: Path

    @property
    def endpoint(self) -> str:
        return f"http://{self.address}:{self.port}/v1"

    def requests(self) -> list[dict]:
        """The JSON bodies received so far, in arrival order."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]


def _ip(*args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=_IP_TIMEOUT_S)
    except FileNotFoundError as e:
        raise NetnsUnavailable("the `ip` command (iproute2) is not installed") from e


def _ip_ok(*args: str) -> str:
    done = _ip(*args)
    if done.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def netns_names() -> set[str]:
    """The names in ``ip netns list``."""
    return {line.split()[0] for line in _ip_ok("netns", "list").splitlines() if line.strip()}


def link_exists(name: str) -> bool:
    return _ip("link", "show", "dev", name).returncode == 0


def _networks_in_use() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network of this namespace's addresses and routes (all tables), the default route aside."""
    nets = []
    for route in json.loads(_ip_ok("-j", "-4", "route", "show", "table", "all") or "[]"):
        if route.get("dst", "default") != "default":
            nets.append(ipaddress.ip_network(route["dst"], strict=False))
    for link in json.loads(_ip_ok("-j", "-4", "addr", "show") or "[]"):
        for info in link.get("addr_info", []):
            nets.append(ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}", strict=False))
    return nets


def _free_subnet(pid: int, n: int) -> ipaddress.IPv4Network:
    """A /30 of TEST_RANGE that no address or route here overlaps, chosen from the pid (bounded tries)."""
    subnets = 2 ** (30 - TEST_RANGE.prefixlen)
    used = _networks_in_use()
    for i in range(_ADDRESS_TRIES):
        index = (pid * 97 + n * 13 + i * 1021) % subnets
        subnet = ipaddress.ip_network((int(TEST_RANGE.network_address) + 4 * index, 30))
        if not any(subnet.overlaps(net) for net in used):
            return subnet
    raise RuntimeError(f"no free /30 in {TEST_RANGE} after {_ADDRESS_TRIES} tries")


def _names(pid: int, n: int) -> tuple[str, str, str]:
    namespace = f"skyscript-test-{pid}-{n}"
    host_if, peer_if = f"sky{pid:x}x{n}h", f"sky{pid:x}x{n}n"  # at most 15 characters for pids < 2**24
    if len(host_if) > 15:
        raise RuntimeError(f"interface name {host_if!r} is longer than 15 characters")
    if namespace in netns_names():
        raise RuntimeError(f"network namespace {namespace} already exists")
    for name in (host_if, peer_if):
        if link_exists(name):
            raise RuntimeError(f"network interface {name} already exists")
    return namespace, host_if, peer_if


def _wait_ready(proc: subprocess.Popen, ready: Path, stderr_path: Path, address: str) -> int:
    def failure(what: str) -> RuntimeError:
        return RuntimeError(f"the chat server in the namespace {what}; its output:\n"
                            f"{stderr_path.read_text(errors='replace') if stderr_path.exists() else ''}")

    for _ in range(_READY_TRIES):
        if proc.poll() is not None:
            raise failure(f"exited with {proc.returncode}")
        if ready.exists():
            break
        time.sleep(_READY_PAUSE_S)
    else:
        raise failure(f"did not start within {_READY_TRIES * _READY_PAUSE_S:.0f} s")
    port = int(ready.read_text())
    for _ in range(_CONNECT_TRIES):
        try:
            with socket.create_connection((address, port), timeout=1):
                return port
        except OSError:
            if proc.poll() is not None:
                raise failure(f"exited with {proc.returncode}")
            time.sleep(_CONNECT_PAUSE_S)
    raise failure(f"does not accept connections on {address}:{port}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def remote_chat_server(content: str) -> Iterator[RemoteServer]:
    """A chat server in a fresh network namespace that answers every POST with a chat completion whose
    message content is ``content``; the namespace, the veth pair and the server go away on exit."""
    pid, n = os.getpid(), next(_counter)
    namespace, host_if, peer_if = _names(pid, n)
    subnet = _free_subnet(pid, n)
    host_address, address = (str(a) for a in subnet.hosts())
    tmp = Path(tempfile.mkdtemp(prefix=f"skyscript-netns-{pid}-{n}-"))
    log_path, ready, stderr_path = tmp / "requests.jsonl", tmp / "port", tmp / "server.log"
    (tmp / "content").write_text(content)

    made_namespace = made_link = False
    proc: subprocess.Popen | None = None
    try:
        done = _ip("netns", "add", namespace)
        if done.returncode != 0:
            raise NetnsUnavailable(
                f"cannot create the test's network namespace: `ip netns add {namespace}` failed "
                f"({done.returncode}): {done.stderr.strip()} -- this test needs root "
                "(CAP_SYS_ADMIN and CAP_NET_ADMIN)")
        made_namespace = True
        _ip_ok("link", "add", host_if, "type", "veth", "peer", "name", peer_if)
        made_link = True
        _ip_ok("link", "set", peer_if, "netns", namespace)
        _ip_ok("addr", "add", f"{host_address}/30", "dev", host_if)
        _ip_ok("link", "set", host_if, "up")
        _ip_ok("-n", namespace, "addr", "add", f"{address}/30", "dev", peer_if)
        _ip_ok("-n", namespace, "link", "set", peer_if, "up")
        _ip_ok("-n", namespace, "link", "set", "lo", "up")
        route = json.loads(_ip_ok("-j", "route", "get", address))
        if not route or route[0].get("dev") != host_if:
            raise RuntimeError(f"{address} is not routed over {host_if} but {route}; refusing to go on")

        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", namespace, sys.executable, str(Path(__file__).resolve()), "--serve",
                 "--host", address, "--content-file", str(tmp / "content"), "--log", str(log_path),
                 "--ready", str(ready), "--parent-pid", str(pid)],
                stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT, start_new_session=True)
        port = _wait_ready(proc, ready, stderr_path, address)
        yield RemoteServer(namespace, host_if, peer_if, host_address, address, port, log_path)
    finally:
        errors = []
        if proc is not None:
            try:
                _stop(proc)
            except Exception as e:  # keep tearing down
                errors.append(f"stopping the server: {e}")
        if made_link and link_exists(host_if):
            done = _ip("link", "del", host_if)
            if done.returncode != 0:
                errors.append(f"ip link del {host_if}: {done.stderr.strip()}")
        if made_namespace:
            done = _ip("netns", "del", namespace)
            if done.returncode != 0:
                errors.append(f"ip netns del {namespace}: {done.stderr.strip()}")
        shutil.rmtree(tmp, ignore_errors=True)
        if errors and sys.exc_info()[0] is None:
            raise RuntimeError("tearing down the test's network namespace failed: " + "; ".join(errors))


def _serve(args: argparse.Namespace) -> None:
    """The server process (inside the namespace): log each request body as a JSON line, answer ``content``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from chat_server import ChatServer, Reply

    content = Path(args.content_file).read_text()
    lock = threading.Lock()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    with open(args.log, "a") as log:
        def answer(body: dict, attempt: int) -> Reply:
            with lock:  # logged before the reply goes out: a client that has its answer finds its request
                log.write(json.dumps(body) + "\n")
                log.flush()
            return Reply(content=content)

        with ChatServer(answer, host=args.host) as server:
            ready = Path(args.ready)
            ready.with_suffix(".tmp").write_text(str(server.httpd.server_address[1]))
            os.replace(ready.with_suffix(".tmp"), ready)
            deadline = time.monotonic() + args.max_seconds
            while time.monotonic() < deadline and os.getppid() == args.parent_pid:
                time.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--content-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--ready", required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=_SERVER_MAX_S)
    _serve(parser.parse_args(argv))


if __name__ == "__main__":
    main()
