"""Job ids: the shape ArcGIS Server gives them, unguessable, never repeated."""

from __future__ import annotations

import os

from gpserver.jobs.model import is_job_id, new_job_id


def test_ids_have_the_arcgis_shape_and_do_not_repeat() -> None:
    ids = [new_job_id() for _ in range(5000)]

    assert all(is_job_id(job_id) for job_id in ids)
    assert len(set(ids)) == 5000


def test_a_forked_child_does_not_reuse_the_parents_random_bytes() -> None:
    new_job_id()  # the parent now holds random bytes for the next ids
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        os.write(write, new_job_id().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)

    parent_id = new_job_id()
    assert is_job_id(child_id)
    assert child_id != parent_id


def test_is_job_id_refuses_near_misses() -> None:
    good = "j" + "0123456789abcdef" * 2
    assert is_job_id(good)
    for bad in (
        good[:-1],
        good + "0",
        "J" + good[1:],
        good[:-1] + "G",
        good[:-1] + "\n",
        "",
    ):
        assert not is_job_id(bad), bad
