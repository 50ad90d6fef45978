"""Web chat over the news articles: streamed answers with numbered, highlighted sources.

A thin Gradio shell over ``qa.Assistant`` (no pipeline logic lives here).

Run
---
    python ui.py [--host 127.0.0.1] [--port 7860]        # or env QA_HOST / QA_PORT

The page comes up at once; the models and the index load in a background thread while the
status line shows "Loading models…", then "Ready". Questions asked before that get a polite
"still loading" reply. Generation runs one request per llama.cpp slot (``QA_SLOTS``, default 1);
other requests wait in Gradio's queue (up to 64 waiting).

In the page
-----------
* Ask in English, German, Chinese or Arabic; the answer streams in, then is replaced by the
  verified answer whose [n] markers link to the Sources panel (article title, language, date,
  the cited passage with the cited sentence highlighted). Passages that were retrieved but not
  cited are behind "Also retrieved". Follow-up questions see the conversation so far.
* When the articles do not answer a question, a notice says so and lists the articles searched.
* "Add an article": a web page (.html), a PDF, a Word file (.docx), or a .txt or .md file (any
  language, UTF-8 or a recognisable legacy encoding); at most 20 MB, 2 MB for text files
  (qa.text.formats). It is indexed at once and can be asked about immediately; its sources show the
  original file's name and type.

HTTP API
--------
The same process serves a REST API (``/api/ask``, ``/api/articles``, ``/api/health``; docs at
``/api/docs``) and an OpenAI-compatible endpoint (``/v1/chat/completions``): see qa/api.py and
the README. Gradio's own API has three endpoints, listed with schemas on the page's "Use via
API" link (``/?view=api``).

``/ask`` (question: str, history_json: str = "[]") -> dict
    Answers a question; waits for the models if they are still loading. ``history_json`` is a
    JSON list of earlier turns, ``[{"role": "user"|"assistant", "content": "..."}]``, for
    follow-up questions. Returns ``Answer.to_dict()``::

        {"question": ..., "text": "… [1].", "lang": "en", "abstained": false,
         "citations": [{"n": 1, "doc_id": ..., "chunk_id": ..., "quote": ..., "lang": ...,
                        "start": ..., "end": ..., "title": ..., "support": ...}],
         "sources": [{"doc_id": ..., "chunk_id": ..., "text": ..., "lang": ..., "score": ...,
                      "dense": ...}],
         "timings": {...}, "notes": [...]}

    or ``{"error": "<what is wrong>"}`` for an unusable question or history.

``/upload`` (path: a file, e.g. ``handle_file("article.txt")``) -> dict
    Adds an article file (.txt/.md at most 2 MB; .html/.htm/.pdf/.docx at most 20 MB) to the index.
    Returns ``{"doc_id": ..., "title": ...,
    "lang": ..., "date": ..., "chunks": <passages indexed>, "message": "Added …"}`` or
    ``{"error": "<why the file was refused; nothing was changed>"}``.

``/status`` () -> dict
    ``{"ready": bool, "state": "loading"|"ready"|"failed", "message": ..., "articles": int,
    "passages": int}``.

Python::

    from gradio_client import Client, handle_file
    client = Client("http://127.0.0.1:7860/")
    answer = client.predict("How much did Meta invest in Scale AI?", "[]", api_name="/ask")
    print(answer["text"], [c["doc_id"] for c in answer["citations"]])
    client.predict(handle_file("article.txt"), api_name="/upload")

curl (Gradio's two-step call: POST returns an event id, GET streams the result)::

    EVENT=$(curl -s -X POST http://127.0.0.1:7860/gradio_api/call/ask \\
        -H 'Content-Type: application/json' \\
        -d '{"data": ["Why did John Schulman leave OpenAI?", "[]"]}' \\
        | python3 -c 'import sys,json;print(json.load(sys.stdin)["event_id"])')
    curl -s http://127.0.0.1:7860/gradio_api/call/ask/$EVENT
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import re
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import uvicorn

from qa.answering.assistant import Assistant
from qa.answering.inputs import clean_history
from qa.api import create_app
from qa.config import load_config
from qa.models.generator import GenerationError
from qa.store.base import Store, documents_of
from qa.text.corpus import CorpusError
from qa.text.formats import MAX_FILE_BYTES, MAX_TEXT_FILE_BYTES, SUFFIXES, check_upload
from qa.text.lang import name as language_name
from qa.text.markers import RENDERED
from qa.types import Answer, DocumentInfo, SourcesFound

log = logging.getLogger("qa.ui")

EXAMPLES = [
    "Why did John Schulman leave OpenAI?",
    "Wie viel bot Meta für Safe Superintelligence?",
    "穆拉蒂离职后打算做什么？",
    "لماذا غادر شولمان OpenAI؟",
]
QUEUE_MAX_SIZE = 64
MAX_UPLOAD_MB = MAX_FILE_BYTES / 1_000_000
MAX_TEXT_MB = MAX_TEXT_FILE_BYTES / 1_000_000
_TYPE_NAMES = {"html": "web page", "pdf": "PDF", "docx": "Word file", "txt": "text file", "md": "Markdown file"}
SEARCHED_SHOWN = 12  # article titles listed in an abstention notice before "and N more"

# Labels inside an abstention notice, in the answer's language.
_SEARCHED = {
    "en": ("No answer in the articles", "Searched {n} articles:"),
    "de": ("Keine Antwort in den Artikeln", "Durchsucht wurden {n} Artikel:"),
    "zh": ("文章中没有答案", "已检索 {n} 篇文章："),
    "ar": ("لا توجد إجابة في المقالات", "تم البحث في {n} مقالات:"),
}


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def lang_name(code: str) -> str:
    return language_name(code) if code else "unknown language"


# -- background loading ------------------------------------------------------------------------
class Loader:
    """Loads the models and the index in a background thread so the page comes up at once."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.state = "loading"  # loading → ready | failed
        self.error = ""
        self.started = time.monotonic()
        self.took = 0.0
        self._done = threading.Event()

    def start(self) -> Loader:
        threading.Thread(target=self._run, daemon=True, name="qa-warm-up").start()
        return self

    def _run(self) -> None:
        try:
            self.assistant.warm_up()
            self.state = "ready"
        except Exception as err:  # shown in the status line; the traceback goes to the log
            traceback.print_exc(file=sys.stderr)
            self.error = f"{type(err).__name__}: {err}"[:300]
            self.state = "failed"
        finally:
            self.took = time.monotonic() - self.started
            log.info("models and index %s after %.1f s", self.state, self.took)
            self._done.set()

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def wait(self, timeout: float | None = None) -> bool:
        self._done.wait(timeout)
        return self.ready

    def not_ready_message(self) -> str:
        if self.state == "failed":
            return f"The models could not be loaded ({self.error}). Please check the server log."
        waited = time.monotonic() - self.started
        return f"The models are still loading ({waited:.0f} s so far). Please ask again in a moment."

    def counts(self) -> tuple[int, int]:
        if not self.ready:
            return 0, 0
        store = self.assistant.store
        return len(store.document_ids()), store.count()

    def status_html(self) -> str:
        if self.state == "loading":
            waited = time.monotonic() - self.started
            return (
                f'<div class="qa-status loading" role="status"><span class="qa-dot"></span>Loading models… '
                f'<span class="qa-muted">{waited:.0f} s (usually 20–60 s); questions can be asked when '
                f"this says Ready</span></div>"
            )
        if self.state == "failed":
            return (
                f'<div class="qa-status failed" role="alert"><span class="qa-dot"></span>Loading failed: '
                f"{esc(self.error)}</div>"
            )
        docs, chunks = self.counts()
        embedder = self.assistant.embedder
        dtype = " ".join(filter(None, (getattr(embedder, "runtime", ""), getattr(embedder, "dtype", ""))))
        return (
            f'<div class="qa-status ready" role="status"><span class="qa-dot"></span>Ready '
            f'<span class="qa-muted">· {docs} articles · {chunks} passages indexed'
            f"{f' · embeddings in {esc(dtype)}' if dtype else ''}</span></div>"
        )

    def status_dict(self) -> dict:
        docs, chunks = self.counts()
        message = {"loading": "loading models", "ready": "ready", "failed": self.error}[self.state]
        return {"ready": self.ready, "state": self.state, "message": message, "articles": docs, "passages": chunks}


# -- rendering (pure functions: everything from documents or the model is escaped) -------------
def user_html(question: str) -> str:
    return f'<div class="qa-user" dir="auto">{esc(question)}</div>'


def streaming_html(text: str) -> str:
    body = esc(text.strip()).replace("\n", "<br>")
    return (
        f'<div class="qa-answer qa-streaming" dir="auto">{body}<span class="qa-cursor">▍</span></div>'
        '<div class="qa-muted qa-small">checking citations when the answer is complete…</div>'
    )


def notice_html(text: str, kind: str = "info") -> str:
    icon = {"info": "⌛", "error": "⚠"}.get(kind, "ℹ")
    return f'<div class="qa-notice {kind}" dir="auto">{icon} {esc(text)}</div>'


def answer_html(answer: Answer, turn: int, docs: list[DocumentInfo]) -> str:
    """The chat message for a final answer: escaped text, [n] markers linked to #src-<turn>-<n>.
    `docs`: the indexed articles (Store.documents()), listed when the answer abstains."""
    if answer.abstained:
        return abstention_html(answer, docs)
    cited = {c.n: c for c in answer.citations}

    def link(m: re.Match) -> str:
        c = cited.get(int(m.group(1)))
        if c is None:
            return m.group(0)
        return f'<a class="qa-cite" href="#src-{turn}-{c.n}" title="{esc(c.title)}">[{c.n}]</a>'

    body = RENDERED.sub(link, esc(answer.text)).replace("\n", "<br>")
    return f'<div class="qa-answer" dir="auto">{body}</div>'


def abstention_html(answer: Answer, docs: list[DocumentInfo]) -> str:
    title, searched = _SEARCHED.get(answer.lang, _SEARCHED["en"])
    all_docs = sorted(docs, key=lambda d: d.id)
    items = "".join(
        f'<li><bdi>{esc(d.title)}</bdi> <span class="qa-muted">({esc(lang_name(d.lang))})</span></li>'
        for d in all_docs[:SEARCHED_SHOWN]
    )
    if len(all_docs) > SEARCHED_SHOWN:
        items += f"<li>… and {len(all_docs) - SEARCHED_SHOWN} more</li>"
    return (
        f'<div class="qa-abstain" dir="auto" role="note">'
        f'<div class="qa-abstain-title">{esc(title)}</div>'
        f"<div>{esc(answer.text)}</div>"
        f'<div class="qa-searched">{esc(searched.format(n=len(all_docs)))}<ul>{items}</ul></div></div>'
    )


def _meta_line(doc, lang: str, extra: str = "") -> str:
    parts = [esc(lang_name(doc.lang if doc else lang)), esc(doc.date if doc and doc.date else "no date")]
    if doc:
        parts.append(f"<code>{esc(doc.id)}</code>")
    if doc and doc.source:  # an added article: the file it came from
        kind = _TYPE_NAMES.get(doc.source_type, doc.source_type)
        parts.append(f'from <bdi class="qa-file">{esc(doc.source)}</bdi> ({esc(kind)})')
    if extra:
        parts.append(extra)
    return " · ".join(parts)


def passage_html(chunk_text: str, chunk_start: int, start: int | None = None, end: int | None = None) -> str:
    """A chunk's text, escaped, with the absolute span [start, end) of the document marked."""
    if start is None or end is None:
        return esc(chunk_text)
    s = max(start, chunk_start) - chunk_start
    e = min(end, chunk_start + len(chunk_text)) - chunk_start
    if s >= e:
        return esc(chunk_text)
    return f"{esc(chunk_text[:s])}<mark>{esc(chunk_text[s:e])}</mark>{esc(chunk_text[e:])}"


def found_html(passages, store: Store) -> str:
    """The Sources panel while the answer is being written: the articles it draws on."""
    docs = documents_of(store, (p.doc_id for p in passages))
    titles = list(dict.fromkeys(docs[p.doc_id].title if p.doc_id in docs else p.doc_id for p in passages))
    items = "".join(f'<li dir="auto">{esc(t)}</li>' for t in titles)
    return (
        f'<div class="qa-panel-empty">Found in {len(titles)} article{"s" if len(titles) != 1 else ""}; '
        f'writing the answer…</div><ul class="qa-found">{items}</ul>'
    )


def sources_html(answer: Answer, store: Store, turn: int) -> str:
    """The Sources panel block for one answer: cited passages (with the cited sentence marked),
    then the retrieved-but-uncited passages behind a toggle, timings and verification notes."""
    parts: list[str] = []
    cited_chunks = {c.chunk_id for c in answer.citations}
    docs = documents_of(store, [c.doc_id for c in answer.citations] + [p.chunk.doc_id for p in answer.sources])
    for c in answer.citations:
        doc = docs.get(c.doc_id)
        chunk = store.context(c.chunk_id)
        if chunk is not None:
            passage = passage_html(chunk.text, chunk.start, c.start, c.end)
        else:  # the chunk is no longer in the index: show the quote itself
            passage = f"<mark>{esc(c.quote)}</mark>"
        title = doc.title if doc else (c.title or c.doc_id)
        parts.append(
            f'<div class="qa-src" id="src-{turn}-{c.n}">'
            f'<div class="qa-src-head" dir="auto"><span class="qa-src-n">[{c.n}]</span> '
            f'<span class="qa-src-title">{esc(title)}</span></div>'
            f'<div class="qa-src-meta">{_meta_line(doc, c.lang)}</div>'
            f'<div class="qa-passage" dir="auto">{passage}</div></div>'
        )
    if answer.abstained:
        parts.append('<div class="qa-muted">No passage answered the question. The closest ones found:</div>')
    uncited = [p for p in answer.sources if p.chunk.id not in cited_chunks]
    if uncited:
        items = []
        for p in uncited:
            doc = docs.get(p.chunk.doc_id)
            title = doc.title if doc else p.chunk.doc_id
            items.append(
                f'<div class="qa-src qa-uncited">'
                f'<div class="qa-src-head" dir="auto"><span class="qa-src-title">{esc(title)}</span></div>'
                f'<div class="qa-src-meta">{_meta_line(doc, p.chunk.lang, f"score {p.score:.3f}")}</div>'
                f'<div class="qa-passage" dir="auto">{esc(p.chunk.text)}</div></div>'
            )
        label = "Retrieved passages" if answer.abstained else "Also retrieved, not cited"
        parts.append(
            f'<details class="qa-more"{" open" if answer.abstained else ""}>'
            f"<summary>{label} ({len(uncited)})</summary>{''.join(items)}</details>"
        )
    if answer.notes:
        notes = "".join(f"<li><bdi>{esc(n)}</bdi></li>" for n in answer.notes)
        parts.append(
            f'<details class="qa-more"><summary>Verification notes ({len(answer.notes)})</summary>'
            f"<ul>{notes}</ul></details>"
        )
    t = answer.timings
    if t.get("total"):
        steps = ", ".join(f"{k} {t[k]:.1f} s" for k in ("retrieve", "generate", "verify") if k in t)
        parts.append(f'<div class="qa-muted qa-small">Answered in {t["total"]:.1f} s ({esc(steps)})</div>')
    return "".join(parts)


def panel_html(turns: list[dict]) -> str:
    """Sources of the latest answer, with earlier answers' sources collapsed below it."""
    if not turns:
        return (
            '<div class="qa-panel-empty">Sources appear here after an answer: each [n] in the answer '
            "links to the article passage it comes from, with the cited sentence highlighted.</div>"
        )
    latest = turns[-1]
    out = [f'<div class="qa-turn" dir="auto"><div class="qa-q">“{esc(latest["question"])}”</div>{latest["html"]}</div>']
    for t in reversed(turns[:-1]):
        out.append(
            f'<details class="qa-older"><summary dir="auto">Earlier: “{esc(t["question"])}”</summary>'
            f"{t['html']}</details>"
        )
    return "".join(out)


def articles_html(docs: list[DocumentInfo] | None) -> str:
    """The list of indexed articles (Store.documents()); None while loading."""
    if docs is None:
        return '<div class="qa-muted">The article list appears when loading is done.</div>'
    docs = sorted(docs, key=lambda d: d.id)
    items = "".join(
        f'<li><bdi>{esc(d.title)}</bdi> <span class="qa-muted">· {esc(lang_name(d.lang))}'
        f" · {esc(d.date or 'no date')} · <code>{esc(d.id)}</code></span></li>"
        for d in docs
    )
    return (
        f'<details class="qa-articles"><summary>Articles in the index ({len(docs)})</summary><ul>{items}</ul></details>'
    )


# -- handlers -----------------------------------------------------------------------------------
def parse_history(history_json: str) -> list[dict]:
    """The API's history argument → a list of {"role", "content"}; ValueError saying what is wrong."""
    try:
        history = json.loads(history_json or "[]")
    except json.JSONDecodeError as err:
        raise ValueError(f"history_json is not valid JSON ({err.msg})") from None
    if not isinstance(history, list):
        raise ValueError('history_json must be a JSON list of {"role": ..., "content": ...} objects')
    return clean_history(history)


def new_session() -> dict:
    return {"display": [], "history": [], "turns": []}


class App:
    """The handlers, bound to one Assistant and its Loader."""

    def __init__(self, assistant: Assistant, loader: Loader):
        self.assistant = assistant
        self.loader = loader

    # chat ----------------------------------------------------------------------------------
    def respond(self, message: str, session: dict) -> Iterator[tuple]:
        session = session or new_session()
        display, history, turns = session["display"], session["history"], session["turns"]
        question = (message or "").strip()
        if not question:
            yield display, message, panel_html(turns), session
            return
        display.append({"role": "user", "content": user_html(question)})
        if not self.loader.ready:
            display.append({"role": "assistant", "content": notice_html(self.loader.not_ready_message())})
            yield display, "", panel_html(turns), session
            return
        display.append({"role": "assistant", "content": streaming_html("")})
        waiting = '<div class="qa-panel-empty">Searching the articles…</div>'
        yield display, "", waiting, session
        text = ""
        try:
            for item in self.assistant.stream(question, history):
                if isinstance(item, SourcesFound):  # shown while the answer is written
                    waiting = found_html(item.passages, self.assistant.store)
                    yield display, "", waiting, session
                    continue
                if isinstance(item, Answer):
                    turn = len(turns) + 1
                    store = self.assistant.store
                    listed = store.documents() if item.abstained else []
                    display[-1] = {"role": "assistant", "content": answer_html(item, turn, listed)}
                    turns.append({"question": question, "html": sources_html(item, store, turn)})
                    history += [{"role": "user", "content": question}, {"role": "assistant", "content": item.text}]
                    yield display, "", panel_html(turns), session
                    return
                text += item.text
                display[-1] = {"role": "assistant", "content": streaming_html(text)}
                yield display, "", waiting, session
        except ValueError as err:  # clean_question: an unusable question
            display[-1] = {"role": "assistant", "content": notice_html(f"{err}.", "error")}
        except GenerationError as err:  # the generator server is down, slow or failing: say so
            display[-1] = {
                "role": "assistant",
                "content": notice_html(f"The answer could not be written: {err}.", "error"),
            }
        except Exception as err:
            traceback.print_exc(file=sys.stderr)
            display[-1] = {
                "role": "assistant",
                "content": notice_html(
                    f"Something went wrong while answering ({type(err).__name__}); the details are in the "
                    "server log. Please try again.",
                    "error",
                ),
            }
        yield display, "", panel_html(turns), session

    def clear(self) -> tuple:
        return [], "", panel_html([]), new_session()

    # upload --------------------------------------------------------------------------------
    def add_upload(self, path: str | None) -> dict:
        """Add an uploaded file to the index: {"doc_id", "title", …, "message"} or {"error"}."""
        if not path:
            return {"error": "No file was received."}
        if not self.loader.ready:
            return {"error": self.loader.not_ready_message()}
        file = Path(path)
        name = file.name
        try:
            check_upload(name, file.stat().st_size)  # type and size by name, before reading it
            doc_id = self.assistant.add_document(name, file.read_bytes())
        except CorpusError as err:
            return {"error": f"{err}. Nothing was changed."}
        except Exception as err:
            traceback.print_exc(file=sys.stderr)
            return {
                "error": f"{name} could not be added ({type(err).__name__}); the details are in the "
                "server log. Nothing was changed."
            }
        doc = next(d for d in self.assistant.store.documents() if d.id == doc_id)
        chunks = doc.chunks
        source = self.assistant.store.document(doc_id)
        return {
            "doc_id": doc_id,
            "title": doc.title,
            "lang": doc.lang,
            "date": doc.date,
            "chunks": chunks,
            "source": source.source,
            "source_type": source.source_type,
            "message": f"Added “{doc.title}” ({lang_name(doc.lang)}, {chunks} passages) from {source.source} "
            f"as {doc_id}. You can ask about it now.",
        }

    def upload_ui(self, path: str | None) -> tuple:
        result = self.add_upload(path)
        if "error" in result:
            box = f'<div class="qa-notice error" dir="auto">✗ {esc(result["error"])}</div>'
        else:
            box = f'<div class="qa-notice ok" dir="auto">✓ {esc(result["message"])}</div>'
        return box, None, self.loader.status_html(), self.articles()

    def articles(self) -> str:
        return articles_html(self.assistant.store.documents() if self.loader.ready else None)

    # status --------------------------------------------------------------------------------
    def poll(self) -> tuple:
        done = self.loader.state != "loading"
        return self.loader.status_html(), self.articles(), gr.Timer(active=not done)

    # API -----------------------------------------------------------------------------------
    def api_ask(self, question: str, history_json: str = "[]") -> dict:
        """Answer a question about the articles with cited sources.

        Args:
            question: the question, in English, German, Chinese or Arabic (or another language).
            history_json: earlier turns as a JSON list of {"role": "user"|"assistant", "content": "..."}.
        Returns:
            Answer.to_dict(): text with [n] markers, citations, sources, abstained, lang, timings,
            notes; or {"error": "..."}.
        """
        try:
            history = parse_history(history_json)
        except ValueError as err:
            return {"error": str(err)}
        if not self.loader.wait(timeout=900):
            return {"error": self.loader.not_ready_message()}
        try:
            return self.assistant.answer(question, history).to_dict()
        except ValueError as err:
            return {"error": str(err)}
        except Exception as err:
            traceback.print_exc(file=sys.stderr)
            return {"error": f"internal error ({type(err).__name__}); the details are in the server log"}

    def api_status(self) -> dict:
        """Whether the models are loaded: {"ready", "state", "message", "articles", "passages"}."""
        return self.loader.status_dict()


# -- layout -------------------------------------------------------------------------------------
CSS = """
.qa-muted { color: var(--body-text-color-subdued); }
.qa-small { font-size: 0.85em; margin-top: 4px; }
.qa-status { font-weight: 600; padding: 6px 10px; border-radius: 8px; display: inline-block; }
.qa-dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 8px;
          background: currentColor; vertical-align: middle; }
.qa-status.loading .qa-dot { animation: qa-blink 1s steps(1) infinite; }
.qa-status.loading { background: #fff7e0; color: #7a5500; }
.qa-status.ready { background: #e8f6ec; color: #1d6b35; }
.qa-status.failed { background: #fdecec; color: #9b1c1c; }
.qa-answer, .qa-user { unicode-bidi: plaintext; }
a.qa-cite { font-weight: 700; text-decoration: none; padding: 0 1px; border-radius: 4px;
            background: rgba(37, 99, 235, 0.12); color: #1d4ed8; }
a.qa-cite:hover { background: rgba(37, 99, 235, 0.28); }
.qa-abstain { border-left: 4px solid #d97706; background: #fff8eb; color: #5b3a00; padding: 8px 12px;
              border-radius: 6px; }
.qa-abstain-title { font-weight: 700; margin-bottom: 4px; }
.qa-searched { margin-top: 6px; font-size: 0.9em; }
.qa-searched ul { margin: 4px 0 0 0; padding-inline-start: 20px; }
.qa-notice { padding: 8px 12px; border-radius: 6px; background: #f3f4f6; color: #374151; }
.qa-notice.error { background: #fdecec; color: #9b1c1c; }
.qa-notice.ok { background: #e8f6ec; color: #1d6b35; }
.qa-q { font-weight: 600; margin-bottom: 6px; unicode-bidi: plaintext; }
.qa-src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 8px 0;
          scroll-margin-top: 40px; transition: box-shadow 0.3s; }
.qa-src.qa-flash { box-shadow: 0 0 0 3px #2563eb; }
.qa-src-head { font-weight: 600; unicode-bidi: plaintext; }
.qa-src-n { color: #1d4ed8; }
.qa-src-meta { font-size: 0.8em; color: var(--body-text-color-subdued); margin: 2px 0 4px; }
.qa-passage { white-space: pre-wrap; font-size: 0.92em; line-height: 1.5; unicode-bidi: plaintext; }
.qa-passage mark { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
.qa-uncited { opacity: 0.85; }
.qa-more, .qa-older, .qa-articles { margin: 8px 0; }
.qa-more summary, .qa-older summary, .qa-articles summary { cursor: pointer; font-weight: 600; }
.qa-articles ul { padding-inline-start: 18px; margin: 4px 0; font-size: 0.9em; }
.qa-panel-empty { color: var(--body-text-color-subdued); padding: 8px 0; }
.qa-cursor { animation: qa-blink 1s steps(1) infinite; }
@keyframes qa-blink { 50% { opacity: 0; } }
#qa-question textarea { unicode-bidi: plaintext; text-align: start; }
.qa-example { unicode-bidi: plaintext; }
"""

# Clicking an [n] marker scrolls the Sources panel to the passage (opening a collapsed earlier
# answer if needed) and flashes it; the panel may still be updating, so retry briefly.
HEAD = """
<script>
document.addEventListener('click', function (event) {
  const link = event.target.closest && event.target.closest('a[href^="#src-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const id = link.getAttribute('href').slice(1);
  let tries = 0;
  (function go() {
    const el = document.getElementById(id);
    if (!el) { if (tries++ < 30) setTimeout(go, 100); return; }
    for (let d = el.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) d.open = true;
    el.scrollIntoView({behavior: 'smooth', block: 'center'});
    el.classList.add('qa-flash');
    setTimeout(function () { el.classList.remove('qa-flash'); }, 1600);
  })();
}, true);
</script>
"""

INTRO = """
<div class="qa-intro">
<h1 style="margin:0">Ask the news articles</h1>
<div class="qa-muted">Answers come only from the indexed articles (German, Chinese and Arabic news),
in the language you ask in, with numbered sources. Ask in English, Deutsch, 中文 or العربية.</div>
</div>
"""


@dataclass
class Widgets:
    """The chat page's components that events read or write."""

    status: gr.HTML
    session: gr.State
    chatbot: gr.Chatbot
    question: gr.Textbox
    ask: gr.Button
    examples: list[gr.Button]
    clear: gr.Button
    sources: gr.HTML
    upload: gr.File
    upload_result: gr.HTML
    articles: gr.HTML


def build_app(assistant: Assistant, loader: Loader) -> gr.Blocks:
    app = App(assistant, loader)
    slots = max(1, assistant.cfg.generator.parallel_slots)
    with gr.Blocks(title="Ask the news articles", analytics_enabled=False) as demo:
        gr.HTML(INTRO)
        status = gr.HTML(loader.status_html(), elem_id="qa-status")
        session = gr.State(new_session())
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot, question, ask, examples, clear = _chat_column()
            with gr.Column(scale=2, min_width=340):
                sources, upload, upload_result, articles = _side_column(app)
        w = Widgets(status, session, chatbot, question, ask, examples, clear, sources, upload, upload_result, articles)
        _wire_chat(app, w, slots)
        _wire_status(app, loader, w, demo)
        _api_endpoints(app, slots)
    demo.queue(default_concurrency_limit=slots, max_size=QUEUE_MAX_SIZE)
    return demo


def _chat_column() -> tuple[gr.Chatbot, gr.Textbox, gr.Button, list[gr.Button], gr.Button]:
    """The conversation, the question box, the example questions and the clear button."""
    chatbot = gr.Chatbot(
        label="Chat",
        show_label=False,
        elem_id="qa-chat",
        height=560,
        layout="bubble",
        buttons=["copy"],
        feedback_options=None,
        render_markdown=False,
        sanitize_html=True,
        placeholder="Ask a question about the articles, or pick an example below.",
    )
    with gr.Row():
        question = gr.Textbox(
            show_label=False,
            elem_id="qa-question",
            scale=5,
            lines=1,
            max_lines=6,
            placeholder="Ask in English, Deutsch, 中文 or العربية…",
            autofocus=True,
        )
        ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="qa-ask")
    with gr.Row():
        examples = [gr.Button(q, size="sm", elem_classes=["qa-example"]) for q in EXAMPLES]
    clear = gr.Button("Clear conversation", size="sm", variant="secondary", elem_id="qa-clear")
    return chatbot, question, ask, examples, clear


def _side_column(app: App) -> tuple[gr.HTML, gr.File, gr.HTML, gr.HTML]:
    """The sources panel, the article upload and the list of articles."""
    gr.Markdown("### Sources")
    sources = gr.HTML(panel_html([]), elem_id="qa-sources", max_height=620)
    with gr.Accordion("Add an article (web page, PDF, Word or text file)", open=False, elem_id="qa-upload"):
        gr.Markdown(
            f"A saved web page (**.html**), a **PDF**, a Word file (**.docx**), up to "
            f"**{MAX_UPLOAD_MB:.0f} MB**, or a plain-text or Markdown file (**.txt**, **.md**), "
            f"up to **{MAX_TEXT_MB:.0f} MB**; any language. It can be asked about as soon as "
            "it is added."
        )
        upload = gr.File(
            label="Article file",
            file_types=list(SUFFIXES),
            type="filepath",
            file_count="single",
            height=120,
            elem_id="qa-file",
        )
        upload_result = gr.HTML("", elem_id="qa-upload-result")
    articles = gr.HTML(app.articles(), elem_id="qa-articles")
    return sources, upload, upload_result, articles


def _wire_chat(app: App, w: Widgets, slots: int) -> None:
    """Asking (enter, the button, an example), clearing, and adding an article."""
    chat_io = dict(
        inputs=[w.question, w.session],
        outputs=[w.chatbot, w.question, w.sources, w.session],
        concurrency_id="generate",
        concurrency_limit=slots,
        api_visibility="private",
        show_progress="minimal",
    )
    submitted = w.question.submit(app.respond, **chat_io)
    clicked = w.ask.click(app.respond, **chat_io)
    asked = [submitted, clicked]
    for button, text in zip(w.examples, EXAMPLES):
        fill = button.click(lambda text=text: text, None, w.question, queue=False, api_visibility="private")
        asked.append(fill.then(app.respond, **chat_io))
    cleared = [w.chatbot, w.question, w.sources, w.session]
    w.clear.click(app.clear, None, cleared, cancels=asked, queue=False, api_visibility="private")
    # the chat's own trash-can button
    w.chatbot.clear(app.clear, None, cleared, cancels=asked, queue=False, api_visibility="private")
    w.upload.upload(
        app.upload_ui,
        w.upload,
        [w.upload_result, w.upload, w.status, w.articles],
        concurrency_id="generate",
        concurrency_limit=slots,
        api_visibility="private",
    )


def _wire_status(app: App, loader: Loader, w: Widgets, demo: gr.Blocks) -> None:
    """The loading status and the article list, polled each second while the models load."""
    timer = gr.Timer(1.0, active=loader.state == "loading")
    polled = dict(concurrency_limit=None, show_progress="hidden", api_visibility="private")
    timer.tick(app.poll, None, [w.status, w.articles, timer], **polled)
    demo.load(app.poll, None, [w.status, w.articles, timer], **polled)


def _api_endpoints(app: App, slots: int) -> None:
    """Gradio's API: /ask and /status from typed functions; /upload needs a file component for
    the client."""
    gr.api(app.api_ask, api_name="ask", concurrency_id="generate", concurrency_limit=slots)
    gr.api(app.api_status, api_name="status", concurrency_limit=None)
    api_file = gr.File(label="file", visible=False, type="filepath", file_types=list(SUFFIXES))
    api_result = gr.JSON(label="result", visible=False)
    api_trigger = gr.Button(visible=False)
    api_trigger.click(
        app.add_upload,
        api_file,
        api_result,
        api_name="upload",
        api_description="Add an article (.txt/.md ≤ 2 MB; .html/.htm/.pdf/.docx ≤ 20 MB): "
        "{doc_id, title, lang, date, chunks, source, source_type, message} "
        "or {error}.",
        concurrency_id="generate",
        concurrency_limit=slots,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Web chat over the news articles (Gradio), a REST API and an "
        "OpenAI-compatible endpoint, in one server."
    )
    cfg = load_config()
    parser.add_argument("--host", default=cfg.runtime.host)
    parser.add_argument("--port", type=int, default=cfg.runtime.port)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    assistant = Assistant(log=lambda msg: log.info("%s", msg))
    loader = Loader(assistant).start()
    demo = build_app(assistant, loader)
    # FastAPI with the REST and OpenAI routes (qa.api) and this Gradio chat mounted at /; never a
    # share link, and no address but --host (127.0.0.1 unless told otherwise)
    app = create_app(
        assistant,
        loader,
        demo,
        max_file_size=MAX_FILE_BYTES + 1,
        css=CSS,
        head=HEAD,
        theme=gr.themes.Soft(),
        footer_links=["api"],
        run_history=False,
        show_error=False,
    )
    log.info(
        "serving the chat on http://%s:%d/, the API on /api (docs /api/docs) and /v1 (models load in the background)",
        args.host,
        args.port,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
