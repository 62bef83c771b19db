/* store_batch_check.c - the contract of store_begin_with and
 * store_exec_batch (store.h) against a real PostgreSQL:
 *
 *   store_batch_check DATABASE_URL
 *
 * Needs an empty database it may create a table in. Prints one line per
 * check and "ok" at the end; exits 1 at the first check that fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_check.h"

static const store_stmt stmt_one = {"check_one", "SELECT $1::int + 1"};
static const store_stmt stmt_two = {"check_two", "SELECT $1::text || '!'"};
static const store_stmt stmt_insert = {"check_insert", "INSERT INTO batch_probe VALUES ($1::int)"};
static const store_stmt stmt_divide = {"check_divide", "SELECT 1 / $1::int"};
static const store_stmt stmt_count = {"check_count",
                                      "SELECT count(*), coalesce(string_agg(n::text, ',' "
                                      "ORDER BY n), '') FROM batch_probe"};

/* "count|list" of batch_probe, through a fresh acquire. */
static void probe(store_pool *p, char *out, size_t cap)
{
    store_conn *c = NULL;
    PGresult *r = NULL;
    ds_error err;

    ds_error_clear(&err);
    CHECK(store_acquire(p, INT64_MAX, &c, &err) == DS_OK, "acquire for the probe");
    CHECK(store_exec(c, &stmt_count, 0, NULL, &r, &err) == DS_OK, "count batch_probe");
    snprintf(out, cap, "%s|%s", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
    PQclear(r);
    store_release(p, c);
}

int main(int argc, char **argv)
{
    store_conn *c = NULL;
    store_pool *p =
        store_check_open(argc, argv, "CREATE TABLE batch_probe (n int PRIMARY KEY)", &c);
    PGresult *r1 = NULL, *r2 = NULL, *r3 = NULL;
    char got[128];
    ds_error err;

    ds_error_clear(&err);

    /* 1. results come back in order, one per statement */
    {
        const char *a[1] = {"41"}, *b[1] = {"hi"};
        store_batch_item items[2] = {{&stmt_one, 1, a, &r1}, {&stmt_two, 1, b, &r2}};
        CHECK(store_exec_batch(c, items, 2, &err) == DS_OK, "batch of two reads");
        CHECK(strcmp(PQgetvalue(r1, 0, 0), "42") == 0, "first result is the first statement's");
        CHECK(strcmp(PQgetvalue(r2, 0, 0), "hi!") == 0, "second result is the second's");
        CHECK(PQtransactionStatus(store_conn_pg(c)) == PQTRANS_IDLE, "a batch leaves no transaction");
        PQclear(r1);
        PQclear(r2);
        puts("batch: results in order, no transaction left open");
    }

    /* 2. a failure in the middle: its error, no results, nothing of the
     * batch kept (one implicit transaction), the rest never ran, and the
     * connection still works */
    {
        const char *one[1] = {"1"}, *zero[1] = {"0"}, *three[1] = {"3"};
        store_batch_item items[3] = {{&stmt_insert, 1, one, &r1},
                                     {&stmt_divide, 1, zero, &r2},
                                     {&stmt_insert, 1, three, &r3}};
        ds_status st = store_exec_batch(c, items, 3, &err);
        CHECK(st == DS_ERR_INVALID, "division by zero is the batch's error (SQLSTATE 22012)");
        CHECK(strcmp(store_last_sqlstate(c), "22012") == 0, "the failed statement's SQLSTATE");
        CHECK(strstr(err.message, "check_divide") != NULL, "the error names the statement");
        CHECK(r1 == NULL && r2 == NULL && r3 == NULL, "no results after a failure");
        store_release(p, c);
        c = NULL;
        probe(p, got, sizeof(got));
        CHECK(strcmp(got, "0|") == 0, "nothing of a failed batch is kept");
        puts("batch: first error returned, nothing kept, connection reusable");
    }

    /* 3. store_begin_with leaves its transaction open; rollback undoes it,
     * commit keeps it */
    {
        const char *five[1] = {"5"}, *six[1] = {"6"};
        store_batch_item a[1] = {{&stmt_insert, 1, five, &r1}};
        store_batch_item b[1] = {{&stmt_insert, 1, six, NULL}};
        CHECK(store_acquire(p, INT64_MAX, &c, &err) == DS_OK, "acquire");
        CHECK(store_begin_with(c, a, 1, &err) == DS_OK, "begin with an insert");
        CHECK(r1 != NULL && strcmp(PQcmdTuples(r1), "1") == 0, "the insert's result");
        PQclear(r1);
        CHECK(PQtransactionStatus(store_conn_pg(c)) == PQTRANS_INTRANS, "transaction open");
        store_rollback(c);
        CHECK(store_begin_with(c, b, 1, &err) == DS_OK, "begin with another insert");
        CHECK(store_commit(c, &err) == DS_OK, "commit");
        store_release(p, c);
        c = NULL;
        probe(p, got, sizeof(got));
        CHECK(strcmp(got, "1|6") == 0, "rolled back 5, committed 6");
        puts("begin_with: transaction open, rollback and commit act on it");
    }

    /* 4. store_begin_with whose statement fails: the error, and the failed
     * transaction ends with the release */
    {
        const char *six[1] = {"6"}, *seven[1] = {"7"};
        store_batch_item items[2] = {{&stmt_insert, 1, seven, &r1},
                                     {&stmt_insert, 1, six, &r2}};
        CHECK(store_acquire(p, INT64_MAX, &c, &err) == DS_OK, "acquire");
        CHECK(store_begin_with(c, items, 2, &err) == DS_ERR_ALREADY_EXISTS,
              "a duplicate key is the error");
        CHECK(r1 == NULL && r2 == NULL, "no results after a failure");
        CHECK(PQtransactionStatus(store_conn_pg(c)) == PQTRANS_INERROR, "failed transaction");
        CHECK(store_commit(c, &err) != DS_OK, "a failed transaction does not commit");
        store_release(p, c);
        c = NULL;
        probe(p, got, sizeof(got));
        CHECK(strcmp(got, "1|6") == 0, "nothing of the failed transaction kept");
        puts("begin_with: failure reported, transaction rolled back");
    }

    store_pool_free(p);
    puts("ok");
    return 0;
}
