/* idmap.c - a hash table of records keyed by a non-zero u64: the client's
 * jobs waiting for their result, by sequence number and by future.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones, so a table that sees millions of puts and deletes never
 * degrades).  Load factor at most 1/2.  Not thread-safe: the client guards
 * both of its tables with its map lock.
 */
#include <stdlib.h>
#include <string.h>

#include "remote_impl.h"

static size_t hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k;
}

void crew__idmap_init(crew__idmap *m)
{
    memset(m, 0, sizeof *m);
}

void crew__idmap_free(crew__idmap *m)
{
    free(m->slot);
    crew__idmap_init(m);
}

static int grow(crew__idmap *m)
{
    size_t cap = m->slot ? 2 * (m->mask + 1) : 64;
    crew__rec *s = calloc(cap, sizeof *s);
    if (!s)
        return CREW_ENOMEM;
    crew__rec *old = m->slot;
    size_t oldcap = old ? m->mask + 1 : 0;
    m->slot = s;
    m->mask = cap - 1;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key)
            continue;
        size_t j = hash(old[i].key) & m->mask;
        while (s[j].key)
            j = (j + 1) & m->mask;
        s[j] = old[i];
    }
    free(old);
    return 0;
}

int crew__idmap_put(crew__idmap *m, const crew__rec *r)
{
    if (!m->slot || 2 * (m->count + 1) > m->mask + 1) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    size_t j = hash(r->key) & m->mask;
    while (m->slot[j].key)
        j = (j + 1) & m->mask;
    m->slot[j] = *r;
    m->count++;
    return 0;
}

crew__rec *crew__idmap_get(crew__idmap *m, uint64_t key)
{
    if (!m->slot || !key)
        return NULL;
    for (size_t j = hash(key) & m->mask; m->slot[j].key; j = (j + 1) & m->mask)
        if (m->slot[j].key == key)
            return &m->slot[j];
    return NULL;
}

bool crew__idmap_del(crew__idmap *m, uint64_t key, crew__rec *out)
{
    crew__rec *r = crew__idmap_get(m, key);
    if (!r)
        return false;
    if (out)
        *out = *r;
    /* Backward shift: pull later members of the probe run into the hole
     * when their home slot does not lie (cyclically) after the hole. */
    size_t hole = (size_t)(r - m->slot);
    for (size_t j = (hole + 1) & m->mask; m->slot[j].key; j = (j + 1) & m->mask) {
        size_t home = hash(m->slot[j].key) & m->mask;
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->slot[hole] = m->slot[j];
            hole = j;
        }
    }
    m->slot[hole].key = 0;
    m->count--;
    return true;
}

bool crew__idmap_valid(const crew__idmap *m)
{
    if (!m->slot)
        return m->count == 0;
    size_t keys = 0;
    for (size_t j = 0; j <= m->mask; j++) {
        if (!m->slot[j].key)
            continue;
        keys++;
        for (size_t k = hash(m->slot[j].key) & m->mask; k != j; k = (k + 1) & m->mask)
            if (!m->slot[k].key)
                return false; /* a hole between the key's home and the key */
    }
    return keys == m->count && 2 * m->count <= m->mask + 1;
}
