/* daemon_admin.c - the one-shot commands: migrate and admin. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "ds_log.h"
#include "store_migrate.h"
#include "store_shops.h"

store_pool *daemon_pool_new(const ds_config *cfg, int pool_size)
{
    store_config sc = {
        .conninfo = cfg->database_url,
        .pool_size = pool_size > 0 ? pool_size : cfg->db_pool_size,
        .statement_timeout_ms = cfg->statement_timeout_ms,
        .application_name = "dropshipd",
    };
    store_pool *p;
    ds_error err;

    ds_error_clear(&err);
    if (ds_config_need_database(cfg, &err) != DS_OK) {
        DS_ERROR("main", "%s", err.message);
        return NULL;
    }
    p = store_pool_new(&sc, &err);
    if (p == NULL)
        DS_ERROR("main", "%s", err.message);
    return p;
}

static void print_applied(int version, const char *file_name, void *arg)
{
    (void)version;
    (void)arg;
    printf("%s\n", file_name);
    fflush(stdout);
}

int daemon_migrate(const ds_config *cfg)
{
    store_pool *p;
    ds_error err;
    int version = 0;
    int rc = 1;

    if (cfg->n_args > 1) {
        fprintf(stderr, "dropshipd: migrate takes no arguments\n");
        return 2;
    }
    ds_error_clear(&err);
    p = daemon_pool_new(cfg, 1);
    if (p == NULL)
        return 1;
    if (store_migrate(p, cfg->migrations_dir, print_applied, NULL, &err) != DS_OK ||
        store_schema_version(p, &version, &err) != DS_OK) {
        DS_ERROR("migrate", "%s", err.message);
        goto out;
    }
    DS_INFO("migrate", "database schema is at version %d", version);
    rc = 0;
out:
    store_pool_free(p);
    return rc;
}

/* Run one admin sub-command on pool p; prints its result line. */
static ds_status admin_run(store_pool *p, const char *sub, const char *arg, ds_error *err)
{
    char id[STORE_UUID_LEN + 1];
    char key[STORE_API_KEY_LEN + 1];
    ds_status st;

    if (strcmp(sub, "create-shop") == 0) {
        st = store_shop_create(p, arg, id, err);
        if (st == DS_OK)
            printf("%s\n", id);
    } else if (strcmp(sub, "create-api-key") == 0) {
        st = store_api_key_create(p, arg, key, id, err);
        if (st == DS_OK) {
            printf("%s\n", key);
            DS_INFO("admin", "created API key %s for shop %s", id, arg);
        }
    } else if (strcmp(sub, "revoke-api-key") == 0) {
        st = store_api_key_revoke(p, arg, err);
        if (st == DS_OK)
            DS_INFO("admin", "revoked API key %s", arg);
    } else {
        st = ds_error_set(err, DS_ERR_INVALID, "unknown admin command \"%s\"", sub);
    }
    return st;
}

static bool admin_known(const char *sub)
{
    return strcmp(sub, "create-shop") == 0 || strcmp(sub, "create-api-key") == 0 ||
           strcmp(sub, "revoke-api-key") == 0;
}

int daemon_admin(const ds_config *cfg)
{
    store_pool *p;
    ds_error err;
    int rc = 0;

    if (cfg->n_args != 3 || !admin_known(cfg->args[1])) {
        fprintf(stderr, "dropshipd: usage: dropshipd admin create-shop NAME | "
                        "create-api-key SHOP_ID | revoke-api-key KEY_ID\n");
        return 2;
    }
    ds_error_clear(&err);
    p = daemon_pool_new(cfg, 1);
    if (p == NULL)
        return 1;
    if (admin_run(p, cfg->args[1], cfg->args[2], &err) != DS_OK) {
        DS_ERROR("admin", "%s", err.message);
        rc = 1;
    }
    fflush(stdout);
    store_pool_free(p);
    return rc;
}
