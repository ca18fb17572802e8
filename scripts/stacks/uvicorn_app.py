"""The fake OpenAI/Anthropic API of scripts/endpoint.py as a FastAPI app, for
uvicorn (asyncio + h11 here) terminating TLS itself, as vLLM's and SGLang's
API servers do when given --ssl-keyfile/--ssl-certfile.

    /usr/bin/python3 -m uvicorn uvicorn_app:app --app-dir scripts/stacks \
        --host 127.0.0.1 --port 19001 --ssl-keyfile K --ssl-certfile C
(scripts/stacks/uvicorn.sh does this, with a pid file and a generated cert.)

Same answers as endpoint.py, built by endpoint.py's own functions (imported,
not copied): "tok0 tok1 ...", as many tokens as the x-dg-tokens header or
max_tokens (capped at 4096) say; POST /v1/chat/completions, /v1/completions,
/v1/messages (stream true -> SSE with OpenAI stream_options.include_usage and
Anthropic message_delta usage), GET /v1/models, GET /health; the optional
x-dg-body-bytes and x-dg-logprobs headers as in endpoint.py.

How it writes (asyncio's SSL transport: a memory BIO, so no SSL call makes a
syscall): a non-streamed answer is one transport.write of the status line and
headers, then one of the whole body, each one SSL_write_ex of that size; a
streamed answer is one transport.write (one SSL_write_ex) per SSE event, HTTP
chunk framing included. Pacing between SSE tokens: env DG_TOKEN_DELAY_MS
(default 1).
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import endpoint as ep  # noqa: E402  (scripts/endpoint.py)

from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import Response, StreamingResponse  # noqa: E402

TOKEN_DELAY = max(0.0, float(os.environ.get("DG_TOKEN_DELAY_MS", "1")) / 1000.0)
STARTED = __import__("time").time()

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


class _Headers:
    """endpoint.py's helpers call headers.get(name): Starlette's headers are
    already case-insensitive; this keeps the helpers' contract explicit."""

    def __init__(self, h):
        self.h = h

    def get(self, name, default=None):
        return self.h.get(name.lower(), default)


def json_response(status, obj, size=None):
    return Response(content=ep.json_bytes(obj, size), status_code=status,
                    media_type="application/json")


def error(status, message, anthropic=False):
    return json_response(status, ep.error_obj(status, message, anthropic))


async def paced(events):
    for data, is_token in events:
        yield data
        if is_token and TOKEN_DELAY > 0:
            await asyncio.sleep(TOKEN_DELAY)


def sse(events):
    return StreamingResponse(paced(events), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


async def handle(request: Request, kind):
    anthropic = kind == "messages"
    body = await request.body()
    headers = _Headers(request.headers)
    try:
        req = json.loads(body.decode("utf-8"))
        if not isinstance(req, dict):
            raise ValueError("body is not a JSON object")
        n, hit_limit = ep.output_tokens_for(req, headers)
        size = ep.body_bytes_for(headers)
        lp_k = ep.logprobs_for(req, headers, kind)
    except ep.BadRequest as e:
        return error(400, str(e), anthropic)
    except ValueError as e:
        return error(400, "could not parse the JSON body: %s" % e, anthropic)
    model = req.get("model") if isinstance(req.get("model"), str) else ep.MODELS[0]
    ptoks = ep.prompt_tokens_of(req, kind)
    stream = req.get("stream") is True
    try:
        if kind == "messages":
            if stream:
                return sse(ep.messages_stream_events(body, model, ptoks, n, hit_limit))
            return json_response(200, ep.messages_once_obj(body, model, ptoks, n, hit_limit),
                                 size)
        so = req.get("stream_options")
        usage = isinstance(so, dict) and so.get("include_usage") is True
        if stream:
            return sse(ep.openai_stream_events(kind, body, model, ptoks, n, hit_limit,
                                               usage, lp_k))
        return json_response(200, ep.openai_once_obj(kind, body, model, ptoks, n,
                                                     hit_limit, lp_k), size)
    except ep.BadRequest as e:
        return error(400, str(e), anthropic)


@app.post("/v1/chat/completions")
async def chat(request: Request):
    return await handle(request, "chat")


@app.post("/v1/completions")
async def completions(request: Request):
    return await handle(request, "completions")


@app.post("/v1/messages")
async def messages(request: Request):
    return await handle(request, "messages")


@app.get("/v1/models")
@app.get("/models")
async def models():
    return json_response(200, ep.models_obj(STARTED))


@app.get("/health")
async def health():
    return json_response(200, {"status": "ok"})


@app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
async def not_found(request: Request, rest: str):
    return error(404, "no such endpoint: %s /%s" % (request.method, rest))
