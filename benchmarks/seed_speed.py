"""How long `aftersales seed` takes for the default demo (3 stores, 3 000 customers, 24 months).

Usage:  .venv/bin/python benchmarks/seed_speed.py [--runs 3] [--database-url postgres://…/aftersales_bench]
Each run migrates a fresh database (SQLite in a temporary data folder unless --database-url is given),
then times the seed command alone as a separate process. Prints each run and the median.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "aftersales"


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database named in the URL (never the one you work in: pick a new name)."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def run_once(database_url: str | None) -> float:
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "AFTERSALES_DATA_DIR": data}
        if database_url:
            env["DATABASE_URL"] = database_url
            recreate_database(database_url)
        subprocess.run([BIN, "migrate", "-v", "0"], env=env, check=True)
        args = [BIN, "seed", "--no-progress", "--seed", "2026", "--today", "2026-11-23"]
        started = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()
    label = "PostgreSQL" if options.database_url else "SQLite"
    times = []
    for run in range(1, options.runs + 1):
        seconds = run_once(options.database_url)
        times.append(seconds)
        print(f"run {run}: {seconds:.2f} s")
    print(
        f"seed, default demo (3 stores, 3000 customers, 24 months) on {label}: median {statistics.median(times):.2f} s"
    )


if __name__ == "__main__":
    main()
