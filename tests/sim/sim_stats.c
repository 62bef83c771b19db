/* sim_stats.c - counters of dropship-sim, kept in one JSON object. */
#include "sim_stats.h"

#include <pthread.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *root;

/* The counters object, created on first use. Caller holds mu. */
static json_t *stats_root(void)
{
    if (root == NULL)
        root =
            json_pack("{s:{},s:{},s:I,s:I,s:{},s:{},s:I,s:I}", "requests", "faults", "faults_total",
                      (json_int_t)0, "orders_created", (json_int_t)0, "orders_by_idempotency_key",
                      "orders_by_order_ref", "duplicates", (json_int_t)0, "replays", (json_int_t)0);
    return root;
}

/* obj[key] += by, creating it at 0. Caller holds mu. */
static void bump(json_t *obj, const char *key, long long by)
{
    json_t *v = json_object_get(obj, key);
    long long cur = json_is_integer(v) ? json_integer_value(v) : 0;

    json_object_set_new(obj, key, json_integer(cur + by));
}

/* obj[key] as an object, created empty. Caller holds mu. */
static json_t *child(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(obj, key, v);
    }
    return v;
}

void sim_stats_request(const char *route)
{
    pthread_mutex_lock(&mu);
    bump(json_object_get(stats_root(), "requests"), route, 1);
    pthread_mutex_unlock(&mu);
}

void sim_stats_fault(const char *name)
{
    pthread_mutex_lock(&mu);
    bump(json_object_get(stats_root(), "faults"), name, 1);
    bump(stats_root(), "faults_total", 1);
    pthread_mutex_unlock(&mu);
}

void sim_stats_create(const char *supplier, const char *key, const char *order_ref,
                      const char *supplier_order_id, bool created, bool duplicate, bool replay)
{
    json_t *r;
    json_t *ref;

    pthread_mutex_lock(&mu);
    r = stats_root();
    if (key != NULL) {
        json_t *k = child(json_object_get(r, "orders_by_idempotency_key"), key);
        bump(k, "requests", 1);
        bump(k, "orders_created", created ? 1 : 0);
        bump(k, "replays", replay ? 1 : 0);
    }
    if (created && order_ref != NULL) {
        ref = child(json_object_get(r, "orders_by_order_ref"), order_ref);
        bump(ref, "orders_created", 1);
        if (!json_is_array(json_object_get(ref, "supplier_order_ids")))
            json_object_set_new(ref, "supplier_order_ids", json_array());
        json_array_append_new(json_object_get(ref, "supplier_order_ids"),
                              json_string(supplier_order_id));
        json_object_set_new(ref, "supplier", json_string(supplier));
    }
    bump(r, "orders_created", created ? 1 : 0);
    bump(r, "duplicates", duplicate ? 1 : 0);
    bump(r, "replays", replay ? 1 : 0);
    pthread_mutex_unlock(&mu);
}

void sim_stats_count(const char *name)
{
    pthread_mutex_lock(&mu);
    bump(stats_root(), name, 1);
    pthread_mutex_unlock(&mu);
}

json_t *sim_stats_json(void)
{
    json_t *copy;

    pthread_mutex_lock(&mu);
    copy = json_deep_copy(stats_root());
    pthread_mutex_unlock(&mu);
    return copy;
}

void sim_stats_reset(void)
{
    pthread_mutex_lock(&mu);
    json_decref(root);
    root = NULL;
    pthread_mutex_unlock(&mu);
}
