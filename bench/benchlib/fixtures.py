"""The fixed bytes of the benchmark: what the upstream answers and what the load generators send.

The upstream (nginx) answers every POST with the same OpenAI chat completion, or with the same SSE stream of
50 content chunks; the request bodies are written once to files that wrk and the Python clients read.
"""
import json

MODEL = "bench-model"          # a plain completion
MODEL_STREAM = "bench-stream"  # routed (by switchyard) to the streaming upstream path
MODEL_SLOW = "bench-slow"      # routed to the rate-limited streaming path (streams that stay open)
STREAM_CHUNKS = 50
CONTENT = ("Hello! This is the fixed answer of the benchmark upstream: the same bytes for every request, "
           "so that the upstream is never what limits a run.")


def completion() -> str:
    """One non-streaming chat completion (about 450 bytes)."""
    return json.dumps({
        "id": "chatcmpl-bench0001", "object": "chat.completion", "created": 1700000000, "model": MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": CONTENT}, "logprobs": None,
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 24, "completion_tokens": 31, "total_tokens": 55},
    }, separators=(",", ":"))


def stream() -> str:
    """The SSE stream: 50 content chunks, a finish chunk, a usage chunk and [DONE] (about 10 KB)."""
    words = CONTENT.split(" ")
    base = {"id": "chatcmpl-bench0001", "object": "chat.completion.chunk", "created": 1700000000, "model": MODEL,
            "system_fingerprint": "fp_bench"}
    events = []
    for i in range(STREAM_CHUNKS):
        delta = {"content": words[i % len(words)] + " "}
        if i == 0:
            delta = {"role": "assistant", "content": delta["content"]}
        events.append(dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]))
    events.append(dict(base, choices=[{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]))
    events.append(dict(base, choices=[], usage={"prompt_tokens": 24, "completion_tokens": STREAM_CHUNKS,
                                                "total_tokens": 24 + STREAM_CHUNKS}))
    out = "".join("data: " + json.dumps(e, separators=(",", ":")) + "\n\n" for e in events)
    return out + "data: [DONE]\n\n"


def _request(model: str, user_content: str, stream: bool) -> str:
    body = {"model": model,
            "messages": [{"role": "system", "content": "You are a helpful assistant."},
                         {"role": "user", "content": user_content}],
            "max_tokens": 64, "temperature": 0.2}
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":"))


def small_request() -> str:
    return _request(MODEL, "Say hello in one short sentence.", False)


def stream_request() -> str:
    return _request(MODEL_STREAM, "Say hello in one short sentence.", True)


def slow_stream_request() -> str:
    return _request(MODEL_SLOW, "Say hello in one short sentence.", True)


def big_request(total_bytes: int = 1 << 20) -> str:
    """A chat request of exactly `total_bytes` bytes: one long user message of plain ASCII text."""
    empty = _request(MODEL, "", False)
    filler = ("The quick brown fox jumps over the lazy dog. " * (total_bytes // 45 + 1))[: total_bytes - len(empty)]
    body = _request(MODEL, filler, False)
    assert len(body) == total_bytes, len(body)
    return body


def nginx_string(text: str) -> str:
    """`text` as a single-quoted nginx string (nginx expands \\n, \\' and \\\\ in quoted strings)."""
    assert "$" not in text, "nginx would read $ as a variable"
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def nginx_maps(var_prefix: str, text: str, limit: int = 3000) -> tuple[str, str]:
    """(map blocks, "$v1$v2...") holding `text` in pieces: one nginx config string is limited to 4 KB."""
    pieces = [text[i:i + limit] for i in range(0, len(text), limit)]
    blocks, refs = [], []
    for n, piece in enumerate(pieces, 1):
        var = f"${var_prefix}{n}"
        blocks.append(f"map $request_method {var} {{\n    default {nginx_string(piece)};\n}}")
        refs.append(var)
    return "\n".join(blocks), "".join(refs)
