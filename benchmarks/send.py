"""Benchmark of `pressekit send`: 10,000 recipients against a local aiosmtpd, messages per second.

    python benchmarks/send.py [--count 10000] [--rate 0] [--limited-count 40 --limited-rate 1200]

The SMTP server runs in its own process (so that it does not share the GIL with the sender) and
only counts what it receives. The sender is the real `send_release`: it builds and header-checks
every message (mail.build_message), commits each ledger state change (WAL, synchronous=FULL) and
speaks SMTP over one reused connection. A second, short run with a rate limit shows the limiter
keeping its pace; with the default `[send] rate = 60`, 10,000 editors take 10,000 / 60 min = 2 h 47 min.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from sitekit import CONFIG, SIMPLE, write_site  # noqa: E402

from pressekit.send import Composer  # noqa: E402
from pressekit.ledger import read_ledger  # noqa: E402
from pressekit.recipients import Recipient  # noqa: E402
from pressekit.send import SendOptions, find_release, send_release  # noqa: E402

RID = "2025-03-04-radweg"
NOW = datetime.fromisoformat("2025-04-01T10:00:00+02:00")


class CountingHandler:
    def __init__(self, counter: multiprocessing.sharedctypes.Synchronized) -> None:  # type: ignore[name-defined]
        self.counter = counter

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 OK"


def serve(port: int, counter: object, ready: multiprocessing.synchronize.Event,  # type: ignore[name-defined]
          stop: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    from aiosmtpd.controller import Controller

    controller = Controller(CountingHandler(counter), hostname="127.0.0.1", port=port)  # type: ignore[arg-type]
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def make_site(root: Path, port: int, count: int) -> Path:
    config = CONFIG + f'''
[send]
rate = 0
unsubscribe_mailto = "mailto:presse@beispielheim.example?subject=Abmelden"
unsubscribe_url = "https://presse.beispielheim.example/abmelden"

[smtp]
host = "127.0.0.1"
port = {port}
'''
    write_site(root, {RID: SIMPLE}, config)
    rows = "".join(f"redaktion{i:05d}@zeitung{i % 97}.example,Redaktion Nummer {i} – Lokales,\n" for i in range(count))
    (root / "editors.csv").write_text("email,name,tags\n" + rows, encoding="utf-8")
    return root


def run(root: Path, rate: float, resend: bool = False) -> tuple[int, float]:
    start = time.perf_counter()
    report = send_release(root, RID, root / "editors.csv", "editors.csv", NOW, SendOptions(rate=rate, resend=resend),
                          environ={"PRESSEKIT_UNSUBSCRIBE_SECRET": "bench"})
    return report.sent, time.perf_counter() - start


def build_only(root: Path, count: int) -> float:
    """Seconds a message takes to build and header-check, without SMTP and ledger."""
    from pressekit.config_file import load_config

    config, _ = load_config(root)
    assert config is not None
    composer = Composer(config, find_release(config, RID), b"bench")
    people = [Recipient(f"r{i}@example.org", f"Redaktion {i} – Lokales") for i in range(count)]
    start = time.perf_counter()
    for person in people:
        composer.message(person, composer.message_id(person, 1))
    return (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--limited-count", type=int, default=40)
    parser.add_argument("--limited-rate", type=float, default=1200.0, help="messages a minute for the limited run")
    args = parser.parse_args()

    from smtp_server import free_port

    port = free_port()
    counter = multiprocessing.Value("i", 0)
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, counter, ready, stop), daemon=True)
    server.start()
    ready.wait(10)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = make_site(Path(tmp) / "site", port, args.count)
            per_message = build_only(root, 300)
            sent, seconds = run(root, rate=0)
            print(f"unlimited: {sent} messages in {seconds:.1f} s = {sent / seconds:.0f} messages/s "
                  f"(server received {counter.value})")
            print(f"  of which building + header check: {per_message * 1000:.1f} ms a message "
                  f"({per_message * sent / seconds * 100:.0f} % of the time)")
            ledger = read_ledger(root)
            assert ledger is not None
            print(f"  ledger: {dict(ledger.counts(RID))}")
            ledger.close()

            small = make_site(Path(tmp) / "small", port, args.limited_count)
            sent, seconds = run(small, rate=args.limited_rate)
            print(f"rate {args.limited_rate:g}/min: {sent} messages in {seconds:.1f} s = "
                  f"{sent / seconds * 60:.0f} a minute (the limit spaces messages {60 / args.limited_rate:.3f} s apart)")
            print(f"default rate 60/min: {args.count} recipients take {args.count / 60 / 60:.1f} h")
    finally:
        stop.set()
        server.join(10)


if __name__ == "__main__":
    main()
