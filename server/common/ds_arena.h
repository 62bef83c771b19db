/* ds_arena.h - a per-call bump allocator with a hard cap.
 *
 * Everything a handler builds for one call (unpacked request, response
 * message, strings) comes from the call's arena and is released at once by
 * ds_arena_free when the call ends. No individual frees.
 *
 * Ownership: the arena owns every block it hands out. Threads: an arena is
 * used by one thread at a time (no locking).
 */
#ifndef DS_ARENA_H
#define DS_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

typedef struct ds_arena ds_arena;

/* New arena that refuses to grow past `cap` bytes in total (0 = 64 MiB).
 * Returns NULL on out of memory. */
ds_arena *ds_arena_new(size_t cap);

/* Release every block and the arena. ds_arena_free(NULL) does nothing. */
void ds_arena_free(ds_arena *a);

/* Zeroed, 16-byte aligned memory, or NULL when the cap or malloc fails. */
void *ds_arena_alloc(ds_arena *a, size_t size);

/* Copy of s (NULL gives NULL), or NULL on failure. */
char *ds_arena_strdup(ds_arena *a, const char *s);

/* printf into arena memory; NULL on failure. */
char *ds_arena_printf(ds_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A ProtobufCAllocator drawing from `a` (free is a no-op), for
 * protobuf_c_message_unpack. Valid as long as the arena. */
ProtobufCAllocator *ds_arena_allocator(ds_arena *a);

/* Bytes handed out so far (for tests and metrics). */
size_t ds_arena_used(const ds_arena *a);

#endif
