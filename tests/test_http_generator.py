"""Generation over HTTP: the OpenAI-compatible backend against real servers on 127.0.0.1.

- End to end (e2e): llama.cpp's own HTTP server (xllamacpp.Server listening on a free port, the
  same API as vLLM or `llama-server`) answers a question through QA_GEN_BACKEND=openai: a cited,
  verified answer, streamed.
- Failure modes a user hits, each a GenerationError with a message that says what happened and
  what to do, never a hang or a raw traceback: server down, slow server (timeout), HTTP 4xx and
  5xx, a malformed stream. These run small stdlib HTTP servers on loopback that misbehave on
  purpose; the client code under test is the product's.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import free_port, tmp_config

from qa.models.generator import GenerationError, OpenAIHTTPGenerator

MESSAGES = [{"role": "user", "content": "Say hello."}]


@contextmanager
def serving(handler_body):
    """A loopback HTTP server whose POST handler is `handler_body(handler)`; yields its /v1 URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (stdlib name)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            handler_body(self)

        def log_message(self, *args):  # keep test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def reply(status: int, body: bytes, content_type: str = "application/json"):
    def handle(h):
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return handle


def sse(*events: str):
    """A server-sent-events body: each event a data line; a line starting with ':' is a comment."""
    lines = (e if e.startswith(":") else f"data: {e}" for e in events)
    return reply(200, "".join(f"{line}\n\n" for line in lines).encode(), "text/event-stream")


def chunk(text: str) -> str:
    return json.dumps({"choices": [{"delta": {"content": text}}]})


def collect(url: str, timeout: float = 5.0) -> str:
    return "".join(OpenAIHTTPGenerator(url, "m", timeout=timeout).stream(MESSAGES, 8, 0.0))


def test_a_well_formed_stream_is_read():
    with serving(sse(chunk("Hel"), chunk("lo"), ": keep-alive", "[DONE]")) as url:
        assert collect(url) == "Hello"


def test_server_down_says_it_cannot_reach_it():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(GenerationError, match="cannot reach the generator server.*QA_OPENAI_BASE_URL"):
        collect(url)


def test_slow_server_times_out_with_a_message():
    def slow(h):
        time.sleep(3)
        reply(200, b"")(h)

    with serving(slow) as url:
        started = time.monotonic()
        with pytest.raises(GenerationError, match=r"did not answer within 0.5 s.*QA_OPENAI_TIMEOUT"):
            collect(url, timeout=0.5)
        assert time.monotonic() - started < 3  # no hang


@pytest.mark.parametrize(
    "status,body,expect",
    [
        (500, b'{"error": {"message": "out of memory"}}', r"HTTP 500 .*try again.*out of memory"),
        (503, b"busy", r"HTTP 503 .*try again.*busy"),
        (429, b'{"error": "rate limited"}', r"HTTP 429 .*try again.*rate limited"),
        (404, b'{"error": {"message": "model not found"}}', r"HTTP 404 .*: model not found"),
        (401, b"", r"HTTP 401 .*no details"),
    ],
)
def test_http_errors_carry_status_and_the_servers_message(status, body, expect):
    with serving(reply(status, body)) as url, pytest.raises(GenerationError, match=expect) as err:
        collect(url)
    assert "try again" not in str(err.value) or status >= 429


@pytest.mark.parametrize("events", [("{not json",), (chunk("ok"), "[1, 2, 3]")])
def test_malformed_stream_is_reported(events):
    with serving(sse(*events)) as url, pytest.raises(GenerationError, match="not in the OpenAI format"):
        collect(url)


def test_an_error_event_in_the_stream_is_reported():
    error = sse(chunk("partial "), json.dumps({"error": {"message": "context overflow"}}))
    with serving(error) as url, pytest.raises(GenerationError, match="context overflow"):
        collect(url)


def test_the_forced_choice_reads_the_first_tokens_probabilities():
    body = {
        "choices": [
            {
                "message": {"content": "0"},
                "logprobs": {
                    "content": [
                        {
                            "token": "0",
                            "top_logprobs": [{"token": "0", "logprob": -0.5}, {"token": "2", "logprob": -1.5}],
                        }
                    ]
                },
            }
        ]
    }
    with serving(reply(200, json.dumps(body).encode())) as url:
        probs = OpenAIHTTPGenerator(url, "m").first_token_probs(MESSAGES)
    assert probs == pytest.approx({"0": 0.6065, "2": 0.2231}, abs=1e-4)


def test_a_server_without_logprobs_gives_no_signal_and_an_error_status_a_message():
    with serving(reply(200, json.dumps({"choices": [{"message": {"content": "0"}}]}).encode())) as url:
        assert OpenAIHTTPGenerator(url, "m").first_token_probs(MESSAGES) == {}
    unavailable = reply(503, b'{"error": {"message": "loading model"}}')
    with serving(unavailable) as url, pytest.raises(GenerationError, match="HTTP 503.*loading model"):
        OpenAIHTTPGenerator(url, "m").first_token_probs(MESSAGES)


# -- end to end: llama.cpp's HTTP server -------------------------------------------------------


@pytest.fixture(scope="module")
def llama_server():
    """llama.cpp's server on a free loopback port, loaded with the project's generator model."""
    import xllamacpp as xlc

    from qa.config import load_config
    from qa.models.weights import resolve

    cfg = load_config()
    params = xlc.CommonParams()
    params.model.path = resolve(cfg.generator.model, cfg.paths.models_dir)
    params.n_ctx = cfg.generator.n_ctx
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = cfg.runtime.threads
    params.hostnames = ["127.0.0.1"]
    params.port = free_port()
    server = xlc.Server(params)
    yield f"http://127.0.0.1:{params.port}/v1"
    del server


@pytest.mark.e2e
def test_an_answer_through_llama_cpps_http_server_is_cited_and_streamed(llama_server, built_root):
    from qa import Answer, Assistant, SourcesFound, TextDelta
    from qa.models.generator import make_generator

    cfg = tmp_config(built_root, generator__backend="openai", openai_base_url=llama_server)
    assert isinstance(make_generator(cfg), OpenAIHTTPGenerator)
    events = list(Assistant(cfg).stream("Wie viel investierte Meta in Scale AI?"))
    answer = events[-1]
    assert isinstance(events[0], SourcesFound) and isinstance(answer, Answer)
    assert sum(isinstance(e, TextDelta) for e in events) > 1  # streamed, not one block
    assert "probe" in answer.timings  # the forced choice went over HTTP too, and did not refuse
    assert not answer.abstained, answer.notes
    assert "14,3" in answer.text or "14.3" in answer.text
    assert answer.citations and all(c.chunk_id in {p.chunk.id for p in answer.sources} for c in answer.citations)
    seeds = Path(cfg.paths.seeds_dir)
    for c in answer.citations:
        assert (seeds / f"{c.doc_id}.txt").read_text(encoding="utf-8")[c.start : c.end] == c.quote
