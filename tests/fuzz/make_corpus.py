#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): a few valid inputs each.

The event-stream frames are built here independently of the C++ encoder, from the format's description.
The routing artifacts (artifact_fuzz) are trained by the switchyard binary named by SWITCHYARD_BIN on a tiny
synthetic dataset; without SWITCHYARD_BIN their seeds are left as they are.
Run it from anywhere; it rewrites the seed files in place.
"""
import json
import os
import pathlib
import struct
import subprocess
import tempfile
import zlib

HERE = pathlib.Path(__file__).resolve().parent


def header(name: bytes, type_: int, value: bytes = b"") -> bytes:
    return bytes([len(name)]) + name + bytes([type_]) + value


def string_header(name: str, value: str) -> bytes:
    v = value.encode()
    return header(name.encode(), 7, struct.pack(">H", len(v)) + v)


def frame(headers: bytes, payload: bytes) -> bytes:
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(event_type: str, payload: str) -> bytes:
    headers = (string_header(":event-type", event_type) + string_header(":content-type", "application/json") +
               string_header(":message-type", "event"))
    return frame(headers, payload.encode())


def event_stream_seeds() -> dict:
    converse = (event("messageStart", '{"role":"assistant"}') +
                event("contentBlockDelta", '{"contentBlockIndex":0,"delta":{"text":"Hello"}}') +
                event("contentBlockStop", '{"contentBlockIndex":0}') +
                event("messageStop", '{"stopReason":"end_turn"}') +
                event("metadata", '{"usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4}}'))
    exception = frame(string_header(":exception-type", "throttlingException") +
                      string_header(":content-type", "application/json") +
                      string_header(":message-type", "exception"), b'{"message":"Too many requests"}')
    all_types = frame(
        header(b"t", 0) + header(b"f", 1) + header(b"b", 2, b"\xcf") + header(b"s", 3, struct.pack(">h", -2)) +
        header(b"i", 4, struct.pack(">i", 40972)) + header(b"l", 5, struct.pack(">q", -42424242)) +
        header(b"raw", 6, struct.pack(">H", 3) + b"\x00\x01\xff") + string_header("str", "caf\u00e9") +
        header(b"ts", 8, struct.pack(">q", 1709806500123)) + header(b"id", 9, bytes(range(16))), b"{}")
    # The first byte of each seed chooses how the fuzz target cuts the rest into pieces; with its top bit set,
    # the target corrects the frames' CRCs before decoding.
    return {
        "converse_stream": b"\x07" + converse,
        "converse_stream_bytewise": b"\x00" + converse,
        "exception": b"\x21" + exception,
        "all_header_types": b"\x3f" + all_types,
        "all_header_types_crc_fixed": b"\x83" + all_types,
        "converse_stream_crc_fixed": b"\x9a" + converse,
        "empty_message": b"\x05" + frame(b"", b""),
        "truncated": b"\x02" + converse[:-7],
    }


def fuzzed_strings(*parts: str) -> bytes:
    # FuzzedDataProvider::ConsumeRandomLengthString ends a string at a backslash followed by another character.
    return b"".join(p.encode().replace(b"\\", b"\\\\") + b"\\ " for p in parts)


def sigv4_seeds() -> dict:
    # Fields: method, path, query, amz_date, session token, then (name, value) per header and the payload;
    # the last three bytes are read first: add_content_sha256, normalize_path, header count.
    return {
        "converse": fuzzed_strings("POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", "",
                                   "20240307T101500Z", "", "Content-Type", "application/json") +
        b'{"messages":[]}' + b"\x01\x01\x00",
        "arn_stream": fuzzed_strings("POST", "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A1%3Ainference-profile%2Fx/"
                                     "converse-stream", "", "20240307T101500Z", "token") + b"{}" + b"\x00\x01\x01",
        "query": fuzzed_strings("GET", "/", "Param2=value2&Param1=value1&%E1%88%B4=a+b&flag", "20150830T123600Z",
                                "", "My-Header1", "  a   b  ", "my-header1", "c") + b"\x02\x01\x00",
        "dots": fuzzed_strings("GET", "//a/./b/../../c//", "", "2015", "") + b"\x00\x01\x00",
        "dots_unnormalised": fuzzed_strings("GET", "/a/../b c/%2F", "", "20150830T123600Z", "") + b"\x00\x00\x00",
    }


def varint(v: int) -> bytes:
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def length_field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def otlp_response_seeds() -> dict:
    """ExportTraceServiceResponse bytes, written from the proto definition: partial_success (1) holding
    rejected_spans (1, varint) and error_message (2, string)."""
    partial = varint(1 << 3) + varint(3) + length_field(2, b"3 spans too old")
    return {
        "empty": b"",
        "rejected_3": length_field(1, partial),
        "message_only": length_field(1, length_field(2, b"warning only")),
        "unknown_fields": varint(5 << 3) + varint(150) + varint(6 << 3 | 1) + b"\x7f" * 8
        + length_field(1, partial) + varint(8 << 3 | 5) + b"\x01" * 4,
        "repeated": length_field(1, varint(1 << 3) + varint(2)) + length_field(1, varint(1 << 3) + varint(9)),
        "large_count": length_field(1, varint(1 << 3) + varint(1 << 40)),
    }


def artifact_seeds(binary: str) -> dict:
    # Code questions answered by coder-7b, arithmetic by math-7b; small parameters keep the artifacts small.
    rows = []
    for i in range(16):
        code = i % 2 == 0
        query = f"Write a python function to sort list {i}" if code else f"What is {i} times {i + 3}?"
        rows.append({"query": query, "scores": {"big-70b": 0.5, "coder-7b": float(code), "math-7b": float(not code)}})
    models = {name: {"size": size, "input_price_per_mtok": price, "output_price_per_mtok": price}
              for name, size, price in (("big-70b", "70B", 0.9), ("coder-7b", "7B", 0.2), ("math-7b", "7B", 0.1))}
    params = {"knn": ["k=3"], "mlp": ["hidden=2", "epochs=2"], "svm": ["epochs=2"], "mf": ["dim=2", "epochs=2"],
              "elo": ["clusters=2"], "smallest": [], "largest": []}
    # Embeddings for `train --embeddings` (what `switchyard embed` writes): 3 dimensions telling code from math.
    embeddings = [{"query": r["query"], "model": "embed", "embedding": [1.0, 0.0, i / 16] if i % 2 == 0 else
                   [0.0, 1.0, -i / 16]} for i, r in enumerate(rows)]
    seeds = {}
    with tempfile.TemporaryDirectory() as tmp:
        data, models_file = pathlib.Path(tmp, "data.jsonl"), pathlib.Path(tmp, "models.json")
        embeddings_file = pathlib.Path(tmp, "embeddings.jsonl")
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        models_file.write_text(json.dumps(models))
        embeddings_file.write_text("".join(json.dumps(e) + "\n" for e in embeddings))
        env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
        for strategy, extra in params.items():
            args = [binary, "train", "--strategy", strategy, "--data", str(data), "--models", str(models_file),
                    "--out", tmp, "--seed", "1", "--threads", "1", "--param", "min_df=1"]
            if strategy in ("smallest", "largest"):
                args = args[:-2]
            for p in extra:
                args += ["--param", p]
            subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)
            artifact = pathlib.Path(tmp, strategy + ".syra").read_bytes()
            # The first byte: top bit set = the fuzz target reseals the checksum after mutating.
            seeds[strategy] = b"\x80" + artifact
            if strategy in ("knn", "mlp", "elo"):  # format version 2: EMBD, the learner on embeddings, BASE
                subprocess.run(args + ["--embeddings", str(embeddings_file)], check=True, env=env,
                               stdout=subprocess.DEVNULL)
                seeds[strategy + "_embedded"] = b"\x80" + pathlib.Path(tmp, strategy + ".syra").read_bytes()
    knn = seeds["knn"][1:]
    seeds["knn_truncated"] = b"\x00" + knn[:len(knn) // 2]
    seeds["knn_flipped_byte"] = b"\x00" + knn[:40] + bytes([knn[40] ^ 0xff]) + knn[41:]
    seeds["knn_version_3"] = b"\x80" + knn[:8] + b"\x03" + knn[9:]
    embedded = seeds["knn_embedded"][1:]
    seeds["knn_embedded_as_version_1"] = b"\x80" + embedded[:8] + b"\x01" + embedded[9:]
    seeds["knn_sections_corrupt"] = b"\x80" + knn[:60] + b"\xff\xff\xff\x7f" + knn[64:]
    return seeds


def chat_scan_seeds() -> dict:
    """Chat request bodies: ones the scanner takes and ones it leaves to the parser."""
    message = {"role": "user", "content": "Say hello in one short sentence."}
    bodies = {
        "small": {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "s"}, message],
                  "max_tokens": 64, "temperature": 0.2},
        "stream": {"model": "m", "stream": True, "messages": [message], "top_p": 1,
                   "max_completion_tokens": 18446744073709551615},
        "parts": {"messages": [{"role": "user", "content": [{"type": "text", "text": "caf\u00e9"}]}],
                  "model": "m", "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
        "routing_fields": {"model": "m", "messages": [message], "num_retries": 2, "fallbacks": ["b"]},
        "stream_options": {"model": "m", "messages": [message], "stream": True,
                           "stream_options": {"include_usage": True}},
    }
    seeds = {name: json.dumps(body).encode() for name, body in bodies.items()}
    seeds["spaced"] = b' { "model" : "m" ,\n "messages" : [ { "content" : "x\\n" , "role" : "user" } ] } '
    seeds["escaped_key"] = b'{"mod\\u0065l":"m","messages":[{"role":"user"}]}'
    seeds["duplicate"] = b'{"model":"m","model":"n","messages":[{"role":"user"}]}'
    return seeds


def main() -> None:
    targets = [("event_stream_fuzz", event_stream_seeds()), ("sigv4_fuzz", sigv4_seeds()),
               ("otlp_response_fuzz", otlp_response_seeds()), ("chat_scan_fuzz", chat_scan_seeds())]
    if os.environ.get("SWITCHYARD_BIN"):
        targets.append(("artifact_fuzz", artifact_seeds(os.environ["SWITCHYARD_BIN"])))
    for target, seeds in targets:
        directory = HERE / "corpus" / target
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (directory / name).write_bytes(data)


if __name__ == "__main__":
    main()
