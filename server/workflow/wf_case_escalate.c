/* wf_case_escalate.c - open LOST_IN_TRANSIT / DAMAGED cases for parcels that
 * are stuck, lost, expired or on their way back, with the tracking history
 * as evidence. */
#include "wf_case_escalate.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dropship/v1/cases.pb-c.h"
#include "ds_arena.h"
#include "store_cases.h"
#include "store_supplier_orders.h"
#include "wf_case_fsm.h"

enum {
    T_DAMAGED = DROPSHIP__V1__CASE_TYPE__CASE_TYPE_DAMAGED,
    T_LOST = DROPSHIP__V1__CASE_TYPE__CASE_TYPE_LOST_IN_TRANSIT,
    C_OPEN = DROPSHIP__V1__CASE_STATE__CASE_STATE_OPEN,
    EV_OPENED = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CASE_OPENED,
    EV_EVIDENCE = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_CASE_EVIDENCE_ADDED,
    A_SYSTEM = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM,
    EK_TRACKING = DROPSHIP__V1__EVIDENCE_KIND__EVIDENCE_KIND_TRACKING_HISTORY,
    TS_EXCEPTION = DROPSHIP__V1__TRACKING_STATUS__TRACKING_STATUS_EXCEPTION,
    TS_EXPIRED = DROPSHIP__V1__TRACKING_STATUS__TRACKING_STATUS_EXPIRED,
    TS_RETURNING = DROPSHIP__V1__TRACKING_STATUS__TRACKING_STATUS_RETURNING_TO_SENDER,
    URI_MAX = 2000,
    STALE_MIN_MS = 86400000,  /* tracking.stale_after's lower bound: one day */
    CP_LINE_MAX = 400,     /* one checkpoint line of the history text */
    ARENA_BYTES = 16 << 20 /* checkpoints of up to STORE_CASE_STUCK_MAX parcels */
};

#define ACTOR "escalation"
#define URI_PREFIX "data:text/plain;charset=utf-8;base64,"
/* history text that still fits the URI once base64-encoded */
#define TEXT_MAX ((URI_MAX - (int)sizeof(URI_PREFIX)) / 4 * 3)

static int64_t scaled_ms(const wf_order_env *env, int64_t ms)
{
    int64_t d = wf_order_scaled(env, ms);

    return d < 1 ? 1 : d;
}

/* What the query may return: parcels unchanged for the shortest time any
 * supplier may ask for (tracking.stale_after is at least a day). */
static int64_t query_ms(const wf_order_env *env)
{
    int64_t d = env->set.escalate_after_ms;

    return scaled_ms(env, d < STALE_MIN_MS ? d : STALE_MIN_MS);
}

/* Is parcel p due for a case? Lost, expired and returning parcels are at
 * once; a parcel that stopped moving when unchanged for its supplier's
 * tracking.stale_after, else --case-escalate-after-s (both scaled). *s
 * caches the supplier of the previous call. */
static ds_status is_due(store_conn *c, const wf_order_env *env, const char *shop_id,
                        const store_case_stuck *p, store_so_supplier *s, bool *due,
                        ds_error *err)
{
    ds_status st = DS_OK;
    int64_t limit;

    *due = p->status == TS_EXCEPTION || p->status == TS_EXPIRED || p->status == TS_RETURNING;
    if (*due)
        return DS_OK;
    if (strcmp(s->supplier_id, p->supplier_id) != 0)
        st = store_so_supplier_get(c, shop_id, p->supplier_id, s, err);
    limit = s->stale_after_ms > 0 ? s->stale_after_ms : env->set.escalate_after_ms;
    *due = st == DS_OK && p->unchanged_ms >= scaled_ms(env, limit);
    return st;
}

/* "EXCEPTION" for TRACKING_STATUS_EXCEPTION; "UNKNOWN" for 0. */
static const char *status_name(int32_t s)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&dropship__v1__tracking_status__descriptor, s);

    if (v == NULL || s == 0)
        return "UNKNOWN";
    return strncmp(v->name, "TRACKING_STATUS_", 16) == 0 ? v->name + 16 : v->name;
}

/* Does text mention damage (any case)? */
static bool mentions_damage(const char *text)
{
    static const char word[] = "damage";

    for (const char *s = text; s != NULL && *s != '\0'; s++) {
        size_t i = 0;
        while (word[i] != '\0' && (s[i] | 0x20) == word[i])
            i++;
        if (word[i] == '\0')
            return true;
    }
    return false;
}

static Dropship__V1__Parcel *checkpoints_of(ds_arena *a, const store_case_stuck *p)
{
    if (p->checkpoints == NULL)
        return NULL;
    return (Dropship__V1__Parcel *)protobuf_c_message_unpack(&dropship__v1__parcel__descriptor,
                                                             ds_arena_allocator(a),
                                                             p->checkpoints_len, p->checkpoints);
}

static int32_t case_type(const store_case_stuck *p, const Dropship__V1__Parcel *cps)
{
    const Dropship__V1__TrackingCheckpoint *last =
        cps != NULL && cps->n_checkpoints > 0 ? cps->checkpoints[cps->n_checkpoints - 1] : NULL;

    if (p->status == TS_EXCEPTION && last != NULL &&
        (mentions_damage(last->message) || mentions_damage(last->location)))
        return T_DAMAGED;
    return T_LOST;
}

/* One checkpoint as "2026-11-22T08:15:00Z IN_TRANSIT Location: message\n". */
static void checkpoint_line(const Dropship__V1__TrackingCheckpoint *c, char out[CP_LINE_MAX])
{
    char when[32] = "?";
    struct tm tm;
    time_t t = c->event_time != NULL ? (time_t)c->event_time->seconds : 0;

    if (c->event_time != NULL && gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(out, CP_LINE_MAX, "%s %s %s: %s\n", when, status_name((int32_t)c->status),
             c->location != NULL ? c->location : "", c->message != NULL ? c->message : "");
    for (char *s = out; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 && *s != '\n')
            *s = ' ';
}

/* The history text: the newest checkpoints that fit TEXT_MAX, oldest
 * first. Arena string; NULL when out of memory. */
static char *history_text(ds_arena *a, const store_case_stuck *p, const Dropship__V1__Parcel *cps)
{
    size_t n = cps != NULL ? cps->n_checkpoints : 0, first = n, used = 0;
    char line[CP_LINE_MAX], head[256];
    char *text = ds_arena_alloc(a, TEXT_MAX + 1);

    if (text == NULL)
        return NULL;
    snprintf(head, sizeof(head), "%s %s %s, %zu checkpoints\n", p->carrier, p->tracking_number,
             status_name(p->status), n);
    used = strlen(head) + 48; /* room for the "left out" line */
    while (first > 0) {
        checkpoint_line(cps->checkpoints[first - 1], line);
        if (used + strlen(line) > TEXT_MAX)
            break;
        used += strlen(line);
        first--;
    }
    snprintf(text, TEXT_MAX + 1, "%s", head);
    if (first > 0)
        snprintf(text + strlen(text), TEXT_MAX + 1 - strlen(text),
                 "(%zu older checkpoints left out)\n", first);
    for (size_t i = first; i < n; i++) {
        checkpoint_line(cps->checkpoints[i], line);
        snprintf(text + strlen(text), TEXT_MAX + 1 - strlen(text), "%s", line);
    }
    return text;
}

/* Evidence of the history text: data: URI + SHA-256 hex. */
static ds_status history_evidence(ds_arena *a, const char *text, Dropship__V1__Evidence *e,
                                  ds_error *err)
{
    size_t len = strlen(text);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    char *uri = ds_arena_alloc(a, URI_MAX + 1);
    char *hex = ds_arena_alloc(a, 65);

    if (uri == NULL || hex == NULL || 4 * ((len + 2) / 3) + sizeof(URI_PREFIX) > URI_MAX + 1)
        return ds_error_set(err, DS_ERR_NOMEM, "tracking history does not fit");
    if (EVP_Digest(text, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
        return ds_error_set(err, DS_ERR_INTERNAL, "SHA-256 failed");
    for (unsigned int i = 0; i < md_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    memcpy(uri, URI_PREFIX, sizeof(URI_PREFIX));
    EVP_EncodeBlock((unsigned char *)uri + sizeof(URI_PREFIX) - 1, (const unsigned char *)text,
                    (int)len);
    e->kind = (Dropship__V1__EvidenceKind)EK_TRACKING;
    e->uri = uri;
    e->sha256 = hex;
    e->content_type = "text/plain";
    return DS_OK;
}

/* Why the parcel is escalated, for the description and the event. */
static const char *reason_of(const store_case_stuck *p)
{
    if (p->status == TS_EXCEPTION || p->status == TS_EXPIRED || p->status == TS_RETURNING)
        return status_name(p->status);
    return "NO_PROGRESS";
}

static char *description(ds_arena *a, const store_case_stuck *p)
{
    double hours = (double)p->unchanged_ms / 3600000.0;

    if (strcmp(reason_of(p), "NO_PROGRESS") != 0)
        return ds_arena_printf(a,
                               "Opened automatically: parcel %s %s is %s (last change %.1f h "
                               "ago).",
                               p->carrier, p->tracking_number, status_name(p->status), hours);
    return ds_arena_printf(a,
                           "Opened automatically: parcel %s %s has had no new checkpoint for "
                           "%.1f h (status %s).",
                           p->carrier, p->tracking_number, hours, status_name(p->status));
}

/* The CASE_OPENED and CASE_EVIDENCE_ADDED events. */
static ds_status open_events(store_conn *tx, const char *shop_id, const char *order_id,
                             const char *case_id, int32_t type, const store_case_stuck *p,
                             const Dropship__V1__Evidence *e, ds_error *err)
{
    char *d = wf_details("case_type", wf_case_type_name(type), "reason", reason_of(p), "carrier",
                         p->carrier, "tracking_number", p->tracking_number, "tracking_status",
                         status_name(p->status), NULL);
    wf_case_change ch = {.to = C_OPEN,
                         .event_type = EV_OPENED,
                         .actor_kind = A_SYSTEM,
                         .actor_id = ACTOR,
                         .details = d};
    ds_status st = wf_case_event(tx, shop_id, order_id, case_id, 0, &ch, err);

    free(d);
    d = wf_details("evidence_kind", "5", "sha256", e->sha256, NULL);
    ch.event_type = EV_EVIDENCE;
    ch.details = d;
    if (st == DS_OK)
        st = wf_case_event(tx, shop_id, order_id, case_id, C_OPEN, &ch, err);
    free(d);
    return st;
}

static ds_status open_one(store_conn *tx, ds_arena *a, const char *shop_id, const char *order_id,
                          const store_case_stuck *p, int *opened, ds_error *err)
{
    Dropship__V1__Parcel *cps = checkpoints_of(a, p);
    Dropship__V1__Evidence e = DROPSHIP__V1__EVIDENCE__INIT;
    int32_t type = case_type(p, cps);
    char *text = history_text(a, p, cps), *desc = description(a, p);
    char case_id[37] = "";
    store_case_new nw = {shop_id,
                         order_id,
                         p->supplier_id,
                         type,
                         desc,
                         p->carrier,
                         p->tracking_number,
                         p->line_ids != NULL ? p->line_ids : "",
                         p->quantities != NULL ? p->quantities : "",
                         A_SYSTEM,
                         ACTOR,
                         true};
    ds_status st = text != NULL && desc != NULL ? history_evidence(a, text, &e, err)
                                                : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    e.note = ds_arena_printf(a, "tracking history of %s %s as the server last read it", p->carrier,
                             p->tracking_number);
    if (st == DS_OK && e.note == NULL)
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    if (st == DS_OK)
        st = store_case_insert(tx, &nw, case_id, err);
    if (st != DS_OK || case_id[0] == '\0')
        return st; /* already escalated (a concurrent poll won) */
    st = store_case_evidence_add(tx, shop_id, case_id, &e, A_SYSTEM, ACTOR, err);
    if (st == DS_OK)
        st = open_events(tx, shop_id, order_id, case_id, type, p, &e, err);
    if (st == DS_OK && opened != NULL)
        (*opened)++;
    return st;
}

ds_status wf_case_escalate(store_conn *tx, const wf_order_env *env, const char *shop_id,
                           const char *order_id, int *opened, ds_error *err)
{
    ds_arena *a = ds_arena_new(ARENA_BYTES);
    store_case_stuck *ps = calloc(STORE_CASE_STUCK_MAX, sizeof(*ps));
    size_t n = 0;
    ds_status st =
        a != NULL && ps != NULL ? DS_OK : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    store_so_supplier *s = calloc(1, sizeof(*s));
    bool due = false;

    if (opened != NULL)
        *opened = 0;
    if (st == DS_OK && s == NULL)
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    if (st == DS_OK)
        st = store_case_stuck_parcels(tx, shop_id, order_id, query_ms(env), a, ps,
                                      STORE_CASE_STUCK_MAX, &n, err);
    for (size_t i = 0; st == DS_OK && i < n; i++) {
        st = is_due(tx, env, shop_id, &ps[i], s, &due, err);
        if (st == DS_OK && due)
            st = open_one(tx, a, shop_id, order_id, &ps[i], opened, err);
    }
    free(s);
    free(ps);
    ds_arena_free(a);
    return st;
}

ds_status wf_case_escalate_due(const wf_order_env *env, const char *shop_id, const char *order_id,
                               bool *due, ds_error *err)
{
    ds_arena *a = ds_arena_new(ARENA_BYTES);
    store_case_stuck *ps = calloc(STORE_CASE_STUCK_MAX, sizeof(*ps));
    store_so_supplier *s = calloc(1, sizeof(*s));
    store_conn *c = NULL;
    size_t n = 0;
    ds_status st = a != NULL && ps != NULL && s != NULL
                       ? store_acquire(env->pool, INT64_MAX, &c, err)
                       : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    *due = false;
    if (st == DS_OK)
        st = store_case_stuck_parcels(c, shop_id, order_id, query_ms(env), a, ps,
                                      STORE_CASE_STUCK_MAX, &n, err);
    for (size_t i = 0; st == DS_OK && !*due && i < n; i++)
        st = is_due(c, env, shop_id, &ps[i], s, due, err);
    store_release(env->pool, c);
    free(s);
    free(ps);
    ds_arena_free(a);
    if (st != DS_OK)
        *due = false;
    return st;
}
