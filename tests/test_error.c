/* test_error.c - the error convention: every code has a name and a text. */
#include <string.h>

#include "check.h"

int main(void)
{
    for (int c = 0; c > -CREW_ERROR_COUNT_; c--) {
        CHECK(crew_strerror(c) != NULL);
        CHECK(strcmp(crew_err_name(c), "CREW_E?") != 0);
        CHECK(strcmp(crew_strerror(c), "unknown crew error") != 0);
    }
    CHECK(strcmp(crew_err_name(CREW_EEMPTY), "CREW_EEMPTY") == 0);
    CHECK(strcmp(crew_err_name(CREW_ETIMEDOUT), "CREW_ETIMEDOUT") == 0);
    CHECK(strcmp(crew_strerror(1), "unknown crew error") == 0);
    CHECK(strcmp(crew_strerror(-1000), "unknown crew error") == 0);
    CHECK(strcmp(crew_err_name(-CREW_ERROR_COUNT_), "CREW_E?") == 0);
    CHECK(strcmp(crew_err_name(CREW_ESTATE), "CREW_ESTATE") == 0);
    CHECK(strcmp(crew_err_name(CREW_EDEADLETTER), "CREW_EDEADLETTER") == 0);
    CHECK_EQ(CREW_EBROKER, -(CREW_ERROR_COUNT_ - 1)); /* the last code */

    /* The clock is monotonic and in nanoseconds. */
    int64_t a = crew_now_ns(), b = crew_now_ns();
    CHECK(a > 0 && b >= a);
    return check_exit("test_error");
}
