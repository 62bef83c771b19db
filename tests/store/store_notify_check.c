/* store_notify_check.c - the contract of store_notify and store_commit
 * (store.h) against a real PostgreSQL, heard by a LISTENing connection:
 *
 *   store_notify_check DATABASE_URL
 *
 * Needs an empty database it may create a table in. Prints one line per
 * check and "ok" at the end; exits 1 at the first check that fails. */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_check.h"

#define CHANNEL "notify_probe"

static const store_stmt stmt_insert = {"check_insert", "INSERT INTO notify_probe VALUES ($1::int)"};
static const store_stmt stmt_xact = {"check_xact", "SELECT pg_current_xact_id()::text"};
static const store_stmt stmt_count = {"check_count", "SELECT count(*) FROM notify_probe"};

/* The payloads the listener hears within wait_ms, in arrival order,
 * space-separated ("-" for an empty payload) into out. */
static void hear(PGconn *l, int wait_ms, char *out, size_t cap)
{
    struct timespec t0, t;
    PGnotify *n;

    out[0] = '\0';
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd pfd = {.fd = PQsocket(l), .events = POLLIN};
        long left;

        CHECK(PQconsumeInput(l) == 1, "listener reads");
        while ((n = PQnotifies(l)) != NULL) {
            size_t len = strlen(out);
            CHECK(strcmp(n->relname, CHANNEL) == 0, "only the probe channel is heard");
            snprintf(out + len, cap - len, "%s%s", len ? " " : "", n->extra[0] ? n->extra : "-");
            PQfreemem(n);
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        left = wait_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return;
        poll(&pfd, 1, (int)left);
    }
}

static uint64_t xact_id(store_conn *c)
{
    PGresult *r = NULL;
    ds_error err;
    uint64_t id;

    ds_error_clear(&err);
    CHECK(store_exec(c, &stmt_xact, 0, NULL, &r, &err) == DS_OK, "pg_current_xact_id");
    id = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return id;
}

int main(int argc, char **argv)
{
    store_conn *c = NULL;
    store_pool *p =
        store_check_open(argc, argv, "CREATE TABLE notify_probe (n int PRIMARY KEY)", &c);
    PGconn *l;
    PGresult *r;
    char got[512];
    ds_error err;

    ds_error_clear(&err);
    l = PQconnectdb(argv[1]);
    CHECK(PQstatus(l) == CONNECTION_OK, "listener connects");
    r = PQexec(l, "LISTEN " CHANNEL);
    CHECK(PQresultStatus(r) == PGRES_COMMAND_OK, "LISTEN");
    PQclear(r);

    /* 1. queued in a transaction: nothing heard before the commit, then each
     * distinct pair once, in the order queued */
    {
        const char *one[1] = {"1"};
        CHECK(store_begin(c, &err) == DS_OK, "begin");
        CHECK(store_exec(c, &stmt_insert, 1, one, NULL, &err) == DS_OK, "insert 1");
        CHECK(store_notify(c, CHANNEL, "a", &err) == DS_OK, "queue a");
        CHECK(store_notify(c, CHANNEL, "b", &err) == DS_OK, "queue b");
        CHECK(store_notify(c, CHANNEL, "a", &err) == DS_OK, "queue a again");
        CHECK(store_notify(c, CHANNEL, NULL, &err) == DS_OK, "queue an empty payload");
        hear(l, 200, got, sizeof(got));
        CHECK(strcmp(got, "") == 0, "nothing is heard before the commit");
        CHECK(store_commit(c, &err) == DS_OK, "commit");
        CHECK(PQtransactionStatus(store_conn_pg(c)) == PQTRANS_IDLE, "no transaction left open");
        hear(l, 500, got, sizeof(got));
        printf("heard after the commit: %s\n", got);
        CHECK(strcmp(got, "a b -") == 0, "each distinct one once, in order, after the commit");
    }

    /* 2. the notifications are a transaction of their own after the COMMIT:
     * the writing transaction is W, the notifications take the next id, so
     * the next one this connection gets is at least W + 2 (other sessions of
     * the cluster may take ids in between, never fewer). Sent inside the
     * writing transaction they would take none: W + 1 whenever nobody else
     * took one, which in 20 tries back to back is all but certain. */
    {
        uint64_t min_gap = UINT64_MAX;
        for (int i = 0; i < 20; i++) {
            uint64_t w, next;
            CHECK(store_begin(c, &err) == DS_OK, "begin");
            w = xact_id(c);
            CHECK(store_notify(c, CHANNEL, "c", &err) == DS_OK, "queue c");
            CHECK(store_commit(c, &err) == DS_OK, "commit");
            next = xact_id(c);
            if (next - w < min_gap)
                min_gap = next - w;
        }
        printf("smallest gap between a writing transaction's id and the next: %llu\n",
               (unsigned long long)min_gap);
        CHECK(min_gap >= 2, "the notification committed in a transaction of its own");
        hear(l, 500, got, sizeof(got));
        CHECK(strncmp(got, "c c c", 5) == 0, "c heard after each commit");
    }

    /* 3. rolled back, or ended by the release: nothing heard, and nothing
     * left queued for the connection's next transaction */
    {
        const char *three[1] = {"3"};
        CHECK(store_begin(c, &err) == DS_OK, "begin");
        CHECK(store_notify(c, CHANNEL, "rolled-back", &err) == DS_OK, "queue");
        store_rollback(c);
        CHECK(store_begin(c, &err) == DS_OK, "begin");
        CHECK(store_notify(c, CHANNEL, "released", &err) == DS_OK, "queue");
        store_release(p, c);
        CHECK(store_acquire(p, INT64_MAX, &c, &err) == DS_OK, "acquire again");
        CHECK(store_begin(c, &err) == DS_OK, "begin");
        CHECK(store_exec(c, &stmt_insert, 1, three, NULL, &err) == DS_OK, "insert 3");
        CHECK(store_commit(c, &err) == DS_OK, "commit without notifications");
        hear(l, 300, got, sizeof(got));
        CHECK(strcmp(got, "") == 0, "a rolled-back or released transaction sends nothing");
    }

    /* 4. a failed COMMIT sends nothing: the duplicate key is found at COMMIT
     * (deferred constraint) */
    {
        const char *four[1] = {"4"};
        CHECK(store_exec_sql(c,
                             "CREATE TABLE notify_deferred (n int UNIQUE DEFERRABLE "
                             "INITIALLY DEFERRED)",
                             &err) == DS_OK,
              "create notify_deferred");
        CHECK(store_begin(c, &err) == DS_OK, "begin");
        CHECK(store_exec(c, &stmt_insert, 1, four, NULL, &err) == DS_OK, "insert 4");
        CHECK(store_exec_sql(c, "INSERT INTO notify_deferred VALUES (1), (1)", &err) == DS_OK,
              "a duplicate, checked at commit");
        CHECK(store_notify(c, CHANNEL, "failed", &err) == DS_OK, "queue");
        CHECK(store_commit(c, &err) == DS_ERR_ALREADY_EXISTS, "the COMMIT fails on the duplicate");
        CHECK(PQtransactionStatus(store_conn_pg(c)) == PQTRANS_IDLE, "no transaction left open");
        hear(l, 300, got, sizeof(got));
        CHECK(strcmp(got, "") == 0, "a failed commit sends nothing");
    }

    /* 5. more than STORE_NOTIFY_MAX distinct, and a long payload: all heard
     * once the transaction commits (the extra ones go inside it) */
    {
        char want[512] = "", pay[16], longp[STORE_NOTIFY_PAYLOAD_MAX + 2];
        int n = STORE_NOTIFY_MAX + 3;
        memset(longp, 'x', sizeof(longp) - 1);
        longp[sizeof(longp) - 1] = '\0';
        CHECK(store_begin(c, &err) == DS_OK, "begin");
        for (int i = 0; i < n; i++) {
            snprintf(pay, sizeof(pay), "p%d", i);
            CHECK(store_notify(c, CHANNEL, pay, &err) == DS_OK, "queue p<i>");
        }
        CHECK(store_notify(c, CHANNEL, longp, &err) == DS_OK, "a payload too long to queue");
        CHECK(store_notify(c, "", "x", &err) == DS_ERR_INVALID, "an empty channel is refused");
        hear(l, 200, got, sizeof(got));
        CHECK(strcmp(got, "") == 0, "nothing heard before the commit");
        CHECK(store_commit(c, &err) == DS_OK, "commit");
        hear(l, 500, got, sizeof(got));
        /* the ones sent inside the transaction arrive at its commit, the
         * queued ones right after it */
        for (int i = STORE_NOTIFY_MAX; i < n; i++) {
            snprintf(pay, sizeof(pay), "p%d ", i);
            strcat(want, pay);
        }
        strcat(want, longp);
        for (int i = 0; i < STORE_NOTIFY_MAX; i++) {
            snprintf(pay, sizeof(pay), " p%d", i);
            strcat(want, pay);
        }
        CHECK(strcmp(got, want) == 0, "every notification heard once");
        printf("heard %d notifications of one transaction\n", n + 1);
    }

    /* 6. outside a transaction: sent at once */
    {
        CHECK(store_notify(c, CHANNEL, "now", &err) == DS_OK, "notify outside a transaction");
        hear(l, 500, got, sizeof(got));
        CHECK(strcmp(got, "now") == 0, "heard at once");
        r = NULL;
        CHECK(store_exec(c, &stmt_count, 0, NULL, &r, &err) == DS_OK, "count");
        CHECK(strcmp(PQgetvalue(r, 0, 0), "2") == 0, "rows 1 and 3 committed, 4 not");
        PQclear(r);
    }

    store_release(p, c);
    store_pool_free(p);
    PQfinish(l);
    puts("ok");
    return 0;
}
