/* wf_events.c - the event hub: LISTEN connection, hub thread, fan-out. */
#include "wf_events.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ds_log.h"

enum {
    PAGE_ROWS = 200,         /* events per read */
    PAGES_PER_ROUND = 5,     /* reads per group per round, then others' turn */
    RETRY_MIN_MS = 10,       /* re-read delay when events wait for the horizon */
    STALL_RETRY_MS = 50,     /* re-offer delay when a sink was full */
    BACKOFF_MIN_MS = 100,    /* reconnect delay, doubling ... */
    BACKOFF_MAX_MS = 5000,   /* ... up to this */
    ACQUIRE_MS = 1000,
    ARENA_CAP = 8 << 20
};

#define LISTEN_SQL "LISTEN " STORE_EVENTS_CHANNEL

typedef struct sub {
    wf_events_filter f;
    const wf_events_sink *sink;
    void *arg;
    store_events_pos pos; /* hub thread only */
    bool due;             /* under mu: read it next round */
    bool gone;            /* under mu: drop it next round */
    bool stalled;         /* hub thread: sink full during this round */
    struct sub *next;     /* under mu */
} sub;

struct wf_events {
    store_pool *pool;
    pthread_mutex_t mu;
    sub *subs;     /* under mu */
    int n_subs;    /* under mu */
    bool running;  /* under mu: subscribe allowed */
    bool stopping; /* under mu: the thread should exit */
    bool started;  /* controlling thread */
    int wake[2];   /* pipe: subscribe / unsubscribe / stop wake the thread */
    pthread_t thread;
    /* hub thread only */
    store_conn *conn;
    int64_t next_connect_ms;
    int64_t backoff_ms;
    int64_t next_poll_ms;
    int64_t retry_at_ms; /* INT64_MAX = none */
    int64_t retry_delay_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(wf_events *h)
{
    char c = 1;
    ssize_t n = write(h->wake[1], &c, 1); /* full pipe: a wake-up is pending anyway */

    (void)n;
}

static void drain_wake(wf_events *h)
{
    char buf[64];

    while (read(h->wake[0], buf, sizeof(buf)) > 0)
        ;
}

/* --- cursors ------------------------------------------------------------- */

char *wf_events_cursor(ds_arena *a, store_events_pos pos)
{
    char plain[64], enc[96];
    int n = snprintf(plain, sizeof(plain), "1.%" PRIu64 ".%" PRId64, pos.txid, pos.event_id);
    int len;

    if (n < 0 || (size_t)n >= sizeof(plain))
        return NULL;
    len = EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)plain, n);
    while (len > 0 && enc[len - 1] == '=')
        len--;
    enc[len] = '\0';
    for (int i = 0; i < len; i++)
        enc[i] = enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : enc[i];
    return ds_arena_strdup(a, enc);
}

/* base64url (no padding) of cursor into out (NUL-terminated); false if bad. */
static bool cursor_decode(const char *cursor, char *out, size_t cap)
{
    char tmp[WF_EVENTS_CURSOR_MAX + 4];
    size_t n = strlen(cursor);
    int len;

    if (n == 0 || n > WF_EVENTS_CURSOR_MAX || n % 4 == 1 || (n / 4 + 1) * 3 + 1 > cap)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = cursor[i];
        if (c == '+' || c == '/' || c == '=')
            return false;
        tmp[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (n % 4 != 0)
        tmp[n++] = '=';
    tmp[n] = '\0';
    len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)tmp, (int)n);
    if (len < 0)
        return false;
    for (size_t i = n; i > 0 && tmp[i - 1] == '='; i--)
        len--;
    out[len] = '\0';
    return strlen(out) == (size_t)len;
}

bool wf_events_cursor_parse(const char *cursor, store_events_pos *pos)
{
    char plain[WF_EVENTS_CURSOR_MAX];
    char txid[21], eid[20];
    int used = 0;
    unsigned long long t;
    long long e;

    if (cursor == NULL || !cursor_decode(cursor, plain, sizeof(plain)))
        return false;
    if (sscanf(plain, "1.%20[0-9].%19[0-9]%n", txid, eid, &used) != 2 || plain[used] != '\0')
        return false;
    errno = 0;
    t = strtoull(txid, NULL, 10);
    e = strtoll(eid, NULL, 10);
    if (errno != 0 || t == 0 || e <= 0)
        return false;
    pos->txid = (uint64_t)t;
    pos->event_id = (int64_t)e;
    return true;
}

/* --- subscribers ------------------------------------------------------- */

static int shop_subs_locked(wf_events *h, const char *shop_id)
{
    int n = 0;

    for (sub *s = h->subs; s != NULL; s = s->next)
        n += !s->gone && strcmp(s->f.shop_id, shop_id) == 0;
    return n;
}

ds_status wf_events_subscribe(wf_events *h, const wf_events_filter *f, store_events_pos from,
                              const wf_events_sink *sink, void *arg, ds_error *err)
{
    sub *s = calloc(1, sizeof(*s));
    ds_status st = DS_OK;

    if (s == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory opening an event stream");
    s->f = *f;
    s->sink = sink;
    s->arg = arg;
    s->pos = from;
    s->due = true;
    pthread_mutex_lock(&h->mu);
    if (!h->running)
        st = ds_error_set(err, DS_ERR_UNAVAILABLE, "server is shutting down");
    else if (h->n_subs >= WF_EVENTS_MAX_SUBS ||
             shop_subs_locked(h, f->shop_id) >= WF_EVENTS_MAX_SHOP_SUBS)
        st = ds_error_set(err, DS_ERR_RESOURCE_EXHAUSTED,
                          "too many open event streams; close some and retry");
    if (st == DS_OK) {
        s->next = h->subs;
        h->subs = s;
        h->n_subs++;
    }
    pthread_mutex_unlock(&h->mu);
    if (st != DS_OK)
        free(s);
    else
        wake(h);
    return st;
}

void wf_events_unsubscribe(wf_events *h, void *arg)
{
    bool found = false;

    pthread_mutex_lock(&h->mu);
    for (sub *s = h->subs; s != NULL; s = s->next)
        if (s->arg == arg && !s->gone) {
            s->gone = true;
            found = true;
        }
    pthread_mutex_unlock(&h->mu);
    if (found)
        wake(h);
}

/* Unlink gone subscribers and return them as a list (caller releases). */
static sub *reap_locked(wf_events *h)
{
    sub **pp = &h->subs, *dead = NULL;

    while (*pp != NULL) {
        sub *s = *pp;
        if (s->gone) {
            *pp = s->next;
            s->next = dead;
            dead = s;
            h->n_subs--;
        } else {
            pp = &s->next;
        }
    }
    return dead;
}

static void release_list(sub *list)
{
    while (list != NULL) {
        sub *next = list->next;
        list->sink->release(list->arg);
        free(list);
        list = next;
    }
}

/* Mark due the subscribers of shop_id (NULL = all). */
static void mark_due(wf_events *h, const char *shop_id)
{
    pthread_mutex_lock(&h->mu);
    for (sub *s = h->subs; s != NULL; s = s->next)
        if (shop_id == NULL || strcmp(s->f.shop_id, shop_id) == 0)
            s->due = true;
    pthread_mutex_unlock(&h->mu);
}

/* --- the LISTEN connection --------------------------------------------- */

static void drop_conn(wf_events *h, const char *why)
{
    PGconn *pg;
    PGnotify *n;

    if (h->conn == NULL)
        return;
    if (why != NULL) { /* first: why may point into the connection */
        DS_WARN("events", "event listener disconnected: %s", why);
        h->next_connect_ms = now_ms() + h->backoff_ms;
    }
    pg = store_conn_pg(h->conn);
    if (PQstatus(pg) == CONNECTION_OK)
        store_exec_sql(h->conn, "UNLISTEN *", NULL); /* the pool gets a quiet connection */
    while ((n = PQnotifies(pg)) != NULL)
        PQfreemem(n);
    store_release(h->pool, h->conn);
    h->conn = NULL;
}

/* Connect and LISTEN when due; every subscriber catches up afterwards. */
static void ensure_conn(wf_events *h)
{
    ds_error err;
    int64_t now = now_ms();

    if (h->conn != NULL || now < h->next_connect_ms)
        return;
    ds_error_clear(&err);
    if (store_acquire(h->pool, INT64_MAX, &h->conn, &err) == DS_OK &&
        store_exec_sql(h->conn, LISTEN_SQL, &err) == DS_OK) {
        DS_INFO("events", "event listener connected");
        h->backoff_ms = BACKOFF_MIN_MS;
        mark_due(h, NULL);
        return;
    }
    drop_conn(h, NULL);
    DS_DEBUG("events", "event listener cannot connect: %s", err.message);
    h->next_connect_ms = now + h->backoff_ms;
    h->backoff_ms = h->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : h->backoff_ms * 2;
}

/* Read what arrived on the connection; notifications mark shops due. */
static void take_notifications(wf_events *h)
{
    PGconn *pg;
    PGnotify *n;

    if (h->conn == NULL)
        return;
    pg = store_conn_pg(h->conn);
    if (!PQconsumeInput(pg)) {
        drop_conn(h, PQerrorMessage(pg));
        return;
    }
    while ((n = PQnotifies(pg)) != NULL) {
        mark_due(h, n->extra[0] != '\0' ? n->extra : NULL);
        PQfreemem(n);
    }
}

/* --- serving subscribers ----------------------------------------------- */

typedef enum serve_result {
    SERVE_DONE,    /* caught up */
    SERVE_MORE,    /* more pages wait: go on next round */
    SERVE_BLOCKED, /* committed events wait for the horizon: re-read soon */
    SERVE_ERROR    /* the read failed */
} serve_result;

static bool matches(const wf_events_filter *f, const Dropship__V1__OrderEvent *ev)
{
    if (f->order_id[0] != '\0' && strcmp(f->order_id, ev->order_id) != 0)
        return false;
    if (f->states == 0)
        return true;
    if (ev->case_id[0] != '\0' || ev->to_state < 0 || ev->to_state > 31)
        return false;
    return (f->states & (1u << ev->to_state)) != 0;
}

static void mark_gone(wf_events *h, sub *s)
{
    pthread_mutex_lock(&h->mu);
    s->gone = true;
    pthread_mutex_unlock(&h->mu);
}

static bool taking(const sub *s)
{
    return !s->stalled;
}

/* Offer the event at pos to every taking subscriber of the group. */
static void offer(wf_events *h, sub **g, size_t n, const Dropship__V1__OrderEvent *ev,
                  store_events_pos pos)
{
    for (size_t i = 0; i < n; i++) {
        sub *s = g[i];
        ds_status st = DS_OK;
        if (!taking(s))
            continue;
        if (matches(&s->f, ev))
            st = s->sink->deliver(s->arg, ev);
        if (st == DS_ERR_RESOURCE_EXHAUSTED) {
            s->stalled = true;
            continue;
        }
        if (st != DS_OK) {
            s->stalled = true; /* taking nothing more this round */
            mark_gone(h, s);
        }
        s->pos = pos;
    }
}

/* Hand out the ready rows of one page; false once a row is not ready. */
static bool offer_page(wf_events *h, sub **g, size_t n, PGresult *res, store_events_pos *pos)
{
    ds_arena *a = ds_arena_new(ARENA_CAP);
    bool ready = true;

    for (int row = 0; a != NULL && row < PQntuples(res); row++) {
        store_events_pos rpos = store_events_row_pos(res, row);
        Dropship__V1__OrderEvent *ev;
        ready = store_events_row_ready(res, row);
        if (!ready)
            break;
        ev = store_events_message(a, res, row);
        if (ev != NULL)
            ev->cursor = wf_events_cursor(a, rpos);
        if (ev == NULL || ev->cursor == NULL) {
            DS_ERROR("events", "out of memory building an event");
            ready = false;
            break;
        }
        offer(h, g, n, ev, rpos);
        *pos = rpos;
    }
    ds_arena_free(a);
    return a != NULL && ready;
}

static size_t count_taking(sub **g, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        k += taking(g[i]);
    return k;
}

/* Serve a group: due subscribers of one shop at one position. */
static serve_result serve_group(wf_events *h, sub **g, size_t n)
{
    store_events_pos pos = g[0]->pos;
    ds_error err;

    for (int page = 0; page < PAGES_PER_ROUND && count_taking(g, n) > 0; page++) {
        PGresult *res = NULL;
        int rows;
        bool ready;
        ds_error_clear(&err);
        if (store_events_read(h->conn, g[0]->f.shop_id, pos, PAGE_ROWS, &res, &err) != DS_OK) {
            drop_conn(h, err.message);
            return SERVE_ERROR;
        }
        rows = PQntuples(res);
        ready = offer_page(h, g, n, res, &pos);
        PQclear(res);
        if (!ready)
            return SERVE_BLOCKED;
        if (rows < PAGE_ROWS)
            return SERVE_DONE;
    }
    return count_taking(g, n) > 0 ? SERVE_MORE : SERVE_DONE;
}

static int by_shop_pos(const void *x, const void *y)
{
    const sub *a = *(sub *const *)x, *b = *(sub *const *)y;
    int c = strcmp(a->f.shop_id, b->f.shop_id);

    return c != 0 ? c : store_events_pos_cmp(a->pos, b->pos);
}

/* After a group ran: who stays due, and when the hub should look again. */
static void settle_group(wf_events *h, sub **g, size_t n, serve_result r, bool *blocked)
{
    int64_t now = now_ms();

    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < n; i++) {
        if (r != SERVE_DONE || g[i]->stalled)
            g[i]->due = true;
        if (g[i]->stalled && now + STALL_RETRY_MS < h->retry_at_ms)
            h->retry_at_ms = now + STALL_RETRY_MS;
        g[i]->stalled = false;
    }
    pthread_mutex_unlock(&h->mu);
    if (r == SERVE_MORE)
        h->retry_at_ms = now;
    if (r == SERVE_BLOCKED) {
        *blocked = true;
        if (now + h->retry_delay_ms < h->retry_at_ms)
            h->retry_at_ms = now + h->retry_delay_ms;
    }
}

/* The due subscribers (due cleared), or NULL; *n gets their count. Gone
 * ones are unlinked into *dead. */
static sub **take_due(wf_events *h, size_t *n, sub **dead)
{
    sub **v;

    *n = 0;
    pthread_mutex_lock(&h->mu);
    *dead = reap_locked(h);
    v = h->conn != NULL && h->n_subs > 0 ? malloc((size_t)h->n_subs * sizeof(*v)) : NULL;
    for (sub *s = h->subs; v != NULL && s != NULL; s = s->next)
        if (s->due) {
            s->due = false;
            v[(*n)++] = s;
        }
    pthread_mutex_unlock(&h->mu);
    return v;
}

/* One round: drop gone subscribers, serve the due ones group by group. */
static void run_round(wf_events *h)
{
    sub *dead = NULL;
    size_t n = 0, i = 0;
    sub **v = take_due(h, &n, &dead);
    bool blocked = false;

    release_list(dead);
    if (n > 1)
        qsort(v, n, sizeof(*v), by_shop_pos);
    while (i < n) {
        size_t j = i + 1;
        serve_result r;
        while (j < n && by_shop_pos(&v[i], &v[j]) == 0)
            j++;
        r = h->conn != NULL ? serve_group(h, v + i, j - i) : SERVE_ERROR;
        settle_group(h, v + i, j - i, r, &blocked);
        i = j;
    }
    free(v);
    if (blocked)
        h->retry_delay_ms = h->retry_delay_ms * 2 > WF_EVENTS_POLL_MS ? WF_EVENTS_POLL_MS
                                                                       : h->retry_delay_ms * 2;
    else
        h->retry_delay_ms = RETRY_MIN_MS;
}

/* --- the hub thread ---------------------------------------------------- */

static bool should_stop(wf_events *h)
{
    bool stop;

    pthread_mutex_lock(&h->mu);
    stop = h->stopping;
    pthread_mutex_unlock(&h->mu);
    return stop;
}

/* Sleep until a wake-up, input on the connection, or the next timer. */
static void wait_for_work(wf_events *h)
{
    struct pollfd fds[2] = {{.fd = h->wake[0], .events = POLLIN}, {.fd = -1}};
    int64_t now = now_ms(), until = h->next_poll_ms, timeout;

    if (h->retry_at_ms < until)
        until = h->retry_at_ms;
    if (h->conn == NULL && h->next_connect_ms < until)
        until = h->next_connect_ms;
    timeout = until - now;
    timeout = timeout < 0 ? 0 : timeout > WF_EVENTS_POLL_MS ? WF_EVENTS_POLL_MS : timeout;
    if (h->conn != NULL) {
        fds[1].fd = PQsocket(store_conn_pg(h->conn));
        fds[1].events = POLLIN;
    }
    if (poll(fds, 2, (int)timeout) > 0)
        drain_wake(h);
}

static void *hub_main(void *arg)
{
    wf_events *h = arg;

    while (!should_stop(h)) {
        int64_t now;
        ensure_conn(h);
        take_notifications(h);
        now = now_ms();
        if (now >= h->next_poll_ms) {
            mark_due(h, NULL);
            h->next_poll_ms = now + WF_EVENTS_POLL_MS;
        }
        if (h->retry_at_ms <= now)
            h->retry_at_ms = INT64_MAX;
        run_round(h);
        wait_for_work(h);
    }
    return NULL;
}

/* --- life cycle ---------------------------------------------------------- */

wf_events *wf_events_new(store_pool *pool, ds_error *err)
{
    wf_events *h = calloc(1, sizeof(*h));

    if (h == NULL || pipe(h->wake) != 0) {
        free(h);
        ds_error_set(err, DS_ERR_NOMEM, "cannot create the event hub: %s", strerror(errno));
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(h->wake[i], F_SETFL, O_NONBLOCK);
        fcntl(h->wake[i], F_SETFD, FD_CLOEXEC);
    }
    h->pool = pool;
    pthread_mutex_init(&h->mu, NULL);
    h->backoff_ms = BACKOFF_MIN_MS;
    h->retry_at_ms = INT64_MAX;
    h->retry_delay_ms = RETRY_MIN_MS;
    return h;
}

ds_status wf_events_start(wf_events *h, ds_error *err)
{
    int rc;

    if (h->started)
        return DS_OK;
    pthread_mutex_lock(&h->mu);
    h->running = true;
    h->stopping = false;
    pthread_mutex_unlock(&h->mu);
    rc = pthread_create(&h->thread, NULL, hub_main, h);
    if (rc != 0) {
        pthread_mutex_lock(&h->mu);
        h->running = false;
        pthread_mutex_unlock(&h->mu);
        return ds_error_set(err, DS_ERR_INTERNAL, "cannot start the event hub: %s", strerror(rc));
    }
    h->started = true;
    return DS_OK;
}

void wf_events_stop(wf_events *h)
{
    sub *list;
    ds_error err;

    if (h == NULL || !h->started)
        return;
    pthread_mutex_lock(&h->mu);
    h->running = false;
    h->stopping = true;
    pthread_mutex_unlock(&h->mu);
    wake(h);
    pthread_join(h->thread, NULL);
    h->started = false;
    pthread_mutex_lock(&h->mu);
    list = h->subs;
    h->subs = NULL;
    h->n_subs = 0;
    pthread_mutex_unlock(&h->mu);
    ds_error_clear(&err);
    ds_error_set(&err, DS_ERR_UNAVAILABLE, "server is shutting down");
    for (sub *s = list; s != NULL; s = s->next)
        if (!s->gone)
            s->sink->end(s->arg, DS_ERR_UNAVAILABLE, &err);
    release_list(list);
    drop_conn(h, NULL);
}

void wf_events_free(wf_events *h)
{
    if (h == NULL)
        return;
    wf_events_stop(h);
    release_list(h->subs);
    close(h->wake[0]);
    close(h->wake[1]);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
