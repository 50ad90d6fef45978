"""The HTTP API (qa/api.py): REST, Server-Sent Events, the OpenAI-compatible endpoint and the chat,
served by one `python ui.py` process.

Unit level (no models): the app in-process with a loader that never finishes loading: JSON errors
with their statuses (422 bad question, 503 loading, 413 too large, 415 wrong type, OpenAI's error
shape on /v1), the docs page served without a CDN, the sources panel naming the original file.

End to end (real models, ONE `python ui.py` for the module on a free 127.0.0.1 port, with a copy
of the session's built index and its own uploads folder): an HTML page, a PDF and a Word file
written by the tests are uploaded through POST /api/articles and each is answered with a
citation whose quote is that file's text (through the SSE stream, the `openai` client streaming,
and /api/ask); every bad file is refused with its message and status and the store is unchanged;
20 concurrent questions through the chat's Gradio queue, /api/ask and /v1/chat/completions get
answers with 0 errors.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest
from article_files import (
    DOCX_PARAGRAPHS,
    DOCX_QUESTION,
    DOCX_TITLE,
    HTML_PAGE,
    HTML_QUESTION,
    PDF_LINES,
    PDF_QUESTION,
    docx_file,
    html_page,
    pdf_file,
)
from conftest import running_app, tree
from fastapi.testclient import TestClient
from test_concurrency import gold_questions, listening_addresses
from test_formats import BAD

import ui
from qa.answering.assistant import Assistant
from qa.api import MAX_JSON_BYTES, MAX_UPLOAD_BODY, create_app
from qa.config import load_config
from qa.text.corpus import make_document
from qa.text.formats import FileTooLarge, UnsupportedFormat

OVERALL_TIMEOUT = 1200  # seconds for the 20 concurrent answers


# -- unit: the app while the models load (no model is ever loaded) ----------------------------------
@pytest.fixture(scope="module")
def loading(tmp_path_factory):
    root = tmp_path_factory.mktemp("api-loading")
    assistant = Assistant(load_config(uploads_dir=root / "uploads", index_dir=root / "index"))
    loader = ui.Loader(assistant)  # never started: stays "loading"
    with TestClient(create_app(assistant, loader)) as client:
        yield client
    assert assistant._store is None and assistant._embedder is None and assistant._generator is None


def test_health_and_questions_say_still_loading_with_503(loading):
    health = loading.get("/api/health")
    assert health.status_code == 503 and health.json()["state"] == "loading"
    r = loading.post("/api/ask", json={"question": "Why did John Schulman leave OpenAI?"})
    assert r.status_code == 503 and "still loading" in r.json()["error"] and r.headers["retry-after"]
    r = loading.post("/v1/chat/completions", json={"model": "qa", "messages": [{"role": "user", "content": "Who?"}]})
    assert r.status_code == 503 and r.json()["error"]["code"] == "model_loading"
    assert "still loading" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"question": "   "}, 422, "the question is empty"),
        ({"question": "😀🎉"}, 422, "only symbols or emoji"),
        ({"question": "x" * 2001}, 422, "2,001 characters long; the limit is 2,000"),
        ({"question": 42}, 422, "question: Input should be a valid string"),
        ({}, 422, "question: Field required"),
        ({"question": "Who?", "history": [{"role": "system", "content": "x"}]}, 422, "history.0.role"),
    ],
)
def test_rest_errors_are_json_with_a_status(loading, body, status, message):
    r = loading.post("/api/ask", json=body)
    assert r.status_code == status and message in r.json()["error"], r.text
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    "body, status, code, message",
    [
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": "Who?"}]}, 404, "model_not_found", "'gpt-4o'"),
        ({"model": "qa"}, 400, None, "messages: Field required"),
        (
            {"model": "qa", "messages": [{"role": "user", "content": "Who?"}, {"role": "assistant", "content": "x"}]},
            400,
            None,
            "the last message must be the user's question",
        ),
        (
            {
                "model": "qa",
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
            },
            400,
            None,
            "only text content is supported",
        ),
        ({"model": "qa", "messages": [{"role": "user", "content": ""}]}, 422, None, "the question is empty"),
    ],
)
def test_openai_errors_have_openai_shape(loading, body, status, code, message):
    r = loading.post("/v1/chat/completions", json=body)
    error = r.json()["error"]
    assert r.status_code == status and message in error["message"], r.text
    assert error["code"] == code and error["type"] == "invalid_request_error"


def test_bodies_over_the_limit_are_refused_before_reading(loading):
    r = loading.post(
        "/api/ask", content=b"{" + b" " * MAX_JSON_BYTES + b"}", headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and "over the limit of 1,000,000 bytes" in r.json()["error"]
    r = loading.post("/v1/chat/completions", content=b" " * (MAX_JSON_BYTES + 1))
    assert r.status_code == 413 and "over the limit" in r.json()["error"]["message"]
    r = loading.post("/api/articles", files={"file": ("big.pdf", b"%PDF-" + b"0" * MAX_UPLOAD_BODY)})
    assert r.status_code == 413 and "over the limit of 20,100,000 bytes" in r.json()["error"]


def test_uploads_are_checked_by_name_and_size_before_the_models(loading):
    r = loading.post("/api/articles", files={"file": ("letter.doc", b"\xd0\xcf\x11\xe0" + b"\0" * 100)})
    assert r.status_code == 415 and "only .txt, .md, .html, .htm, .pdf, .docx" in r.json()["error"]
    r = loading.post("/api/articles", files={"file": ("big.txt", b"a" * 2_000_001)})
    assert r.status_code == 413 and "the limit is 2,000,000 bytes (2 MB)" in r.json()["error"]
    r = loading.post("/api/articles", files={"file": ("halden.pdf", pdf_file())})
    assert r.status_code == 503 and "still loading" in r.json()["error"]
    assert loading.get("/api/articles").status_code == 503


def test_openapi_docs_are_served_without_a_cdn(loading):
    page = loading.get("/api/docs").text
    assert "/api/docs-static/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert loading.get("/api/docs-static/swagger-ui-bundle.js").status_code == 200
    paths = loading.get("/api/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/articles", "/api/health", "/v1/chat/completions", "/v1/models"} <= set(paths)


def test_sources_panel_names_the_original_file():
    doc = make_document(
        "upload_halden",
        "Wind farm approved off the coast of Halden\n\nThe council approved 42 turbines on Tuesday.\n",
        source="Halden Wind.pdf",
        source_type="pdf",
    )
    line = ui._meta_line(doc, "en")
    assert 'from <bdi class="qa-file">Halden Wind.pdf</bdi> (PDF)' in line
    assert "from" not in ui._meta_line(make_document("seed", "A seed article title here\n\nIt has text.\n"), "en")


# -- end to end: one server for the module -----------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory, built_root):
    """`python ui.py` (no --host) on a free port: the session's built index (a copy), its own
    uploads folder, short answers (QA_MAX_TOKENS=64). Yields (base URL, port, root folder)."""
    root = tmp_path_factory.mktemp("api-server")
    shutil.copytree(built_root / "index", root / "index")
    env = {"QA_SEEDS_DIR": str(built_root / "seeds"), "QA_MAX_TOKENS": "64"}
    with running_app(root, env, drop=("QA_HOST", "GRADIO_SERVER_NAME", "GRADIO_SHARE")) as (url, port, log_path):
        base = url.rstrip("/")
        deadline = time.monotonic() + 900
        while True:
            assert time.monotonic() < deadline, "the models did not load in time"
            try:
                health = httpx.get(f"{base}/api/health", timeout=10)
            except httpx.TimeoutException:  # busy loading on a loaded machine: ask again
                continue
            if health.json()["state"] != "loading":
                assert health.status_code == 200, health.text
                break
            time.sleep(1)
        try:
            yield base, port, root
        finally:
            print(f"\n--- ui.py log (last lines) ---\n{log_path.read_text()[-3000:]}")


def store_state(base: str, root: Path) -> tuple:
    """What must not change when a file is refused: the article count, the index manifest and
    the uploads folder."""
    index = root / "index"
    manifest = (index / (index / "CURRENT").read_text().strip() / "manifest.json").read_bytes()
    return httpx.get(f"{base}/api/articles", timeout=30).json()["total"], manifest, tree(root / "uploads")


def upload(base: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{base}/api/articles", files={"file": (name, data)}, timeout=300)


def plain(text: str) -> str:
    return " ".join(text.split())


def assert_cites_the_file(citations: list[dict], doc_id: str, root: Path, file_text: str) -> None:
    """A citation of the uploaded article whose quote is the stored text's [start:end] and is
    text of the file as the test wrote it."""
    cited = [c for c in citations if c["doc_id"] == doc_id]
    assert cited, f"no citation of {doc_id}: {citations}"
    stored = (root / "uploads" / f"{doc_id}.txt").read_text(encoding="utf-8")
    for c in cited:
        assert stored[c["start"] : c["end"]] == c["quote"]
        assert plain(c["quote"]) in plain(file_text), c["quote"]


@pytest.mark.e2e
def test_server_listens_on_loopback_only(server):
    _base, port, _root = server
    assert listening_addresses(port) == {"127.0.0.1"}


@pytest.mark.e2e
def test_html_page_uploaded_and_answered_through_the_sse_stream(server):
    base, _port, root = server
    added = upload(base, "Velmora Library.html", html_page())
    assert added.status_code == 201, added.text
    info = added.json()
    assert (info["source"], info["source_type"], info["date"]) == ("Velmora Library.html", "html", "2025-04-09")
    events: list[tuple[str, dict]] = []
    with httpx.stream(
        "POST", f"{base}/api/ask", json={"question": HTML_QUESTION, "stream": True}, timeout=600
    ) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    kinds = [k for k, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "answer" and "error" not in kinds, kinds
    assert kinds.index("sources") < kinds.index("delta")  # the sources come before the first text
    sources = events[0][1]["passages"]
    assert any(p["doc_id"] == info["doc_id"] and p["source"] == "Velmora Library.html" for p in sources)
    answer = events[-1][1]
    assert not answer["abstained"] and "Papyrus" in answer["text"], (answer["text"], answer["citations"])
    assert answer["articles"][info["doc_id"]]["source_type"] == "html"
    page_text = re.sub(r"<[^>]+>", " ", HTML_PAGE)
    assert_cites_the_file(answer["citations"], info["doc_id"], root, page_text)


@pytest.mark.e2e
def test_pdf_uploaded_and_answered_through_the_openai_client_streaming(server):
    from openai import OpenAI

    base, _port, root = server
    added = upload(base, "Halden Wind.pdf", pdf_file())
    assert added.status_code == 201, added.text
    doc_id = added.json()["doc_id"]
    client = OpenAI(base_url=f"{base}/v1", api_key="not-needed", timeout=600)
    assert [m.id for m in client.models.list()] == ["qa"]
    text, citations, finish = "", [], None
    for chunk in client.chat.completions.create(
        model="qa",
        stream=True,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": PDF_QUESTION}],
    ):
        assert chunk.object == "chat.completion.chunk"
        text += chunk.choices[0].delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
        citations = (chunk.model_extra or {}).get("citations") or citations
    answer, _, sources = text.partition("\n\nSources:\n")
    assert finish == "stop" and "42" in answer and re.search(r"\[\d+\]", answer), text
    assert "Halden Wind.pdf" in sources and f"[{citations[0]['n']}]" in sources
    assert_cites_the_file(citations, doc_id, root, " ".join(PDF_LINES))


@pytest.mark.e2e
def test_docx_uploaded_and_answered_through_rest(server):
    base, _port, root = server
    added = upload(base, "seed-bank.docx", docx_file())
    assert added.status_code == 201, added.text
    doc_id = added.json()["doc_id"]
    listed = {a["id"]: a for a in httpx.get(f"{base}/api/articles", timeout=30).json()["articles"]}
    assert listed[doc_id]["source"] == "seed-bank.docx" and listed[doc_id]["title"] == DOCX_TITLE
    r = httpx.post(f"{base}/api/ask", json={"question": DOCX_QUESTION}, timeout=600)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert not answer["abstained"] and "Marren" in answer["text"], (answer["text"], answer["citations"])
    assert_cites_the_file(answer["citations"], doc_id, root, " ".join([DOCX_TITLE, *DOCX_PARAGRAPHS]))


_STATUS = {FileTooLarge: 413, UnsupportedFormat: 415}


@pytest.mark.e2e
@pytest.mark.parametrize("name, make, error, message", BAD, ids=[b[0] for b in BAD])
def test_bad_file_through_rest_is_refused_and_changes_nothing(server, name, make, error, message):
    base, _port, root = server
    before = store_state(base, root)
    r = upload(base, name, make())
    assert r.status_code == _STATUS.get(error, 422), r.text
    assert message in r.json()["error"] and "Nothing was changed" in r.json()["error"]
    assert store_state(base, root) == before


@pytest.mark.e2e
def test_oversized_bodies_are_refused_on_every_route(server):
    base, _port, root = server
    before = store_state(base, root)
    big = b"%PDF-1.4\n" + b"0" * (MAX_UPLOAD_BODY + 1)
    r = upload(base, "huge.pdf", big)
    assert r.status_code == 413 and "over the limit" in r.json()["error"]
    r = httpx.post(f"{base}/gradio_api/upload", files={"files": ("huge.pdf", big)}, timeout=120)  # the chat's upload
    assert r.status_code == 413, r.text[:300]
    r = httpx.post(f"{base}/v1/chat/completions", content=b" " * (MAX_JSON_BYTES + 1), timeout=60)
    assert r.status_code == 413 and r.json()["error"]["type"] == "invalid_request_error"
    assert store_state(base, root) == before


@pytest.mark.e2e
def test_twenty_concurrent_questions_through_chat_rest_and_openai(server):
    """20 questions at once from one process's three front doors: the chat's Gradio queue (/ask,
    the "generate" queue the chat page uses), /api/ask (JSON and SSE) and /v1/chat/completions
    through the openai client (plain and streaming). Four questions, each asked five times, so
    llama.cpp's prompt cache helps; every reply must be its own question's answer or refusal."""
    from gradio_client import Client
    from openai import OpenAI

    base, _port, _root = server
    questions = gold_questions(4)
    routes = ["gradio", "rest", "rest-sse", "openai", "openai-stream"]
    jobs = [(routes[i % len(routes)], questions[i % len(questions)]) for i in range(20)]
    results: dict[int, dict] = {}
    errors: dict[int, str] = {}
    start = threading.Barrier(len(jobs))

    def ask(route: str, question: str) -> dict:
        if route == "gradio":
            client = Client(f"{base}/", verbose=False, httpx_kwargs={"timeout": OVERALL_TIMEOUT})
            start.wait(120)
            result = client.predict(question, "[]", api_name="/ask")
            assert "error" not in result, result
            return {
                "question": result["question"],
                "text": result["text"],
                "citations": result["citations"],
                "sources": {s["chunk_id"] for s in result["sources"]},
            }
        if route.startswith("rest"):
            start.wait(120)
            body = {"question": question, "stream": route == "rest-sse"}
            with httpx.stream("POST", f"{base}/api/ask", json=body, timeout=OVERALL_TIMEOUT) as r:
                assert r.status_code == 200, r.read()
                lines = list(r.iter_lines())
            if body["stream"]:  # the last event is the answer (or an error)
                lines = [line for line in lines if line]
                assert lines[-2] == "event: answer", lines[-2:]
                result = json.loads(lines[-1].removeprefix("data: "))
            else:
                result = json.loads("".join(lines))
            return {
                "question": result["question"],
                "text": result["text"],
                "citations": result["citations"],
                "sources": {s["chunk_id"] for s in result["sources"]},
            }
        client = OpenAI(base_url=f"{base}/v1", api_key="x", timeout=OVERALL_TIMEOUT, max_retries=0)
        start.wait(120)
        messages = [{"role": "user", "content": question}]
        if route == "openai":
            reply = client.chat.completions.create(model="qa", messages=messages)
            text, citations = reply.choices[0].message.content, reply.model_extra["citations"]
        else:
            text, citations = "", []
            for chunk in client.chat.completions.create(model="qa", messages=messages, stream=True):
                text += chunk.choices[0].delta.content or ""
                citations = (chunk.model_extra or {}).get("citations") or citations
        return {"question": question, "text": text, "citations": citations, "sources": None}

    def run(i: int) -> None:
        try:
            results[i] = ask(*jobs[i])
        except Exception as err:  # noqa: BLE001 (any failure of a session is collected and reported below)
            errors[i] = f"{jobs[i][0]}: {type(err).__name__}: {err}"

    began = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, began + OVERALL_TIMEOUT - time.monotonic()))
    took = time.monotonic() - began
    print(f"\n20 concurrent questions answered in {took:.0f} s")
    assert not [i for i, t in enumerate(threads) if t.is_alive()], f"unfinished after {OVERALL_TIMEOUT} s"
    assert not errors, errors
    for i, (route, question) in enumerate(jobs):
        result = results[i]
        assert result["question"] == question, (route, question, result["question"])
        assert result["text"].strip(), (route, question)
        for c in result["citations"]:
            assert f"[{c['n']}]" in result["text"], (route, c)
            if result["sources"] is not None:
                assert c["chunk_id"] in result["sources"], (route, c)
