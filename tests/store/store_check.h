/* store_check.h - what the store's check programs share (test code only).
 *
 * CHECK(cond, what): when cond is false, print what failed and exit 1.
 * store_check_open: the program's one argument (a database URL; usage and
 * exit 2 without it), a pool of one connection to it, that connection
 * acquired into *c, and the program's probe table created with
 * create_sql. Exits 1 on any failure; returns the pool. */
#ifndef STORE_CHECK_H
#define STORE_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ds_status.h"
#include "store.h"

#define CHECK(cond, what)                                                                   \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "FAILED: %s (%s:%d: %s)\n", what, __FILE__, __LINE__, #cond);   \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

static inline store_pool *store_check_open(int argc, char **argv, const char *create_sql,
                                           store_conn **c)
{
    store_config cfg = {.conninfo = argc > 1 ? argv[1] : NULL, .pool_size = 1};
    store_pool *p;
    ds_error err;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DATABASE_URL\n", argv[0]);
        exit(2);
    }
    ds_error_clear(&err);
    p = store_pool_new(&cfg, &err);
    CHECK(p != NULL, "pool");
    CHECK(store_acquire(p, INT64_MAX, c, &err) == DS_OK, "acquire");
    CHECK(store_exec_sql(*c, create_sql, &err) == DS_OK, "create the probe table");
    return p;
}

#endif
