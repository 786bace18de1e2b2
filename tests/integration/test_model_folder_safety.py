"""A model folder is something people share: loading one must never open a network
connection or read an environment variable that the person running the command did not name."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen.generators import create
from synthgen.schema import apply_overrides, detect
from synthgen.text.synth import TextSynthesizer
from tests.integration.test_cli import invoke
from tests.unit.text.test_openai_backend import Script, _handler

SECRET = "s3cret-that-must-stay-home"


class Listener:
    """A TCP port that records every connection and every byte sent to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.received: list[bytes] = []
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.settimeout(0.5)
            with contextlib.suppress(OSError):
                self.received.append(conn.recv(65536))
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    try:
        yield lst
    finally:
        lst.close()


@pytest.fixture
def echo() -> Iterator[tuple[str, Script]]:
    """An OpenAI-compatible server the user chooses on the command line."""
    from http.server import ThreadingHTTPServer

    script = Script()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def _table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "blue"], n)
    return pd.DataFrame(
        {
            "colour": colour,
            "size": rng.integers(1, 10, n),
            "note": [f"a {c} thing number {i} seen today" for i, c in enumerate(colour)],
        }
    )


def _model(tmp: Path, with_remote_text: bool) -> Path:
    """A saved copula model; with a text column written by an OpenAI-compatible server."""
    df = _table()
    schema = apply_overrides(detect(df), {"note": {"kind": "text"}}, df)
    folder = tmp / "model"
    create("copula").fit(df, schema, seed=0).save(folder)
    if with_remote_text:
        spec = {
            "backend": "openai",
            "condition_on": ["colour"],
            "params": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "backoff_s": 0.01},
        }
        TextSynthesizer().fit(df, "note", spec, schema, seed=0).save(folder)
    return folder


def _plant(folder: Path, url: str, column: str = "note") -> None:
    """What an attacker does to a copied model: point its text backend at their server and
    name an environment variable that holds a secret."""
    cfg = folder / "text" / column / "model" / "config.json"
    body = json.loads(cfg.read_text())
    body["params"].update(base_url=url, api_key_env="SYNTHGEN_PII_SECRET")
    cfg.write_text(json.dumps(body))


def test_saved_text_model_names_no_server_and_no_key(tmp_path: Path) -> None:
    folder = _model(tmp_path, with_remote_text=True)
    for p in (folder / "text").rglob("*.json"):
        text = p.read_text()
        assert "base_url" not in text and "api_key_env" not in text and "127.0.0.1" not in text


def test_a_planted_server_receives_nothing(tmp_path, listener, monkeypatch) -> None:
    monkeypatch.setenv("SYNTHGEN_PII_SECRET", SECRET)
    folder = _model(tmp_path, with_remote_text=True)
    _plant(folder, listener.url)
    res = invoke("sample", folder, "-n", "5", "--out", tmp_path / "t.csv")
    assert res.exit_code == 2, res.output
    assert "--text-endpoint" in res.output and "Traceback" not in res.output
    assert listener.connections == 0 and listener.received == []
    assert not (tmp_path / "t.csv").exists()


def test_a_text_folder_dropped_into_a_table_model_is_refused(tmp_path, listener, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    folder = _model(tmp_path, with_remote_text=False)
    donor = _model(tmp_path / "donor", with_remote_text=True)
    # plant a text model for the modelled column 'colour'
    (folder / "text").mkdir()
    (donor / "text" / "note").rename(folder / "text" / "colour")
    spec = folder / "text" / "colour" / "spec.json"
    spec.write_text(spec.read_text().replace('"column": "note"', '"column": "colour"'))
    _plant(folder, listener.url, column="colour")
    for extra in ([], ["--text-endpoint", listener.url]):
        res = invoke("sample", folder, "-n", "5", "--out", tmp_path / "t.csv", *extra)
        assert res.exit_code == 2, res.output
        assert "does not mark as free text" in res.output
    assert listener.connections == 0
    assert not (tmp_path / "t.csv").exists()


def test_the_server_and_key_are_the_users_choice(tmp_path, listener, echo, monkeypatch):
    url, script = echo
    monkeypatch.setenv("SYNTHGEN_PII_SECRET", SECRET)
    monkeypatch.setenv("MY_KEY", "users-own-key")
    folder = _model(tmp_path, with_remote_text=True)
    _plant(folder, listener.url)
    res = invoke("sample", folder, "-n", "6", "--out", tmp_path / "a.csv", "--text-endpoint", url)
    assert res.exit_code == 0, res.output
    assert listener.connections == 0
    assert script.requests and all("Authorization" not in r["headers"] for r in script.requests)
    df = pd.read_csv(tmp_path / "a.csv")
    assert df["note"].notna().any()
    script.requests.clear()
    res = invoke(
        "sample", folder, "-n", "3", "--out", tmp_path / "b.csv",
        "--text-endpoint", url, "--text-key-env", "MY_KEY",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    sent = {r["headers"].get("Authorization") for r in script.requests}
    assert sent == {"Bearer users-own-key"}
    assert SECRET not in json.dumps([r["headers"] for r in script.requests])


def test_no_text_leaves_the_column_empty_without_a_server(tmp_path, listener) -> None:
    folder = _model(tmp_path, with_remote_text=True)
    _plant(folder, listener.url)
    res = invoke("sample", folder, "-n", "4", "--out", tmp_path / "t.csv", "--no-text")
    assert res.exit_code == 0, res.output
    assert pd.read_csv(tmp_path / "t.csv")["note"].isna().all()
    assert listener.connections == 0


def test_endpoint_with_credentials_is_refused_without_echoing_them(tmp_path) -> None:
    folder = _model(tmp_path, with_remote_text=True)
    res = invoke(
        "sample", folder, "-n", "2", "--out", tmp_path / "t.csv",
        "--text-endpoint", "http://user:hunter2@127.0.0.1:1/v1",
    )  # fmt: skip
    assert res.exit_code == 2
    assert "hunter2" not in res.output and "credentials" in res.output
