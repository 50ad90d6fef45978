"""The web app under load and its exposure: 20 concurrent API sessions each get their own answer,
and the app listens on 127.0.0.1 only, without a share link.

The e2e tests start ``python ui.py`` on a free 127.0.0.1 port with a temporary copy of the index
(the real seeds are only read) and ``QA_MAX_TOKENS=48`` to keep the 20 answers short.
"""

from __future__ import annotations

import ast
import json
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, running_app, wait_ready

N_SESSIONS = 20
OVERALL_TIMEOUT = 1200  # seconds for all 20 answers (one llama.cpp slot answers them in turn)


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                if len(address) == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
                else:
                    raw = b"".join(bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, 32, 8))
                    found.add(socket.inet_ntop(socket.AF_INET6, raw))
    return found


def gold_questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (SEEDS / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    by_lang: dict[str, list[str]] = {}
    for row in rows:
        if row["follows"] is None:
            by_lang.setdefault(row["lang"], []).append(row["question"])
    mixed = [q for group in zip(*by_lang.values()) for q in group]  # interleave the languages
    assert len(set(mixed)) >= n
    return mixed[:n]


# -- static check (fast) -------------------------------------------------------------------------------
def test_ui_serves_on_localhost_without_share_link(monkeypatch):
    """ui.py serves one FastAPI app (qa.api: REST, OpenAI endpoint, the Gradio chat mounted) with
    uvicorn on --host only, and never asks Gradio for a share link."""
    source = (ROOT / "ui.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)]
    runs = [c for c in calls if c.func.attr == "run" and ast.unparse(c.func.value) == "uvicorn"]
    assert len(runs) == 1, "ui.py must serve through one uvicorn.run()"
    kwargs = {k.arg: ast.unparse(k.value) for k in runs[0].keywords}
    assert kwargs.get("host") == "args.host" and kwargs.get("port") == "args.port"
    assert not [c for c in calls if c.func.attr == "launch"], "the app is served by uvicorn, not Gradio's launch()"
    assert "share=True" not in source.replace(" ", "")
    host_args = [
        node
        for node in calls
        if node.func.attr == "add_argument"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value == "--host"
    ]
    assert host_args, "ui.py has no --host option"
    default = next(k.value for k in host_args[0].keywords if k.arg == "default")
    assert ast.unparse(default) == "cfg.runtime.host"  # the setting lives in Config …
    from qa.config import Config

    monkeypatch.delenv("QA_HOST", raising=False)
    assert Config().runtime.host == "127.0.0.1"  # … and defaults to loopback


# -- the running app ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """`python ui.py` (no --host: the default) on a free port; yields (url, port, log path)."""
    with running_app(
        tmp_path_factory.mktemp("ui-concurrency"),
        {"QA_MAX_TOKENS": "48"},
        drop=("QA_HOST", "GRADIO_SERVER_NAME", "GRADIO_SHARE"),
    ) as started:
        yield started


@pytest.mark.e2e
def test_app_listens_on_loopback_only_without_share_link(app):
    url, port, log_path = app
    assert listening_addresses(port) == {"127.0.0.1"}
    log = log_path.read_text()
    assert f"Uvicorn running on http://127.0.0.1:{port}" in log, log[-2000:]
    assert "Running on public URL" not in log and not re.search(r"https?://\S*gradio\.live", log)
    # not reachable on the machine's other addresses
    others = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    for address in others:
        if address.startswith("127."):
            continue
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(3)
            s.connect((address, port))


@pytest.mark.e2e
def test_twenty_concurrent_sessions_get_their_own_answers(app):
    from gradio_client import Client

    url, _, _ = app
    wait_ready(Client(url, verbose=False))

    questions = gold_questions(N_SESSIONS)
    results: dict[int, dict] = {}
    errors: dict[int, str] = {}
    start = threading.Barrier(N_SESSIONS)

    def session(i: int) -> None:
        try:
            # one session per user; a queued request waits its turn (one llama.cpp slot answers
            # them in order), so the client may wait as long as the test does
            client = Client(url, verbose=False, httpx_kwargs={"timeout": OVERALL_TIMEOUT})
            start.wait(60)
            results[i] = client.predict(questions[i], "[]", api_name="/ask")
        except Exception as err:  # collected and reported below
            errors[i] = f"{type(err).__name__}: {err}"

    threads = [threading.Thread(target=session, args=(i,), daemon=True) for i in range(N_SESSIONS)]
    for t in threads:
        t.start()
    end = time.monotonic() + OVERALL_TIMEOUT
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    unfinished = [i for i, t in enumerate(threads) if t.is_alive()]
    assert not unfinished, f"{len(unfinished)} sessions got no answer within {OVERALL_TIMEOUT} s"
    assert not errors, errors
    failed = {i: r["error"] for i, r in results.items() if "error" in r}
    assert not failed, failed
    for i, q in enumerate(questions):
        answer = results[i]
        assert answer["question"] == q, f"session {i} asked {q!r} but got the answer to {answer['question']!r}"
        assert answer["text"].strip()
        given = {s["chunk_id"] for s in answer["sources"]}
        assert all(c["chunk_id"] in given for c in answer["citations"]), answer
