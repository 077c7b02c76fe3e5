"""The chat server "elsewhere": a network namespace of the test's own, reached over a veth pair."""

from __future__ import annotations

import ipaddress
import json
import urllib.request

import pytest

from chat_server import official_answer
from netns_server import TEST_RANGE, link_exists, netns_names, remote_chat_server

# straight to the test host: never through a proxy from the environment
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post_chat(endpoint: str, body: dict) -> dict:
    request = urllib.request.Request(endpoint + "/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with OPENER.open(request, timeout=10) as response:
        assert response.status == 200
        return json.load(response)


def test_remote_server_answers_and_records_requests_then_is_torn_down() -> None:
    content = official_answer(2)
    body = {"model": "remote-test-model", "temperature": 0,
            "messages": [{"role": "user", "content": "Describe the scene."}]}
    with remote_chat_server(content) as server:
        address = ipaddress.ip_address(server.address)
        assert address in TEST_RANGE and not address.is_loopback
        assert server.endpoint == f"http://{server.address}:{server.port}/v1"
        assert server.namespace in netns_names()
        assert server.requests() == []

        reply = post_chat(server.endpoint, body)
        assert reply["choices"][0]["message"]["content"] == content
        assert reply["model"] == "remote-test-model"
        assert server.requests() == [body]

        second = dict(body, model="another")
        assert post_chat(server.endpoint, second)["choices"][0]["message"]["content"] == content
        assert server.requests() == [body, second]
        namespace, host_if = server.namespace, server.host_interface

    assert namespace not in netns_names()
    assert not link_exists(host_if)


def test_namespace_is_torn_down_when_the_test_fails_inside() -> None:
    with pytest.raises(ZeroDivisionError):
        with remote_chat_server("x") as server:
            namespace, host_if = server.namespace, server.host_interface
            assert namespace in netns_names() and link_exists(host_if)
            1 / 0
    assert namespace not in netns_names()
    assert not link_exists(host_if)


def test_two_servers_at_once_get_separate_namespaces_and_addresses() -> None:
    with remote_chat_server("one") as one, remote_chat_server("two") as two:
        assert one.namespace != two.namespace and one.address != two.address
        assert post_chat(one.endpoint, {"model": "m", "messages": []})["choices"][0]["message"]["content"] == "one"
        assert post_chat(two.endpoint, {"model": "m", "messages": []})["choices"][0]["message"]["content"] == "two"
        assert len(one.requests()) == len(two.requests()) == 1
    assert one.namespace not in netns_names() and two.namespace not in netns_names()
