"""The worker loop shared by the PyTorch sides of the benchmarks (engine_torch.py, squid_torch.py).

The TypeScript harness starts a worker with ``--threads n``, sends one JSON command per line on stdin
and reads one JSON reply per line on stdout, so that it can interleave timing rounds of ONNX Runtime
and PyTorch in one run. ``{"cmd": "quit"}`` ends the loop; any other command goes to the handler of
that name, whose dict is sent back with ``"ok": true``. An unknown command or a handler's exception
becomes ``{"ok": false, "error": ...}``, which makes the harness stop with the message.
"""

import argparse
import json
import resource
import sys
from typing import Callable

import torch


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def start(description: str) -> None:
    """Parse ``--threads`` and give PyTorch that many intra-op threads and one inter-op thread."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)


def serve(handlers: "dict[str, Callable[[dict], dict]]") -> None:
    """Answer commands from stdin until ``quit`` or end of input."""
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        handler = handlers.get(cmd["cmd"])
        try:
            reply = {"ok": True, **handler(cmd)} if handler else {"ok": False, "error": f"unknown command {cmd['cmd']!r}"}
        except Exception as error:  # noqa: BLE001 - reported to the harness, which stops
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
