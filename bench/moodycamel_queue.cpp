/*
 * bench/moodycamel_queue.cpp - moodycamel::BlockingConcurrentQueue (W3
 * only), used as its README recommends for speed: one ProducerToken per
 * producer thread, one ConsumerToken per consumer, enqueue / wait_dequeue.
 * The queue is unbounded (enqueue allocates blocks as needed).
 *
 *   moodycamel_queue W3 N producers consumers
 */
#include "common.h"

#include <concurrentqueue/blockingconcurrentqueue.h>

#include <string>
#include <thread>
#include <vector>

#define PEER "moodycamel"

static void w3(long n, long np, long nc)
{
    moodycamel::BlockingConcurrentQueue<void *> q;
    std::vector<std::thread> th;
    std::vector<uint64_t> got(nc), sum(nc);
    int64_t t0 = bench_now_ns();
    for (long k = 0; k < np; k++)
        th.emplace_back([&, k] {
            moodycamel::ProducerToken tok(q);
            for (long i = k + 1; i <= n; i += np)
                q.enqueue(tok, (void *)(uintptr_t)i);
        });
    for (long k = 0; k < nc; k++)
        th.emplace_back([&, k] {
            moodycamel::ConsumerToken tok(q);
            long take = n / nc + (k < n % nc);
            uint64_t g = 0, s = 0;
            for (long i = 0; i < take; i++) {
                void *item;
                q.wait_dequeue(tok, item);
                s += (uintptr_t)item;
                g++;
            }
            got[k] = g;
            sum[k] = s;
        });
    for (auto &t : th)
        t.join();
    int64_t t1 = bench_now_ns();
    uint64_t g = 0, s = 0;
    for (long k = 0; k < nc; k++) {
        g += got[k];
        s += sum[k];
    }
    int ok = g == (uint64_t)n && s == bench_w3_sum((uint64_t)n);
    const char *w = bench_w3_name(np, nc);
    bench_result(w, PEER, "ns_per_item", (double)(t1 - t0) / (double)n, ok);
    bench_result(w, PEER, "mitems_per_s", (double)n * 1e3 / (double)(t1 - t0), ok);
}

int main(int argc, char **argv)
{
    std::string w = argc > 1 ? argv[1] : "";
    if (w == "W3") {
        bench_note(PEER, "W3: BlockingConcurrentQueue is unbounded");
        w3(bench_arg(argc, argv, 2, 10000000), bench_arg(argc, argv, 3, 1),
           bench_arg(argc, argv, 4, 1));
    } else if (w == "W1" || w == "W2" || w == "W4" || w == "W5" || w == "W6" || w == "W7" ||
               w == "W8" || w == "W9" || w == "W10" || w == "W11")
        bench_unsupported(w.c_str(), PEER, "a queue only, not a task pool");
    else {
        fprintf(stderr, "usage: %s W3 N producers consumers\n", argv[0]);
        return 2;
    }
    return 0;
}
