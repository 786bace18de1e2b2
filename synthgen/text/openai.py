"""Texts from any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, a hosted API).

The standard library speaks the protocol (``urllib`` + threads), so this backend needs no
extra package. ``fit`` sends nothing anywhere: it only counts the real texts. Requests carry
the row's fields, never a real text; few-shot examples are this backend's own earlier
outputs. The API key is read from the environment variable named by ``api_key_env`` when a
request is made; it is never stored, saved, described or put in an error message.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from synthgen.errors import NotFittedError, UsageError
from synthgen.text.base import REMOTE_FIELDS, RemoteAccess
from synthgen.text.prompting import (
    DEFAULT_INSTRUCTION,
    FewShotPool,
    check_instruction,
    read_config,
    render_instruction,
    request_seed,
    write_config,
)

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
NAME = "openai"


class OpenAIParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="the API root, e.g. http://127.0.0.1:8000/v1")
    model: str = Field(min_length=1, description="the model name the server knows")
    api_key_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="NAME of the environment variable holding the key (sent as Bearer)",
    )
    endpoint: Literal["chat", "completions"] = "chat"
    column: str = Field("text", description="the column's name, for {column} in the instruction")
    system_prompt: str | None = "You write realistic free text for one field of a table row."
    instruction: str = Field(DEFAULT_INSTRUCTION, description="'{prompt}' = the row's fields")
    max_tokens: int = Field(256, ge=1, le=32_768)
    temperature: float = Field(0.8, ge=0.0, le=2.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    concurrency: int = Field(4, ge=1, le=64, description="requests in flight at once")
    timeout_s: float = Field(60.0, gt=0.0, description="per request")
    retries: int = Field(4, ge=0, le=20, description="on 429, 5xx, timeouts, lost connections")
    backoff_s: float = Field(1.0, ge=0.0, description="first wait; doubles, with jitter")
    max_backoff_s: float = Field(60.0, ge=0.0, description="cap on any wait, Retry-After too")
    requests_per_minute: float | None = Field(None, gt=0.0)
    few_shot: int = Field(0, ge=0, le=20, description="own earlier outputs shown as examples")

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1")
        if parts.username or parts.password:
            raise ValueError("must not hold credentials: name the key's variable in api_key_env")
        return v.rstrip("/")

    @field_validator("instruction")
    @classmethod
    def _instruction(cls, v: str) -> str:
        return check_instruction(v)


class _Pacer:
    """Spaces requests evenly to stay under ``requests_per_minute`` (shared by threads)."""

    def __init__(self, per_minute: float | None) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Sleep until this request's slot; return the slot (monotonic seconds)."""
        if not self.interval:
            return time.monotonic()
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
        time.sleep(at - now)
        return at


class OpenAIBackend:
    """One chat (or completions) request per prompt, ``concurrency`` at a time, in order."""

    name = NAME
    Params = OpenAIParams
    remote = True  # loads only with a RemoteAccess from the caller

    def __init__(self, **params: Any) -> None:
        self.params = OpenAIParams(**params)
        self._pool = FewShotPool(self.params.few_shot)
        self._stats = {"requests": 0, "retries": 0, "completion_tokens": 0, "seconds": 0.0}
        self._lock = threading.Lock()
        self.n_texts_: int | None = None

    # -- the protocol -------------------------------------------------------------------
    def fit(self, texts: list[str], prompts: list[str], *, seed: int) -> None:
        """Records how many pairs there were; no real text leaves the machine."""
        if len(texts) != len(prompts):
            raise UsageError(f"fit: {len(texts)} texts but {len(prompts)} prompts")
        self.n_texts_ = len(texts)

    def generate(self, prompts: list[str], *, seed: int, attempt: int = 0) -> list[str]:
        del attempt  # a retry differs by its seed only
        if self.n_texts_ is None:
            raise NotFittedError("OpenAIBackend.generate called before fit")
        key = self._api_key()
        pacer = _Pacer(self.params.requests_per_minute)
        out = [""] * len(prompts)
        # with few-shot, requests go in waves: a wave's examples are the outputs of earlier
        # waves, so the examples (hence the texts) do not depend on which thread was fastest
        wave = len(prompts) if not self.params.few_shot else max(4 * self.params.concurrency, 16)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(self.params.concurrency, thread_name_prefix="synthgen-text") as ex:
            for start in range(0, len(prompts), wave):
                idx = range(start, min(len(prompts), start + wave))
                snapshot = self._pool.snapshot()
                bodies = {i: self._body(prompts[i], snapshot, seed, i) for i in idx}
                futures = {ex.submit(self._post, bodies[i], key, pacer): i for i in idx}
                _collect(futures, out)
                self._pool.add([prompts[i] for i in idx], [out[i] for i in idx])
        self._stats["seconds"] += time.perf_counter() - t0
        return out

    def save(self, folder: Path) -> None:
        """Everything but where to connect and which variable holds the key: a model folder
        is shared, and the person loading it names those (see ``load``)."""
        params = self.params.model_dump(exclude=set(REMOTE_FIELDS))
        write_config(Path(folder), NAME, params, {"n_texts": self.n_texts_})

    @classmethod
    def load(cls, folder: Path, remote: RemoteAccess | None = None) -> OpenAIBackend:
        """A saved backend, connected to the server ``remote`` names, never to one the folder
        names: whatever a (possibly edited) config.json says about ``base_url`` or
        ``api_key_env`` is ignored, so loading a shared model can neither contact a server
        nor read an environment variable that its user did not choose."""
        body = read_config(Path(folder), NAME)
        params = {k: v for k, v in dict(body.get("params") or {}).items() if k not in REMOTE_FIELDS}
        if remote is None:
            raise UsageError(
                f"{folder} writes its text with a remote server (an OpenAI-compatible API, "
                f"model {params.get('model')!r}); a loaded model never connects anywhere by itself",
                hint="name the server yourself: --text-endpoint http://HOST:PORT/v1 (and "
                "--text-key-env VAR if it needs a key), or --no-text to leave the column empty",
            )
        try:
            backend = cls(**params, base_url=remote.base_url, api_key_env=remote.api_key_env)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
            )
            raise UsageError(
                f"{folder / 'config.json'}: not a valid text backend: {problems}"
            ) from None
        backend.n_texts_ = body["state"].get("n_texts")
        return backend

    def describe(self) -> dict[str, Any]:
        p = self.params
        keep = (
            *("base_url", "model", "endpoint", "api_key_env", "max_tokens", "temperature"),
            *("top_p", "concurrency", "few_shot", "requests_per_minute"),
        )
        return {
            "backend": NAME,
            **{k: getattr(p, k) for k in keep},
            "real_texts_seen": self.n_texts_,
            "real_texts_sent": 0,
            **{k: round(v, 3) if isinstance(v, float) else v for k, v in self._stats.items()},
        }

    # -- requests -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        path = "chat/completions" if self.params.endpoint == "chat" else "completions"
        return f"{self.params.base_url}/{path}"

    def _api_key(self) -> str | None:
        var = self.params.api_key_env
        if var is None:
            return None
        key = os.environ.get(var)
        if not key:
            raise UsageError(
                f"the text backend's API key variable {var} is not set",
                hint=f"export {var}=... before the run (the key is never written anywhere)",
            )
        return key

    def _body(self, prompt: str, snapshot: list, seed: int, index: int) -> dict[str, Any]:
        p = self.params
        shots = self._pool.draw(snapshot, seed, index)
        ask = render_instruction(p.instruction, p.column, prompt)
        body: dict[str, Any] = {
            "model": p.model,
            "max_tokens": p.max_tokens,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "seed": request_seed(seed, index),
        }
        if p.endpoint == "chat":
            messages = [{"role": "system", "content": p.system_prompt}] if p.system_prompt else []
            for ex_prompt, ex_text in shots:
                messages.append(
                    {
                        "role": "user",
                        "content": render_instruction(p.instruction, p.column, ex_prompt),
                    }
                )
                messages.append({"role": "assistant", "content": ex_text})
            body["messages"] = messages + [{"role": "user", "content": ask}]
        else:
            parts = [p.system_prompt] if p.system_prompt else []
            parts += [f"{render_instruction(p.instruction, p.column, a)}\n{b}" for a, b in shots]
            body["prompt"] = "\n\n".join(parts + [ask]) + "\n"
        return body

    def _post(self, body: dict[str, Any], key: str | None, pacer: _Pacer) -> str:
        """One request with retries; the text, or a UsageError that names the URL."""
        p = self.params
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        for attempt in range(p.retries + 1):
            pacer.wait()
            self._count("requests", 1)
            try:
                req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=p.timeout_s) as resp:
                    return self._parse(resp.read())
            except urllib.error.HTTPError as err:
                detail = _error_message(err.read())
                if err.code not in RETRY_STATUSES or attempt == p.retries:
                    raise self._http_error(err.code, detail, attempt + 1) from None
                wait = _retry_after(err.headers.get("Retry-After"))
            except (OSError, http.client.HTTPException) as err:  # URLError, timeouts, resets
                if attempt == p.retries:
                    raise self._network_error(err, attempt + 1) from None
                wait = None
            self._count("retries", 1)
            time.sleep(self._backoff(attempt) if wait is None else min(wait, p.max_backoff_s))
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        """Exponential with 'equal jitter': half fixed, half random, capped."""
        cap = min(self.params.max_backoff_s, self.params.backoff_s * 2.0**attempt)
        return cap / 2 + random.uniform(0.0, cap / 2)

    def _parse(self, raw: bytes) -> str:
        try:
            payload = json.loads(raw)
            choice = payload["choices"][0]
            text = (
                choice["message"]["content"] if self.params.endpoint == "chat" else choice["text"]
            )
        except (ValueError, KeyError, IndexError, TypeError):
            raise UsageError(
                f"{self.url} answered 200 but not with an OpenAI-style completion: {raw[:200]!r}"
            ) from None
        usage = payload.get("usage") or {}
        self._count("completion_tokens", int(usage.get("completion_tokens") or 0))
        return (text or "").strip()

    def _count(self, key: str, n: int) -> None:
        with self._lock:
            self._stats[key] += n

    def _http_error(self, status: int, detail: str, attempts: int) -> UsageError:
        hint = None
        if status in (401, 403):
            hint = (
                f"check the key in ${self.params.api_key_env}"
                if self.params.api_key_env
                else ("the server wants a key: name its environment variable in api_key_env")
            )
        elif status == 404:
            hint = f"check base_url (the API root, often ending in /v1) and model '{self.params.model}'"
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        return UsageError(f"text endpoint {self.url} answered {status}: {detail}{tries}", hint=hint)

    def _network_error(self, err: BaseException, attempts: int) -> UsageError:
        reason = getattr(err, "reason", err)
        if isinstance(reason, TimeoutError):
            return UsageError(
                f"text endpoint {self.url} did not answer within {self.params.timeout_s:g} s "
                f"({attempts} attempts)",
                hint="raise timeout_s, or lower max_tokens or concurrency",
            )
        return UsageError(
            f"cannot reach the text endpoint {self.url}: {reason} ({attempts} attempts)",
            hint="is the server running? check base_url (e.g. http://127.0.0.1:8000/v1)",
        )


def _collect(futures: dict[Future[str], int], out: list[str]) -> None:
    """Results into their rows' places; on the first error the queued requests are dropped."""
    try:
        for fut in as_completed(futures):
            out[futures[fut]] = fut.result()
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise


def _error_message(raw: bytes) -> str:
    """The server's own words: OpenAI's {"error": {"message"}}, vLLM's {"message"}, or text."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        payload = json.loads(text)
    except ValueError:
        return text[:300] or "(no message)"
    err = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(err, dict):
        err = err.get("message") or err.get("detail") or err
    return str(err)[:300]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
