"""Many sign-ins at once must not multiply argon2's 64 MiB per hash."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Sixteen verifications released together in one process; the child prints how
# much its peak resident memory grew (KiB) while they ran.
SIGN_INS = textwrap.dedent(
    """
    import resource, threading
    from gpserver.security.passwords import hash_password, verify_password

    stored = hash_password("a-password-1")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = threading.Barrier(16)
    answers = []

    def sign_in():
        start.wait()
        answers.append(verify_password(stored, "a-password-1"))

    threads = [threading.Thread(target=sign_in) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(answers.count(True), after - before)
    """
)


def test_sixteen_sign_ins_at_once_stay_within_two_hashes_of_memory() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SIGN_INS], capture_output=True, text=True, check=True
    )
    verified, grown_kib = (int(word) for word in done.stdout.split())

    assert verified == 16
    # One hash's memory is already counted in "before" (the stored hash was made
    # first); two at once add at most one more 64 MiB block. Sixteen unbounded
    # would add about 15 x 64 MiB.
    assert grown_kib < 96 * 1024
