/* test_fingerprint.c — normaliser, keyed streaming hash, frame, SimHash. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <sodium.h>

#include "fingerprint.h"

static const uint8_t KEY1[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t KEY2[16] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

static uint64_t norm_hash(const uint8_t *key, const char *s)
{
	struct dg_norm n;

	dg_norm_init(&n, key);
	dg_norm_feed(&n, s, strlen(s));
	return dg_norm_final(&n);
}

/* Normalise s into out with dg_norm_byte. */
static size_t normalise(const char *s, char *out, size_t cap)
{
	struct dg_normstate st = {0};
	unsigned char b[2];
	size_t n = 0;

	for (; *s; s++) {
		size_t k = dg_norm_byte(&st, (unsigned char)*s, b);
		for (size_t j = 0; j < k && n + 1 < cap; j++)
			out[n++] = (char)b[j];
	}
	out[n] = '\0';
	return n;
}

static void test_normalise_rules(void **state)
{
	char out[128];

	(void)state;
	normalise("  Hello\t\tWORLD 123 abc 4567  \n", out, sizeof(out));
	assert_string_equal(out, "hello world 0 abc 0");
	normalise("v1.2.30 x99y", out, sizeof(out));
	assert_string_equal(out, "v0.0.0 x0y");
	normalise("\n\n  \t", out, sizeof(out));
	assert_string_equal(out, "");
	normalise("caf\xc3\xa9 \xc3\x89T\xc3\x89", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 \xc3\x89t\xc3\x89");   /* non-ASCII untouched */
	normalise("1 2\n3", out, sizeof(out));
	assert_string_equal(out, "0 0 0");
}

/* dg_norm_run (sixteen bytes at a time where it can) gives what dg_norm_byte
 * gives, byte for byte, for texts mixing every byte class, whole or in runs
 * cut by a small output room. */
static void test_norm_run_matches_bytes(void **state)
{
	static const char pool[] = " \t\n\r\v\f0123456789AZaz@[`{\x7f\x80\xff\xc3\xa9.:_- ";
	unsigned char in[300], want[700], got[700];
	uint32_t r = 7;

	(void)state;
	for (int t = 0; t < 20000; t++) {
		struct dg_normstate a = {0}, b = {0};
		size_t len = (size_t)(t % 300), nw = 0, ng = 0, i = 0;

		for (size_t j = 0; j < len; j++) {
			r = r * 1103515245u + 12345u;
			in[j] = t % 3 == 0 ? (unsigned char)(r >> 16)
			      : t % 3 == 1 ? (unsigned char)pool[(r >> 16) % (sizeof(pool) - 1)]
			      : (r >> 16) % 6 == 0 ? ' ' : (unsigned char)('a' + (r >> 20) % 26);
		}
		for (size_t j = 0; j < len; j++)
			nw += dg_norm_byte(&a, in[j], want + nw);
		while (i < len) {
			size_t done, room = t % 2 ? 2 + (size_t)(t % 29) : sizeof(got) - ng;

			ng += dg_norm_run(&b, in + i, len - i, got + ng, room, &done);
			assert_true(done > 0);
			i += done;
		}
		assert_int_equal(ng, nw);
		assert_memory_equal(got, want, nw);
		assert_int_equal(a.started, b.started);
		assert_int_equal(a.space, b.space);
	}
}

static void test_norm_known_value(void **state)
{
	uint8_t in[8 + 3] = {0, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 'c'};
	uint8_t h[8];
	uint64_t want = 0;
	struct dg_norm n;

	(void)state;
	crypto_shorthash(h, in, sizeof(in), KEY1);
	for (int i = 7; i >= 0; i--)
		want = (want << 8) | h[i];
	assert_int_equal(norm_hash(KEY1, "  ABC \n"), want);

	dg_norm_init(&n, KEY1);
	dg_norm_feed(&n, " Ab", 3);
	dg_norm_feed(&n, "C  ", 3);
	assert_int_equal(dg_norm_final(&n), want);
	assert_int_equal(n.bytes, 3);
	/* final does not change the state */
	assert_int_equal(dg_norm_final(&n), want);

	/* the empty text */
	memset(in, 0, 8);
	crypto_shorthash(h, in, 8, KEY1);
	want = 0;
	for (int i = 7; i >= 0; i--)
		want = (want << 8) | h[i];
	assert_int_equal(norm_hash(KEY1, ""), want);
}

static void test_norm_templates_and_keys(void **state)
{
	(void)state;
	assert_int_equal(norm_hash(KEY1, "Order 12345 shipped to   Room 7"),
			 norm_hash(KEY1, "order 9 SHIPPED to room 808\n"));
	assert_int_not_equal(norm_hash(KEY1, "order 1 shipped"),
			     norm_hash(KEY1, "order 1 shipping"));
	assert_int_not_equal(norm_hash(KEY1, "same text"), norm_hash(KEY2, "same text"));
	assert_int_equal(dg_keyed_hash(KEY1, "x", 1), dg_keyed_hash(KEY1, "x", 1));
	assert_int_not_equal(dg_keyed_hash(KEY1, "x", 1), dg_keyed_hash(KEY2, "x", 1));
}

/* Long text crossing several 256-byte folds, fed in every split. */
static void test_norm_streaming(void **state)
{
	char text[1300];
	uint64_t whole;

	(void)state;
	for (size_t i = 0; i < sizeof(text) - 1; i++)
		text[i] = "The Quick  brown\tfox 1234 jumps\n"[i % 32];
	text[sizeof(text) - 1] = '\0';
	size_t len = strlen(text);
	whole = norm_hash(KEY1, text);

	struct dg_norm n;
	for (size_t cut = 0; cut <= len; cut++) {
		dg_norm_init(&n, KEY1);
		dg_norm_feed(&n, text, cut);
		dg_norm_feed(&n, text + cut, len - cut);
		assert_int_equal(dg_norm_final(&n), whole);
	}
	dg_norm_init(&n, KEY1);
	for (size_t i = 0; i < len; i++)
		dg_norm_feed(&n, text + i, 1);
	assert_int_equal(dg_norm_final(&n), whole);
	assert_true(n.bytes > 2 * DG_NORM_BUF);

	/* a change after the first fold still changes the hash */
	text[900] = text[900] == 'x' ? 'y' : 'x';
	assert_int_not_equal(norm_hash(KEY1, text), whole);
}

static void test_norm_limit(void **state)
{
	struct dg_norm a, b;

	(void)state;
	dg_norm_init(&a, KEY1);
	dg_norm_limit(&a, 5);
	dg_norm_feed(&a, "Hello 123 world", 15);
	dg_norm_init(&b, KEY1);
	dg_norm_feed(&b, "hello", 5);
	assert_int_equal(a.bytes, 5);
	assert_int_equal(dg_norm_final(&a), dg_norm_final(&b));
}

static uint64_t sim(const uint8_t *key, const char *s)
{
	struct dg_simhash h;

	dg_simhash_init(&h, key);
	dg_simhash_feed(&h, s, strlen(s));
	return dg_simhash_final(&h);
}

static const char *P1 =
	"You are a helpful assistant. Please translate the following customer "
	"support conversation from English into German, keeping the tone polite "
	"and the product names unchanged, then summarise the main complaint in "
	"two sentences and suggest a reply that the agent could send back.";
static const char *P2 =
	"You are a helpful assistant. Please translate the following customer "
	"support conversation from English into French, keeping the tone polite "
	"and the product names unchanged, then summarise the main complaint in "
	"two sentences and suggest a reply that the agent could send back.";
static const char *P3 =
	"Write a haiku about autumn leaves falling on a quiet mountain lake at "
	"dusk while a lone heron waits for fish among the reeds and cold wind "
	"rattles the birch branches near the old wooden pier by the boathouse.";

static void test_simhash_distance(void **state)
{
	(void)state;
	uint64_t a = sim(KEY1, P1), b = sim(KEY1, P2), c = sim(KEY1, P3);

	assert_int_not_equal(a, 0);
	/* Known value: the scheme (shingles, keyed hash, majority vote) is
	 * pinned, so a change that moves every record's simhash shows here. */
	assert_int_equal(a, 0x4774f745e8003125ULL);
	assert_true(dg_hamming64(a, b) <= 12);
	assert_true(dg_hamming64(a, c) >= 16);
	assert_true(dg_hamming64(b, c) >= 16);
	/* case, spacing and digits do not matter */
	assert_int_equal(sim(KEY1, "Call me at 555 1234 today please"),
			 sim(KEY1, "call  ME at 0 0\ntoday please"));
	/* keyed */
	assert_int_not_equal(sim(KEY1, P1), sim(KEY2, P1));
	/* short texts still hash; no words hash to 0 */
	assert_int_not_equal(sim(KEY1, "hi there"), 0);
	assert_int_not_equal(sim(KEY1, "hi there"), sim(KEY1, "bye there"));
	assert_int_equal(sim(KEY1, " ... !!! "), 0);
	assert_int_equal(sim(KEY1, ""), 0);
}

static void test_simhash_streaming_and_prefix(void **state)
{
	struct dg_simhash h;
	size_t len = strlen(P1);
	uint64_t whole = sim(KEY1, P1);

	(void)state;
	for (size_t cut = 0; cut <= len; cut++) {
		dg_simhash_init(&h, KEY1);
		dg_simhash_feed(&h, P1, cut);
		dg_simhash_feed(&h, P1 + cut, len - cut);
		assert_int_equal(dg_simhash_final(&h), whole);
	}

	/* Only the first DG_SIMHASH_PREFIX normalised bytes count. */
	char *big = malloc(20000);
	assert_non_null(big);
	memset(big, 0, 20000);
	while (strlen(big) + len + 2 < 10000) {
		strcat(big, P3);
		strcat(big, " ");
	}
	uint64_t base = sim(KEY1, big);
	strcat(big, P1);
	assert_int_equal(sim(KEY1, big), base);
	dg_simhash_init(&h, KEY1);
	dg_simhash_feed(&h, big, strlen(big));
	assert_int_equal(h.bytes, DG_SIMHASH_PREFIX);
	free(big);
}

/* Random texts of 60 made-up words (a fixed LCG): `change` >= 0 ends that
 * word with a digit instead. */
static uint32_t lcg;
static uint32_t lcg_next(void)
{
	lcg = lcg * 1103515245u + 12345u;
	return lcg >> 8;
}

static void random_text(char *b, int words, int change)
{
	size_t n = 0;

	for (int w = 0; w < words; w++) {
		int len = 2 + (int)(lcg_next() % 7);

		for (int i = 0; i < len; i++)
			b[n++] = (char)('a' + lcg_next() % 26);
		if (w == change)
			b[n - 1] = '0';
		b[n++] = ' ';
	}
	b[n] = '\0';
}

/* The properties the scorer relies on, measured over 200 texts: one word
 * changed in 60 moves few bits, unrelated texts differ in about half of
 * them, every bit is set about half the time (the shingle hash mixes
 * well), and another key gives unrelated hashes of the same texts. */
static void test_simhash_statistics(void **state)
{
	enum { N = 200 };
	static char b[1024];
	uint64_t h[N];
	int ones[64] = {0};
	long near = 0, far = 0, pairs = 0, other_key = 0;

	(void)state;
	lcg = 12345;
	for (int t = 0; t < N; t++) {
		uint32_t start = lcg, after;
		int d;

		random_text(b, 60, -1);
		h[t] = sim(KEY1, b);
		other_key += dg_hamming64(h[t], sim(KEY2, b));
		for (int k = 0; k < 64; k++)
			ones[k] += (int)((h[t] >> k) & 1);
		after = lcg;
		lcg = start;
		random_text(b, 60, 30);
		d = dg_hamming64(h[t], sim(KEY1, b));
		assert_true(d <= 20);
		near += d;
		lcg = after;
	}
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++, pairs++)
			far += dg_hamming64(h[i], h[j]);
	assert_true(near <= 10 * N);                       /* measured: 7.2 */
	assert_true(far >= 30 * pairs && far <= 34 * pairs);  /* 32.0 */
	assert_true(other_key >= 28 * N && other_key <= 36 * N);
	for (int k = 0; k < 64; k++)
		assert_true(ones[k] >= N / 4 && ones[k] <= 3 * N / 4);
}

/* Undo the \n \t \\ escapes of frame_cases.txt in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			*w++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s == 'r' ? '\r' : *s;
		} else if (*s != '\n') {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static int frame_of(const char *s, size_t step, uint64_t *fp)
{
	struct dg_frame f;
	size_t len = strlen(s);

	dg_frame_init(&f, KEY1);
	for (size_t i = 0; i < len; i += step)
		dg_frame_feed(&f, s + i, len - i < step ? len - i : step);
	return dg_frame_final(&f, fp);
}

/* The frame from the fixed end of s, fed step bytes at a time. */
static int tail_of(const char *s, size_t step, uint64_t *fp)
{
	struct dg_frame f;
	uint64_t head;
	size_t len = strlen(s);

	dg_frame_init(&f, KEY1);
	for (size_t i = 0; i < len; i += step)
		dg_frame_feed(&f, s + i, len - i < step ? len - i : step);
	dg_frame_final(&f, &head);
	return dg_frame_tail(&f, fp);
}

/* The hash of a skeleton as the table writes it. */
static uint64_t skeleton_hash(const char *skel, uint64_t limit)
{
	struct dg_norm n;

	dg_norm_init(&n, KEY1);
	dg_norm_limit(&n, limit);
	dg_norm_feed(&n, skel, strlen(skel));
	return dg_norm_final(&n);
}

/* Every case of the shared table, fed whole, one byte at a time and in
 * pieces of 7, hashes as its expected skeleton from the head (OUT) and
 * from the fixed end (TAIL). */
static void test_frame_cases(void **state)
{
	const char *dir = getenv("DG_FIXTURES") ? getenv("DG_FIXTURES") : "tests/unit/fixtures";
	char path[512], line[4096], in[4096] = "";
	int cases = 0, tails = 0, have_in = 0;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/frame_cases.txt", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		if (!strncmp(line, "IN ", 3)) {
			snprintf(in, sizeof(in), "%s", line + (strlen(line) > 4 ? 4 : strlen(line)));
			unescape(in);
			have_in = 1;
		} else if (!strncmp(line, "OUT", 3)) {
			char out[4096];
			uint64_t a = 0, b = 0;
			int ha, hb;

			assert_true(have_in);
			snprintf(out, sizeof(out), "%s", line + (strlen(line) > 4 ? 4 : strlen(line)));
			unescape(out);
			ha = frame_of(in, strlen(in) + 1, &a);
			hb = frame_of(in, 1, &b);
			if (!*out) {
				assert_int_equal(ha, 0);
			} else {
				struct dg_norm n;

				dg_norm_init(&n, KEY1);
				dg_norm_limit(&n, DG_FRAME_LEN);
				dg_norm_feed(&n, out, strlen(out));
				if (a != dg_norm_final(&n))
					fail_msg("frame of \"%s\" is not \"%s\"", in, out);
				assert_int_equal(ha, 1);
			}
			assert_int_equal(ha, hb);
			assert_int_equal(a, b);
			cases++;
		} else if (!strncmp(line, "TAIL", 4)) {
			char out[4096];
			uint64_t a = 0, b = 0, c = 0;
			int ha, hb, hc;

			assert_true(have_in);
			snprintf(out, sizeof(out), "%s", line + (strlen(line) > 5 ? 5 : strlen(line)));
			unescape(out);
			ha = tail_of(in, strlen(in) + 1, &a);
			hb = tail_of(in, 1, &b);
			hc = tail_of(in, 7, &c);
			assert_int_equal(ha, hb);
			assert_int_equal(ha, hc);
			assert_int_equal(a, b);
			assert_int_equal(a, c);
			if (!*out) {
				assert_int_equal(ha, 0);
			} else {
				assert_int_equal(ha, 1);
				if (a != skeleton_hash(out, 0))
					fail_msg("tail of \"%s\" is not \"%s\"", in, out);
				tails++;
			}
			have_in = 0;
		}
	}
	fclose(fp);
	assert_true(cases >= 10);
	assert_true(tails >= 8);
}

/* A template whose question comes first keeps one tail whatever the
 * question, and no two instructions share one; its head changes. */
static void test_frame_tail_template(void **state)
{
	uint64_t a, b, c, d, ha, hb;

	(void)state;
	assert_true(tail_of("What is 2 + 2?\n\nThink step by step and show your working.", 5, &a));
	assert_true(tail_of("Why is the sky blue?\nIt looks blue to me.\n\nThink step by step "
			    "and show your working.", 3, &b));
	assert_true(tail_of("What is 2 + 2?\n\nAnswer in one word.", 5, &c));
	assert_int_equal(a, b);
	assert_int_not_equal(a, c);
	assert_true(frame_of("What is 2 + 2?\n\nThink step by step and show your working.", 5, &ha));
	assert_true(frame_of("Why is the sky blue?\n\nThink step by step and show your working.",
			     5, &hb));
	assert_int_not_equal(ha, hb);
	/* One line, or a label last: no tail. */
	assert_false(tail_of("Think step by step about 2 + 2.", 4, &d));
	assert_false(tail_of("Passage: text\nQuestion: why?\nAnswer:", 4, &d));
}

/* A template filled with different values keeps its frame; another
 * instruction or label set does not. */
static void test_frame_template(void **state)
{
	uint64_t a, b, c, d;

	(void)state;
	assert_true(frame_of("Answer briefly.\nContext: 123 apples\nQ: why?\nA:", 7, &a));
	assert_true(frame_of("Answer  briefly.\nContext: a much longer passage\nover two lines\n"
			     "Q: how?\nA:", 3, &b));
	assert_true(frame_of("Answer briefly.\nBackground: 123 apples\nQ: why?\nA:", 7, &c));
	assert_true(frame_of("Answer in detail.\nContext: 123 apples\nQ: why?\nA:", 7, &d));
	assert_int_equal(a, b);
	assert_int_not_equal(a, c);
	assert_int_not_equal(a, d);
}

static void test_wiping_alloc(void **state)
{
	yajl_alloc_funcs *af = &dg_yajl_wiping_alloc;

	(void)state;
	char *p = af->malloc(af->ctx, 10);
	memcpy(p, "0123456789", 10);
	p = af->realloc(af->ctx, p, 1000);
	assert_memory_equal(p, "0123456789", 10);
	p = af->realloc(af->ctx, p, 4);
	assert_memory_equal(p, "0123", 4);
	af->free(af->ctx, p);
	af->free(af->ctx, NULL);
	p = af->realloc(af->ctx, NULL, 8);
	assert_non_null(p);
	af->free(af->ctx, p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise_rules),
		cmocka_unit_test(test_norm_run_matches_bytes),
		cmocka_unit_test(test_norm_known_value),
		cmocka_unit_test(test_norm_templates_and_keys),
		cmocka_unit_test(test_norm_streaming),
		cmocka_unit_test(test_norm_limit),
		cmocka_unit_test(test_simhash_distance),
		cmocka_unit_test(test_simhash_streaming_and_prefix),
		cmocka_unit_test(test_simhash_statistics),
		cmocka_unit_test(test_frame_cases),
		cmocka_unit_test(test_frame_template),
		cmocka_unit_test(test_frame_tail_template),
		cmocka_unit_test(test_wiping_alloc),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
