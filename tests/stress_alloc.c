/* stress_alloc.c - the task-block allocator (src/base/alloc.h) on its own:
 * blocks allocated by one thread and freed by another (the usual path of a
 * task: a submitter allocates, a worker frees), under thread churn.
 *
 * Long-lived threads and waves of short-lived ones allocate blocks, write a
 * stamp into every byte, and hand most of them to freer threads through a
 * locked list (the rest they free themselves).  Checked: no block is handed
 * out while it is live (a set of live addresses), every block is aligned
 * and keeps its stamp until it is freed, and the process's address space
 * after the last wave stays within a few regions of the first (the blocks
 * of exited threads are reused).  ASan builds allocate blocks with malloc:
 * the allocator's checks are meaningless there and only the hand-off part
 * runs.
 *
 *   stress_alloc [waves [blocks_per_thread]]   defaults: 300 waves, 2000
 *
 * Prints the number of checked hand-offs (blocks freed by another thread). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "check.h"
#include "support.h"

/* ---- the set of live blocks (open addressing, under a lock) ------------- */

#define SET_SIZE (1u << 20)
static uintptr_t live[SET_SIZE];
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_long dup_allocs, lost_frees, bad_stamps, misaligned;

static size_t slot_of(uintptr_t a)
{
    return (size_t)((a / CREW__BLOCK_SIZE) * 0x9e3779b97f4a7c15ull >> 44) & (SET_SIZE - 1);
}

static void live_add(void *b)
{
    uintptr_t a = (uintptr_t)b;
    pthread_mutex_lock(&live_mu);
    size_t i = slot_of(a);
    while (live[i] && live[i] != a)
        i = (i + 1) & (SET_SIZE - 1);
    if (live[i] == a)
        atomic_fetch_add(&dup_allocs, 1); /* handed out twice */
    live[i] = a;
    pthread_mutex_unlock(&live_mu);
}

static void live_remove(void *b)
{
    uintptr_t a = (uintptr_t)b;
    pthread_mutex_lock(&live_mu);
    size_t i = slot_of(a);
    while (live[i] && live[i] != a)
        i = (i + 1) & (SET_SIZE - 1);
    if (live[i] != a) {
        atomic_fetch_add(&lost_frees, 1);
        pthread_mutex_unlock(&live_mu);
        return;
    }
    /* Backward-shift deletion keeps every probe chain whole. */
    size_t j = i;
    for (;;) {
        live[i] = 0;
        for (;;) {
            j = (j + 1) & (SET_SIZE - 1);
            if (!live[j])
                goto done;
            size_t k = slot_of(live[j]);
            if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
                continue;
            break;
        }
        live[i] = live[j];
        i = j;
    }
done:
    pthread_mutex_unlock(&live_mu);
}

/* ---- blocks -------------------------------------------------------------- */

static void *get_block(unsigned char stamp)
{
    void *b = crew__block_alloc();
    if (!b)
        return NULL;
    if ((uintptr_t)b % CREW__BLOCK_SIZE)
        atomic_fetch_add(&misaligned, 1);
    live_add(b);
    memset(b, stamp, CREW__BLOCK_SIZE);
    return b;
}

static void put_block(void *b, unsigned char stamp)
{
    const unsigned char *c = b;
    for (int i = 0; i < CREW__BLOCK_SIZE; i++)
        if (c[i] != stamp) {
            atomic_fetch_add(&bad_stamps, 1);
            break;
        }
    live_remove(b);
    crew__block_free(b);
}

/* ---- the hand-off list ---------------------------------------------------- */

typedef struct handed {
    void *b;
    unsigned char stamp;
} handed;

#define LIST_CAP 65536
static handed list[LIST_CAP];
static size_t list_n;
static pthread_mutex_t list_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t list_cv = PTHREAD_COND_INITIALIZER;
static int producers_left;
static atomic_llong handoffs;

/* Hands b to a freer; frees it here if the list is full. */
static void hand_over(void *b, unsigned char stamp)
{
    pthread_mutex_lock(&list_mu);
    if (list_n < LIST_CAP) {
        list[list_n++] = (handed){b, stamp};
        pthread_cond_signal(&list_cv);
        pthread_mutex_unlock(&list_mu);
        return;
    }
    pthread_mutex_unlock(&list_mu);
    put_block(b, stamp);
}

static void *freer(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&list_mu);
        while (list_n == 0 && producers_left > 0)
            pthread_cond_wait(&list_cv, &list_mu);
        if (list_n == 0) {
            pthread_mutex_unlock(&list_mu);
            break;
        }
        handed h = list[--list_n];
        pthread_mutex_unlock(&list_mu);
        put_block(h.b, h.stamp);
        atomic_fetch_add(&handoffs, 1);
    }
    crew__block_flush();
    return NULL;
}

static long per_thread;

static void *allocator(void *arg)
{
    unsigned char stamp = (unsigned char)(uintptr_t)arg;
    void *mine[64];
    int kept = 0;
    for (long i = 0; i < per_thread; i++) {
        void *b = get_block(stamp);
        CHECK(b != NULL);
        if (!b)
            break;
        if (i % 4 == 0 && kept < 64) {
            mine[kept++] = b; /* freed by this thread, later */
        } else {
            hand_over(b, stamp);
        }
        if (kept == 64 || (i % 97 == 0 && kept)) {
            while (kept)
                put_block(mine[--kept], stamp);
        }
    }
    while (kept)
        put_block(mine[--kept], stamp);
    return NULL;
}

static long long vm_bytes(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    long long pages = 0;
    if (!fp)
        return 0;
    if (fscanf(fp, "%lld", &pages) != 1)
        pages = 0;
    fclose(fp);
    return pages * sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
#if defined(CREW_SANITIZER_BUILD)
    long waves = arg_long(argc, argv, 1, 60); /* threads are slow to start there */
#else
    long waves = arg_long(argc, argv, 1, 300);
#endif
    per_thread = arg_long(argc, argv, 2, 2000);
    enum { FREERS = 2, STEADY = 2, WAVE = 6 };
    pthread_t fr[FREERS], st[STEADY];
    producers_left = 1; /* main's waves */
    for (int i = 0; i < FREERS; i++)
        CHECK_EQ(pthread_create(&fr[i], NULL, freer, NULL), 0);
    for (int i = 0; i < STEADY; i++)
        CHECK_EQ(pthread_create(&st[i], NULL, allocator, (void *)(uintptr_t)(i + 1)), 0);
    long long first = 0, last = 0;
    for (long w = 0; w < waves; w++) {
        pthread_t th[WAVE];
        for (int i = 0; i < WAVE; i++)
            CHECK_EQ(pthread_create(&th[i], NULL, allocator, (void *)(uintptr_t)(16 + i)), 0);
        for (int i = 0; i < WAVE; i++)
            pthread_join(th[i], NULL);
        if (w == waves / 10)
            first = vm_bytes();
    }
    last = vm_bytes();
    for (int i = 0; i < STEADY; i++)
        pthread_join(st[i], NULL);
    pthread_mutex_lock(&list_mu);
    producers_left = 0;
    pthread_cond_broadcast(&list_cv);
    pthread_mutex_unlock(&list_mu);
    for (int i = 0; i < FREERS; i++)
        pthread_join(fr[i], NULL);
    CHECK_EQ(atomic_load(&dup_allocs), 0);
    CHECK_EQ(atomic_load(&lost_frees), 0);
    CHECK_EQ(atomic_load(&bad_stamps), 0);
    CHECK_EQ(atomic_load(&misaligned), 0);
    long left = 0;
    for (size_t i = 0; i < SET_SIZE; i++)
        left += live[i] != 0;
    CHECK_EQ(left, 0); /* every block was freed once */
#if !defined(CREW_BLOCKS_MALLOC_TEST)
    if (first && last)
        CHECK(last - first < 16LL << 20); /* a few regions, not one per thread */
#endif
    printf("stress_alloc: %ld waves of %d threads, %lld checked hand-offs, address space %+lld KiB\n",
           waves, WAVE, (long long)atomic_load(&handoffs), (last - first) / 1024);
    return check_exit("stress_alloc");
}
