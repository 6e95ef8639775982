"""One password-hashing worker process of the host (see ``server.hashing``).

    python server/hash_worker.py MEMORY_KIB TIME_COST LANES

Started by the host as a script, so it imports argon2 and nothing of the host:
it costs the host a few hundredths of a second of CPU to start.  It reads one
request per line on stdin, ``["hash", password]`` or ``["verify", hash,
password]`` (JSON), and answers each with one JSON line on stdout: the hash,
or whether the password matches.  It ends when stdin closes, so it never
outlives the host, even one that was killed.
"""
import json
import os
import signal
import sys

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


def answer(hasher: PasswordHasher, request: list) -> object:
    if request[0] == "hash":
        return hasher.hash(request[1])
    try:
        return hasher.verify(request[1], request[2])
    except (VerificationError, InvalidHashError):
        return False


def main() -> None:
    # Ctrl-C in the host's terminal reaches the whole process group: the host
    # stops its workers itself by closing their stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    memory_kib, time_cost, lanes = (int(arg) for arg in sys.argv[1:4])
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=lanes)
    out = sys.stdout.buffer
    try:
        for line in sys.stdin.buffer:
            out.write(json.dumps(answer(hasher, json.loads(line))).encode() + b"\n")
            out.flush()
    except BrokenPipeError:
        # The host exited before reading its answer: nobody is left to tell.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    main()
