/* parallel_for.c - crew_parallel_for: draw the Mandelbrot set in ASCII.
 *
 *   parallel_for [width [height [max_iter [workers]]]]   defaults 78 x 32, 2000
 *
 * Every character of the picture is independent, so the rows are split among
 * the workers: crew_parallel_for calls the body on pieces [lo, hi) of the row
 * range (here at most 2 rows each: rows near the set cost far more than rows
 * far from it, and small pieces balance the load).  Each body writes only its
 * own rows, so no locking is needed.  The picture is then drawn again with a
 * plain loop and the two are compared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crew.h"

typedef struct picture {
    int width, height, max_iter;
    char *pixels; /* height rows of width characters */
} picture;

/* How many steps z -> z^2 + c takes to leave the radius-2 disc. */
static int escape_steps(double cr, double ci, int max_iter)
{
    double zr = 0, zi = 0;
    int i = 0;
    while (i < max_iter && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        i++;
    }
    return i;
}

static void draw_row(const picture *pic, int y)
{
    static const char shades[] = " .:-=+*#%"; /* by log2(steps); '@': inside */
    for (int x = 0; x < pic->width; x++) {
        double cr = -2.2 + 3.2 * x / pic->width;
        double ci = -1.2 + 2.4 * y / pic->height;
        int steps = escape_steps(cr, ci, pic->max_iter);
        int shade = 0;
        for (int s = steps; s > 1 && shade < 8; s /= 2)
            shade++;
        char c = steps == pic->max_iter ? '@' : shades[shade];
        pic->pixels[(size_t)y * (size_t)pic->width + (size_t)x] = c;
    }
}

/* The body: draws rows [lo, hi). */
static int draw_rows(size_t lo, size_t hi, void *ctx)
{
    for (size_t y = lo; y < hi; y++)
        draw_row(ctx, (int)y);
    return 0;
}

int main(int argc, char **argv)
{
    picture pic = {78, 32, 2000, NULL};
    if (argc > 1)
        pic.width = atoi(argv[1]);
    if (argc > 2)
        pic.height = atoi(argv[2]);
    if (argc > 3)
        pic.max_iter = atoi(argv[3]);
    crew_pool_options opts;
    crew_pool_options_init(&opts);
    opts.workers = argc > 4 ? (unsigned)atoi(argv[4]) : 0;
    if (pic.width < 1 || pic.height < 1 || pic.max_iter < 1) {
        fprintf(stderr, "usage: parallel_for [width [height [max_iter [workers]]]]\n");
        return 2;
    }
    size_t size = (size_t)pic.width * (size_t)pic.height;
    pic.pixels = malloc(size);
    char *check = malloc(size);
    if (!pic.pixels || !check)
        return 1;

    crew_pool *pool;
    int rc = crew_pool_create(&pool, &opts);
    if (rc != 0) {
        fprintf(stderr, "crew_pool_create: %s\n", crew_strerror(rc));
        return 1;
    }

    /* In parallel: rows [0, height), at most 2 rows per piece. */
    int64_t t0 = crew_now_ns();
    rc = crew_parallel_for(pool, 0, (size_t)pic.height, 2, draw_rows, &pic, NULL);
    int64_t t1 = crew_now_ns();
    crew_pool_destroy(pool);
    if (rc != 0) {
        fprintf(stderr, "crew_parallel_for: %s\n", crew_strerror(rc));
        return 1;
    }

    /* The same picture with a plain loop, into another buffer. */
    char *parallel = pic.pixels;
    pic.pixels = check;
    int64_t t2 = crew_now_ns();
    draw_rows(0, (size_t)pic.height, &pic);
    int64_t t3 = crew_now_ns();

    if (pic.width <= 200)
        for (int y = 0; y < pic.height; y++)
            printf("%.*s\n", pic.width, parallel + (size_t)y * (size_t)pic.width);
    int same = memcmp(parallel, check, size) == 0;
    printf("%d x %d, %d iterations: parallel %.2f ms, sequential %.2f ms, %s\n", pic.width,
           pic.height, pic.max_iter, (double)(t1 - t0) / 1e6, (double)(t3 - t2) / 1e6,
           same ? "identical" : "DIFFERENT");
    free(parallel);
    free(check);
    return same ? 0 : 1;
}
