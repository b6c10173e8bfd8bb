#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): a few valid inputs each.

The event-stream frames are built here independently of the C++ encoder, from the format's description.
Run it from anywhere; it rewrites the seed files in place.
"""
import pathlib
import struct
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


def main() -> None:
    for target, seeds in (("event_stream_fuzz", event_stream_seeds()), ("sigv4_fuzz", sigv4_seeds())):
        directory = HERE / "corpus" / target
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (directory / name).write_bytes(data)


if __name__ == "__main__":
    main()
