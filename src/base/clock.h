/* clock.h - internal: deadlines on the monotonic clock.
 *
 * Every timed wait in crew is turned into an absolute deadline in
 * crew_now_ns() nanoseconds.  CREW__FOREVER means no deadline. */
#ifndef CREW_SRC_CLOCK_H
#define CREW_SRC_CLOCK_H

#include <stdint.h>

#include "crew/error.h"

#define CREW__FOREVER INT64_MAX

/* Deadline for a relative timeout (timeout_ns >= 0), saturating. */
static inline int64_t crew__deadline_after(int64_t timeout_ns)
{
    int64_t now = crew_now_ns();
    if (timeout_ns > CREW__FOREVER - now)
        return CREW__FOREVER;
    return now + timeout_ns;
}

#endif
