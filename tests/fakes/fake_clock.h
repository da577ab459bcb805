#ifndef CTRL_FAKE_CLOCK_H
#define CTRL_FAKE_CLOCK_H

/*
 * fake_clock: a link-seam replacement of base's clock (clock_now_ms,
 * clock_mono_ns, clock_sleep_ms) for unit tests that name it with
 * " * FAKES: fake_clock". Time stands still until a test moves it;
 * clock_sleep_ms advances it instantly instead of sleeping.
 *
 * One fake time drives both clocks: clock_now_ms() returns it in ms,
 * clock_mono_ns() in ns. It starts at FAKE_CLOCK_START_MS.
 *
 * Thread safety: all calls are thread-safe (atomics).
 */

#include <stdint.h>

#define FAKE_CLOCK_START_MS INT64_C(1700000000000) /* 2023-11-14T22:13:20Z */

/* Sets the time: clock_now_ms() == ms and clock_mono_ns() == ms * 1e6. */
void fake_clock_set_ms(int64_t ms);
/* Moves the time forward by ms (or ns). */
void fake_clock_advance_ms(int64_t ms);
void fake_clock_advance_ns(int64_t ns);

#endif /* CTRL_FAKE_CLOCK_H */
