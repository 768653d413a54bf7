/* args.c - one Redis command's argument vector.
 *
 * hiredis copies a command into its output buffer when it is appended
 * (redisAppendCommandArgv), so borrowed arguments only need to live until
 * then.  Copied arguments (numbers, short strings) go into an arena that
 * may move while it grows; their pointers are resolved by crew__args_done
 * just before the append (again after any later addition).  A failed allocation is remembered and
 * reported by crew__args_done, so builders need not check every add.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_impl.h"

void crew__args_init(crew__args *a)
{
    memset(a, 0, sizeof *a);
}

void crew__args_free(crew__args *a)
{
    free(a->v);
    free(a->len);
    free(a->off);
    free(a->arena);
    crew__args_init(a);
}

void crew__args_reset(crew__args *a)
{
    a->n = 0;
    a->used = 0;
    a->oom = false;
}

#define BORROWED SIZE_MAX /* off[i] of an argument not in the arena */

static bool grow(crew__args *a)
{
    if (a->n < a->cap)
        return true;
    size_t cap = a->cap ? 2 * a->cap : 16;
    const char **v = realloc(a->v, cap * sizeof *v);
    if (v)
        a->v = v;
    size_t *len = realloc(a->len, cap * sizeof *len);
    if (len)
        a->len = len;
    size_t *off = realloc(a->off, cap * sizeof *off);
    if (off)
        a->off = off;
    if (!v || !len || !off) {
        a->oom = true;
        return false;
    }
    a->cap = cap;
    return true;
}

void crew__args_add(crew__args *a, const void *p, size_t len)
{
    if (!grow(a))
        return;
    a->v[a->n] = p ? p : "";
    a->len[a->n] = len;
    a->off[a->n] = BORROWED;
    a->n++;
}

void crew__args_str(crew__args *a, const char *s)
{
    crew__args_add(a, s, strlen(s));
}

void crew__args_copy(crew__args *a, const void *p, size_t len)
{
    if (!grow(a))
        return;
    if (a->used + len > a->room) {
        size_t room = a->room ? 2 * a->room : 256;
        while (room < a->used + len)
            room *= 2;
        char *arena = realloc(a->arena, room);
        if (!arena) {
            a->oom = true;
            return;
        }
        a->arena = arena;
        a->room = room;
    }
    if (len)
        memcpy(a->arena + a->used, p, len);
    a->v[a->n] = NULL;
    a->len[a->n] = len;
    a->off[a->n] = a->used;
    a->used += len;
    a->n++;
}

void crew__args_u64(crew__args *a, uint64_t x)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRIu64, x);
    crew__args_copy(a, b, (size_t)n);
}

void crew__args_i64(crew__args *a, int64_t x)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRId64, x);
    crew__args_copy(a, b, (size_t)n);
}

int crew__args_done(crew__args *a)
{
    if (a->oom)
        return CREW_ENOMEM;
    for (size_t i = 0; i < a->n; i++)
        if (a->off[i] != BORROWED)
            a->v[i] = a->arena + a->off[i];
    return 0;
}
