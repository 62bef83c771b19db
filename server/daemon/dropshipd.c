/* dropshipd.c - main: load settings, pick the command. */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "ds_config.h"
#include "ds_log.h"

#ifndef DS_VERSION
#define DS_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
    fprintf(f, "Usage: dropshipd [serve] [settings]\n"
               "       dropshipd migrate [settings]\n"
               "       dropshipd admin create-shop NAME [settings]\n"
               "       dropshipd admin create-api-key SHOP_ID [settings]\n"
               "       dropshipd admin revoke-api-key KEY_ID [settings]\n"
               "       dropshipd --help | --version\n\n"
               "serve    run the gRPC server (the database must be migrated)\n"
               "migrate  apply pending migrations, printing each applied file\n"
               "admin    create-shop prints the new shop id; create-api-key prints the\n"
               "         new key (shown once, only its SHA-256 is stored)\n\n");
    ds_config_print_help(f);
}

int main(int argc, char **argv)
{
    ds_config cfg;
    ds_error err;
    const char *cmd;

    ds_error_clear(&err);
    if (ds_config_load(&cfg, argc, argv, &err) != DS_OK) {
        fprintf(stderr, "dropshipd: %s\n", err.message);
        return 2;
    }
    if (cfg.help) {
        usage(stdout);
        return 0;
    }
    if (cfg.version) {
        printf("dropshipd %s\n", DS_VERSION);
        return 0;
    }
    ds_log_set_level((ds_log_level)cfg.log_level);
    cmd = cfg.n_args > 0 ? cfg.args[0] : "serve";
    if (strcmp(cmd, "serve") == 0)
        return daemon_serve(&cfg);
    if (strcmp(cmd, "migrate") == 0)
        return daemon_migrate(&cfg);
    if (strcmp(cmd, "admin") == 0)
        return daemon_admin(&cfg);
    fprintf(stderr, "dropshipd: unknown command \"%s\" (see --help)\n", cmd);
    return 2;
}
