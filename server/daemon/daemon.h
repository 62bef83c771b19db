/* daemon.h - the commands of dropshipd (serve, migrate, admin ...).
 *
 * Each command takes the loaded configuration (cfg->args[0] is the command
 * word) and returns the process exit code: 0 on success, 1 on a runtime
 * failure, 2 on bad usage. Messages go to stderr through ds_log; commands
 * print only their result on stdout.
 * Threads: called once, from main.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include "ds_config.h"
#include "store.h"

/* `dropshipd [serve]`: run the server until SIGTERM/SIGINT. */
int daemon_serve(const ds_config *cfg);

/* `dropshipd migrate`: apply pending migrations, print each applied file. */
int daemon_migrate(const ds_config *cfg);

/* `dropshipd admin create-shop NAME | create-api-key SHOP_ID |
 * revoke-api-key KEY_ID`. */
int daemon_admin(const ds_config *cfg);

/* A pool for cfg (pool_size overrides cfg->db_pool_size when > 0), or NULL
 * after logging why. */
store_pool *daemon_pool_new(const ds_config *cfg, int pool_size);

#endif
