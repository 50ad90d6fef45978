"""The HTTP server: a REST API, an OpenAI-compatible chat endpoint, and the Gradio chat, in one
FastAPI app served by one process (``python ui.py``; 127.0.0.1 unless ``--host`` says otherwise).

REST (JSON; errors are ``{"error": "<what is wrong>"}`` with an HTTP status, never a traceback)
    POST /api/ask            {"question", "history": [{"role", "content"}], "stream": false}
                             → Answer.to_dict() + "articles" (title, date, language, original file
                             of every article cited or retrieved). With "stream": true, Server-Sent
                             Events: ``sources`` (the passages, right after retrieval), ``delta``
                             (answer text as it is generated), ``answer`` (the verified answer, last)
                             or ``error``.
    GET  /api/articles       the indexed articles (?offset=&limit=), with their original file
    POST /api/articles       multipart field ``file``: an article (.txt .md .html .htm .pdf .docx)
    GET  /api/health         {"ready", "state", "message", "articles", "passages"}; 503 until ready
    GET  /api/docs           OpenAPI docs (Swagger UI served from the package: works offline)
    Status codes: 409 already indexed, 413 too large, 415 unsupported or mismatched file type,
    422 unusable question or file, 502 the generator failed, 503 still loading or too busy.

OpenAI-compatible (for Open WebUI, LibreChat, the ``openai`` client libraries)
    GET  /v1/models              one model, "qa"
    POST /v1/chat/completions    the last user message is the question, earlier user/assistant
                                 messages the history (system messages are ignored: the assistant
                                 has its own instructions). The reply's content is the answer text
                                 with its [n] markers followed by a "Sources:" block; the citations
                                 also come as a top-level "citations" list. With "stream": true the
                                 verified answer is sent as chunks in OpenAI's format, ending with
                                 ``data: [DONE]``: the OpenAI format cannot take text back, so the
                                 unverified draft is not streamed (the REST stream has it).
    Errors in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

Answers are blocking model calls: they run in worker threads, at most ``Config.parallel_slots`` at
once (the others wait their turn, up to MAX_WAITING; beyond that 503), so the event loop keeps
serving health checks, article lists and the chat page meanwhile. Request bodies are limited on
every route (BodyLimit); the Gradio routes keep Gradio's own upload limit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Protocol

import anyio
import gradio as gr
from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from qa.answering.assistant import Assistant
from qa.answering.inputs import clean_history, clean_question
from qa.models.generator import GenerationError
from qa.store.base import documents_of
from qa.text.corpus import CorpusError, DuplicateError
from qa.text.formats import MAX_FILE_BYTES, FileTooLarge, UnsupportedFormat, check_upload
from qa.types import Answer, Passage, SourcesFound, TextDelta

log = logging.getLogger("qa.api")

MODEL_ID = "qa"
MAX_WAITING = 64  # answers in progress or waiting for a slot (REST + OpenAI), as Gradio's queue
MAX_JSON_BYTES = 1_000_000  # a question is at most 2,000 characters; the rest is history
MAX_UPLOAD_BODY = MAX_FILE_BYTES + 100_000  # the largest file plus multipart framing
WORKER_THREADS = 100  # above MAX_WAITING: waiting answers never starve the other routes
SLOT_WAIT = 900  # seconds an answer may wait for a slot before "busy"
QUOTE_CHARS = 300  # of a citation's quote in the "Sources:" block


class Readiness(Protocol):
    """What the server needs of the model loader (ui.Loader)."""

    state: str  # "loading" | "ready" | "failed"

    @property
    def ready(self) -> bool: ...

    def not_ready_message(self) -> str: ...

    def status_dict(self) -> dict: ...


class ApiError(HTTPException):
    """An HTTP error with a message for the caller (and, for /v1, OpenAI's error type and code)."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code, self.param = code, param


# -- requests ----------------------------------------------------------------------------------
class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    question: str = Field(
        description="The question, in any language (at most 2,000 characters).",
        examples=["Why did John Schulman leave OpenAI?"],
    )
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first, for follow-ups.")
    stream: bool = Field(False, description="Server-Sent Events (sources, delta, answer) instead of one JSON.")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, …: accepted, not used
    model: str = MODEL_ID
    messages: list[ChatMessage]
    stream: bool = False


# -- the limits on request bodies -----------------------------------------------------------------
class BodyTooLarge(ApiError):
    def __init__(self, limit: int):
        super().__init__(
            413,
            f"the request body is over the limit of {limit:,} bytes ({limit / 1e6:.0f} MB)"
            if limit >= 1_000_000
            else f"the request body is over the limit of {limit:,} bytes",
        )


def body_limit(path: str) -> int | None:
    if path == "/api/articles":
        return MAX_UPLOAD_BODY
    if path.startswith(("/api/", "/v1/")):
        return MAX_JSON_BYTES
    return None  # the Gradio app: its own limit on uploads (max_file_size)


class BodyLimit:
    """ASGI middleware: a body over the route's limit is refused with 413 as soon as its
    Content-Length or its bytes say so, before it is parsed or spooled to disk."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        limit = body_limit(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            response = error_response(scope["path"], 413, BodyTooLarge(limit).detail)
            return await response(scope, receive, send)
        received = 0

        async def limited():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)  # an HTTPException: FastAPI passes it through body parsing
            return message

        await self.app(scope, limited, send)


# -- error bodies ------------------------------------------------------------------------------
_OPENAI_TYPES = {
    400: "invalid_request_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
}


def error_response(
    path: str,
    status: int,
    message: str,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    if path.startswith("/v1/"):
        error = {"message": message, "type": _OPENAI_TYPES.get(status, "server_error"), "param": param, "code": code}
        return JSONResponse({"error": error}, status, headers=headers)
    return JSONResponse({"error": message}, status, headers=headers)


def _validation_message(err: RequestValidationError) -> tuple[str, str | None]:
    first = err.errors()[0] if err.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return (
        f"{where}: {first.get('msg', 'invalid request')}" if where else first.get("msg", "invalid request")
    ), where or None


# -- serialising answers -------------------------------------------------------------------------
def article_info(doc) -> dict:
    """Title, date, language and original file of a Document (or a DocumentInfo: no file)."""
    return {
        "title": doc.title,
        "date": doc.date,
        "lang": doc.lang,
        "source": getattr(doc, "source", "") or None,
        "source_type": getattr(doc, "source_type", "") or None,
    }


def passages_json(passages: list[Passage], docs: dict) -> list[dict]:
    out = []
    for n, p in enumerate(passages, 1):
        doc = docs.get(p.doc_id)
        out.append(
            {
                "n": n,
                **p.to_dict(),
                "title": doc.title if doc else p.doc_id,
                "source": (doc.source or None) if doc else None,
                "source_type": (doc.source_type or None) if doc else None,
            }
        )
    return out


def sources_block(answer: Answer, docs: dict) -> str:
    """The citations as plain text, for chat clients that show only the message text."""
    if not answer.citations:
        return ""
    lines = []
    for c in answer.citations:
        doc = docs.get(c.doc_id)
        title = doc.title if doc else (c.title or c.doc_id)
        origin = f" ({doc.source})" if doc and doc.source else ""
        quote = " ".join(c.quote.split())
        quote = quote if len(quote) <= QUOTE_CHARS else quote[:QUOTE_CHARS].rsplit(" ", 1)[0] + " …"
        lines.append(f"[{c.n}] {title}{origin} — “{quote}”")
    return "\n\nSources:\n" + "\n".join(lines)


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def chat_turns(messages: list[ChatMessage]) -> tuple[str, list[dict]]:
    """OpenAI messages → (question, history); ApiError(400) saying what is wrong."""
    turns = []
    for i, m in enumerate(messages):
        if m.role not in ("user", "assistant"):
            continue  # system / developer / tool messages: the assistant has its own instructions
        content = m.content or ""
        if isinstance(content, list):
            parts = []
            for part in content:
                if part.get("type") != "text" or not isinstance(part.get("text"), str):
                    raise ApiError(400, f"messages[{i}]: only text content is supported", param="messages")
                parts.append(part["text"])
            content = "\n".join(parts)
        if m.role == "assistant":
            content = content.split("\n\nSources:\n", 1)[0]  # our own earlier answer, without its sources
        turns.append({"role": m.role, "content": content})
    if not turns or turns[-1]["role"] != "user":
        raise ApiError(400, "the last message must be the user's question", param="messages")
    return turns[-1]["content"], turns[:-1]


# -- the server ---------------------------------------------------------------------------------
class Api:
    """The routes' logic, bound to one Assistant and its loader."""

    def __init__(self, assistant: Assistant, loader: Readiness):
        self.assistant, self.loader = assistant, loader
        self._slots = threading.BoundedSemaphore(max(1, assistant.cfg.generator.parallel_slots))
        self._waiting = 0
        self._count = threading.Lock()

    def require_ready(self) -> None:
        if not self.loader.ready:
            raise ApiError(503, self.loader.not_ready_message(), code="model_loading", headers={"Retry-After": "5"})

    def admit(self) -> None:
        """Refuse with 503 when MAX_WAITING answers are already in progress or waiting."""
        if self._waiting >= MAX_WAITING:
            raise ApiError(
                503,
                f"busy: {MAX_WAITING} questions are being answered or waiting; please try again in a minute",
                code="busy",
                headers={"Retry-After": "30"},
            )

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """One answer at a time per generator slot; the others wait here, in a worker thread."""
        with self._count:
            self._waiting += 1
        try:
            if not self._slots.acquire(timeout=SLOT_WAIT):
                raise ApiError(503, f"busy: no answer slot became free within {SLOT_WAIT} s", code="busy")
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._count:
                self._waiting -= 1

    def checked(self, question: str, history: list[dict]) -> tuple[str, list[dict]]:
        try:
            return clean_question(question), clean_history(history)
        except ValueError as err:
            raise ApiError(422, str(err), param="question") from None

    def docs_for(self, answer: Answer) -> dict:
        ids = [c.doc_id for c in answer.citations] + [p.doc_id for p in answer.sources]
        return documents_of(self.assistant.store, ids)

    def answer(self, question: str, history: list[dict]) -> tuple[Answer, dict]:
        with self.turn():
            try:
                answer = self.assistant.answer(question, history)
            except GenerationError as err:
                raise ApiError(502, f"the answer could not be written: {err}", code="generation_failed") from None
        return answer, self.docs_for(answer)

    def answer_json(self, answer: Answer, docs: dict) -> dict:
        return {**answer.to_dict(), "articles": {d: article_info(doc) for d, doc in docs.items()}}

    def events(self, question: str, history: list[dict]) -> Iterator[str]:
        """The REST stream: sources, deltas, then the answer (or an error event)."""
        try:
            with self.turn():
                for item in self.assistant.stream(question, history):
                    if isinstance(item, SourcesFound):
                        docs = documents_of(self.assistant.store, (p.doc_id for p in item.passages))
                        yield sse("sources", {"passages": passages_json(item.passages, docs)})
                    elif isinstance(item, TextDelta):
                        yield sse("delta", {"text": item.text})
                    else:
                        yield sse("answer", self.answer_json(item, self.docs_for(item)))
        except ApiError as err:
            yield sse("error", {"error": err.detail, "status": err.status_code})
        except GenerationError as err:
            yield sse("error", {"error": f"the answer could not be written: {err}", "status": 502})
        except Exception as err:  # headers are sent: the client gets an error event, the log the traceback
            log.exception("answer stream failed")
            yield sse(
                "error",
                {"error": f"internal error ({type(err).__name__}); the details are in the server log", "status": 500},
            )

    # OpenAI ------------------------------------------------------------------------------------
    def completion(self, answer: Answer, docs: dict, cid: str, created: int) -> dict:
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "logprobs": None,
                    "message": {"role": "assistant", "content": answer.text + sources_block(answer, docs)},
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": self.citations(answer, docs),
            "abstained": answer.abstained,
        }

    def citations(self, answer: Answer, docs: dict) -> list[dict]:
        return [
            {
                **c.to_dict(),
                **(
                    {"source": docs[c.doc_id].source or None, "source_type": docs[c.doc_id].source_type or None}
                    if c.doc_id in docs
                    else {}
                ),
            }
            for c in answer.citations
        ]

    def chunks(self, question: str, history: list[dict], cid: str, created: int) -> Iterator[str]:
        """The OpenAI stream: the role at once, keep-alive comments while the answer is written and
        checked, then the verified text, its sources, the finish reason and [DONE]."""

        def chunk(delta: dict, finish: str | None = None, **extra) -> str:
            body = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": MODEL_ID,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
                **extra,
            }
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        try:
            with self.turn():
                last = 0.0
                for item in self.assistant.stream(question, history):
                    if not isinstance(item, Answer):
                        if time.monotonic() - last > 2:  # SSE comments: clients and proxies ignore them
                            last = time.monotonic()
                            yield ": answering\n\n"
                        continue
                    docs = self.docs_for(item)
                    yield chunk({"content": item.text})
                    if item.citations:
                        yield chunk({"content": sources_block(item, docs)})
                    yield chunk({}, "stop", citations=self.citations(item, docs), abstained=item.abstained)
        except (ApiError, GenerationError) as err:
            message = err.detail if isinstance(err, ApiError) else f"the answer could not be written: {err}"
            yield f"data: {json.dumps({'error': {'message': message, 'type': 'server_error', 'code': None}})}\n\n"
        except Exception as err:  # headers are sent: an error chunk; the traceback goes to the log
            log.exception("chat completion stream failed")
            message = f"internal error ({type(err).__name__}); the details are in the server log"
            yield f"data: {json.dumps({'error': {'message': message, 'type': 'server_error', 'code': None}})}\n\n"
        yield "data: [DONE]\n\n"


def _upload_status(err: CorpusError) -> int:
    if isinstance(err, FileTooLarge):
        return 413
    if isinstance(err, UnsupportedFormat):
        return 415
    if isinstance(err, DuplicateError):
        return 409
    return 422


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI):
    # answers wait for a slot in worker threads: enough threads that they never starve the others
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    yield


STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def create_app(assistant: Assistant, loader: Readiness, blocks: gr.Blocks | None = None, **gradio_options) -> FastAPI:
    """The FastAPI app: /api/* and /v1/* routes, and `blocks` (the Gradio chat) mounted at / with
    `gradio_options` (css, head, theme, max_file_size, … of gr.mount_gradio_app)."""
    api = Api(assistant, loader)
    app = FastAPIOffline(
        title="qa: cited answers about the news articles",
        version="1",
        description="Ask questions about the indexed articles; every claim is cited. "
        "Also an OpenAI-compatible endpoint at /v1/chat/completions.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        static_url="/api/docs-static",
        swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
        lifespan=_lifespan,
    )
    app.add_middleware(BodyLimit)
    _error_handlers(app)
    _rest_routes(app, api)
    _article_routes(app, api)
    _openai_routes(app, api)
    if blocks is not None:
        gr.mount_gradio_app(app, blocks, path="/", **gradio_options)
    return app


def _error_handlers(app: FastAPI) -> None:
    """Every error as one JSON shape (error_response): HTTP errors, invalid bodies (400 on /v1/,
    as OpenAI clients expect; 422 elsewhere) and anything unexpected (500, details in the log)."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException):
        return error_response(
            request.url.path,
            err.status_code,
            str(err.detail),
            getattr(err, "code", None),
            getattr(err, "param", None),
            err.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError):
        message, param = _validation_message(err)
        status = 400 if request.url.path.startswith("/v1/") else 422
        return error_response(request.url.path, status, message, param=param)

    @app.exception_handler(Exception)
    async def internal(request: Request, err: Exception):
        log.error("%s %s failed", request.method, request.url.path, exc_info=err)
        return error_response(
            request.url.path, 500, f"internal error ({type(err).__name__}); the details are in the server log"
        )


def _rest_routes(app: FastAPI, api: Api) -> None:
    """/api/ask and /api/health."""
    loader = api.loader

    @app.post("/api/ask", tags=["answers"], summary="Answer a question with cited sources")
    def ask(body: AskRequest):
        question, history = api.checked(body.question, [t.model_dump() for t in body.history])
        api.require_ready()
        api.admit()
        if body.stream:
            return StreamingResponse(
                api.events(question, history), media_type="text/event-stream", headers=STREAM_HEADERS
            )
        return api.answer_json(*api.answer(question, history))

    @app.get("/api/health", tags=["server"], summary="Whether the models are loaded (503 until they are)")
    def health():
        status = loader.status_dict()
        return JSONResponse(status, 200 if status["ready"] else 503)


def _article_routes(app: FastAPI, api: Api) -> None:
    """/api/articles: the indexed articles, and adding one."""
    assistant = api.assistant

    @app.get("/api/articles", tags=["articles"], summary="The indexed articles")
    def articles(offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100):
        api.require_ready()
        store = assistant.store
        listed = store.documents()
        page = listed[offset : offset + limit]
        docs = documents_of(store, [d.id for d in page])
        return {
            "total": len(listed),
            "offset": offset,
            "limit": limit,
            "articles": [{"id": d.id, "chunks": d.chunks, **article_info(docs.get(d.id, d))} for d in page],
        }

    @app.post(
        "/api/articles",
        tags=["articles"],
        status_code=201,
        summary="Add an article: .txt/.md (≤ 2 MB) or .html/.htm/.pdf/.docx (≤ 20 MB)",
    )
    async def add_article(file: Annotated[UploadFile, File(description="the article file")]):
        name = file.filename or ""
        if not name:
            raise ApiError(422, "the upload has no file name; its extension says which type it should be")
        data = await file.read()
        try:
            check_upload(name, len(data))
        except CorpusError as err:
            raise ApiError(_upload_status(err), f"{err}. Nothing was changed.") from None
        api.require_ready()
        try:
            doc_id = await run_in_threadpool(assistant.add_document, name, data)
        except CorpusError as err:
            raise ApiError(_upload_status(err), f"{err}. Nothing was changed.") from None
        doc = assistant.store.document(doc_id)
        chunks = next((d.chunks for d in assistant.store.documents() if d.id == doc_id), 0)
        return {
            "doc_id": doc_id,
            "chunks": chunks,
            **article_info(doc),
            "message": f"Added “{doc.title}” ({chunks} passages) as {doc_id}.",
        }


def _openai_routes(app: FastAPI, api: Api) -> None:
    """/v1/*: the OpenAI-compatible model list and chat completions."""

    @app.get("/v1/models", tags=["openai"], summary="The models (one: qa)")
    def models():
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "qa"}]}

    @app.post("/v1/chat/completions", tags=["openai"], summary="OpenAI-compatible chat completion")
    def chat(body: ChatRequest):
        if body.model != MODEL_ID:
            raise ApiError(
                404,
                f"the model '{body.model}' does not exist; this server serves '{MODEL_ID}'",
                code="model_not_found",
                param="model",
            )
        question, history = chat_turns(body.messages)
        question, history = api.checked(question, history)
        api.require_ready()
        api.admit()
        cid, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())
        if body.stream:
            return StreamingResponse(
                api.chunks(question, history, cid, created), media_type="text/event-stream", headers=STREAM_HEADERS
            )
        return api.completion(*api.answer(question, history), cid, created)
