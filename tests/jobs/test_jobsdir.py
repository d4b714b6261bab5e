"""A job's messages, read from its folder and parsed again only when they change."""

from __future__ import annotations

import shutil
from pathlib import Path

from gpserver.jobs.jobsdir import JobsDirectory, Message

SERVICE = "Samples/Diagnostics"
JOB = "j" + "0" * 31 + "1"
INFO = "esriJobMessageTypeInformative"
WARNING = "esriJobMessageTypeWarning"


def test_a_message_added_after_a_read_shows_in_the_next(tmp_path: Path) -> None:
    directory = JobsDirectory(tmp_path / "arcgisjobs")
    directory.add_message(SERVICE, JOB, Message(INFO, "Start Time"))
    assert directory.read_messages(SERVICE, JOB) == [Message(INFO, "Start Time")]

    directory.add_message(SERVICE, JOB, Message(WARNING, "Zürich → 東京"))

    assert directory.read_messages(SERVICE, JOB) == [
        Message(INFO, "Start Time"),
        Message(WARNING, "Zürich → 東京"),
    ]


def test_a_message_a_worker_adds_shows_in_the_servers_next_read(
    tmp_path: Path,
) -> None:
    reader = JobsDirectory(tmp_path / "arcgisjobs")
    writer = JobsDirectory(tmp_path / "arcgisjobs")  # a worker's own
    writer.add_message(SERVICE, JOB, Message(INFO, "one"))
    assert reader.read_messages(SERVICE, JOB) == [Message(INFO, "one")]

    writer.add_message(SERVICE, JOB, Message(INFO, "two"))

    assert reader.read_messages(SERVICE, JOB) == [
        Message(INFO, "one"),
        Message(INFO, "two"),
    ]


def test_a_line_read_half_written_is_read_whole_once_it_is_done(
    tmp_path: Path,
) -> None:
    directory = JobsDirectory(tmp_path / "arcgisjobs")
    directory.add_message(SERVICE, JOB, Message(INFO, "one"))
    path = directory.job_dir(SERVICE, JOB) / "messages.jsonl"
    with open(path, "a", encoding="utf-8") as file:
        file.write('{"type": "esriJobMessageTypeInfor')
    assert directory.read_messages(SERVICE, JOB) == [Message(INFO, "one")]

    with open(path, "a", encoding="utf-8") as file:
        file.write('mative", "description": "two"}\n')

    assert directory.read_messages(SERVICE, JOB) == [
        Message(INFO, "one"),
        Message(INFO, "two"),
    ]


def test_a_removed_folder_reads_as_no_messages(tmp_path: Path) -> None:
    directory = JobsDirectory(tmp_path / "arcgisjobs")
    directory.add_message(SERVICE, JOB, Message(INFO, "one"))
    assert directory.read_messages(SERVICE, JOB) == [Message(INFO, "one")]

    shutil.rmtree(directory.job_dir(SERVICE, JOB))

    assert directory.read_messages(SERVICE, JOB) == []
    assert directory.read_messages(SERVICE, "j" + "0" * 32) == []


def test_changing_the_list_a_read_returned_does_not_change_the_next(
    tmp_path: Path,
) -> None:
    directory = JobsDirectory(tmp_path / "arcgisjobs")
    directory.add_message(SERVICE, JOB, Message(INFO, "one"))

    directory.read_messages(SERVICE, JOB).append(Message(INFO, "not written"))

    assert directory.read_messages(SERVICE, JOB) == [Message(INFO, "one")]
