/* fingerprint.c — keyed, normalised, streaming text hashes. See fingerprint.h. */
#include "fingerprint.h"

#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sodium.h>

/* crypto_shorthash is SipHash-2-4 with an 8-byte output and 16-byte key. */
_Static_assert(crypto_shorthash_BYTES == 8, "SipHash output is 8 bytes");
_Static_assert(crypto_shorthash_KEYBYTES == DG_FP_KEYLEN, "SipHash key is 16 bytes");

static uint64_t load_le64(const uint8_t b[8])
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

uint64_t dg_keyed_hash(const uint8_t key[DG_FP_KEYLEN], const void *p, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];
	static const uint8_t empty[1];

	crypto_shorthash(out, len ? p : empty, len, key);
	return load_le64(out);
}

/* ----------------------------------------------------------- normaliser */

#define SP DG_NC_SPACE
#define DI DG_NC_DIGIT
const uint8_t dg_norm_class[256] = {
	['\t'] = SP, ['\n'] = SP, ['\v'] = SP, ['\f'] = SP, ['\r'] = SP, [' '] = SP,
	['0'] = DI, ['1'] = DI, ['2'] = DI, ['3'] = DI, ['4'] = DI,
	['5'] = DI, ['6'] = DI, ['7'] = DI, ['8'] = DI, ['9'] = DI,
};
#undef SP
#undef DI

#define ID16(b) b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, \
		b + 8, b + 9, b + 10, b + 11, b + 12, b + 13, b + 14, b + 15
const uint8_t dg_norm_lower[256] = {
	ID16(0x00), ID16(0x10),
	' ', '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '0', '0', '0', '0', '0', '0', '0', '0', '0', ':', ';', '<', '=', '>', '?',
	'@', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', '[', '\\', ']', '^', '_',
	ID16(0x60), ID16(0x70), ID16(0x80), ID16(0x90), ID16(0xa0), ID16(0xb0),
	ID16(0xc0), ID16(0xd0), ID16(0xe0), ID16(0xf0),
};
#undef ID16

/* Sixteen bytes as one vector (GCC and Clang vector extensions; on x86-64
 * and arm64 the operations below are SSE2 and NEON instructions). */
typedef uint8_t v16u8 __attribute__((vector_size(16)));

/* Ordinary text is normalised sixteen bytes at a time: when the sixteen
 * bytes hold no tab or line break, and no byte is a space after a space or
 * a digit after a digit (the byte before the first is read too: the state
 * says the same of it), every byte gives itself, lowered, a digit giving
 * '0', and a space just moves in front of the byte after it. Other stretches
 * (and the text's start) go through the byte loop, eight bytes at a time,
 * before the vector is tried again. */
size_t dg_norm_run(struct dg_normstate *st, const unsigned char *in, size_t len,
		   unsigned char *out, size_t room, size_t *done)
{
	/* The state lives in locals: stores to out could alias *st, which
	 * would make the compiler reload it after every byte. */
	int started = st->started, space = st->space, digit = st->digit;
	size_t i = 0, n = 0, bytewise = 8;

	while (i < len && n + 2 <= room) {
		if (i >= bytewise) {
			if (started && len - i >= 16 && room - n >= 17) {
				v16u8 x, p, ws, sp, psp, dg, pdg, up, bad;
				uint64_t any[2];

				memcpy(&x, in + i, 16);
				memcpy(&p, in + i - 1, 16);     /* i >= 8 here */
				sp = (v16u8)(x == ' ');
				ws = (v16u8)((v16u8)(x - '\t') <= '\r' - '\t');
				psp = (v16u8)((p == ' ') | ((v16u8)(p - '\t') <= '\r' - '\t'));
				dg = (v16u8)((v16u8)(x - '0') <= 9);
				pdg = (v16u8)((v16u8)(p - '0') <= 9);
				up = (v16u8)((v16u8)(x - 'A') <= 'Z' - 'A');
				bad = ws | (sp & psp) | (dg & pdg);
				memcpy(any, &bad, 16);
				if (!(any[0] | any[1])) {
					x += up & 0x20;
					x = (x & ~dg) | (dg & '0');
					if (space)
						out[n++] = ' ';
					memcpy(out + n, &x, 16);
					/* A last space is pending: written, not counted. */
					space = x[15] == ' ';
					digit = x[15] == '0';
					n += 16 - (size_t)space;
					i += 16;
					continue;
				}
			}
			bytewise = i + 8;
		}
		unsigned char c = in[i++];
		int k = dg_norm_class[c];

		if (k == DG_NC_SPACE) {
			space |= started;
			continue;
		}
		if (k == DG_NC_DIGIT && digit && !space)
			continue;           /* still inside a digit run */
		if (space) {
			out[n++] = ' ';
			space = 0;
		}
		started = 1;
		out[n++] = dg_norm_lower[c];
		digit = k == DG_NC_DIGIT;
	}
	st->started = (uint8_t)started;
	st->space = (uint8_t)space;
	st->digit = (uint8_t)digit;
	*done = i;
	return n;
}

/* ---------------------------------------------------------------- dg_norm */

void dg_norm_init(struct dg_norm *n, const uint8_t key[DG_FP_KEYLEN])
{
	memset(n, 0, sizeof(*n));
	memcpy(n->key, key, DG_FP_KEYLEN);
}

void dg_norm_limit(struct dg_norm *n, uint64_t max_bytes)
{
	n->limit = max_bytes;
}

/* Fold the full buffer into the state: state = H(state || buf). */
static void norm_fold(struct dg_norm *n)
{
	uint8_t out[crypto_shorthash_BYTES];

	crypto_shorthash(out, n->blk, 8 + n->used, n->key);
	memcpy(n->blk, out, 8);
	sodium_memzero(n->blk + 8, n->used);
	n->used = 0;
}

static void norm_put(struct dg_norm *n, unsigned char c)
{
	if (n->limit && n->bytes >= n->limit)
		return;
	n->blk[8 + n->used++] = c;
	n->bytes++;
	if (n->used == DG_NORM_BUF)
		norm_fold(n);
}

/* Normalises straight into the block buffer, a run at a time. */
void dg_norm_feed(struct dg_norm *n, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	while (len) {
		size_t room = DG_NORM_BUF - n->used, done, k;

		if (n->limit && n->bytes >= n->limit)
			return;             /* nothing more is hashed */
		if (n->limit && n->limit - n->bytes < room)
			room = (size_t)(n->limit - n->bytes);
		if (room < 2) {
			/* The last byte before a fold or the limit: a byte
			 * that gives two puts the second after the fold, or
			 * drops it at the limit. */
			unsigned char out[2];

			k = dg_norm_byte(&n->st, *p, out);
			for (size_t j = 0; j < k; j++)
				norm_put(n, out[j]);
			p++;
			len--;
			continue;
		}
		k = dg_norm_run(&n->st, p, len, n->blk + 8 + n->used, room, &done);
		n->used += k;
		n->bytes += k;
		p += done;
		len -= done;
		if (n->used == DG_NORM_BUF)
			norm_fold(n);
	}
}

/* Hash bytes that are normalised already (the frame's line bytes) as
 * dg_norm_feed would, without normalising them again. A normalised run
 * never holds two spaces, a line break or a digit right after a digit, so
 * only its ends can need the normaliser: a pending space goes first, a run
 * that starts with a space or a digit continuing n's goes through
 * dg_norm_feed, and a last space (a run cut short) stays pending. */
static void norm_append(struct dg_norm *n, const unsigned char *p, size_t k)
{
	int last_space;

	if (!k)
		return;
	if (p[0] == ' ' || (p[0] == '0' && n->st.digit && !n->st.space)) {
		dg_norm_feed(n, (const char *)p, k);
		return;
	}
	if (n->st.space) {
		norm_put(n, ' ');
		n->st.space = 0;
	}
	last_space = p[k - 1] == ' ';
	k -= (size_t)last_space;
	n->st.started = 1;
	n->st.space = (uint8_t)last_space;
	n->st.digit = p[k - 1] == '0';
	while (k && !(n->limit && n->bytes >= n->limit)) {
		size_t room = DG_NORM_BUF - n->used, m;

		if (n->limit && n->limit - n->bytes < room)
			room = (size_t)(n->limit - n->bytes);
		m = k < room ? k : room;
		memcpy(n->blk + 8 + n->used, p, m);
		n->used += m;
		n->bytes += m;
		p += m;
		k -= m;
		if (n->used == DG_NORM_BUF)
			norm_fold(n);
	}
}

uint64_t dg_norm_final(const struct dg_norm *n)
{
	uint8_t out[crypto_shorthash_BYTES];

	crypto_shorthash(out, n->blk, 8 + n->used, n->key);
	return load_le64(out);
}

/* --------------------------------------------------------------- dg_frame */

enum { FR_MORE, FR_LABEL, FR_OTHER };
enum { LINE_OPEN, LINE_COPY, LINE_SKIP };

void dg_frame_init(struct dg_frame *f, const uint8_t key[DG_FP_KEYLEN])
{
	memset(f, 0, sizeof(*f));
	dg_norm_init(&f->out, key);
	dg_norm_limit(&f->out, DG_FRAME_LEN);
}

/* Bytes a label may hold: [a-z0 _'#*-]. */
static const uint8_t label_bytes[256] = {
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
	['0'] = 1, [' '] = 1, ['_'] = 1, ['\''] = 1, ['#'] = 1, ['*'] = 1, ['-'] = 1,
};

static int label_byte(unsigned char c)
{
	return label_bytes[c];
}

/* Classify a line from its first n normalised bytes (eol: that is all of
 * it). FR_LABEL sets *len to the bytes kept. */
static int frame_classify(const uint8_t *l, size_t n, int eol, size_t *len)
{
	unsigned spaces = 0;

	if (n >= 2 && ((l[0] >= 'a' && l[0] <= 'z') || l[0] == '0') && (l[1] == '.' || l[1] == ')')) {
		if (n == 2 && !eol)
			return FR_MORE;
		if (n > 2 && l[2] != ' ')
			return FR_OTHER;
		*len = 2;
		return FR_LABEL;
	}
	for (size_t i = 0; i < n; i++) {
		if (l[i] == ':') {
			if (i == 0)
				return FR_OTHER;
			if (i + 1 == n && !eol)
				return FR_MORE;
			if (i + 1 < n && l[i + 1] != ' ')
				return FR_OTHER;
			*len = i + 1;
			return FR_LABEL;
		}
		if (!label_byte(l[i]) || (l[i] == ' ' && ++spaces > 3) || i >= DG_LABEL_MAX)
			return FR_OTHER;
	}
	return eol ? FR_OTHER : FR_MORE;
}

static void frame_elem(struct dg_frame *f, const uint8_t *p, size_t n)
{
	if (f->elems)
		dg_norm_feed(&f->out, "\n", 1);
	if (f->elems < 255)
		f->elems++;
	dg_norm_feed(&f->out, (const char *)p, n);
}

/* An element of the tail (a label, an enumerator, the "*" of a first line
 * of free text): the newest of the last DG_TAIL_ELEMS - 1 kept. */
static void tail_elem(struct dg_frame *f, const uint8_t *p, size_t n)
{
	if (n > DG_LABEL_MAX + 1)
		n = DG_LABEL_MAX + 1;
	if (f->tn == DG_TAIL_ELEMS - 1) {
		memmove(f->tel[0], f->tel[1], sizeof(f->tel[0]) * (DG_TAIL_ELEMS - 2));
		memmove(f->tlen, f->tlen + 1, DG_TAIL_ELEMS - 2);
		f->tn--;
	}
	memcpy(f->tel[f->tn], p, n);
	f->tlen[f->tn++] = (uint8_t)n;
}

/* Bytes of the candidate last line, up to DG_FRAME_LEN of them. */
static void tail_line(struct dg_frame *f, const uint8_t *p, size_t n)
{
	if (n > (size_t)(DG_FRAME_LEN - f->tline))
		n = (size_t)(DG_FRAME_LEN - f->tline);
	norm_append(&f->tcand, p, n);
	f->tline = (uint16_t)(f->tline + n);
}

/* A line of free text after the first: it is the tail's last line if no
 * other line follows. The tail's hash starts with the elements before it. */
static void tail_candidate(struct dg_frame *f)
{
	uint8_t key[DG_FP_KEYLEN];

	memcpy(key, f->out.key, sizeof(key));
	dg_norm_init(&f->tcand, key);
	sodium_memzero(key, sizeof(key));
	for (int i = 0; i < f->tn; i++) {
		dg_norm_feed(&f->tcand, (const char *)f->tel[i], f->tlen[i]);
		dg_norm_feed(&f->tcand, "\n", 1);
	}
	f->tline = 0;
	f->tcopy = 1;
	f->tpending = 1;
	tail_line(f, f->line, f->used);
}

static void frame_decide(struct dg_frame *f, int eol)
{
	size_t len = 0;
	int k = frame_classify(f->line, f->used, eol, &len);

	if (k == FR_MORE)
		return;
	f->tpending = 0;                  /* a line follows the candidate */
	if (k == FR_LABEL) {
		frame_elem(f, f->line, len);
		tail_elem(f, f->line, len);
		f->star = 1;              /* its value may go on over more lines */
		f->mode = LINE_SKIP;
	} else if (f->elems == 0) {
		frame_elem(f, f->line, f->used);      /* the instruction line */
		tail_elem(f, (const uint8_t *)"*", 1); /* ... the tail's payload */
		f->star = 0;
		f->mode = LINE_COPY;
	} else {
		if (!f->star)
			frame_elem(f, (const uint8_t *)"*", 1);
		f->star = 1;
		f->mode = LINE_SKIP;
		tail_candidate(f);
	}
}

static void frame_line_end(struct dg_frame *f)
{
	if (f->mode == LINE_OPEN && f->used)
		frame_decide(f, 1);
	memset(&f->st, 0, sizeof(f->st));
	sodium_memzero(f->line, sizeof(f->line));
	f->used = 0;
	f->mode = LINE_OPEN;
	f->tcopy = 0;
}

void dg_frame_feed(struct dg_frame *f, const char *s, size_t len)
{
	unsigned char out[DG_FRAME_LEN];
	size_t i = 0;

	while (i < len) {
		if (s[i] == '\n') {
			frame_line_end(f);
			i++;
			continue;
		}
		/* A skipped line, or a copied one once the frame (and the tail's
		 * candidate line) is full: on to the next line end. */
		if ((f->mode == LINE_SKIP ||
		     (f->mode == LINE_COPY && f->out.bytes >= f->out.limit)) &&
		    (!f->tcopy || f->tline >= DG_FRAME_LEN)) {
			const char *nl = memchr(s + i, '\n', len - i);

			if (!nl)
				return;
			i = (size_t)(nl - s);
			continue;
		}
		if (f->mode == LINE_OPEN) {
			/* A byte at a time until the line is classified. */
			size_t k = dg_norm_byte(&f->st, (unsigned char)s[i++], out);

			for (size_t j = 0; j < k; j++) {
				if (f->mode == LINE_OPEN) {
					f->line[f->used++] = out[j];   /* classified by sizeof(line) */
					/* A label byte other than a space, past an
					 * enumerator's bytes and not after a ':',
					 * leaves a label-like line undecided: only
					 * the other bytes can decide it. */
					if (f->used > 3 && f->used <= DG_LABEL_MAX &&
					    out[j] != ' ' && label_byte(out[j]) &&
					    f->line[f->used - 2] != ':')
						continue;
					frame_decide(f, 0);
					continue;     /* a candidate took the line so far */
				}
				if (f->mode == LINE_COPY)
					dg_norm_feed(&f->out, (const char *)&out[j], 1);
				if (f->tcopy)
					tail_line(f, &out[j], 1);
			}
			continue;
		}
		/* A copied line, or a skipped one whose bytes the tail still
		 * wants: normalise a run of it up to the line end at once
		 * (dg_norm hashes a stream the same in any split). */
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len, done;
		size_t k = dg_norm_run(&f->st, (const unsigned char *)s + i, end - i, out,
				       sizeof(out), &done);

		if (f->mode == LINE_COPY)
			norm_append(&f->out, out, k);
		if (f->tcopy)
			tail_line(f, out, k);
		i += done;
	}
	sodium_memzero(out, sizeof(out));
}

int dg_frame_final(struct dg_frame *f, uint64_t *fp)
{
	frame_line_end(f);
	if (!f->elems)
		return 0;
	*fp = dg_norm_final(&f->out);
	return 1;
}

int dg_frame_tail(const struct dg_frame *f, uint64_t *fp)
{
	if (!f->tpending)
		return 0;
	*fp = dg_norm_final(&f->tcand);
	return 1;
}

/* ------------------------------------------------------------- dg_simhash */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The 128-bit product of a and b, its halves folded. */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

void dg_simhash_init(struct dg_simhash *s, const uint8_t key[DG_FP_KEYLEN])
{
	uint64_t seed[2];

	memset(s, 0, sizeof(*s));
	seed[0] = dg_keyed_hash(key, "dg simhash k0", 13);
	seed[1] = dg_keyed_hash(key, "dg simhash k1", 13);
	for (int i = 0; i < 6; i++)
		s->k[i] = splitmix64(&seed[i & 1]);
	sodium_memzero(seed, sizeof(seed));
}

/* Word bytes of the normalised stream: [a-z0-9] and non-ASCII. */
#define AZ(b) b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b
static const uint8_t word_byte[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
	[0x80] = AZ(1), AZ(1), AZ(1), AZ(1), AZ(1), AZ(1), AZ(1), AZ(1),
};
#undef AZ

/* The counters never overflow: a shingle needs a word and a separator. */
_Static_assert(DG_SIMHASH_PREFIX / 2 + 1 < (1u << DG_SIMHASH_PLANES),
	       "simhash vote counters too narrow for the prefix");

_Static_assert(DG_SIMHASH_SHINGLE == 4, "shingle_hash mixes four words");

/* The keyed hash of the shingle made of the last nw word hashes (the slots
 * before the first word of a short text are 0; nw tells them apart). */
static uint64_t shingle_hash(const struct dg_simhash *s, uint32_t nw)
{
	const uint64_t *w = s->words, *k = s->k;
	uint64_t x = mum(w[0] ^ k[0], w[1] ^ k[1]);
	uint64_t y = mum(w[2] ^ k[2], w[3] ^ k[3]);

	return mum(x ^ k[4], y ^ k[5] ^ nw);
}

/* Vote with the shingle made of the last `nw` word hashes. */
static void simhash_vote(struct dg_simhash *s, uint32_t nw)
{
	uint64_t carry = shingle_hash(s, nw);

	/* Add one to the counter of every bit set in the hash, all 64 at
	 * once: plane j takes the carry out of plane j - 1. */
	for (int j = 0; carry && j < DG_SIMHASH_PLANES; j++) {
		uint64_t next = s->plane[j] & carry;

		s->plane[j] ^= carry;
		carry = next;
	}
	s->shingles++;
}

static void simhash_word_end(struct dg_simhash *s)
{
	memmove(s->words, s->words + 1, sizeof(s->words[0]) * (DG_SIMHASH_SHINGLE - 1));
	s->words[DG_SIMHASH_SHINGLE - 1] = s->cur;
	s->in_word = 0;
	if (s->nwords < UINT32_MAX)
		s->nwords++;
	if (s->nwords >= DG_SIMHASH_SHINGLE)
		simhash_vote(s, DG_SIMHASH_SHINGLE);
}

/* Words out of n normalised bytes. */
static void simhash_put(struct dg_simhash *s, const unsigned char *b, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (word_byte[b[i]]) {
			uint64_t h = s->in_word ? s->cur : FNV_OFFSET;

			do
				h = (h ^ b[i]) * FNV_PRIME;
			while (++i < n && word_byte[b[i]]);
			s->cur = h;
			s->in_word = 1;
		} else {
			if (s->in_word)
				simhash_word_end(s);
			i++;
		}
	}
}

void dg_simhash_feed(struct dg_simhash *s, const char *p, size_t len)
{
	const unsigned char *in = (const unsigned char *)p;
	unsigned char buf[256];

	while (len && s->bytes < DG_SIMHASH_PREFIX) {
		size_t room = DG_SIMHASH_PREFIX - s->bytes, done, k;

		if (room < 2) {
			/* The prefix's last byte: of a byte that gives two,
			 * the second is past the prefix. */
			if (dg_norm_byte(&s->st, *in, buf)) {
				simhash_put(s, buf, 1);
				s->bytes++;
			}
			in++;
			len--;
			continue;
		}
		if (room > sizeof(buf))
			room = sizeof(buf);
		k = dg_norm_run(&s->st, in, len, buf, room, &done);
		simhash_put(s, buf, k);
		s->bytes += k;
		in += done;
		len -= done;
	}
}

uint64_t dg_simhash_final(const struct dg_simhash *s)
{
	struct dg_simhash t = *s;
	uint64_t over = 0, eq = ~0ULL;
	uint32_t half;

	if (t.in_word)
		simhash_word_end(&t);
	if (t.shingles == 0 && t.nwords > 0)
		simhash_vote(&t, t.nwords);     /* nwords < DG_SIMHASH_SHINGLE here */
	if (t.shingles == 0)
		return 0;
	/* A bit is set when most shingles set it: 2 * count > shingles, that
	 * is count > half. Compared on the planes from the top bit down, for
	 * all 64 counters at once: `over` holds the counters found greater,
	 * `eq` those equal to half so far. */
	half = t.shingles / 2;
	for (int j = DG_SIMHASH_PLANES - 1; j >= 0; j--) {
		if ((half >> j) & 1) {
			eq &= t.plane[j];
		} else {
			over |= eq & t.plane[j];
			eq &= ~t.plane[j];
		}
	}
	sodium_memzero(&t, sizeof(t));
	return over;
}

int dg_hamming64(uint64_t a, uint64_t b)
{
	return __builtin_popcountll(a ^ b);
}

/* ------------------------------------------------- wiping yajl allocator */

/* Each block carries its size in a header so free can wipe it. */
#define WIPE_HDR (sizeof(max_align_t))

static void *wipe_malloc(void *ctx, size_t sz)
{
	(void)ctx;
	if (sz > SIZE_MAX - WIPE_HDR)
		abort();
	unsigned char *b = malloc(WIPE_HDR + sz);
	if (!b)
		abort();
	memcpy(b, &sz, sizeof(sz));
	return b + WIPE_HDR;
}

static void wipe_free(void *ctx, void *ptr)
{
	(void)ctx;
	if (!ptr)
		return;
	unsigned char *b = (unsigned char *)ptr - WIPE_HDR;
	size_t sz;
	memcpy(&sz, b, sizeof(sz));
	sodium_memzero(b, WIPE_HDR + sz);
	free(b);
}

static void *wipe_realloc(void *ctx, void *ptr, size_t sz)
{
	if (!ptr)
		return wipe_malloc(ctx, sz);
	size_t old;
	memcpy(&old, (unsigned char *)ptr - WIPE_HDR, sizeof(old));
	void *nb = wipe_malloc(ctx, sz);
	memcpy(nb, ptr, old < sz ? old : sz);
	wipe_free(ctx, ptr);
	return nb;
}

yajl_alloc_funcs dg_yajl_wiping_alloc = {
	wipe_malloc, wipe_realloc, wipe_free, NULL
};
