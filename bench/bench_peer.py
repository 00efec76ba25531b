"""d365sync against its peer on the same contacts: vdirsyncer syncing a folder of vCards into Radicale.

    python -m bench.bench_peer                       # 1,000 and 2,000 contacts, three repetitions, interleaved
    python -m bench.bench_peer --n 500 --repeat 1    # a quick check
    python -m bench.bench_peer --peer-python /opt/peer/bin/python --write

The peer (issue 15, "How we will know"): vdirsyncer, the best-known open-source contact sync, from a filesystem
storage of N vCards into a CardDAV address book of Radicale (one PUT per contact). d365sync: the engine's initial
sync of N contacts from the Dataverse stand-in into the EWS stand-in (``bench.bench_engine.run``, contacts only),
``d365sync sync --once`` in a process of its own. For each side and size: the client's CPU time per contact
(interpreter start included), the wall time of the sync, the requests the servers answered and the client's
peak RSS (``VmHWM`` of its own process), then the ratios d365sync / vdirsyncer, and with two sizes or more the
CPU per extra contact (a line through the medians). Runs alternate between the two (d365sync, peer, d365sync,
…) so a change in the machine's load hits both.

Installs nothing: vdirsyncer and Radicale are the ``bench`` extra (``pip install 'd365sync[bench]'``), found in
``--peer-python`` (default: this interpreter); the script says so and exits 2 when they are missing.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from bench.common import PERFORMANCE_MD, machine_description, markdown_table, today, update_section

#: runs vdirsyncer in the peer's interpreter and writes its own peak RSS and CPU time (as bench/engine_child.py)
PEER_CHILD = """
import atexit, json, resource, sys
out = sys.argv[1]
def report():
    peak = 0.0
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"peak_mib": peak, "cpu_seconds": usage.ru_utime + usage.ru_stime}, handle)
atexit.register(report)
sys.argv = ["vdirsyncer", *sys.argv[2:]]
from vdirsyncer.cli import app
app()
"""

MKCOL = (
    '<?xml version="1.0" encoding="utf-8"?><mkcol xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">'
    "<set><prop><resourcetype><collection/><CR:addressbook/></resourcetype></prop></set></mkcol>"
)


def peer_available(python: str) -> bool:
    probe = subprocess.run(
        [python, "-c", "import vdirsyncer, radicale"], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0


def vcard(n: int) -> str:
    """The contact ``n`` as bench_engine seeds it in Dynamics 365 (name, job title)."""
    return (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"UID:bench-{n:06d}\r\nFN:Bench Contact {n:06d}\r\nN:Contact {n:06d};Bench;;;\r\nTITLE:Tester\r\n"
        "END:VCARD\r\n"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"Radicale exited with {proc.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise SystemExit("Radicale did not start")


def run_peer(n: int, python: str) -> dict[str, Any]:
    """vdirsyncer: N vCards from a folder into a new Radicale address book; its figures."""
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as folder:
        root = Path(folder)
        local = root / "local"
        local.mkdir()
        for i in range(n):
            (local / f"bench-{i:06d}.vcf").write_text(vcard(i), encoding="utf-8", newline="")
        port = _free_port()
        log_path = root / "radicale.log"
        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                [
                    python, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}", "--auth-type", "none",
                    "--storage-filesystem-folder", str(root / "collections"), "--logging-level", "info",
                ],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(base + "/", server)
            made = requests.request(
                "MKCOL", base + "/bench/contacts/", data=MKCOL, auth=("bench", "x"), timeout=30
            )
            if made.status_code not in (200, 201):
                raise SystemExit(f"Radicale refused the address book: {made.status_code} {made.text[:200]}")
            config = root / "config"
            config.write_text(
                "[general]\n"
                f'status_path = "{root / "status"}/"\n\n'
                '[pair contacts]\na = "local"\nb = "remote"\ncollections = null\n\n'
                f'[storage local]\ntype = "filesystem"\npath = "{local}/"\nfileext = ".vcf"\n\n'
                f'[storage remote]\ntype = "carddav"\nurl = "{base}/bench/contacts/"\n'
                'username = "bench"\npassword = "x"\n',
                encoding="utf-8",
            )
            discover = subprocess.run(  # vdirsyncer's set-up step (not measured)
                [python, "-c", PEER_CHILD, str(root / "discover.json"), "-c", str(config), "discover"],
                capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            if discover.returncode != 0:
                raise SystemExit(
                    f"vdirsyncer discover exited with {discover.returncode}:\n{discover.stderr[-3000:]}"
                )
            before = log_path.read_bytes().count(b" request for ")
            figures_file = root / "figures.json"
            started = time.perf_counter()
            proc = subprocess.run(
                [python, "-c", PEER_CHILD, str(figures_file), "-c", str(config), "sync"],
                capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            if proc.returncode != 0 or not figures_file.exists():
                raise SystemExit(f"vdirsyncer sync exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
            figures = json.loads(figures_file.read_text(encoding="utf-8"))
            book = root / "collections" / "collection-root" / "bench" / "contacts"
            stored = len(list(book.glob("*.vcf")))  # (Radicale's caches hold copies in hidden folders)
            if stored != n:
                raise SystemExit(f"vdirsyncer stored {stored} of {n} contacts in Radicale")
            time.sleep(0.2)  # the last log line
            requests_made = log_path.read_bytes().count(b" request for ") - before
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {
        "seconds": seconds,
        "cpu_seconds": figures["cpu_seconds"],
        "maxrss_mib": figures["peak_mib"],
        "requests": requests_made,
    }


def run_d365sync(n: int) -> dict[str, Any]:
    """d365sync: the initial sync of N contacts (Dataverse stand-in -> EWS stand-in); its figures."""
    from bench import bench_engine

    first = bench_engine.run(n, 0, 0, 0)["initial"]
    if first["created_in_mailbox"] != n:
        raise SystemExit(f"d365sync created {first['created_in_mailbox']} of {n} contacts in the mailbox")
    return {
        "seconds": first["seconds"],
        "cpu_seconds": first["cpu_seconds"],
        "maxrss_mib": first["maxrss_mib"],
        "requests": first["crm_requests"] + first["ews_requests"] + first["authority_requests"],
    }


def run(sizes: Sequence[int], repeat: int, python: str) -> dict[str, Any]:
    """Every size, ``repeat`` times each side, interleaved; the median of each figure."""
    raw: dict[str, dict[int, list[dict[str, Any]]]] = {"d365sync": {}, "vdirsyncer": {}}
    for n in sizes:
        for _ in range(repeat):
            raw["d365sync"].setdefault(n, []).append(run_d365sync(n))
            raw["vdirsyncer"].setdefault(n, []).append(run_peer(n, python))
    medians = {
        side: {
            n: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            for n, runs in by_size.items()
        }
        for side, by_size in raw.items()
    }
    return {
        "sizes": list(sizes),
        "repeat": repeat,
        "medians": medians,
        "loadavg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def slope(points: dict[int, dict[str, float]], key: str = "cpu_seconds") -> float | None:
    """Least-squares slope of ``key`` over the sizes (seconds per extra contact); None with one size."""
    xs = sorted(points)
    if len(xs) < 2:
        return None
    ys = [points[x][key] for x in xs]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "–"


def render(r: dict[str, Any]) -> str:
    ours, peer = r["medians"]["d365sync"], r["medians"]["vdirsyncer"]
    rows = []
    for n in r["sizes"]:
        a, b = ours[n], peer[n]
        for side, f in (("d365sync", a), ("vdirsyncer", b)):
            rows.append(
                [
                    f"{n:,}",
                    side,
                    f"{1000 * f['cpu_seconds'] / n:.2f}",
                    f"{f['seconds']:.1f}",
                    f"{f['requests']:.0f}",
                    f"{f['maxrss_mib']:.0f}",
                ]
            )
        rows.append(
            [
                f"{n:,}",
                "**ratio** d365sync / vdirsyncer",
                _ratio(a["cpu_seconds"], b["cpu_seconds"]),
                _ratio(a["seconds"], b["seconds"]),
                _ratio(a["requests"], b["requests"]),
                _ratio(a["maxrss_mib"], b["maxrss_mib"]),
            ]
        )
    table = markdown_table(
        ["contacts", "client", "CPU ms per contact", "wall s", "requests", "peak RSS MiB"], rows
    )
    fits = []
    for side, points in (("d365sync", ours), ("vdirsyncer", peer)):
        per = slope(points)
        if per is not None:
            fits.append(f"{side} {1000 * per:.2f} ms")
    load = r.get("loadavg")
    sizes = ",".join(str(n) for n in r["sizes"])
    return (
        "## Peer\n\n"
        f"Measured {today()} on {machine_description()}"
        + (
            f", load average {load:.1f} at the end (the machine was shared: wall times are inflated)"
            if load
            else ""
        )
        + f", with `python -m bench.bench_peer --n {sizes} --repeat {r['repeat']}`: medians of {r['repeat']} "
        "interleaved runs per side. d365sync: the initial sync of N contacts from the Dataverse stand-in into "
        "the EWS stand-in (`d365sync sync --once` in its own process; requests: Dataverse + EWS + authority). "
        "vdirsyncer: `vdirsyncer sync` of N vCards from a folder into a new Radicale address book (requests: "
        "those Radicale logged). CPU and peak RSS are the client process's own, interpreter start included; "
        "the servers are not in them.\n\n"
        f"{table}\n\n"
        + (f"CPU per extra contact (a line through the sizes): {'; '.join(fits)}.\n" if fits else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--n", default="1000,2000", help="contact counts, comma-separated (default 1000,2000)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per side and size (default 3)")
    parser.add_argument(
        "--peer-python", default=sys.executable, help="the interpreter with vdirsyncer, radicale"
    )
    parser.add_argument("--write", action="store_true", help="update the Peer section of docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    try:
        sizes = [int(n) for n in args.n.split(",")]
    except ValueError:
        parser.error(f"--n takes whole numbers separated by commas, not {args.n!r}")
    if any(n < 1 for n in sizes) or args.repeat < 1:
        parser.error("--n and --repeat must be 1 or more")
    if not peer_available(args.peer_python):
        print(
            f"vdirsyncer and radicale are not installed for {args.peer_python}: pip install 'd365sync[bench]' "
            "(or give --peer-python)",
            file=sys.stderr,
        )
        return 2
    result = run(sizes, args.repeat, args.peer_python)
    text = render(result)
    print(text)
    if args.write:
        update_section(PERFORMANCE_MD, "Peer", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
