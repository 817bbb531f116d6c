"""Debian's dtc (device-tree-compiler) for the device-tree tests: decompile our blobs,
compile overlay sources, and read dtc's DTS output back into {path: {property: bytes}}.

dtc() finds the tool; when it is missing the test is skipped saying why, except
on CI (CI set), where it fails: tests/setup-debian.sh installs it there.
"""
import os
import re
import shutil
import struct
import subprocess
import tempfile

import pytest


def dtc():
    path = shutil.which("dtc")
    if path is None:
        msg = "dtc is not installed (apt-get install device-tree-compiler)"
        if os.environ.get("CI"):
            pytest.fail(msg + ": CI must have it (tests/setup-debian.sh)")
        print(msg)
        pytest.skip(msg)
    return path


def _run(args, data):
    with tempfile.NamedTemporaryFile(suffix=".in") as f:
        f.write(data)
        f.flush()
        r = subprocess.run([dtc(), *args, f.name], capture_output=True)
    return r


def decompile(blob):
    """-> (dts text, dtc's warnings).  Fails the test if dtc cannot read the blob."""
    r = _run(["-I", "dtb", "-O", "dts"], blob)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode(), r.stderr.decode()


def compile_dts(text, overlay=False):
    """DTS source -> blob (with -@ for an overlay, so labels become __fixups__)."""
    r = _run(["-I", "dts", "-O", "dtb", *(["-@"] if overlay else [])], text.encode())
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<cells><[^>]*>)|(?P<bytes>\[[^\]]*\])'
                    r'|(?P<punct>[{};=,])|(?P<word>[^\s{};="<\[]+))', re.S)
_ESC = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11, "\\": 92, '"': 34, "'": 39}


def _unescape(body):
    out, i = bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        n = body[i + 1]
        if n == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", body[i + 2:])
            out.append(int(m.group(), 16))
            i += 2 + len(m.group())
        elif n in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            out.append(int(m.group(), 8))
            i += 1 + len(m.group())
        else:
            out.append(_ESC[n])
            i += 2
    return bytes(out)


def _value(tok):
    kind, text = tok
    if kind == "str":
        return _unescape(text[1:-1]) + b"\0"
    if kind == "cells":
        return b"".join(struct.pack(">I", int(c, 0)) for c in text[1:-1].split())
    return bytes.fromhex(text[1:-1].replace(" ", ""))


def parse(text):
    """dtc's DTS output -> (nodes {path: {prop: bytes}} in order, memreserve [(addr, size)])."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    toks = [(m.lastgroup, m.group(m.lastgroup)) for m in _TOKEN.finditer(text) if m.lastgroup]
    nodes, reserve, stack, i = {}, [], [], 0
    while i < len(toks):
        kind, t = toks[i]
        if t == "/dts-v1/" or t == "/plugin/":
            i += 2
        elif t == "/memreserve/":
            reserve.append((int(toks[i + 1][1], 0), int(toks[i + 2][1], 0)))
            i += 4
        elif t == "}":
            stack.pop()
            i += 2                                   # "}" ";"
        elif toks[i + 1][1] == "{":
            name = "" if t == "/" else t
            path = "/" if not stack and name == "" else (stack[-1].rstrip("/") + "/" + name)
            stack.append(path)
            nodes[path] = {}
            i += 2
        elif t.endswith(":"):                        # a label
            i += 1
        elif toks[i + 1][1] == ";":
            nodes[stack[-1]][t] = b""
            i += 2
        else:
            assert toks[i + 1][1] == "=", toks[i:i + 3]
            i += 2
            value = b""
            while True:
                value += _value(toks[i])
                i += 1
                if toks[i][1] == ";":
                    break
                assert toks[i][1] == ",", toks[i]
                i += 1
            nodes[stack[-1]][t] = value
            i += 1
    return nodes, reserve


def cells(data):
    return list(struct.unpack(f">{len(data) // 4}I", data))


def strings(data):
    return data[:-1].decode().split("\0")
