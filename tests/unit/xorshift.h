/* xorshift.h — a seeded xorshift64 for randomised unit tests: the same
 * sequence on every run, so a failure can be replayed. Define
 * XORSHIFT_SEED before including to pick another sequence. */
#ifndef DG_TEST_XORSHIFT_H
#define DG_TEST_XORSHIFT_H

#include <stdint.h>

#ifndef XORSHIFT_SEED
#define XORSHIFT_SEED 0x9e3779b97f4a7c15ULL
#endif

static uint64_t rng = XORSHIFT_SEED;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#endif
