/* crew-worker - serves a crew-remote queue (crew/remote.h): takes jobs from
 * Redis, runs them on a crew pool, stores their results.
 *
 * A program any user of crew-remote could write: it uses the public API
 * only, registers a few built-in tasks useful for tests and benchmarks, and
 * turns SIGTERM / SIGINT into crew_remote_worker_stop.  Your own tasks:
 * write the same thirty lines around crew_remote_worker_register (see
 * docs/REMOTE.md).  Manual: crew-worker.1.
 */
#include <crew/remote.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static crew_remote_worker *g_worker; /* for the signal handler */

/* ---- built-in tasks --------------------------------------------------------- */

static int task_noop(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)in, (void)n, (void)out, (void)ctx;
    return 0;
}

static int task_echo(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)ctx;
    return crew_remote_out_write(out, in, n) ? 1 : 0;
}

/* The payload as a decimal number (at most 19 digits), or -1. */
static long long payload_number(const void *in, size_t n)
{
    char b[24];
    if (n == 0 || n >= sizeof b)
        return -1;
    memcpy(b, in, n);
    b[n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(b, &end, 10);
    return errno || *end || v < 0 ? -1 : v;
}

/* Payload "ms[:tag]": sleeps ms milliseconds; the result is the payload. */
static int task_sleep_ms(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)ctx;
    const char *colon = memchr(in, ':', n);
    long long ms = payload_number(in, colon ? (size_t)(colon - (const char *)in) : n);
    if (ms < 0) {
        crew_remote_out_printf(out, "sleep-ms: the payload must be ms[:tag]");
        return 22;
    }
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
    return crew_remote_out_write(out, in, n) ? 1 : 0;
}

static _Thread_local volatile unsigned long g_sink; /* spin-ms's work goes somewhere */

/* Burns CPU for the payload's milliseconds (a CPU-bound job). */
static int task_spin_ms(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)ctx;
    long long ms = payload_number(in, n);
    if (ms < 0) {
        crew_remote_out_printf(out, "spin-ms: the payload must be a number of milliseconds");
        return 22;
    }
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (int i = 0; i < 10000; i++)
            g_sink += (unsigned long)i;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000LL + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
    return 0;
}

/* Payload "status[:message]": fails with that status and message. */
static int task_fail(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)ctx;
    const char *s = in, *colon = memchr(s, ':', n);
    long long st = payload_number(s, colon ? (size_t)(colon - s) : n);
    if (st <= 0 || st > 1000000) {
        crew_remote_out_printf(out, "fail: the payload must be status[:message], status > 0");
        return 22;
    }
    if (colon)
        crew_remote_out_write(out, colon + 1, n - (size_t)(colon - s) - 1);
    return (int)st;
}

/* Kills its own worker process (the dead-letter test's poison job). */
static int task_crash(const void *in, size_t n, crew_remote_out *out, void *ctx)
{
    (void)in, (void)n, (void)out, (void)ctx;
    kill(getpid(), SIGKILL);
    return 0;
}

/* ---- program ------------------------------------------------------------------ */

static void on_signal(int sig)
{
    (void)sig;
    crew_remote_worker_stop(g_worker); /* async-signal-safe */
}

static int g_verbose;

static void log_line(int level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level <= CREW_REMOTE_LOG_WARN || g_verbose)
        fprintf(stderr, "crew-worker: %s\n", msg);
}

static void usage(FILE *f)
{
    fputs("usage: crew-worker [-u URL] [-q QUEUE] [-n THREADS] [-b BATCH] [-p PREFETCH]\n"
          "                   [-l LEASE_MS] [-g GRACE_MS] [-d MAX_DELIVERIES]\n"
          "                   [-m MAX_PAYLOAD] [-c CONSUMER] [--dead-idle MS] [-v]\n"
          "URL: redis://[user@]host[:port][/db] or a unix socket path (default\n"
          "$CREW_REDIS_URL, else redis://127.0.0.1:6379); the password is read from\n"
          "$CREW_REDIS_PASSWORD.  Built-in tasks: noop, echo, sleep-ms, spin-ms, fail, crash.\n"
          "See crew-worker(1).\n",
          f);
}

static long long number(const char *opt, const char *s, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        fprintf(stderr, "crew-worker: %s: expected a number from %lld to %lld, got '%s'\n", opt,
                lo, hi, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    crew_remote_options o;
    crew_remote_options_init(&o);
    o.log = log_line;
    const char *url = getenv("CREW_REDIS_URL");
    if (!url || !*url)
        url = "redis://127.0.0.1:6379";
    static const struct option longs[] = {
        {"url", required_argument, 0, 'u'},       {"queue", required_argument, 0, 'q'},
        {"threads", required_argument, 0, 'n'},   {"batch", required_argument, 0, 'b'},
        {"prefetch", required_argument, 0, 'p'},  {"lease", required_argument, 0, 'l'},
        {"grace", required_argument, 0, 'g'},     {"max-deliveries", required_argument, 0, 'd'},
        {"max-payload", required_argument, 0, 'm'}, {"consumer", required_argument, 0, 'c'},
        {"dead-idle", required_argument, 0, 'D'}, {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "u:q:n:b:p:l:g:d:m:c:vh", longs, NULL)) != -1) {
        switch (ch) {
        case 'u': url = optarg; break;
        case 'q': o.queue = optarg; break;
        case 'n': o.threads = (unsigned)number("--threads", optarg, 1, 4096); break;
        case 'b': o.batch = (unsigned)number("--batch", optarg, 1, 10000); break;
        case 'p': o.prefetch = (unsigned)number("--prefetch", optarg, 1, 1000000); break;
        case 'l': o.lease_ns = number("--lease", optarg, 10, 86400000) * 1000000LL; break;
        case 'g': o.grace_ns = number("--grace", optarg, 0, 86400000) * 1000000LL; break;
        case 'd': o.max_deliveries = (unsigned)number("--max-deliveries", optarg, 1, 1000); break;
        case 'm': o.max_payload = (size_t)number("--max-payload", optarg, 1, 256 << 20); break;
        case 'c': o.consumer = optarg; break;
        case 'D': o.dead_consumer_idle_ns = number("--dead-idle", optarg, 1, 1LL << 40) * 1000000LL;
                  break;
        case 'v': g_verbose = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (o.prefetch && o.batch > o.prefetch)
        o.batch = o.prefetch;
    int rc = crew_remote_worker_create(&g_worker, url, &o);
    if (rc) {
        fprintf(stderr, "crew-worker: %s: %s\n", url, crew_strerror(rc));
        return 2;
    }
    static const struct {
        const char *name;
        crew_remote_task_fn fn;
    } builtins[] = {{"noop", task_noop},         {"echo", task_echo}, {"sleep-ms", task_sleep_ms},
                    {"spin-ms", task_spin_ms},   {"fail", task_fail}, {"crash", task_crash}};
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        crew_remote_worker_register(g_worker, builtins[i].name, builtins[i].fn, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = crew_remote_worker_serve(g_worker);
    crew_remote_worker_stats s;
    crew_remote_worker_get_stats(g_worker, &s);
    fprintf(stderr,
            "crew-worker: stopped (%s): taken %llu, reclaimed %llu, ran %llu, failed %llu, "
            "acked %llu, dead-lettered %llu, lease renewals %llu, reconnects %llu\n",
            crew_err_name(rc), (unsigned long long)s.taken, (unsigned long long)s.reclaimed,
            (unsigned long long)s.ran, (unsigned long long)s.failed, (unsigned long long)s.acked,
            (unsigned long long)s.dead_lettered, (unsigned long long)s.lease_renewals,
            (unsigned long long)s.reconnects);
    if (rc == CREW_ETIMEDOUT) {
        /* Jobs still running were handed back to the queue: leave without
         * waiting for them (destroy would). */
        fflush(NULL);
        _exit(0);
    }
    crew_remote_worker_destroy(g_worker);
    return rc ? 1 : 0;
}
