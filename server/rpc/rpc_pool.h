/* rpc_pool.h - the handler thread pool: a FIFO of intrusive jobs drained by
 * a fixed set of threads.
 *
 * Jobs are embedded in the caller's structure (no allocation per job).
 * Threads: rpc_pool_push from any thread; rpc_pool_free from a thread that
 * is not a pool thread (it runs the jobs still queued, then joins).
 */
#ifndef RPC_POOL_H
#define RPC_POOL_H

#include "ds_status.h"

typedef struct rpc_job rpc_job;
typedef void (*rpc_job_fn)(rpc_job *job);

struct rpc_job {
    rpc_job *next;
    rpc_job_fn fn;
};

typedef struct rpc_pool rpc_pool;

/* Start `threads` threads (at least 1). NULL + err on failure. */
rpc_pool *rpc_pool_new(int threads, ds_error *err);

/* Queue `job`; job->fn(job) runs on a pool thread. The job memory must stay
 * valid until fn starts. */
void rpc_pool_push(rpc_pool *p, rpc_job *job, rpc_job_fn fn);

/* Finish every queued job, stop and join the threads, free the pool.
 * rpc_pool_free(NULL) does nothing. */
void rpc_pool_free(rpc_pool *p);

#endif
