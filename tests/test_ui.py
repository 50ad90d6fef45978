"""Tests for the web UI (ui.py).

Unit level (no models): the HTML rendering escapes everything that comes from articles or the
model (a hostile article with <script> and <img onerror> shows as text), markers link to their
source entries, the cited sentence is highlighted, abstentions look different and list the
articles searched; bad uploads are refused with a message and change nothing; API history
validation.

End to end (real models, one app subprocess for the module on a free port, with a temporary
index and uploads folder): the page in headless Chromium (question → streamed answer → [n]
marker → highlighted source passage; screenshot), and the HTTP API through gradio_client
(a cross-lingual answer; an upload followed by a question only the upload can answer).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import running_app, wait_ready

import ui
from qa.answering.assistant import Assistant
from qa.config import load_config
from qa.store.faiss_index import Index
from qa.store.faiss_store import FaissStore
from qa.text.chunking import chunk_document
from qa.text.corpus import decode, make_document
from qa.types import Answer, Citation, Passage

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

HOSTILE = (
    "<script>alert('title')</script> Board news from Hostile Corp\n"
    "2024-05-01\n\n"
    "<script>alert(1)</script> The board of Hostile Corp approved the merger on Monday. "
    "<img src=x onerror=alert(1)> Shares rose five percent after the announcement.\n\n"
    "Analysts said the deal was expected. The company employs 300 people in Graz.\n"
)


# -- unit: rendering -------------------------------------------------------------------------
def tiny_index(articles: dict[str, str]) -> FaissStore:
    """A FAISS store over a real Index of real chunks; vectors are zeros because rendering never
    searches."""
    docs = [make_document(doc_id, decode(text.encode(), f"{doc_id}.txt"), "") for doc_id, text in articles.items()]
    chunks = [c for d in docs for c in chunk_document(d, 280, 1)]
    return FaissStore.over(Index(docs, chunks, np.zeros((len(chunks), 8), np.float32), {"docs": {}}))


def cite_sentence(index: FaissStore, doc_id: str, sentence: str, n: int = 1) -> tuple[Citation, Passage]:
    doc = index.document(doc_id)
    start = doc.text.index(sentence)
    end = start + len(sentence)
    chunk = next(c for c in index.index.chunks if c.doc_id == doc_id and c.start <= start and end <= c.end)
    citation = Citation(
        n=n,
        doc_id=doc_id,
        chunk_id=chunk.id,
        quote=doc.text[start:end],
        lang=doc.lang,
        start=start,
        end=end,
        title=doc.title,
        support=0.8,
    )
    return citation, Passage(chunk, 0.5, 0.6)


def test_hostile_article_is_rendered_as_text():
    index = tiny_index({"upload_hostile": HOSTILE})
    citation, passage = cite_sentence(
        index, "upload_hostile", "The board of Hostile Corp approved the merger on Monday."
    )
    others = [Passage(c, 0.1, 0.2) for c in index.index.chunks if c.id != passage.chunk.id]
    answer = Answer(
        "Who approved the merger? <script>x()</script>",
        "The board approved it <img src=y onerror=alert(2)> [1].",
        [citation],
        [passage] + others,
        False,
        "en",
        {"total": 1.0, "retrieve": 0.1, "generate": 0.8, "verify": 0.1},
        ["removed “<script>bad()</script>”: no citation"],
    )
    rendered = (
        ui.sources_html(answer, index, turn=1)
        + ui.answer_html(answer, 1, index.documents())
        + ui.panel_html([{"question": answer.question, "html": ui.sources_html(answer, index, 1)}])
        + ui.articles_html(index.documents())
    )
    assert "<script" not in rendered.lower()
    assert "<img" not in rendered.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in rendered  # the title, escaped
    assert "&lt;img src=y onerror=alert(2)&gt;" in rendered  # model output, escaped


def test_sources_highlight_the_cited_sentence_and_hide_uncited_passages():
    index = tiny_index({"upload_hostile": HOSTILE})
    sentence = "The board of Hostile Corp approved the merger on Monday."
    citation, passage = cite_sentence(index, "upload_hostile", sentence)
    others = [Passage(c, 0.1, 0.2) for c in index.index.chunks if c.id != passage.chunk.id]
    answer = Answer("q", "It was approved [1].", [citation], [passage] + others, False, "en")
    html = ui.sources_html(answer, index, turn=3)
    assert 'id="src-3-1"' in html
    assert f"<mark>{sentence}</mark>" in html
    assert "2024-05-01" in html and "English" in html
    if others:  # retrieved but not cited: behind a toggle
        assert "<details" in html and "not cited" in html
    link = ui.answer_html(answer, 3, index.documents())
    assert '<a class="qa-cite" href="#src-3-1"' in link and 'dir="auto"' in link


def test_passage_highlight_uses_absolute_offsets():
    assert ui.passage_html("abc def ghi", 100, 104, 107) == "abc <mark>def</mark> ghi"
    assert ui.passage_html("abc def ghi", 100, 90, 103) == "<mark>abc</mark> def ghi"  # clamped to the chunk
    assert ui.passage_html("a<b", 0, 50, 60) == "a&lt;b"  # outside the chunk: nothing marked


def test_abstention_is_a_notice_listing_the_articles_searched():
    index = tiny_index(
        {
            "upload_hostile": HOSTILE,
            "other": "Ein ganz anderer Artikel über Wetter\n\nMorgen regnet es in Berlin den ganzen Tag.",
        }
    )
    answer = Answer(
        "Wer gewann?",
        "Die Artikel enthalten keine Antwort auf diese Frage.",
        [],
        [Passage(index.index.chunks[0], 0.1, 0.1)],
        True,
        "de",
    )
    html = ui.answer_html(answer, 1, index.documents())
    assert 'class="qa-abstain"' in html and "Keine Antwort in den Artikeln" in html
    assert "Durchsucht wurden 2 Artikel" in html
    assert "Ein ganz anderer Artikel über Wetter" in html
    assert "&lt;script&gt;" in html and "<script" not in html
    assert "qa-cite" not in html


def test_streamed_text_and_user_text_are_escaped_and_direction_auto():
    assert ui.user_html("لماذا <b>؟") == '<div class="qa-user" dir="auto">لماذا &lt;b&gt;؟</div>'
    assert "&lt;script&gt;" in ui.streaming_html("<script>") and "<script>" not in ui.streaming_html("<script>")


def test_history_json_is_validated():
    assert ui.parse_history('[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]') == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo"},
    ]
    assert ui.parse_history("") == []
    for bad in ("{", '{"role": "user"}', '[{"role": "system", "content": "x"}]', '[{"role": "user"}]'):
        with pytest.raises(ValueError):
            ui.parse_history(bad)


# -- unit: upload validation (fails before any model or index is touched) ---------------------
@pytest.mark.parametrize(
    "name,data,expected",
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"   \n\n  ", "empty"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10, "binary"),
        ("huge.txt", b"a" * 2_000_001, "the limit is 2,000,000 bytes (2 MB) for .txt and .md files"),
        ("paper.pdf", b"%PDF-1.4 some text that is long enough", "paper.pdf is not a readable PDF"),
        ("paper.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "only .txt, .md, .html, .htm, .pdf, .docx"),
        ("short.txt", b"too short", "too little text"),
    ],
)
def test_bad_uploads_are_refused_and_change_nothing(tmp_path, name, data, expected):
    cfg = load_config(uploads_dir=tmp_path / "uploads", index_dir=tmp_path / "index")
    assistant = Assistant(cfg)
    loader = ui.Loader(assistant)
    loader.state = "ready"  # validation happens before the index is needed; nothing gets loaded
    path = tmp_path / name
    path.write_bytes(data)
    result = ui.App(assistant, loader).add_upload(str(path))
    assert set(result) == {"error"} and expected in result["error"] and "Nothing was changed" in result["error"]
    assert assistant._store is None
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())
    assert not (tmp_path / "index").exists()


def test_chat_refuses_politely_while_loading(tmp_path):
    assistant = Assistant(load_config(uploads_dir=tmp_path / "u", index_dir=tmp_path / "i"))
    app = ui.App(assistant, ui.Loader(assistant))  # never started: stays "loading"
    display, box, panel, session = list(app.respond("Why did John Schulman leave OpenAI?", ui.new_session()))[-1]
    assert box == "" and "still loading" in display[-1]["content"]
    assert session["history"] == []  # the refusal is not part of the conversation the model sees
    assert "error" in app.add_upload(str(tmp_path / "x.txt"))


# -- end to end: one app subprocess for the module ---------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python ui.py` with a temporary index and uploads folder (real seeds); yields the URL as
    soon as the page is served (models may still be loading)."""
    with running_app(tmp_path_factory.mktemp("ui-app")) as (url, _port, log_path):
        try:
            yield url
        finally:
            print(f"\n--- ui.py log (last lines) ---\n{log_path.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    wait_ready(client)
    return client


@pytest.mark.e2e
@pytest.mark.browser
def test_browser_question_shows_answer_with_linked_highlighted_source(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run `bash scripts/test-deps.sh` (Debian packages chromium, chromium-driver)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(server, wait_until="domcontentloaded")
            status = page.locator("#qa-status .qa-status")
            expect(status).to_be_visible(timeout=60_000)
            box = page.locator("#qa-question textarea")
            waited = re.search(r"Loading models… (\d+) s", status.inner_text())
            if waited:  # asked while the status says loading: the page stays responsive, and the reply is
                # the polite refusal when the question arrives before the models are ready (they now
                # load in ~6 s, so it may also arrive after them and be answered: either reply, never none)
                box.fill("Why did John Schulman leave OpenAI?")
                page.locator("#qa-ask").click()
                page.wait_for_function(
                    "() => document.querySelector('#qa-chat .qa-notice') || "
                    "document.body.innerText.includes('Answered in')",
                    timeout=300_000,
                )
                notices = page.locator("#qa-chat .qa-notice")
                if notices.count():
                    expect(notices.last).to_contain_text("still loading")
            expect(page.locator("#qa-status .qa-status.ready")).to_contain_text("Ready", timeout=900_000)
            page.locator("#qa-clear").click()
            expect(page.locator("#qa-chat .qa-notice")).to_have_count(0, timeout=30_000)

            box.fill("How much did Meta offer to buy Safe Superintelligence?")
            box.press("Enter")
            cite = page.locator("#qa-chat a.qa-cite").first
            expect(cite).to_be_visible(timeout=300_000)
            href = cite.get_attribute("href")
            assert href and re.fullmatch(r"#src-1-\d+", href), href
            entry = page.locator(f"#qa-sources {href}")
            expect(entry).to_be_visible()
            expect(entry.locator(".qa-src-title")).not_to_be_empty()
            mark = entry.locator(".qa-passage mark")
            expect(mark).to_have_count(1)
            assert len(mark.inner_text().strip()) > 10
            assert page.locator("#qa-chat .qa-answer").last.get_attribute("dir") == "auto"
            cite.click()
            expect(entry).to_be_in_viewport()

            shot = tmp_path / "screenshot.png"
            page.screenshot(path=str(shot), full_page=True)
            if os.environ.get("QA_UPDATE_SCREENSHOT") == "1":
                (ROOT / "docs").mkdir(exist_ok=True)
                shutil.copy(shot, ROOT / "docs" / "screenshot.png")
            assert not errors, errors
        finally:
            browser.close()


@pytest.mark.e2e
def test_api_answers_in_english_from_a_german_article(client):
    result = client.predict("How much did Meta invest in Scale AI?", "[]", api_name="/ask")
    assert "error" not in result, result
    assert not result["abstained"], result
    assert re.search(r"14[.,]3", result["text"]), result["text"]
    assert re.search(r"\[\d+\]", result["text"])
    german = [c for c in result["citations"] if c["doc_id"].startswith("004_")]
    assert german and german[0]["quote"] and german[0]["lang"] == "de", result["citations"]


@pytest.mark.e2e
def test_api_rejects_bad_input_with_a_message(client):
    assert "error" in client.predict("   ", "[]", api_name="/ask")
    assert "history_json" in client.predict("Who is Alexandr Wang?", "not json", api_name="/ask")["error"]


@pytest.mark.e2e
def test_api_upload_then_ask_cites_the_new_article(client, tmp_path):
    from gradio_client import handle_file

    article = tmp_path / "zorblax_robotics.txt"
    article.write_text(
        "Zorblax Robotics opens its second factory in Estonia\n"
        "2025-03-14\n\n"
        "Zorblax Robotics, a maker of warehouse robots, was founded in 2019 in Tallinn by the engineer "
        "Kaia Tamm. The company now employs 240 people.\n\n"
        "Tamm said the new factory in Tartu will build 5,000 robots a year from 2026.\n",
        encoding="utf-8",
    )
    added = client.predict(handle_file(str(article)), api_name="/upload")
    assert "error" not in added, added
    doc_id = added["doc_id"]
    assert doc_id.startswith("upload_zorblax") and added["chunks"] >= 1 and added["lang"] == "en"

    articles = client.predict(api_name="/status")["articles"]
    again = client.predict(handle_file(str(article)), api_name="/upload")
    assert "already indexed" in again.get("error", ""), again
    assert client.predict(api_name="/status")["articles"] == articles  # nothing changed

    result = client.predict("Who founded Zorblax Robotics, and in which city?", "[]", api_name="/ask")
    assert not result["abstained"], result
    assert any(c["doc_id"] == doc_id for c in result["citations"]), result["citations"]
    assert "Kaia Tamm" in result["text"] or "Tallinn" in result["text"], result["text"]
