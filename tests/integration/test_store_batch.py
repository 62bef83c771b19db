"""The store's pipelined statements (store_begin_with, store_exec_batch)
against a real PostgreSQL: tests/store/store_batch_check.c checks results
in order, the first error of a failed batch with nothing of it kept, and
the open transaction of store_begin_with."""
import harness


def main():
    harness.run_check_program("store_batch_check", "store_batch")


if __name__ == "__main__":
    main()
