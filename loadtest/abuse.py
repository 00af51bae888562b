#!/usr/bin/env python3
"""Hostile clients against a running orchestrator, next to a well-behaved signed client.

Attacks (all at once, for --duration seconds):
  slow-reader   sockets that pipeline GETs of a large object through a presigned URL and never read
  anon-pipeline sockets that pipeline anonymous requests and never read
  slow-writer   presigned PUTs declaring a large Content-Length, then trickling one byte a second
  admin-trickle sockets to the admin listener sending a request head one byte a second
  oversized-xml DeleteObjects with a ~2 MiB deeply nested body, in a loop

The signed client does small PUT+GET pairs in a loop and measures each; `/health` is probed on the
admin listener as a liveness probe would. The script prints, for the same client, the figures
with no attack and under attack (p50, p99, max, errors), and the /health figures.

Usage: python3 loadtest/abuse.py --endpoint http://127.0.0.1:9000 --admin http://127.0.0.1:9001 \\
          --access-key AK --secret-key SK --bucket myapp [--duration 20] \\
          [--attacker-access-key AK2 --attacker-secret-key SK2 --attacker-bucket other]
The attacks use the attacker's credential (default: the client's own), as another tenant would.
(`bash loadtest/abuse.sh` starts its own instance on a local-disk backend and runs this.)
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

import boto3
from botocore.config import Config

#: Size of the object the slow readers GET: larger than the socket buffers, so a response stalls.
BIG_OBJECT_BYTES = 8 * 1024 * 1024
#: Body of each signed-client PUT.
SMALL_OBJECT_BYTES = 4096
#: What each hostile group opens (kept modest: the point is many held slots, not a flood).
SLOW_READERS = 16
ANON_PIPELINERS = 16
SLOW_WRITERS = 16
ADMIN_TRICKLERS = 96
XML_SENDERS = 2
#: Pipelined requests each slow reader sends before it stops.
PIPELINE_DEPTH = 64
#: Longest a single signed-client call may take before it counts as an error.
CLIENT_TIMEOUT_S = 10.0


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def p99(self) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(len(lat) * 0.99))]

    def row(self, name: str) -> str:
        if not self.latencies:
            return f"{name:<28} {'-':>8} {'-':>8} {'-':>8} {0:>7} {self.errors:>7}"
        lat = sorted(self.latencies)
        return (
            f"{name:<28} {statistics.median(lat) * 1e3:>8.1f} {self.p99() * 1e3:>8.1f} {lat[-1] * 1e3:>8.1f}"
            f" {len(lat):>7} {self.errors:>7}"
        )


def s3(args):
    cfg = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=CLIENT_TIMEOUT_S,
        read_timeout=CLIENT_TIMEOUT_S,
    )
    return boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        aws_access_key_id=args.access_key,
        aws_secret_access_key=args.secret_key,
        region_name=args.region,
        config=cfg,
    )


def signed_client(args, stop: threading.Event, out: Figures) -> None:
    c = s3(args)
    body = os.urandom(SMALL_OBJECT_BYTES)
    i = 0
    while not stop.is_set():
        key = f"abuse/client/{i % 64}"
        i += 1
        t0 = time.monotonic()
        try:
            c.put_object(Bucket=args.bucket, Key=key, Body=body)
            got = c.get_object(Bucket=args.bucket, Key=key)["Body"].read()
            if got != body:
                raise RuntimeError("content differs")
            out.latencies.append(time.monotonic() - t0)
        except Exception:  # noqa: BLE001 - every failure counts, whatever its kind
            out.errors += 1
            time.sleep(0.05)


def health_probe(args, stop: threading.Event, out: Figures) -> None:
    u = urllib.parse.urlsplit(args.admin)
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status != 200:
                raise RuntimeError("not 200")
            conn.close()
            out.latencies.append(time.monotonic() - t0)
        except Exception:  # noqa: BLE001
            out.errors += 1
        stop.wait(0.2)


def _connect(url: str) -> tuple[socket.socket, str]:
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port), timeout=5)
    return s, f"{u.hostname}:{u.port}"


def _target(presigned: str) -> str:
    u = urllib.parse.urlsplit(presigned)
    return u.path + ("?" + u.query if u.query else "")


def slow_reader(args, stop: threading.Event, url: str, held: list) -> None:
    while not stop.is_set():
        s = None
        try:
            s, host = _connect(args.endpoint)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            req = f"GET {_target(url)} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            s.sendall(req * PIPELINE_DEPTH)
            held.append(s)
        except OSError:
            pass
        # Hold it; the server should cut it after its write-stall timeout, then we come back.
        _wait_closed(s, stop)


def anon_pipeliner(args, stop: threading.Event, held: list) -> None:
    while not stop.is_set():
        s = None
        try:
            s, host = _connect(args.endpoint)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(f"GET /{args.attacker.bucket}/nothing HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() * PIPELINE_DEPTH)
            held.append(s)
        except OSError:
            pass
        _wait_closed(s, stop)


def slow_writer(args, stop: threading.Event, url: str, held: list) -> None:
    while not stop.is_set():
        s = None
        try:
            s, host = _connect(args.endpoint)
            head = (
                f"PUT {_target(url)} HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Length: {1 << 30}\r\n\r\n"
            ).encode()
            s.sendall(head)
            held.append(s)
            while not stop.is_set():
                s.sendall(b"x")
                if stop.wait(1.0):
                    break
        except OSError:
            pass
        # Cut off (as it should be): come back shortly, like a persistent attacker.
        stop.wait(0.2)


def admin_trickler(args, stop: threading.Event, held: list) -> None:
    head = b"GET /admin/status HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 4000 + b"\r\n\r\n"
    while not stop.is_set():
        s = None
        try:
            s, _ = _connect(args.admin)
            held.append(s)
            for b in head:
                s.sendall(bytes([b]))
                if stop.wait(1.0):
                    break
        except OSError:
            pass
        # Cut off (as it should be): come back shortly, like a persistent attacker.
        stop.wait(0.2)


def oversized_xml(args, stop: threading.Event, url: str, out: Figures) -> None:
    body = b"<Delete>" * (2 * 1024 * 1024 // 8 - 8)
    while not stop.is_set():
        try:
            s, host = _connect(args.endpoint)
            s.sendall(
                f"POST {_target(url)} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            s.settimeout(5)
            answer = s.recv(4096)
            out.latencies.append(0.0 if answer else 1.0)
            s.close()
        except OSError:
            out.errors += 1


def _wait_closed(s, stop: threading.Event) -> None:
    """Waits until the server closes `s` (or the run ends), without reading what it sends."""
    if s is None:
        stop.wait(0.5)
        return
    while not stop.is_set():
        try:
            s.settimeout(0.5)
            # A zero-length peek tells apart "closed" from "still open with unread data".
            data = s.recv(1, socket.MSG_PEEK)
            if not data:
                break
            stop.wait(0.5)
        except socket.timeout:
            continue
        except OSError:
            break
    try:
        s.close()
    except OSError:
        pass


def presigned_delete_objects(args) -> str:
    """A presigned `POST /bucket?delete` (boto3 will not presign an operation with a body)."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="POST", url=f"{args.endpoint}/{args.bucket}?delete=")
    S3SigV4QueryAuth(Credentials(args.access_key, args.secret_key), "s3", args.region, expires=3600).add_auth(req)
    return req.url


def run_client(args, seconds: float, attack: bool) -> tuple[Figures, Figures, Figures]:
    stop = threading.Event()
    client, health, xml = Figures(), Figures(), Figures()
    threads = [
        threading.Thread(target=signed_client, args=(args, stop, client)),
        threading.Thread(target=health_probe, args=(args, stop, health)),
    ]
    held: list = []
    if attack:
        # The attacks use the attacking tenant's presigned URLs: one credential, many sockets.
        c, bucket = s3(args.attacker), args.attacker.bucket
        big = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "abuse/big"}, ExpiresIn=3600)
        put = c.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "abuse/slow"}, ExpiresIn=3600)
        delete = presigned_delete_objects(args.attacker)
        threads += [threading.Thread(target=slow_reader, args=(args, stop, big, held)) for _ in range(SLOW_READERS)]
        threads += [threading.Thread(target=anon_pipeliner, args=(args, stop, held)) for _ in range(ANON_PIPELINERS)]
        threads += [threading.Thread(target=slow_writer, args=(args, stop, put, held)) for _ in range(SLOW_WRITERS)]
        threads += [threading.Thread(target=admin_trickler, args=(args, stop, held)) for _ in range(ADMIN_TRICKLERS)]
        threads += [threading.Thread(target=oversized_xml, args=(args, stop, delete, xml)) for _ in range(XML_SENDERS)]
    for t in threads:
        t.daemon = True
        t.start()
    time.sleep(seconds)
    stop.set()
    for s in held:
        try:
            s.close()
        except OSError:
            pass
    for t in threads:
        t.join(timeout=CLIENT_TIMEOUT_S + 2)
    return client, health, xml


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--admin", required=True)
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--bucket", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--attacker-access-key", help="the attacking tenant's key (default: --access-key)")
    p.add_argument("--attacker-secret-key")
    p.add_argument("--attacker-bucket", help="the attacking tenant's bucket (default: --bucket)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    args = p.parse_args()
    args.attacker = argparse.Namespace(**vars(args))
    args.attacker.access_key = args.attacker_access_key or args.access_key
    args.attacker.secret_key = args.attacker_secret_key or args.secret_key
    args.attacker.bucket = args.attacker_bucket or args.bucket

    s3(args.attacker).put_object(Bucket=args.attacker.bucket, Key="abuse/big", Body=os.urandom(BIG_OBJECT_BYTES))
    print(f"phase 1: signed client alone for {args.duration:.0f} s", file=sys.stderr)
    base, base_health, _ = run_client(args, args.duration, attack=False)
    print(f"phase 2: the same client under attack for {args.duration:.0f} s", file=sys.stderr)
    hit, hit_health, xml = run_client(args, args.duration, attack=True)

    print()
    print(f"{'':<28} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'ok':>7} {'errors':>7}")
    print(base.row("client, no attack"))
    print(hit.row("client, under attack"))
    print(base_health.row("/health, no attack"))
    print(hit_health.row("/health, under attack"))
    print(f"oversized-xml requests answered: {len(xml.latencies)}, connection errors: {xml.errors}")
    if hit.latencies and base.latencies:
        ratio = hit.p99() / max(base.p99(), 1e-6)
        print(f"client p99 under attack / no attack: {ratio:.2f}x")
    return 0 if hit.latencies and hit.errors == 0 and hit_health.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
