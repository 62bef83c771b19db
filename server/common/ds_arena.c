/* ds_arena.c - per-call bump allocator with a hard cap. */
#include "ds_arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK_MIN = 8192, ALIGN = 16 };

typedef struct chunk {
    struct chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    /* data follows, aligned */
} chunk;

struct ds_arena {
    chunk *head;
    size_t cap;
    size_t total; /* bytes reserved in chunks */
    size_t used;
    ProtobufCAllocator pb;
};

#define CHUNK_HDR ((sizeof(chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

static void *pb_alloc(void *data, size_t size)
{
    return ds_arena_alloc(data, size);
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

ds_arena *ds_arena_new(size_t cap)
{
    ds_arena *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->cap = cap ? cap : (size_t)64 << 20;
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
    return a;
}

void ds_arena_free(ds_arena *a)
{
    chunk *c, *next;

    if (a == NULL)
        return;
    for (c = a->head; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

static chunk *add_chunk(ds_arena *a, size_t need)
{
    size_t size = need > CHUNK_MIN ? need : CHUNK_MIN;
    chunk *c;

    if (a->head != NULL && a->head->size * 2 > size && a->head->size * 2 <= (size_t)1 << 20)
        size = a->head->size * 2;
    if (a->total + size > a->cap) {
        if (a->total + need > a->cap)
            return NULL;
        size = need;
    }
    c = malloc(CHUNK_HDR + size);
    if (c == NULL)
        return NULL;
    c->size = size;
    c->used = 0;
    c->next = a->head;
    a->head = c;
    a->total += size;
    return c;
}

void *ds_arena_alloc(ds_arena *a, size_t size)
{
    size_t need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    chunk *c;
    void *p;

    if (a == NULL || size > a->cap)
        return NULL;
    if (need == 0)
        need = ALIGN;
    c = a->head;
    if (c == NULL || c->size - c->used < need) {
        c = add_chunk(a, need);
        if (c == NULL)
            return NULL;
    }
    p = (char *)c + CHUNK_HDR + c->used;
    c->used += need;
    a->used += need;
    memset(p, 0, size);
    return p;
}

char *ds_arena_strdup(ds_arena *a, const char *s)
{
    size_t n;
    char *d;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    d = ds_arena_alloc(a, n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

char *ds_arena_printf(ds_arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *d;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    d = ds_arena_alloc(a, (size_t)n + 1);
    if (d == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

ProtobufCAllocator *ds_arena_allocator(ds_arena *a)
{
    return &a->pb;
}

size_t ds_arena_used(const ds_arena *a)
{
    return a ? a->used : 0;
}
