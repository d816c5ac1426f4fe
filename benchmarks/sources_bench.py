# ruff: noqa: E501  (the child programs are kept as readable one-liners)
"""Benchmark: Entra ID and Okta exports through the local fakes, against a bare httpx + json loop.

The simulator's IdP with N users (generated, not committed; benchmarks/work/sources/) is served
by the fakes of tests/sources (fake_graph: the simulator's Graph pages, recon/simulate/graph_pages.py,
over TLS with its token endpoint; fake_okta: the Okta API with SSWS) in their own process. In the same run, each in a fresh child process:

- the floor: a bare loop of ``httpx.Client.get`` + ``json.loads`` over the same user pages
  (Graph: ``/users?$select=…&$top=999&$expand=manager`` following ``@odata.nextLink``, after
  one token request; Okta: ``/api/v1/users?limit=200`` then the DEPROVISIONED listing,
  following ``Link: rel="next"``) — no retries, no mapping, nothing written;
- ``recon extract --resources Users`` as a function call (``extract_system``: token, the
  provider client with its retry policy, mapping to SCIM, normalisation, Parquet, manifest;
  Entra also fetches its two delta links first).

Throughput is users / seconds of the timed part; peak RSS is the child's own high-water mark
(VmHWM: ``ru_maxrss`` would carry the parent's over ``exec``); CPU its user+system time. Medians of --runs runs, the two taking turns within each run.

    python benchmarks/sources_bench.py --users 25000,100000 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "sources"))
from _measure import machine, median, versions, write_result  # noqa: E402

WORK = HERE / "work" / "sources"


def prepare(users: int) -> Path:
    """The simulator's IdP with ``users`` users, one cycle."""
    from recon.simulate.run import simulate

    data = WORK / f"data-{users}"
    if not (data / "exports" / "system=idp").is_dir():
        shutil.rmtree(data, ignore_errors=True)
        simulate(data, users=users, cycles=1, seed=7, force=True)
    return data


def serve_main(kind: str, data: Path, tls: Path) -> None:
    """Serve the fake of ``kind`` over the IdP export in ``data`` until stdin closes."""
    from directory import Directory

    from recon.store import Store

    store = Store(data)
    cycle = store.cycles("idp", "full")[-1]
    directory = Directory.from_export(store, "idp", cycle)
    if kind == "entra":
        from fake_graph import serve_graph

        with serve_graph(directory, tls) as graph:
            print(json.dumps({"url": graph.url, "ca": str(graph.ca_bundle)}), flush=True)
            sys.stdin.read()
    else:
        from fake_okta import serve_okta

        with serve_okta(directory) as okta:
            print(json.dumps({"url": okta.url, "ca": None}), flush=True)
            sys.stdin.read()


FLOOR = r"""
import json, resource, sys, time, httpx, ssl
kind, url, ca, select = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[5]
import os
CLIENT_ID, CLIENT_SECRET, TENANT, API_TOKEN = (os.environ[k] for k in ("B_CLIENT_ID", "B_SECRET", "B_TENANT", "B_TOKEN"))
t0 = time.perf_counter(); c0 = time.process_time()
users = 0
if kind == "entra":
    client = httpx.Client(verify=ssl.create_default_context(cafile=ca), timeout=60)
    token = client.post(f"{url}/{TENANT}/oauth2/v2.0/token", data={"grant_type": "client_credentials",
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "scope": f"{url}/.default"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    next_url = f"{url}/v1.0/users"
    params = {"$select": select, "$top": "999", "$expand": "manager($select=id)"}
    while next_url:
        body = json.loads(client.get(next_url, params=params, headers=headers).content)
        users += len(body["value"])
        next_url, params = body.get("@odata.nextLink"), None
else:
    client = httpx.Client(timeout=60)
    headers = {"Authorization": f"SSWS {API_TOKEN}"}
    for params in ({"limit": "200"}, {"limit": "200", "filter": 'status eq "DEPROVISIONED"'}):
        next_url = f"{url}/api/v1/users"
        while next_url:
            response = client.get(next_url, params=params, headers=headers)
            users += len(json.loads(response.content))
            next_url, params = response.links.get("next", {}).get("url"), None
seconds = time.perf_counter() - t0
hwm = int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
print(json.dumps([seconds, hwm, time.process_time() - c0, users]))
"""

RECON = r"""
import json, os, resource, sys, time
from pathlib import Path
from recon.config.toml import parse_config
from recon.extract.crawl import ExtractRequest
from recon.sources.system import extract_system
from recon.store import Store
kind, url, ca, folder = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
sys.path.insert(0, sys.argv[5])
if kind == "entra":
    from fake_graph import APP_ID, CLIENT_ID, CLIENT_SECRET, TENANT
    os.environ["BENCH_SECRET"] = CLIENT_SECRET
    table = {"kind": "entra", "tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret_env": "BENCH_SECRET",
             "graph_url": url, "login_url": url, "ca_bundle": ca}
else:
    from fake_okta import API_TOKEN
    os.environ["BENCH_TOKEN"] = API_TOKEN
    table = {"kind": "okta", "base_url": url, "token_env": "BENCH_TOKEN"}
config = parse_config({"systems": {"bench": table}})
t0 = time.perf_counter(); c0 = time.process_time()
result = extract_system(Store(Path(folder)), config, ExtractRequest(system="bench", cycle="b1", resources=("Users",)))
seconds = time.perf_counter() - t0
assert result.manifest.status == "complete", result.manifest.anomalies
hwm = int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
print(json.dumps([seconds, hwm, time.process_time() - c0, result.manifest.rows["users"]]))
"""


def child(code: str, *args: str) -> tuple[float, float, float, int]:
    from fake_graph import CLIENT_ID, CLIENT_SECRET, TENANT
    from fake_okta import API_TOKEN

    secrets = {"B_CLIENT_ID": CLIENT_ID, "B_SECRET": CLIENT_SECRET, "B_TENANT": TENANT, "B_TOKEN": API_TOKEN}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **secrets},
    )
    seconds, rss_kb, cpu, users = json.loads(done.stdout.strip().splitlines()[-1])
    return float(seconds), float(rss_kb) / 1024, float(cpu), int(users)


def flatness(rss: dict[tuple[str, int], float]) -> list[str]:
    """One line per kind: recon's median peak RSS at the smallest and the largest size."""
    lines = []
    for kind in sorted({k for k, _ in rss}):
        sizes = sorted(n for k, n in rss if k == kind)
        low, high = rss[kind, sizes[0]], rss[kind, sizes[-1]]
        lines.append(
            f"- {kind}: {low:.0f} MB at {sizes[0]:,} users, {high:.0f} MB at {sizes[-1]:,} "
            f"({high - low:+.0f} MB, {high / low - 1:+.1%}) for {sizes[-1] / sizes[0]:.0f} x the users"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", default="25000,100000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kinds", default="okta,entra")
    args = parser.parse_args()
    from recon.sources.mapping import mapping_for

    fakes = str(HERE.parent / "tests" / "sources")
    # the floor asks Graph for the same properties as recon's default mapping: the same pages
    select = ",".join(mapping_for("entra", {}, {}, "bench").user_select())
    rss: dict[tuple[str, int], float] = {}
    rows = []
    loads = []
    for users in (int(n) for n in args.users.split(",")):
        data = prepare(users)
        for kind in args.kinds.split(","):
            tls = Path(tempfile.mkdtemp(prefix="recon-tls-"))
            server = subprocess.Popen(
                [sys.executable, __file__, "serve", "--kind", kind, "--data", str(data), "--tls", str(tls)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert server.stdout is not None and server.stdin is not None
            info = json.loads(server.stdout.readline())
            ca = info["ca"] or ""
            floors, recons = [], []
            try:
                for _ in range(args.runs):
                    floors.append(child(FLOOR, kind, info["url"], ca, fakes, select))
                    folder = tempfile.mkdtemp(prefix="recon-bench-")
                    recons.append(child(RECON, kind, info["url"], ca, folder, fakes))
                    shutil.rmtree(folder, ignore_errors=True)
                    loads.append(os.getloadavg()[0])
            finally:
                server.stdin.close()
                server.wait(timeout=30)
                shutil.rmtree(tls, ignore_errors=True)
            assert {f[3] for f in floors} == {r[3] for r in recons}, (floors, recons)
            pair = [f[0] / r[0] for f, r in zip(floors, recons, strict=True)]  # each run's own ratio
            floor_s = median([f[0] for f in floors])
            recon_s = median([r[0] for r in recons])
            rss[kind, users] = median([r[1] for r in recons])
            rows.append(
                f"| {kind} | {users:,} | {floor_s:.2f} s ({users / floor_s:,.0f}/s) | "
                f"{recon_s:.2f} s ({users / recon_s:,.0f}/s) | {floor_s / recon_s:.2f} x "
                f"({min(pair):.2f}-{max(pair):.2f}) | "
                f"{median([r[2] for r in recons]) / max(median([f[2] for f in floors]), 1e-9):.2f} x | "
                f"{median([f[1] for f in floors]):.0f} MB | {median([r[1] for r in recons]):.0f} MB |"
            )
            print(rows[-1], flush=True)
    text = "\n".join(
        [
            "# Provider sources benchmark (Entra ID / Okta fakes: `recon extract` vs a bare httpx + json loop)",
            "",
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `python benchmarks/sources_bench.py "
            f"--users {args.users} --runs {args.runs}`; medians of {args.runs} interleaved runs; "
            "users only (`--resources Users`). Throughput ratio = floor seconds / recon seconds "
            "(1.00 x = as fast as the bare loop), in brackets the lowest and highest of the runs' own "
            "ratios; CPU ratio = recon CPU / floor CPU.",
            "",
            "| kind | users | floor | recon extract | throughput vs floor | CPU vs floor | floor peak RSS | recon peak RSS |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Machine: {machine()}; 1-minute load average during the runs: "
            f"{min(loads):.1f}-{max(loads):.1f}.",
            f"Versions: {versions('httpx', 'msal', 'pyarrow', 'duckdb', 'orjson')}.",
            "",
            "Both sides read the same pages from the same fake in another process (a stdlib "
            "ThreadingHTTPServer: Graph over TLS, 999 users a page; Okta 200 a page). Memory is flat "
            "when recon's peak RSS barely moves from the smallest to the largest size:",
            "",
            *flatness(rss),
        ]
    )
    print(write_result("sources", text + "\n"))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        parser = argparse.ArgumentParser()
        parser.add_argument("serve")
        parser.add_argument("--kind")
        parser.add_argument("--data", type=Path)
        parser.add_argument("--tls", type=Path)
        ns = parser.parse_args()
        serve_main(ns.kind, ns.data, ns.tls)
    else:
        main()
