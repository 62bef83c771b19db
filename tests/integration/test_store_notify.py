"""Notifications after the commit (store_notify, store_commit) against a
real PostgreSQL and a LISTENing connection: tests/store/store_notify_check.c
checks that nothing is heard before the commit and each distinct
notification once after it, that they commit in a transaction of their own,
that a rolled-back, released or failed transaction sends none, that more
than fit the queue all arrive, and that one sent outside a transaction is
heard at once."""
import harness


def main():
    harness.run_check_program("store_notify_check", "store_notify")


if __name__ == "__main__":
    main()
