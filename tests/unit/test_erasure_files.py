"""A purge takes a case out of the files under REHAB_HOME that the engine keeps writing: the
log files (rewritten in place while `rehab up` pumps its children's output into them) and the
mail catcher's messages and `received.log`."""

from __future__ import annotations

import asyncio
import os
import threading
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace

from flows.home import erasure
from flows.home.logfiles import drop_lines, pump
from flows.processes.mail_catcher import Catcher
from tests.e2e.harness import wait_for


def test_a_purge_takes_the_cases_lines_out_of_a_log_while_lines_keep_coming(
    tmp_path: Path,
) -> None:
    log = tmp_path / "runner.log"
    read, write = os.pipe()
    pumped = pump(os.fdopen(read, "rb"), log)
    child = os.fdopen(write, "wb", buffering=0)
    for n in range(500):
        child.write(f"clock: could not reconcile plan BC-GONE-8 ({n})\nclock: tick {n}\n".encode())
    wait_for(
        lambda: log.exists() and log.read_bytes().count(b"\n") == 1000,
        timeout=30,
        what="the first lines",
    )

    def more() -> None:  # the case's lines keep coming too: every drop rewrites the file
        for n in range(3000):
            child.write(f"outbox: sent {n}\n".encode())
            if n % 10 == 0:
                child.write(b"runner: flow run 'BC-GONE-8' ended\n")

    writer = threading.Thread(target=more)
    writer.start()
    dropped = 0
    while writer.is_alive():
        dropped += drop_lines(log, ["BC-GONE-8"])
    writer.join()
    child.close()
    pumped.join(timeout=30)
    dropped += drop_lines(log, ["BC-GONE-8"])

    lines = log.read_text().splitlines()
    assert dropped == 800 and not any("BC-GONE-8" in line for line in lines)
    assert [ln for ln in lines if ln.startswith("clock: tick")] == [
        f"clock: tick {n}" for n in range(500)
    ]
    assert sorted(ln for ln in lines if ln.startswith("outbox")) == sorted(
        f"outbox: sent {n}" for n in range(3000)
    ), "no line written during a rewrite is lost"
    assert log.stat().st_mode & 0o777 == 0o600


def caught(catcher: Catcher, subject: str, body: str) -> None:
    message = EmailMessage()
    message["Subject"], message["To"] = subject, "registry@clinic.example"
    message.set_content(body)
    envelope = SimpleNamespace(content=message.as_bytes(), rcpt_tos=["registry@clinic.example"])
    asyncio.run(catcher.handle_DATA(None, None, envelope))


def test_a_purge_removes_the_cases_messages_from_the_mail_catcher(tmp_path: Path) -> None:
    inbox = erasure.mail_files(tmp_path)
    inbox.mkdir()
    catcher = Catcher(inbox)
    caught(catcher, "Referral: BC-GONE-9", "Quokka shelter stay for case BC-GONE-9")
    caught(catcher, "Reminder", "case bc-gone-9: Quokka shelter stay tomorrow")
    caught(catcher, "Referral: BC-KEPT-9", "Wombat clinic visit for case BC-KEPT-9")
    assert len(list(inbox.glob("*.eml"))) == 3

    assert erasure.scrub_mail(tmp_path, ["BC-GONE-9"]) == 2

    [kept] = list(inbox.glob("*.eml"))
    assert b"BC-KEPT-9" in kept.read_bytes()
    received = (inbox / "received.log").read_text()
    assert "BC-GONE-9" not in received and "BC-KEPT-9" in received
    assert len(received.splitlines()) == 1, "the reminder's line, naming only its file, too"


def test_a_code_is_named_in_any_letter_case_but_not_inside_a_longer_code(tmp_path: Path) -> None:
    log = tmp_path / "runner.log"
    log.write_text(
        "flow run 'BC-1' ended\n"
        "artifact plan-bc-1-progress\n"
        "BC-1 · approval waits\n"
        "flow run 'BC-12' ended\n"
        "flow run 'BC-1-2' ended\n"
        "flow run 'XBC-1' ended\n"
    )
    assert drop_lines(log, ["BC-1"]) == 3
    assert log.read_text().splitlines() == [
        "flow run 'BC-12' ended",
        "flow run 'BC-1-2' ended",
        "flow run 'XBC-1' ended",
    ]
