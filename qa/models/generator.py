"""Generation backends: OpenAI chat-completions messages in, streamed text deltas out.

- ``llamacpp``: llama.cpp in-process through xllamacpp (default; GGUF from the model store);
- ``openai``: any OpenAI-compatible HTTP server (llama.cpp server, vLLM, Ollama …);
- ``transformers``: a Hugging Face causal LM, for users with hub access.

What the model is asked lives in qa.answering.prompts; a backend only runs messages.
"""

from __future__ import annotations

import functools
import json
import math
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import httpx

from qa.config import Config, GeneratorSettings
from qa.models.weights import resolve


class Generator(Protocol):
    def stream(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[str]:
        """The reply's text as it is generated. Closing the iterator early stops the generation
        (the drafter does when a draft loops), so the model is free for the next request."""
        ...

    def first_token_probs(self, messages: list[dict], top: int = 20) -> dict[str, float]:
        """The `top` most likely first tokens of the reply (token text → probability), greedy:
        a forced choice read from one forward pass (qa.answering.probe)."""
        ...


def _top_logprobs(data: dict) -> dict[str, float]:
    """token → probability of the first generated token, from an OpenAI-format completion
    (`logprobs.content[0].top_logprobs`); {} when the reply carries none."""
    try:
        first = data["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    except (KeyError, IndexError, TypeError):
        return {}
    probs: dict[str, float] = {}
    for entry in first:
        token, p = str(entry.get("token", "")), math.exp(float(entry.get("logprob", -math.inf)))
        probs[token] = probs.get(token, 0.0) + p
    return probs


def _choice_request(messages: list[dict], top: int) -> dict:
    return {"messages": messages, "max_tokens": 1, "temperature": 0.0, "logprobs": True, "top_logprobs": top}


class LlamaCppGenerator:
    """llama.cpp in-process. xllamacpp runs llama.cpp's server loop in C++ threads; requests
    from several Python threads are queued onto its slots (`parallel_slots`)."""

    def __init__(self, model_path: str, cfg: GeneratorSettings, threads: int):
        import xllamacpp as xlc  # heavy (llama.cpp): loaded only when this backend is chosen

        params = xlc.CommonParams()
        params.model.path = model_path
        params.n_ctx = cfg.n_ctx * max(1, cfg.parallel_slots)
        params.n_parallel = max(1, cfg.parallel_slots)
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.cache_prompt = True
        # llama.cpp's weight repacking: see ModelSettings.llama_repack
        params.no_extra_bufts = not cfg.llama_repack
        # llama.cpp keeps earlier prompts in a RAM cache (8 GiB by default): a long-running chat
        # server grew ~14 MB per distinct question. 256 MiB still holds the shared prefix.
        params.cache_ram_mib = 256
        # llama.cpp logs every slot decision to stderr; errors still surface as exceptions
        params.verbosity = cfg.llama_verbosity
        self._server = xlc.Server(params)

    def stream(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[str]:
        request = {
            "messages": messages,
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "cache_prompt": True,
        }
        deltas: queue.Queue = queue.Queue()
        done = object()
        stopped = threading.Event()  # set when the caller stops reading: llama.cpp stops generating

        def on_chunk(chunk) -> bool:
            if stopped.is_set():
                return True  # xllamacpp: True ends the request, and its slot is free for the next
            data = json.loads(chunk) if isinstance(chunk, (str, bytes)) else chunk
            if "error" in data:
                deltas.put(RuntimeError(f"llama.cpp: {data['error']}"))
                return True
            for choice in data.get("choices", []):
                text = (choice.get("delta") or {}).get("content")
                if text:
                    deltas.put(text)
            return False

        def run() -> None:
            try:
                self._server.handle_chat_completions(request, on_chunk)
            except Exception as err:  # surfaced to the caller below
                deltas.put(err)
            finally:
                deltas.put(done)

        threading.Thread(target=run, daemon=True, name="llamacpp-request").start()
        try:
            while (item := deltas.get()) is not done:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:  # also when the caller closes the stream early (a draft that loops, a client gone)
            stopped.set()

    def first_token_probs(self, messages: list[dict], top: int = 20) -> dict[str, float]:
        replies: list = []

        def on_reply(reply) -> bool:
            replies.append(json.loads(reply) if isinstance(reply, (str, bytes)) else reply)
            return False

        self._server.handle_chat_completions({**_choice_request(messages, top), "stream": False}, on_reply)
        data = replies[-1] if replies else {}
        if "error" in data:
            raise RuntimeError(f"llama.cpp: {data['error']}")
        return _top_logprobs(data)


class GenerationError(RuntimeError):
    """The generator could not produce an answer; the message says why and what to do."""


class OpenAIHTTPGenerator:
    """Any OpenAI-compatible server: POST {base}/chat/completions with stream=true (SSE).

    Every failure a user can hit becomes a GenerationError with a message that says what
    happened: server not reachable, no answer within `timeout` seconds, an HTTP error status
    (with the server's own message; 429/5xx say to retry later), or a stream that is not the
    OpenAI format."""

    def __init__(self, base_url: str, model: str, timeout: float = 120.0, api_key: str | None = None):
        self.base_url, self.model, self.timeout, self.api_key = base_url.rstrip("/"), model, timeout, api_key

    def stream(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[str]:
        body = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = f"{self.base_url}/chat/completions"
        try:
            with httpx.stream("POST", url, json=body, headers=headers, timeout=self.timeout) as r:
                if r.status_code != 200:
                    raise GenerationError(_http_error(url, r.status_code, r.read()))
                for line in r.iter_lines():
                    yield from _sse_deltas(line, url)
        except httpx.ConnectError as err:
            raise GenerationError(
                f"cannot reach the generator server at {self.base_url} ({err}); is it "
                "running? Check QA_OPENAI_BASE_URL, or unset QA_GEN_BACKEND to answer "
                "with the built-in model"
            ) from None
        except httpx.TimeoutException:
            raise GenerationError(
                f"the generator server at {self.base_url} did not answer within "
                f"{self.timeout:g} s; it may be overloaded: try again, or raise "
                "QA_OPENAI_TIMEOUT"
            ) from None
        except httpx.HTTPError as err:
            raise GenerationError(
                f"the connection to the generator server at {self.base_url} failed: {err.__class__.__name__}: {err}"
            ) from None

    def first_token_probs(self, messages: list[dict], top: int = 20) -> dict[str, float]:
        """Servers that do not return logprobs (some do not) give {}: no signal, nothing refused."""
        body = {"model": self.model, **_choice_request(messages, top), "stream": False}
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = f"{self.base_url}/chat/completions"
        try:
            r = httpx.post(url, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as err:
            raise GenerationError(
                f"the generator server at {self.base_url} failed: {err.__class__.__name__}: {err}"
            ) from None
        if r.status_code != 200:
            raise GenerationError(_http_error(url, r.status_code, r.content))
        try:
            return _top_logprobs(r.json())
        except ValueError:
            raise GenerationError(f"the generator server at {url} answered with something that is not JSON") from None


def _http_error(url: str, status: int, body: bytes) -> str:
    detail = body[:300].decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(body)
        error = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
        detail = str(error.get("message", error) if isinstance(error, dict) else error)[:300]
    except ValueError:
        pass
    retry = " (a server-side problem: try again in a moment)" if status == 429 or status >= 500 else ""
    return f"the generator server answered HTTP {status} to {url}{retry}: {detail or 'no details'}"


def _sse_deltas(line: str, url: str) -> Iterator[str]:
    """The text deltas of one server-sent-events line (none for comments, blank lines, [DONE])."""
    if not line.startswith("data:"):
        return
    payload = line[5:].strip()
    if payload == "[DONE]":
        return
    try:
        data = json.loads(payload)
        if "error" in data:
            raise GenerationError(f"the generator server reported an error: {data['error']}")
        for choice in data.get("choices", []):
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield text
    except (ValueError, AttributeError, TypeError):
        raise GenerationError(
            f"the generator server at {url} sent a stream that is not in the OpenAI format: {payload[:120]!r}"
        ) from None


class TransformersGenerator:
    """A Hugging Face causal LM (hub id or local folder), streamed with TextIteratorStreamer."""

    def __init__(self, model_id: str, cfg: GeneratorSettings, threads: int):
        # heavy and optional (users with hub access): loaded only when this backend is chosen
        import torch  # heavy: imported where needed (the ONNX path runs without torch)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(model_id)
        self.model = AutoModelForCausalLM.from_pretrained(model_id, torch_dtype=torch.float32)
        self._lock = threading.Lock()

    def stream(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[str]:
        from transformers import StoppingCriteriaList, TextIteratorStreamer  # optional, as above

        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        stopped = threading.Event()  # set when the caller stops reading: generation ends at the next token
        kwargs = dict(
            **inputs,
            max_new_tokens=max_tokens,
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([lambda input_ids, scores, **_: stopped.is_set()]),
            do_sample=temperature > 0,
            **({"temperature": temperature} if temperature > 0 else {}),
        )
        with self._lock:
            worker = threading.Thread(target=self.model.generate, kwargs=kwargs, daemon=True)
            worker.start()
            try:
                yield from streamer
            finally:
                stopped.set()
                worker.join()

    def first_token_probs(self, messages: list[dict], top: int = 20) -> dict[str, float]:
        import torch  # heavy: as above

        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        with self._lock, torch.no_grad():
            logits = self.model(**inputs).logits[0, -1]
        values, ids = torch.softmax(logits.float(), dim=-1).topk(top)
        probs: dict[str, float] = {}
        for p, i in zip(values.tolist(), ids.tolist()):
            token = self.tokenizer.decode([i])
            probs[token] = probs.get(token, 0.0) + p
        return probs


_lock = threading.Lock()


@functools.lru_cache(maxsize=2)
def _load(settings: GeneratorSettings, threads: int, models_dir: Path) -> Generator:
    if settings.backend == "llamacpp":
        return LlamaCppGenerator(resolve(settings.model, models_dir), settings, threads)
    if settings.backend == "openai":
        return OpenAIHTTPGenerator(
            settings.openai_base_url, settings.model, settings.openai_timeout, settings.openai_api_key
        )
    if settings.backend == "transformers":
        return TransformersGenerator(resolve(settings.model, models_dir), settings, threads)
    raise ValueError(f"unknown generator backend {settings.backend!r}: use llamacpp, openai or transformers")


def make_generator(cfg: Config) -> Generator:
    """The configured generator (the factory), loaded once per process for the same engine
    settings (cfg.generator, the threads and the models folder)."""
    with _lock:
        return _load(cfg.generator, cfg.runtime.threads, cfg.paths.models_dir)
