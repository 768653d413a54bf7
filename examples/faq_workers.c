/*
 * faq_workers.c - the worker-pool example of Python's threads FAQ ("How do
 * I parcel out work among a bunch of worker threads?"), done right in C.
 *
 *   faq_workers [directory]        (default: /usr/share/common-licenses)
 *
 * The main thread walks the directory tree and puts one job per regular file
 * into a bounded crew_queue.  Five worker threads (plain pthreads) take jobs
 * out, compute the file's CRC-32 and print one line per file.  The queue
 * hands every job to exactly one worker.  The main thread then waits with
 * crew_queue_join until every job is marked done, prints a summary, and
 * shuts the queue down: each worker's next get returns CREW_ESHUTDOWN and
 * the worker exits, so the threads can be joined.  A file that cannot be
 * read is reported as that job's error; the others carry on.
 *
 * Where the FAQ's Python uses daemon threads that simply die with the
 * program, here shutdown ends the workers cleanly: nothing is left running
 * and every job's memory is freed by the worker that ran it.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crew.h"

#define WORKERS 5
#define QUEUE_SIZE 16 /* bounded: the walker waits when workers fall behind */

/* One job: a file to checksum.  Owned by the queue between put and get,
 * then by the worker that got it, which frees it. */
struct job {
    char *path;
};

/* Per-worker tallies: written only by that worker, read by main only after
 * pthread_join, so they need no lock. */
struct worker {
    pthread_t thread;
    int number;
    crew_queue *jobs;
    long files;
    long errors;
    uint64_t bytes;
};

/* Lines from different workers must not interleave mid-line. */
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- CRC-32 (IEEE 802.3, as zlib and `gzip -l` compute it) --------------- */

static uint32_t crc_table[256];

static void crc32_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_update(uint32_t crc, const unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ buf[i]) & 0xFF] ^ (crc >> 8);
    return crc;
}

/* Checksums one file.  Returns 0, or an errno value. */
static int checksum_file(const char *path, uint32_t *crc_out, uint64_t *size_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno;
    unsigned char buf[64 * 1024];
    uint32_t crc = 0xFFFFFFFFu;
    uint64_t size = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        crc = crc32_update(crc, buf, n);
        size += n;
    }
    int err = ferror(f) ? EIO : 0;
    fclose(f);
    *crc_out = crc ^ 0xFFFFFFFFu;
    *size_out = size;
    return err;
}

/* ---- the workers ------------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        void *item;
        int rc = crew_queue_get(w->jobs, &item);
        if (rc == CREW_ESHUTDOWN)
            break; /* shut down and nothing left: we are done */
        if (rc != 0) {
            fprintf(stderr, "worker %d: get: %s\n", w->number, crew_strerror(rc));
            break;
        }
        struct job *job = item;
        uint32_t crc = 0;
        uint64_t size = 0;
        int err = checksum_file(job->path, &crc, &size);

        pthread_mutex_lock(&print_lock);
        if (err)
            printf("error     %10s  %s (worker %d): %s\n", "-", job->path, w->number,
                   strerror(err));
        else
            printf("%08" PRIx32 "  %10" PRIu64 "  %s (worker %d)\n", crc, size, job->path,
                   w->number);
        pthread_mutex_unlock(&print_lock);

        if (err)
            w->errors++;
        else
            w->bytes += size;
        w->files++;
        free(job->path);
        free(job);
        /* Tell the queue this job is finished (Python's q.task_done()). */
        crew_queue_task_done(w->jobs);
    }
    return NULL;
}

/* ---- walking the tree: the producer ------------------------------------ */

static crew_queue *walk_queue; /* nftw's callback has no context pointer */
static long walk_queued;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DNR) {
        fprintf(stderr, "cannot read directory %s\n", path);
        return 0;
    }
    if (type != FTW_F)
        return 0; /* directories, symbolic links, ... */
    struct job *job = malloc(sizeof *job);
    char *copy = job ? strdup(path) : NULL;
    if (!copy) {
        free(job);
        fprintf(stderr, "out of memory\n");
        return 1; /* stop the walk */
    }
    job->path = copy;
    /* Blocks while the queue is full: the workers set the pace. */
    int rc = crew_queue_put(walk_queue, job);
    if (rc != 0) {
        fprintf(stderr, "put: %s\n", crew_strerror(rc));
        free(job->path);
        free(job);
        return 1;
    }
    walk_queued++;
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/common-licenses";
    crc32_init();

    crew_queue_options opts;
    crew_queue_options_init(&opts);
    opts.kind = CREW_QUEUE_FIFO;
    opts.maxsize = QUEUE_SIZE;
    crew_queue *jobs;
    int rc = crew_queue_create(&jobs, &opts);
    if (rc != 0) {
        fprintf(stderr, "crew_queue_create: %s\n", crew_strerror(rc));
        return 1;
    }

    /* Start the workers first; they block in get until jobs arrive. */
    struct worker workers[WORKERS];
    int started = 0;
    for (int i = 0; i < WORKERS; i++) {
        workers[i] = (struct worker){.number = i + 1, .jobs = jobs};
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            fprintf(stderr, "cannot start worker %d\n", i + 1);
            break;
        }
        started++;
    }

    int status = 0;
    if (started > 0) {
        walk_queue = jobs;
        int walk = nftw(dir, visit, 16, FTW_PHYS);
        if (walk != 0) {
            fprintf(stderr, "%s: %s\n", dir, walk < 0 ? strerror(errno) : "walk stopped");
            status = 1;
        }
        /* Wait until every job put has been marked done (q.join()). */
        crew_queue_join(jobs);
    } else {
        status = 1;
    }

    /* No more work: every worker's next get returns CREW_ESHUTDOWN. */
    crew_queue_shutdown(jobs, false);
    for (int i = 0; i < started; i++)
        pthread_join(workers[i].thread, NULL);

    long files = 0, errors = 0;
    uint64_t bytes = 0;
    for (int i = 0; i < started; i++) {
        files += workers[i].files;
        errors += workers[i].errors;
        bytes += workers[i].bytes;
    }
    printf("\n%ld files (%ld unreadable), %" PRIu64 " bytes from %s\n", files, errors, bytes,
           dir);
    printf("jobs per worker:");
    for (int i = 0; i < started; i++)
        printf("  #%d: %ld", workers[i].number, workers[i].files);
    printf("\n");
    if (files != walk_queued) {
        fprintf(stderr, "queued %ld jobs but %ld ran\n", walk_queued, files);
        status = 1;
    }

    /* Every thread is joined, so nothing is blocked on the queue. */
    rc = crew_queue_destroy(jobs);
    if (rc != 0) {
        fprintf(stderr, "crew_queue_destroy: %s\n", crew_strerror(rc));
        status = 1;
    }
    return status;
}
