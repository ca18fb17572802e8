/* fingerprint.h — privacy-safe keyed hashes of prompt text.
 *
 * Every hash here is keyed with the 16-byte host secret (keyhash.h): the
 * exact ones with libsodium's crypto_shorthash (SipHash-2-4, 8-byte output
 * read as a little-endian uint64), the SimHash's shingles with keys derived
 * from it (dg_simhash below). The key is given once, at init, and copied
 * (or derived) into the state. Text is streamed in: nothing keeps the
 * whole text, only a bounded buffer of normalised bytes and running hash
 * state.
 *
 * Normalisation (dg_norm_byte): ASCII letters are lowercased, every run of
 * ASCII whitespace becomes one space, leading and trailing whitespace is
 * dropped, and every run of digits becomes a single '0', so a template
 * filled with different numbers normalises to the same text. Other bytes
 * (including UTF-8) pass through unchanged. */
#ifndef DG_FINGERPRINT_H
#define DG_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_common.h>

#define DG_FP_KEYLEN 16
#define DG_NORM_BUF 256          /* normalised bytes folded per SipHash call */
#define DG_SIMHASH_PREFIX 4096   /* simhash looks at this many normalised bytes */
#define DG_SIMHASH_SHINGLE 4     /* words per shingle */

/* Byte-level normaliser state, shared by dg_norm and dg_simhash. */
struct dg_normstate {
	uint8_t started;  /* a non-space byte has been emitted */
	uint8_t space;    /* whitespace is pending (emitted before the next byte) */
	uint8_t digit;    /* the last emitted byte was the '0' of a digit run */
};

/* The normaliser's byte classes and what a byte becomes, as tables: every
 * prompt byte goes through the normaliser three or four times (message hash,
 * frame, simhash, reasoning phrases), so it looks bytes up instead of
 * testing ranges. */
enum { DG_NC_PLAIN, DG_NC_SPACE, DG_NC_DIGIT };
extern const uint8_t dg_norm_class[256];   /* DG_NC_* of each input byte */
extern const uint8_t dg_norm_lower[256];   /* the byte emitted: A-Z lowered, digits '0' */

/* Feed one input byte; writes 0, 1 or 2 normalised bytes to out and returns
 * how many. A pending space is only emitted before a following byte, so
 * trailing whitespace never appears. (Inline: it runs on every prompt byte,
 * several times.) */
static inline size_t dg_norm_byte(struct dg_normstate *st, unsigned char c, unsigned char out[2])
{
	size_t n = 0;
	int k = dg_norm_class[c];

	if (k == DG_NC_SPACE) {
		st->space |= st->started;
		return 0;
	}
	if (k == DG_NC_DIGIT && st->digit && !st->space)
		return 0;               /* still inside a digit run */
	if (st->space) {
		out[n++] = ' ';
		st->space = 0;
	}
	out[n++] = dg_norm_lower[c];
	st->digit = k == DG_NC_DIGIT;
	st->started = 1;
	return n;
}

/* Normalise a run of input: the bytes dg_norm_byte would give for in[0..len)
 * go to out, stopping before an input byte when fewer than 2 bytes of room
 * (a byte can give two) are left. Returns the bytes written; *done gets the
 * input bytes consumed. room must be at least 2. */
size_t dg_norm_run(struct dg_normstate *st, const unsigned char *in, size_t len,
		   unsigned char *out, size_t room, size_t *done);

/* Incremental keyed hash of normalised text.
 *
 * SipHash through crypto_shorthash is one-shot, so the stream is hashed in
 * blocks: normalised bytes collect in buf; when DG_NORM_BUF of them are
 * there, they are folded into the 64-bit state as
 *     state = SipHash(key, state_le64 || buf[0..256))
 * and the buffer is emptied. dg_norm_final returns
 *     SipHash(key, state_le64 || buf[0..used))   (used < 256)
 * without changing the state, so it can be called at any point. */
struct dg_norm {
	uint8_t key[DG_FP_KEYLEN];
	struct dg_normstate st;
	uint64_t bytes;      /* normalised bytes hashed so far */
	uint64_t limit;      /* stop after this many normalised bytes; 0 = none */
	size_t used;         /* bytes in blk after the 8-byte state */
	uint8_t blk[8 + DG_NORM_BUF];  /* state_le64 || buffered normalised bytes */
};

void dg_norm_init(struct dg_norm *n, const uint8_t key[DG_FP_KEYLEN]);
/* Hash only the first max_bytes normalised bytes (0 = no limit). Call right
 * after dg_norm_init. */
void dg_norm_limit(struct dg_norm *n, uint64_t max_bytes);
void dg_norm_feed(struct dg_norm *n, const char *s, size_t len);
uint64_t dg_norm_final(const struct dg_norm *n);

/* 64-bit SimHash of the first DG_SIMHASH_PREFIX normalised bytes. A word is a
 * maximal run of [a-z0-9] or non-ASCII bytes (so UTF-8 text has words) in the
 * normalised stream; each run of DG_SIMHASH_SHINGLE consecutive words is
 * hashed and votes on 64 counters; a bit of the result is set when more than
 * half of the shingles set it. A text with fewer words than a shingle votes
 * once with the words it has; a text with no words hashes to 0. Memory is
 * fixed: the last words' (unkeyed FNV-1a) hashes and the counters. Feed
 * pieces of text in any split; callers that concatenate separate texts
 * should feed a separator such as "\n".
 *
 * The shingle hash is keyed but not SipHash (a SipHash call per word was
 * most of the cost of a small request): the word hashes are mixed with
 * keys derived from the host secret by two 128-bit multiplies whose high
 * and low halves are folded (the "mum" of wyhash), then once more with a
 * key and the shingle's word count:
 *     x = mum(w0 ^ k0, w1 ^ k1), y = mum(w2 ^ k2, w3 ^ k3)
 *     h = mum(x ^ k4, y ^ k5 ^ words)
 * with k0..k5 expanded (splitmix64) from two SipHash outputs of the host
 * secret, so 128 secret bits. Without the secret the votes cannot be
 * recomputed for a guessed text; the words never leave the process. */
#define DG_SIMHASH_PLANES 16      /* bits of each vote counter */
struct dg_simhash {
	uint64_t k[6];           /* shingle hash keys, from the host secret */
	struct dg_normstate st;
	uint64_t bytes;          /* normalised bytes consumed (<= DG_SIMHASH_PREFIX) */
	uint64_t cur;            /* FNV-1a of the word being read */
	int in_word;
	uint64_t words[DG_SIMHASH_SHINGLE];  /* hashes of the last words, oldest first */
	uint32_t nwords;         /* words completed (saturates) */
	uint32_t shingles;       /* shingles counted */
	/* The 64 vote counters (how many shingles set each bit), bit-sliced:
	 * bit b of plane[j] is bit j of bit b's counter, so a vote is a
	 * ripple-carry add of the shingle hash, a few word operations. */
	uint64_t plane[DG_SIMHASH_PLANES];
};

void dg_simhash_init(struct dg_simhash *s, const uint8_t key[DG_FP_KEYLEN]);
void dg_simhash_feed(struct dg_simhash *s, const char *p, size_t len);
uint64_t dg_simhash_final(const struct dg_simhash *s);  /* state unchanged */
int dg_hamming64(uint64_t a, uint64_t b);

/* Instruction-frame skeleton: what stays the same when a template is filled.
 * The text is split into lines at '\n'; each line is normalised on its own
 * and empty lines are skipped. Each line becomes one element:
 *  - a label line (its normalised text starts with 1..DG_LABEL_MAX bytes of
 *    [a-z0 _'#*-] holding at most 3 spaces, then ':' followed by a space or
 *    the end of the line: "passage: ...", "### response:") gives the label
 *    up to and including the colon;
 *  - an enumerator line ("a. ...", "0) ...": one byte of [a-z0], then '.'
 *    or ')', then a space or the end) gives those two bytes;
 *  - any other first line is kept whole (the instruction);
 *  - any other later line is payload: right after the first line it gives
 *    "*"; after a label or enumerator, or after another payload line, it
 *    gives nothing (a label's value may go on over several lines).
 * The fingerprint is the keyed dg_norm hash of the first DG_FRAME_LEN bytes
 * of the elements joined by "\n" (which dg_norm turns into a space). So
 * "Read the passage...\n\nPassage: {C}\n\nQuestion: {Q}\nAnswer:" hashes
 * the same for every passage and question, and a one-line chat message
 * hashes as its first 256 normalised bytes. Memory is fixed: the first
 * bytes of the current line, until it is classified, and the hash state.
 *
 * The frame from the fixed end (dg_frame_tail): a template that puts its
 * variable part first and its fixed instruction last ("{question}\n\nThink
 * step by step ...") has a head skeleton that changes with every question.
 * Its tail skeleton is read from the same elements, with two changes: a
 * first line of free text is payload ("*") rather than the instruction,
 * and the last line, when it is free text and not the first line, is kept
 * whole (its first DG_FRAME_LEN normalised bytes) as the instruction. The
 * tail is the last DG_TAIL_ELEMS elements, that line included, joined by
 * "\n" and hashed with dg_norm (so "\n" becomes a space). A text whose last
 * line is a label or an enumerator, or that has one line, has no tail (its
 * head says it all). So "{Q}\n\nThink step by step." and "{Q}\nA. {a}\nB.
 * {b}\nAnswer step by step." keep one tail whatever the question. Memory:
 * the last elements (labels are short) and a second hash state. */
#define DG_FRAME_LEN 256
#define DG_LABEL_MAX 32
#define DG_TAIL_ELEMS 4
struct dg_frame {
	struct dg_norm out;       /* hash of the skeleton */
	struct dg_normstate st;   /* normaliser of the current line */
	uint8_t line[DG_LABEL_MAX + 2];  /* the current line's first bytes, unclassified */
	uint8_t used;
	uint8_t mode;             /* the current line: unclassified, copied to out, skipped */
	uint8_t elems;            /* elements emitted (saturates at 255) */
	uint8_t star;             /* payload lines now add nothing */
	/* The tail: the elements before the current line (the newest last), and
	 * the current free line as the tail's candidate last line. */
	uint8_t tel[DG_TAIL_ELEMS - 1][DG_LABEL_MAX + 1];
	uint8_t tlen[DG_TAIL_ELEMS - 1];
	uint8_t tn;               /* elements in tel */
	uint8_t tcopy;            /* the current line is a candidate: its bytes go to tcand */
	uint8_t tpending;         /* the last line seen was a candidate */
	uint16_t tline;           /* bytes of the candidate line fed */
	struct dg_norm tcand;     /* hash of the tail ending with the candidate line */
};

void dg_frame_init(struct dg_frame *f, const uint8_t key[DG_FP_KEYLEN]);
void dg_frame_feed(struct dg_frame *f, const char *s, size_t len);
/* Ends the current line; returns 0 when the text had no element (empty),
 * else 1 with the fingerprint in *fp. Feeding more text afterwards is
 * allowed (it starts a new line). */
int dg_frame_final(struct dg_frame *f, uint64_t *fp);
/* After dg_frame_final: 1 with the tail fingerprint in *fp, or 0 when the
 * text has no tail (see above). */
int dg_frame_tail(const struct dg_frame *f, uint64_t *fp);

/* One-shot keyed hash of raw bytes (no normalisation). */
uint64_t dg_keyed_hash(const uint8_t key[DG_FP_KEYLEN], const void *p, size_t len);

/* yajl allocator that wipes every block (sodium_memzero) before freeing it,
 * so JSON text that yajl buffered (prompt or answer strings) does not linger
 * in freed heap memory. Aborts on out-of-memory, like the rest of the
 * daemon. Used by reqbody.c and respbody.c. */
extern yajl_alloc_funcs dg_yajl_wiping_alloc;

#endif
