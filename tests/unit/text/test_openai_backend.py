"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from synthgen.errors import NotFittedError, UsageError
from synthgen.text.base import RemoteAccess, TextBackend
from synthgen.text.openai import OpenAIBackend


@dataclass
class Script:
    """What the fake server does: ``fail`` holds (status, headers) answered first, in order."""

    delay: float = 0.0
    fail: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with script.lock:
                script.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                script.times.append(time.monotonic())
                failure = script.fail.pop(0) if script.fail else None
                script.in_flight += 1
                script.max_in_flight = max(script.max_in_flight, script.in_flight)
            try:
                time.sleep(script.delay)
            finally:
                # done before the reply leaves: once the client has it, its worker may send
                # the next request before this thread would get to count this one finished
                with script.lock:
                    script.in_flight -= 1
            if failure:
                status, headers = failure
                self._send(status, {"error": {"message": f"scripted {status}"}}, headers)
            else:
                self._send(200, _completion(body))

        def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

    return Handler


def _completion(body: dict) -> dict:
    """Echo the row's fields back, so the test can check which text went to which row."""
    if "messages" in body:
        ask = body["messages"][-1]["content"]
        fields = ask.split("Details:\n")[1].split("\n")[0]
        return {
            "choices": [{"message": {"role": "assistant", "content": f" about {fields} "}}],
            "usage": {"completion_tokens": 3},
        }
    return {"choices": [{"text": "plain " + body["prompt"].strip().splitlines()[-2]}]}


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def _backend(url: str, **kw: Any) -> OpenAIBackend:
    params = {"base_url": url, "model": "tiny", "backoff_s": 0.01, "column": "review", **kw}
    backend = OpenAIBackend(**params)
    backend.fit(["a real text that must stay here"], ["rating: 1\n"], seed=0)
    return backend


PROMPTS = [f"rating: {i} | condition: acne\n" for i in range(12)]


def test_request_shape_and_order(server, monkeypatch):
    url, script = server
    monkeypatch.setenv("SYNTHGEN_TEST_KEY", "sk-secret-123")
    backend = _backend(url, api_key_env="SYNTHGEN_TEST_KEY", temperature=0.3, max_tokens=40)
    assert isinstance(backend, TextBackend)
    out = backend.generate(PROMPTS, seed=5)
    assert out == [f"about rating: {i} | condition: acne" for i in range(12)]
    req = script.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-secret-123"
    body = req["body"]
    assert body["model"] == "tiny" and body["max_tokens"] == 40 and body["temperature"] == 0.3
    assert body["messages"][0]["role"] == "system"
    assert body["messages"][-1]["content"].startswith("Write one realistic review. Details:")
    seeds = {r["body"]["seed"] for r in script.requests}
    assert len(seeds) == 12  # one distinct seed per row ...
    again = [r["body"]["seed"] for r in sorted(script.requests, key=lambda r: r["body"]["seed"])]
    script.requests.clear()
    backend.generate(PROMPTS, seed=5)
    assert sorted(r["body"]["seed"] for r in script.requests) == again  # ... reproducible
    sent = json.dumps([r["body"] for r in script.requests])
    assert "a real text" not in sent


def test_key_is_never_saved_or_described(server, monkeypatch, tmp_path: Path):
    url, _ = server
    monkeypatch.setenv("SYNTHGEN_TEST_KEY", "sk-secret-123")
    backend = _backend(url, api_key_env="SYNTHGEN_TEST_KEY")
    backend.generate(PROMPTS[:2], seed=0)
    backend.save(tmp_path)
    saved = (tmp_path / "config.json").read_text()
    assert "sk-secret-123" not in saved and "sk-secret-123" not in json.dumps(backend.describe())
    assert "api_key_env" not in json.loads(saved)["params"]  # the loading user names it
    with pytest.raises(UsageError, match="--text-endpoint"):
        OpenAIBackend.load(tmp_path)
    loaded = OpenAIBackend.load(tmp_path, RemoteAccess(url, "SYNTHGEN_TEST_KEY"))
    assert loaded.params == backend.params
    assert loaded.generate(PROMPTS[:1], seed=0) == ["about rating: 0 | condition: acne"]


def test_missing_key_variable_is_named(server, monkeypatch):
    url, script = server
    monkeypatch.delenv("SYNTHGEN_ABSENT_KEY", raising=False)
    backend = _backend(url, api_key_env="SYNTHGEN_ABSENT_KEY")
    with pytest.raises(UsageError, match="SYNTHGEN_ABSENT_KEY is not set"):
        backend.generate(PROMPTS[:1], seed=0)
    assert script.requests == []


def test_concurrency_is_used_and_bounded(server):
    url, script = server
    script.delay = 0.15
    t0 = time.monotonic()
    out = _backend(url, concurrency=4).generate(PROMPTS[:8], seed=0)
    elapsed = time.monotonic() - t0
    assert len(out) == 8 and script.max_in_flight == 4
    assert elapsed < 8 * 0.15 * 0.6  # two rounds of four, not eight in a row


def test_retries_after_429_and_500(server):
    url, script = server
    script.fail = [(429, {}), (500, {}), (503, {})]
    backend = _backend(url, concurrency=1)
    assert backend.generate(PROMPTS[:2], seed=0) == [
        "about rating: 0 | condition: acne",
        "about rating: 1 | condition: acne",
    ]
    assert len(script.requests) == 5 and backend.describe()["retries"] == 3


def test_retry_after_is_honoured(server):
    url, script = server
    script.fail = [(429, {"Retry-After": "0.6"})]
    _backend(url, concurrency=1).generate(PROMPTS[:1], seed=0)
    assert script.times[1] - script.times[0] >= 0.55


def test_gives_up_with_status_and_message(server):
    url, script = server
    script.fail = [(500, {})] * 3
    with pytest.raises(UsageError, match=r"/v1/chat/completions answered 500: scripted 500"):
        _backend(url, retries=2).generate(PROMPTS[:1], seed=0)
    assert len(script.requests) == 3


def test_client_error_is_not_retried(server):
    url, script = server
    script.fail = [(400, {})]
    with pytest.raises(UsageError, match="answered 400: scripted 400"):
        _backend(url).generate(PROMPTS[:1], seed=0)
    assert len(script.requests) == 1


def test_timeout(server):
    url, script = server
    script.delay = 1.0
    with pytest.raises(UsageError, match=r"did not answer within 0.2 s \(2 attempts\)"):
        _backend(url, timeout_s=0.2, retries=1).generate(PROMPTS[:1], seed=0)


def test_unreachable_server_names_the_url():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(UsageError, match=f"cannot reach the text endpoint {url}/chat/completions"):
        _backend(url, retries=1).generate(PROMPTS[:1], seed=0)


def test_rate_limit_spaces_requests(server, monkeypatch):
    """The slots the pacer hands out to concurrent threads are one interval apart (the
    slots, not the server's receive times, which jitter on a loaded machine)."""
    from synthgen.text import openai as oa

    slots: list[float] = []
    real_wait = oa._Pacer.wait

    def spy(self):
        at = real_wait(self)
        slots.append(at)
        return at

    monkeypatch.setattr(oa._Pacer, "wait", spy)
    url, script = server
    _backend(url, concurrency=4, requests_per_minute=600).generate(PROMPTS[:4], seed=0)
    assert len(script.times) == 4
    slots.sort()
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert len(gaps) == 3 and min(gaps) >= 0.1 - 1e-9  # 600 a minute = one every 0.1 s


def test_few_shot_uses_own_outputs_only(server):
    url, script = server
    backend = _backend(url, few_shot=2, concurrency=2)
    backend.generate(PROMPTS, seed=1)
    backend.generate(PROMPTS[:2], seed=1)
    last = script.requests[-1]["body"]["messages"]
    shots = [m["content"] for m in last if m["role"] == "assistant"]
    assert len(shots) == 2 and all(s.startswith("about rating:") for s in shots)
    assert "a real text" not in json.dumps([r["body"] for r in script.requests])


def test_completions_endpoint(server):
    url, script = server
    out = _backend(url, endpoint="completions", system_prompt=None).generate(PROMPTS[:1], seed=0)
    assert script.requests[0]["path"] == "/v1/completions"
    assert out == ["plain rating: 0 | condition: acne"]


def test_params_are_checked():
    with pytest.raises(ValidationError, match="credentials"):
        OpenAIBackend(base_url="http://user:pw@127.0.0.1:1/v1", model="m")
    with pytest.raises(ValidationError, match="prompt"):
        OpenAIBackend(base_url="http://127.0.0.1:1/v1", model="m", instruction="no fields")
    with pytest.raises(ValidationError, match="extra"):
        OpenAIBackend(base_url="http://127.0.0.1:1/v1", model="m", api_key="sk-oops")
    with pytest.raises(NotFittedError):
        OpenAIBackend(base_url="http://127.0.0.1:1/v1", model="m").generate(["x\n"], seed=0)
