#!/usr/bin/env python3
"""Independent Python computations of the bench workloads' expected checksums.

    python3 bench/workloads/crosscheck.py [NAME...]     # default: all (about 30-60 s)

Each function re-implements what NAME.c computes (not its code: Python's sorted,
zlib.crc32, a direct transcription of the bytecode program) and the script
compares the result with the bench_expected constant in NAME.c.  Exit status 1 if
any differs.  matmul and divrem have no Python check (their constants come from
the native host build and agree with QEMU), nor have the floating-point workloads
nbody, dmatmul and firf (their constants come from a native x86-64 build with
hardware FMA, see README.md, and agree with QEMU and Unicorn).
"""
import re
import struct
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
M = (1 << 64) - 1


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


def xs(x):
    x ^= (x << 13) & M
    x ^= x >> 7
    x ^= (x << 17) & M
    return x


def s64(v):
    v &= M
    return v - (1 << 64) if v >> 63 else v


def sieve():
    N, check = 1 << 20, 0
    comp = bytearray(N)
    for i in range(2, int(N ** 0.5) + 1):
        if not comp[i]:
            comp[i * i::i] = b"\1" * len(range(i * i, N, i))
    primes = [i for i in range(2, N) if not comp[i]]
    tail = sum(primes[-64:])
    for r in range(1, 23):
        check += len(primes) * r + tail
    return check & M


def crc32():
    LEN, x = 64 * 1024, 12345
    buf = bytearray(LEN)
    for i in range(LEN):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        buf[i] = (x >> 16) & 0xFF
    check = 0
    for r in range(440):
        buf[((r * 2654435761) & 0xFFFFFFFF) % LEN] ^= r & 0xFF
        check = rotl(check, 7) ^ zlib.crc32(buf)
    return check


def ptrchase():
    N, STEPS, WALKS = 1 << 20, 6_000_000, 4
    rng = [0x2545F4914F6CDD1D]

    def r32():
        rng[0] = xs(rng[0])
        return (rng[0] >> 16) & 0xFFFFFFFF
    nxt = list(range(N))
    for i in range(N - 1, 0, -1):
        j = r32() % i
        nxt[i], nxt[j] = nxt[j], nxt[i]
    length, p = 0, 0
    while True:
        p = nxt[p]
        length += 1
        if p == 0 or length > N:
            break
    check = length
    for w in range(WALKS):
        q, s = r32() % N, 0
        for _ in range(STEPS):
            q = nxt[q]
            s += q
        check = rotl(check, 13) ^ (s & M) ^ ((q << 32) & M) ^ w
    return check


def memops():
    LEN, ROUNDS, SMALL = 2 << 20, 80, 64 << 10
    a, b = bytearray(LEN + 64), bytearray(LEN + 64)
    check, x = 0, 0x9E3779B97F4A7C15
    for r in range(ROUNDS):
        off, mis = (r * 8) % 64, r % 8
        a[mis:mis + LEN - 64] = bytes([(r * 37 + 11) & 0xFF]) * (LEN - 64)
        b[off + mis:off + mis + LEN - 64] = a[mis:mis + LEN - 64]
        for _ in range(16):
            x = xs(x)
            i = ((x >> 20) % (LEN // 8)) * 8
            struct.pack_into("<Q", b, i, struct.unpack_from("<Q", b, i)[0] ^ x)
        a[0:LEN - 64] = b[off:off + LEN - 64]
        a[1 + mis:1 + mis + SMALL] = b[64:64 + SMALL]
        for _ in range(64):
            x = xs(x)
            i = ((x >> 24) & 0xFFFFFFFF) % (LEN - 64)
            check = rotl(check, 5) ^ a[i] ^ (b[i] << 8)
    aw = struct.unpack_from(f"<{LEN // 8}Q", a)
    bw = struct.unpack_from(f"<{LEN // 8}Q", b)
    h = 0
    for i in range(LEN // 8):
        h = (((h ^ aw[i]) * 0x100000001B3) + bw[i]) & M
    return check ^ h


def qsort():
    N, x, check = 1 << 17, 0x0123456789ABCDEF, 0
    for r in range(9):
        v = []
        for _ in range(N):
            x = xs(x)
            if r & 1:
                v.append(x % 1000 - 500)
            else:
                t = x >> 32
                v.append(t - (1 << 32) if t >> 31 else t)
        v.sort()
        check = rotl(check, 9) ^ (sum(a * (i + 1) for i, a in enumerate(v)) & M) ^ r
    return check


def bytecode():
    """The bytecode program of bytecode.c, transcribed, counting the bytecodes it executes."""
    n, i, x, acc, cnt = 110_000, 0, 42, 0, 0
    steps = 2                                   # PUSH 0, STORE 0
    while True:
        steps += 4                              # LOAD i, LOAD n, LT, JZ
        if not i < n:
            steps += 1                          # HALT
            break
        x = s64(x * 1103515245 + 12345)
        steps += 6
        acc = s64(acc + s64(x ^ ((x & M) >> 13)))
        steps += 5 + 3
        steps += 4                              # LOAD x, PUSH 3, AND, JZ
        if x & 3:
            cnt += 1
            steps += 4                          # LOAD, INC, STORE, JMP
        steps += 2                              # j = 0
        j = 0
        while True:
            steps += 4
            if not j < 4:
                break
            acc = s64(((acc & M) << 1) ^ j)
            steps += 6
            j += 1
            steps += 4
        i += 1
        steps += 4
    return ((acc & M) ^ ((x << 17) & M) ^ ((cnt << 40) & M) ^ steps) & M


def usersieve():
    n = 1_000_000
    s = bytearray([1]) * n
    for i in range(2, int(n ** 0.5) + 1):
        if s[i]:
            s[i * i::i] = bytes(len(range(i * i, n, i)))
    return 10 * sum(s[2:])


def uartflood():
    return sum(10 if i % 80 == 79 else 33 + (i * 7 + i // 80) % 94 for i in range(100_000))


def timerirq():
    x, acc = 0x9E3779B97F4A7C15, 0
    for _ in range(8_000_000):
        x = xs(x)
        acc = (acc * 31 + (x >> 11)) & M
    return acc ^ x


CHECKS = ["sieve", "crc32", "ptrchase", "memops", "qsort", "bytecode", "usersieve", "uartflood", "timerirq"]


def expected(name):
    src = (HERE / f"{name}.c").read_text()
    m = re.search(r"bench_expected\s*=\s*([^;]+);", src)
    return int(eval(m.group(1).replace("ull", "").replace("ULL", "")))  # noqa: S307 - our own source


def main(argv):
    bad = 0
    for name in argv or CHECKS:
        got, want = globals()[name](), expected(name)
        ok = got == want
        bad += not ok
        print(f"{name:10s} {'ok' if ok else 'MISMATCH'}  python 0x{got:016x}  {name}.c 0x{want:016x}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
