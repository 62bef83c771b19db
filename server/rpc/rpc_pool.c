/* rpc_pool.c - fixed-size handler thread pool with an intrusive FIFO. */
#include "rpc_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct rpc_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rpc_job *head;
    rpc_job *tail;
    bool stopping;
    int n_threads;
    pthread_t *threads;
};

/* Next job, or NULL once the pool stops and the queue is empty. */
static rpc_job *take(rpc_pool *p)
{
    rpc_job *job;

    pthread_mutex_lock(&p->mu);
    while (p->head == NULL && !p->stopping)
        pthread_cond_wait(&p->cv, &p->mu);
    job = p->head;
    if (job != NULL) {
        p->head = job->next;
        if (p->head == NULL)
            p->tail = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    return job;
}

static void *worker(void *arg)
{
    rpc_pool *p = arg;
    rpc_job *job;

    for (job = take(p); job != NULL; job = take(p))
        job->fn(job);
    return NULL;
}

rpc_pool *rpc_pool_new(int threads, ds_error *err)
{
    rpc_pool *p = calloc(1, sizeof(*p));
    int i;

    if (threads < 1)
        threads = 1;
    if (p == NULL)
        goto oom;
    p->threads = calloc((size_t)threads, sizeof(*p->threads));
    if (p->threads == NULL)
        goto oom;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            ds_error_set(err, DS_ERR_INTERNAL, "cannot start handler thread %d", i);
            rpc_pool_free(p);
            return NULL;
        }
        p->n_threads++;
    }
    return p;
oom:
    if (p != NULL)
        free(p->threads);
    free(p);
    ds_error_set(err, DS_ERR_NOMEM, "out of memory creating the handler pool");
    return NULL;
}

void rpc_pool_push(rpc_pool *p, rpc_job *job, rpc_job_fn fn)
{
    job->fn = fn;
    job->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail != NULL)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void rpc_pool_free(rpc_pool *p)
{
    int i;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}
