/* sim_main.c - dropship-sim: command line, startup, signals, shutdown. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_config.h"
#include "sim_faults.h"
#include "sim_http.h"
#include "sim_route.h"
#include "sim_sku.h"

sim_config sim_cfg = {.seed = 1,
                      .time_scale = 0,
                      .ship_polls = 2,
                      .deliver_polls = 5,
                      .require_payment = false,
                      .token = NULL,
                      .max_body = 1 << 20};

enum { MAX_FAULT_FLAGS = 32 };

typedef struct cli {
    char host[64];
    int port;
    const char *port_file;
    int n_faults;
    const char *faults[MAX_FAULT_FLAGS];
} cli;

static void usage(FILE *f)
{
    fputs(
        "usage: dropship-sim [options]\n"
        "  --listen HOST:PORT      address to serve (default 127.0.0.1:0 = any free port)\n"
        "  --port-file FILE        write the bound port to FILE once listening\n"
        "  --seed N                seed of fault draws (default 1)\n"
        "  --time-scale X          simulated seconds per real second; one step = 1 simulated hour\n"
        "                          (default 0: orders and parcels move with polls only)\n"
        "  --ship-polls N          order reads until the first parcel ships (default 2)\n"
        "  --deliver-polls N       tracking polls until a normal parcel is delivered (default 5)\n"
        "  --require-payment       contract suppliers ship only paid orders\n"
        "  --scenario FILE         per-SKU and per-supplier overrides (JSON)\n"
        "  --token T               require this bearer token (CJ-Access-Token, 17token)\n"
        "  --max-body BYTES        request body cap (default 1048576)\n"
        "  --fault SPEC            fault rule, e.g. type=5xx,prefix=/suppliers/,probability=0.2\n"
        "  --help\n",
        f);
}

/* Parse a bounded integer option; false on garbage. */
static bool parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* "127.0.0.1:8080" into c->host / c->port. */
static bool parse_listen(const char *s, cli *c)
{
    const char *colon = strrchr(s, ':');
    long long port;

    if (colon == NULL || (size_t)(colon - s) >= sizeof c->host ||
        !parse_ll(colon + 1, 0, 65535, &port))
        return false;
    memcpy(c->host, s, (size_t)(colon - s));
    c->host[colon - s] = '\0';
    c->port = (int)port;
    return true;
}

/* Integer options: name, bounds and where the value goes. */
typedef struct int_opt {
    const char *name;
    long long lo, hi;
    int *dst;
} int_opt;

/* Apply a numeric option; 1 = done, 0 = bad value, -1 = not numeric. */
static int apply_number(const char *opt, const char *val)
{
    const int_opt ints[] = {{"--ship-polls", 1, 100000, &sim_cfg.ship_polls},
                            {"--deliver-polls", 1, 100000, &sim_cfg.deliver_polls}};
    long long v = 0;
    char *end = NULL;

    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (strcmp(opt, ints[i].name) != 0)
            continue;
        if (!parse_ll(val, ints[i].lo, ints[i].hi, &v))
            return 0;
        *ints[i].dst = (int)v;
        return 1;
    }
    if (strcmp(opt, "--seed") == 0 && parse_ll(val, 0, 0x7fffffffffffffffLL, &v))
        sim_cfg.seed = (unsigned long long)v;
    else if (strcmp(opt, "--max-body") == 0 && parse_ll(val, 1024, 64 << 20, &v))
        sim_cfg.max_body = (size_t)v;
    else if (strcmp(opt, "--time-scale") == 0)
        sim_cfg.time_scale = strtod(val, &end);
    else
        return strcmp(opt, "--seed") == 0 || strcmp(opt, "--max-body") == 0 ? 0 : -1;
    if (end != NULL)
        return end != val && *end == '\0' && sim_cfg.time_scale >= 0 && sim_cfg.time_scale <= 1e9;
    return 1;
}

/* Apply one option that takes a value; false on a bad value. */
static bool apply_opt(const char *opt, const char *val, cli *c)
{
    char err[256] = "";
    int num = apply_number(opt, val);

    if (num >= 0)
        return num == 1;
    if (strcmp(opt, "--listen") == 0)
        return parse_listen(val, c);
    if (strcmp(opt, "--port-file") == 0) {
        c->port_file = val;
        return true;
    }
    if (strcmp(opt, "--token") == 0) {
        sim_cfg.token = val;
        return true;
    }
    if (strcmp(opt, "--scenario") == 0) {
        if (!sim_sku_load(val, err, sizeof err))
            fprintf(stderr, "dropship-sim: %s\n", err);
        return err[0] == '\0';
    }
    if (strcmp(opt, "--fault") == 0 && c->n_faults < MAX_FAULT_FLAGS) {
        c->faults[c->n_faults++] = val;
        return true;
    }
    return false;
}

/* Add the --fault rules (after seeding). */
static bool apply_faults(const cli *c)
{
    char err[256];

    for (int i = 0; i < c->n_faults; i++) {
        if (!sim_faults_add_spec(c->faults[i], err, sizeof err)) {
            fprintf(stderr, "dropship-sim: --fault %s: %s\n", c->faults[i], err);
            return false;
        }
    }
    return true;
}

/* Parse argv; exits on --help; false on a bad command line. */
static bool parse_args(int argc, char **argv, cli *c)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(argv[i], "--require-payment") == 0) {
            sim_cfg.require_payment = true;
            continue;
        }
        if (i + 1 >= argc || !apply_opt(argv[i], argv[i + 1], c)) {
            fprintf(stderr, "dropship-sim: bad option or value: %s\n", argv[i]);
            return false;
        }
        i++;
    }
    return true;
}

/* Write the port to path atomically (tmp + rename). */
static bool write_port_file(const char *path, int port)
{
    char tmp[4096];
    FILE *f;
    bool ok;

    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL)
        return false;
    ok = fprintf(f, "%d\n", port) > 0;
    ok = (fclose(f) == 0) && ok;
    return ok && rename(tmp, path) == 0;
}

int main(int argc, char **argv)
{
    cli c = {.host = "127.0.0.1"};
    sigset_t set;
    sim_http *srv = NULL;
    int port = 0;
    int sig = 0;

    if (!parse_args(argc, argv, &c)) {
        usage(stderr);
        return 2;
    }
    sim_faults_reset(sim_cfg.seed);
    if (!apply_faults(&c))
        return 2;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread inherits the mask */
    signal(SIGPIPE, SIG_IGN);
    if (!sim_http_start(c.host, c.port, sim_cfg.max_body, &srv, &port))
        return 1;
    if (c.port_file != NULL && !write_port_file(c.port_file, port)) {
        fprintf(stderr, "dropship-sim: cannot write %s\n", c.port_file);
        sim_http_stop(srv);
        return 1;
    }
    printf("listening on %s:%d\n", c.host, port);
    fflush(stdout);
    sigwait(&set, &sig);
    fprintf(stderr, "dropship-sim: signal %d, stopping\n", sig);
    sim_http_stop(srv);
    sim_route_reset();
    return 0;
}
