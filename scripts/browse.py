"""Serve the results report on localhost:  python scripts/browse.py [PORT]

The server's root is the repository, not results/: index.html links each run's
archived records inside results/ (runs/<profile>/...), but also the wandb/
folder of the run folder the report was built from, relative to results/ and
so outside it (../runs/paper/r/cnn/seed=0/wandb/ for the runs root runs/paper;
a runs root outside the repository is reachable from a file:// URL only). It
binds 127.0.0.1 only: the run folders are not meant to be shared on the network.
"""

from __future__ import annotations

import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDEX = Path("results") / "index.html"


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and not argv[0].isdigit()):
        print("error: usage: python scripts/browse.py [PORT]", file=sys.stderr)
        return 2
    port = int(argv[0]) if argv else 8000
    if not (ROOT / INDEX).exists():
        print(f"error: {INDEX} does not exist; run `make report` first", file=sys.stderr)
        return 2
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(ROOT))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        print(
            f"error: cannot serve on port {port} ({exc.strerror}); pass another PORT",
            file=sys.stderr,
        )
        return 2
    print(f"serving http://127.0.0.1:{port}/{INDEX.as_posix()}  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
