/* sim_config.h - settings of dropship-sim, filled once by main from the
 * command line before the server starts and read-only afterwards.
 */
#ifndef SIM_CONFIG_H
#define SIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sim_config {
    unsigned long long seed; /* --seed: fault draws */
    double time_scale;       /* --time-scale: simulated seconds per real second; 0 = polls only */
    int ship_polls;          /* --ship-polls: order GETs until the first parcel ships */
    int deliver_polls;    /* --deliver-polls: tracking polls until a normal parcel is delivered */
    bool require_payment; /* --require-payment: contract suppliers ship only paid orders */
    const char *token;    /* --token: bearer required when set */
    size_t max_body;      /* --max-body: request body cap in bytes */
} sim_config;

/* The one configuration (defined in sim_main.c). */
extern sim_config sim_cfg;

/* One progression step is one simulated hour. */
enum { SIM_STEP_SECONDS = 3600 };

#endif
