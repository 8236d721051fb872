"""Run every benchmark, or those named: `python -m bench ingest presence --quick`."""
from __future__ import annotations

import argparse
import importlib
import platform
import time

BENCHES = ["ingest", "devices", "faces", "presence", "footage", "sampling"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(BENCHES)})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    print(f"# punchaudit benchmarks, {time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}")
    for name in args.names or BENCHES:
        print(f"\n## {name}")
        importlib.import_module(f"bench.{name}").main(quick=args.quick)


if __name__ == "__main__":
    main()
