/* test_reqbody.c — request body fields, fingerprints, any split, bounds. */
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
#include "reqbody.h"

static const uint8_t KEY1[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t KEY2[16] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

static uint64_t norm_hash(const char *s)
{
	struct dg_norm n;

	dg_norm_init(&n, KEY1);
	dg_norm_feed(&n, s, strlen(s));
	return dg_norm_final(&n);
}

static void assert_fields_equal(const struct dg_req_fields *a, const struct dg_req_fields *b)
{
	assert_string_equal(a->model, b->model);
	assert_int_equal(a->stream, b->stream);
	assert_int_equal(a->messages, b->messages);
	assert_int_equal(a->prompt_bytes, b->prompt_bytes);
	assert_int_equal(a->has_system_fp, b->has_system_fp);
	assert_int_equal(a->system_fp, b->system_fp);
	assert_int_equal(a->has_prompt_fp, b->has_prompt_fp);
	assert_int_equal(a->prompt_fp, b->prompt_fp);
	assert_int_equal(a->prompt_simhash, b->prompt_simhash);
	assert_int_equal(a->max_tokens, b->max_tokens);
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->has_temperature, b->has_temperature);
	assert_true(a->temperature == b->temperature);
	assert_int_equal(a->logprobs, b->logprobs);
	assert_int_equal(a->top_logprobs, b->top_logprobs);
	assert_int_equal(a->logit_bias, b->logit_bias);
	assert_int_equal(a->logit_bias_n, b->logit_bias_n);
	assert_int_equal(a->has_logit_bias_fp, b->has_logit_bias_fp);
	assert_int_equal(a->logit_bias_fp, b->logit_bias_fp);
	assert_int_equal(a->has_tail_fp, b->has_tail_fp);
	assert_int_equal(a->has_parent_fp, b->has_parent_fp);
	assert_true(a->parent_fp == b->parent_fp);
	assert_int_equal(a->tail_fp, b->tail_fp);
	assert_int_equal(a->reasoning_param, b->reasoning_param);
	assert_int_equal(a->cot_prompt, b->cot_prompt);
	assert_int_equal(a->truncated, b->truncated);
	assert_int_equal(a->parse_error, b->parse_error);
}

static void parse_key(const uint8_t *key, const char *body, size_t len, struct dg_req_fields *out)
{
	struct dg_reqbody *r = dg_reqbody_new(key);

	assert_non_null(r);
	memset(out, 0, sizeof(*out));
	dg_reqbody_feed(r, body, len);
	dg_reqbody_finish(r, out);
	dg_reqbody_free(r);
}

/* Parse whole, then check that every two-piece split and the byte-at-a-time
 * feed give the same fields (one parser, reset between runs). */
static void parse_n(const char *body, size_t len, struct dg_req_fields *out)
{
	struct dg_req_fields got;
	struct dg_reqbody *r = dg_reqbody_new(KEY1);

	assert_non_null(r);
	parse_key(KEY1, body, len, out);
	for (size_t cut = 0; cut <= len; cut++) {
		dg_reqbody_reset(r);
		dg_reqbody_feed(r, body, cut);
		dg_reqbody_feed(r, body + cut, len - cut);
		memset(&got, 0, sizeof(got));
		dg_reqbody_finish(r, &got);
		assert_fields_equal(out, &got);
	}
	dg_reqbody_reset(r);
	for (size_t i = 0; i < len; i++)
		dg_reqbody_feed(r, body + i, 1);
	dg_reqbody_finish(r, &got);
	assert_fields_equal(out, &got);
	/* finish again: same answer */
	dg_reqbody_finish(r, &got);
	assert_fields_equal(out, &got);
	dg_reqbody_free(r);
}

static void parse(const char *body, struct dg_req_fields *out)
{
	parse_n(body, strlen(body), out);
}

static const char B_CHAT[] =
	"{\"model\":\"gpt-4o-mini\",\"metadata\":{\"model\":\"evil\",\"messages\":[1,2,3],"
	"\"stream\":false,\"max_tokens\":7,\"logprobs\":true},"
	"\"messages\":[{\"role\":\"system\",\"content\":\"You are Bot 7.  Be brief.\"},"
	"{\"role\":\"user\",\"content\":\"Caf\\u00e9 \\\"quoted\\\" question: think step by step about 12 + 30.\"}],"
	"\"stream\":true,\"max_completion_tokens\":512,\"n\":2,\"temperature\":0.25,"
	"\"logprobs\":true,\"top_logprobs\":5,\"logit_bias\":{\"1234\":-100},"
	"\"reasoning_effort\":\"high\"}";
static const char CHAT_USER[] = "Caf\xc3\xa9 \"quoted\" question: think step by step about 12 + 30.";

static void test_openai_chat(void **state)
{
	struct dg_req_fields f;

	(void)state;
	parse(B_CHAT, &f);
	assert_string_equal(f.model, "gpt-4o-mini");
	assert_int_equal(f.stream, 1);
	assert_int_equal(f.messages, 2);
	assert_int_equal(f.prompt_bytes, strlen("You are Bot 7.  Be brief.") + strlen(CHAT_USER));
	assert_int_equal(f.has_system_fp, 1);
	assert_int_equal(f.system_fp, norm_hash("you are bot 0. be brief."));
	assert_int_equal(f.has_prompt_fp, 1);
	assert_int_not_equal(f.prompt_simhash, 0);
	assert_int_equal(f.max_tokens, 512);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.has_temperature, 1);
	assert_true(f.temperature == 0.25);
	assert_int_equal(f.logprobs, 1);
	assert_int_equal(f.top_logprobs, 5);
	assert_int_equal(f.logit_bias, 1);
	assert_int_equal(f.reasoning_param, 1);
	assert_int_equal(f.cot_prompt, 1);
	assert_int_equal(f.truncated, 0);
	assert_int_equal(f.parse_error, 0);
}

static const char B_PARTS[] =
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
	"{\"type\":\"text\",\"text\":\"Summarise\\nthis:\"},"
	"{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}},"
	"{\"text\":\"Doc 42\",\"type\":\"text\"}]},"
	"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"t\"}]},"
	"{\"role\":\"user\",\"content\":\"More\"}],\"logit_bias\":{},\"logprobs\":false}";

static void test_openai_parts_and_frame(void **state)
{
	struct dg_req_fields f;

	(void)state;
	parse(B_PARTS, &f);
	assert_string_equal(f.model, "m");
	assert_int_equal(f.stream, -1);
	assert_int_equal(f.messages, 3);
	assert_int_equal(f.prompt_bytes, 15 + 6 + 4);
	/* no system message: the frame is the skeleton of the first user
	 * message ("Summarise this:" is a label, "Doc 42" its value) */
	assert_int_equal(f.has_system_fp, 1);
	assert_int_equal(f.system_fp, norm_hash("summarise this:"));
	/* ... and its frame from the fixed end: the first line as payload,
	 * the label, the last line whole */
	assert_int_equal(f.has_tail_fp, 1);
	assert_int_equal(f.tail_fp, norm_hash("* this: doc 0"));
	assert_int_equal(f.has_prompt_fp, 1);
	assert_int_equal(f.max_tokens, -1);
	assert_int_equal(f.n, -1);
	assert_int_equal(f.has_temperature, 0);
	assert_int_equal(f.logprobs, 0);
	assert_int_equal(f.top_logprobs, -1);
	assert_int_equal(f.logit_bias, 0);
	assert_int_equal(f.logit_bias_n, 0);
	assert_int_equal(f.has_logit_bias_fp, 0);
	assert_int_equal(f.reasoning_param, 0);
	assert_int_equal(f.cot_prompt, 0);
	assert_int_equal(f.truncated, 0);
	assert_int_equal(f.parse_error, 0);
}

/* The keyed hash of a set of token ids, as reqbody.h specifies it: the sum
 * of the keyed hashes of each id (its number, 8 bytes little endian), then
 * a keyed hash of that sum and the count. */
static uint64_t bias_set_hash(const uint8_t *key, const uint64_t *ids, int n)
{
	uint8_t b[16];
	uint64_t sum = 0;

	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 8; k++)
			b[k] = (uint8_t)(ids[i] >> (8 * k));
		sum += dg_keyed_hash(key, b, 8);
	}
	for (int k = 0; k < 8; k++) {
		b[k] = (uint8_t)(sum >> (8 * k));
		b[8 + k] = (uint8_t)((uint64_t)n >> (8 * k));
	}
	return dg_keyed_hash(key, b, 16);
}

/* logit_bias: how many token ids, and a keyed hash of their set that the
 * order, the bias values and leading zeros do not change. */
static void test_logit_bias_set(void **state)
{
	static const uint64_t ids[] = { 50256, 13, 198 };
	struct dg_req_fields f, g;

	(void)state;
	parse("{\"model\":\"m\",\"max_tokens\":1,\"logprobs\":true,\"top_logprobs\":20,"
	      "\"logit_bias\":{\"50256\":-100,\"13\":5,\"198\":100},"
	      "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", &f);
	assert_int_equal(f.logit_bias, 1);
	assert_int_equal(f.logit_bias_n, 3);
	assert_int_equal(f.has_logit_bias_fp, 1);
	assert_int_equal(f.logit_bias_fp, bias_set_hash(KEY1, ids, 3));
	assert_int_equal(f.top_logprobs, 20);
	assert_int_equal(f.max_tokens, 1);
	parse("{\"logit_bias\":{\"198\":1,\"050256\":-1,\"13\":0},\"model\":\"m\"}", &g);
	assert_int_equal(g.logit_bias_n, 3);
	assert_int_equal(g.logit_bias_fp, f.logit_bias_fp);
	parse("{\"logit_bias\":{\"198\":1,\"50257\":-1,\"13\":0}}", &g);     /* another set */
	assert_int_equal(g.logit_bias_n, 3);
	assert_int_not_equal(g.logit_bias_fp, f.logit_bias_fp);
	parse("{\"logit_bias\":{\"198\":1,\"13\":0}}", &g);                  /* a subset */
	assert_int_equal(g.logit_bias_n, 2);
	assert_int_equal(g.logit_bias_fp, bias_set_hash(KEY1, ids + 1, 2));
	parse_key(KEY2, "{\"logit_bias\":{\"50256\":-100,\"13\":5,\"198\":100}}", 46, &g);
	assert_int_equal(g.logit_bias_n, 3);
	assert_int_equal(g.logit_bias_fp, bias_set_hash(KEY2, ids, 3));
	assert_int_not_equal(g.logit_bias_fp, f.logit_bias_fp);              /* keyed */
	parse("{\"logit_bias\":{\"a\":1,\"b\":2}}", &g);                     /* not numbers */
	assert_int_equal(g.logit_bias_n, 2);
	assert_int_equal(g.has_logit_bias_fp, 1);
	parse("{\"metadata\":{\"logit_bias\":{\"1\":1}},\"logit_bias\":null}", &g);
	assert_int_equal(g.logit_bias, 0);
	assert_int_equal(g.logit_bias_n, 0);
	assert_int_equal(g.has_logit_bias_fp, 0);
}

/* A second turn names its first: parent_fp is the prompt_fp the request
 * had before its last assistant message, system prompt included, so a
 * real follow-up's parent_fp is the earlier request's prompt_fp. */
static void test_parent_fp(void **state)
{
	static const char first[] =
		"{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
		"{\"role\":\"user\",\"content\":\"What is a prime?\"}]}";
	static const char second[] =
		"{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
		"{\"role\":\"user\",\"content\":\"What is a prime?\"},"
		"{\"role\":\"assistant\",\"content\":\"A number with two divisors.\"},"
		"{\"role\":\"user\",\"content\":\"Is 1 one?\"}]}";
	static const char third[] =
		"{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
		"{\"role\":\"user\",\"content\":\"What is a prime?\"},"
		"{\"role\":\"assistant\",\"content\":\"A number with two divisors.\"},"
		"{\"role\":\"user\",\"content\":\"Is 1 one?\"},"
		"{\"role\":\"assistant\",\"content\":\"No.\"},"
		"{\"role\":\"user\",\"content\":\"Why?\"}]}";
	static const char fake[] =
		"{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
		"{\"role\":\"user\",\"content\":\"What is a prime?\"},"
		"{\"role\":\"assistant\",\"content\":\"Made up.\"},"
		"{\"role\":\"user\",\"content\":\"Is 1 one?\"}]}";
	struct dg_req_fields a, b, c, d;

	parse_n(first, strlen(first), &a);
	parse_n(second, strlen(second), &b);
	parse_n(third, strlen(third), &c);
	parse_n(fake, strlen(fake), &d);
	assert_int_equal(a.has_parent_fp, 0);
	assert_int_equal(b.has_parent_fp, 1);
	assert_true(b.parent_fp == a.prompt_fp);
	assert_int_equal(c.has_parent_fp, 1);
	assert_true(c.parent_fp == b.prompt_fp);
	assert_true(d.parent_fp == a.prompt_fp);       /* same parent ... */
	assert_true(d.prompt_fp != b.prompt_fp);       /* ... not the same turn */
}

static void test_completions(void **state)
{
	struct dg_req_fields f;

	(void)state;
	parse("{\"model\":\"davinci-002\",\"prompt\":\"Once upon a time\",\"max_tokens\":16,"
	      "\"logprobs\":3,\"temperature\":0,\"echo\":true}", &f);
	assert_string_equal(f.model, "davinci-002");
	assert_int_equal(f.messages, 1);
	assert_int_equal(f.prompt_bytes, 16);
	assert_int_equal(f.logprobs, 1);
	assert_int_equal(f.max_tokens, 16);
	assert_int_equal(f.has_temperature, 1);
	assert_true(f.temperature == 0.0);
	assert_int_equal(f.has_system_fp, 1);
	assert_int_equal(f.system_fp, norm_hash("once upon a time"));
	assert_int_equal(f.has_prompt_fp, 1);

	parse("{\"prompt\":[\"a b\",\"c d\"],\"logprobs\":0,\"max_tokens\":1.5e1}", &f);
	assert_int_equal(f.messages, 2);
	assert_int_equal(f.logprobs, 0);
	assert_int_equal(f.max_tokens, 15);
	assert_int_equal(f.prompt_bytes, 6);
	assert_int_equal(f.system_fp, norm_hash("a b"));

	parse("{\"prompt\":[1,2,3]}", &f);
	assert_int_equal(f.messages, 1);
	assert_int_equal(f.has_prompt_fp, 0);
	assert_int_equal(f.has_system_fp, 0);
	assert_int_equal(f.prompt_bytes, 0);

	parse("{\"prompt\":[[1,2],[3]],\"n\":4}", &f);
	assert_int_equal(f.messages, 2);
	assert_int_equal(f.n, 4);
}

static const char B_ANTH[] =
	"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,"
	"\"system\":[{\"type\":\"text\",\"text\":\"You are Bot 7.\",\"cache_control\":{\"type\":\"ephemeral\"}},"
	"{\"type\":\"text\",\"text\":\"Be brief.\"}],"
	"\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hello\"}]},"
	"{\"role\":\"assistant\",\"content\":\"Hi\"},"
	"{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"x\",\"content\":\"42\"},"
	"{\"type\":\"text\",\"text\":\"Show your work please\"}]}],"
	"\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2000},\"stream\":true,"
	"\"metadata\":{\"user_id\":\"u1\",\"model\":\"no\"}}";

static void test_anthropic(void **state)
{
	struct dg_req_fields f;

	(void)state;
	parse(B_ANTH, &f);
	assert_string_equal(f.model, "claude-sonnet-4-5");
	assert_int_equal(f.max_tokens, 1024);
	assert_int_equal(f.stream, 1);
	assert_int_equal(f.messages, 3);
	assert_int_equal(f.prompt_bytes, 14 + 9 + 5 + 2 + 2 + 21);
	/* blocks join like one text: same as the OpenAI system message */
	assert_int_equal(f.has_system_fp, 1);
	assert_int_equal(f.system_fp, norm_hash("you are bot 0. be brief."));
	assert_int_equal(f.reasoning_param, 1);
	assert_int_equal(f.cot_prompt, 1);
	assert_int_equal(f.logprobs, 0);
	assert_int_equal(f.truncated, 0);
	assert_int_equal(f.parse_error, 0);

	parse("{\"model\":\"c\",\"max_tokens\":10,\"thinking\":{\"type\":\"disabled\"},"
	      "\"system\":\"Be terse\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", &f);
	assert_int_equal(f.reasoning_param, 0);
	assert_int_equal(f.messages, 1);
	assert_int_equal(f.system_fp, norm_hash("be terse"));
}

/* The same conversation in either API, any key order: same fingerprints. */
static void test_cross_api_and_order(void **state)
{
	struct dg_req_fields a, b, c, d, e;

	(void)state;
	parse("{\"model\":\"x\",\"messages\":[{\"role\":\"system\",\"content\":\"Sys prompt\"},"
	      "{\"role\":\"user\",\"content\":\"Question one\"}]}", &a);
	parse("{\"messages\":[{\"role\":\"user\",\"content\":\"Question one\"}],\"model\":\"x\","
	      "\"system\":\"Sys prompt\"}", &b);
	parse("{\"messages\":[{\"content\":\"Sys prompt\",\"role\":\"system\"},"
	      "{\"content\":\"Question one\",\"role\":\"user\"}],\"model\":\"x\"}", &c);
	parse("{\"model\":\"x\",\"messages\":[{\"role\":\"system\",\"content\":\"Sys prompt\"},"
	      "{\"role\":\"user\",\"content\":\"Question two\"}]}", &d);
	parse("{\"model\":\"x\",\"messages\":[{\"role\":\"system\",\"content\":\"Sys prompt\"},"
	      "{\"role\":\"assistant\",\"content\":\"Question one\"}]}", &e);
	assert_int_equal(a.prompt_fp, b.prompt_fp);
	assert_int_equal(a.prompt_fp, c.prompt_fp);
	assert_int_equal(a.system_fp, b.system_fp);
	assert_int_equal(a.system_fp, c.system_fp);
	assert_int_equal(a.prompt_simhash, c.prompt_simhash);
	assert_int_equal(a.system_fp, d.system_fp);
	assert_int_not_equal(a.prompt_fp, d.prompt_fp);
	assert_int_not_equal(a.prompt_fp, e.prompt_fp);   /* role names count */
	assert_int_equal(a.messages, 2);
	assert_int_equal(b.messages, 1);
}

static void test_template_digits_and_keys(void **state)
{
	struct dg_req_fields a, b, c, k2;

	(void)state;
	parse("{\"messages\":[{\"role\":\"system\",\"content\":\"You are agent 17 for ticket 99812.\"},"
	      "{\"role\":\"user\",\"content\":\"Where is order 55?\"}]}", &a);
	parse("{\"messages\":[{\"role\":\"system\",\"content\":\"You are  AGENT 3 for ticket 5.\"},"
	      "{\"role\":\"user\",\"content\":\"where is order 1234?\"}]}", &b);
	parse("{\"messages\":[{\"role\":\"system\",\"content\":\"You are agent 17 for case 99812.\"},"
	      "{\"role\":\"user\",\"content\":\"Where is order 55?\"}]}", &c);
	assert_int_equal(a.system_fp, b.system_fp);
	assert_int_equal(a.prompt_fp, b.prompt_fp);
	assert_int_equal(a.prompt_simhash, b.prompt_simhash);
	assert_int_not_equal(a.system_fp, c.system_fp);

	parse_key(KEY2, B_CHAT, strlen(B_CHAT), &k2);
	parse(B_CHAT, &a);
	assert_int_not_equal(a.system_fp, k2.system_fp);
	assert_int_not_equal(a.prompt_fp, k2.prompt_fp);
	assert_int_not_equal(a.prompt_simhash, k2.prompt_simhash);
	assert_int_equal(a.prompt_bytes, k2.prompt_bytes);
}

/* No system prompt: the first 256 normalised bytes of the first user message. */
static void test_instruction_frame(void **state)
{
	char body[2048], prefix[400];
	struct dg_req_fields x, y, z;

	(void)state;
	memset(prefix, 0, sizeof(prefix));
	while (strlen(prefix) < 300)
		strcat(prefix, "Rewrite the text below formally. ");
	snprintf(body, sizeof(body), "{\"messages\":[{\"role\":\"assistant\",\"content\":\"hello\"},"
		 "{\"role\":\"user\",\"content\":\"%s alpha\"},{\"role\":\"user\",\"content\":\"x\"}]}", prefix);
	parse(body, &x);
	snprintf(body, sizeof(body), "{\"messages\":[{\"role\":\"assistant\",\"content\":\"hello\"},"
		 "{\"role\":\"user\",\"content\":\"%s beta\"},{\"role\":\"user\",\"content\":\"y\"}]}", prefix);
	parse(body, &y);
	assert_int_equal(x.has_system_fp, 1);
	assert_int_equal(x.system_fp, y.system_fp);
	assert_int_not_equal(x.prompt_fp, y.prompt_fp);

	struct dg_norm n;
	dg_norm_init(&n, KEY1);
	dg_norm_feed(&n, prefix, 256);      /* prefix has no runs to collapse */
	assert_int_equal(x.system_fp, dg_norm_final(&n));

	/* only an assistant message: no frame */
	parse("{\"messages\":[{\"role\":\"assistant\",\"content\":\"hello\"}]}", &z);
	assert_int_equal(z.has_system_fp, 0);
	assert_int_equal(z.has_prompt_fp, 1);
	/* no text at all */
	parse("{\"model\":\"m\",\"messages\":[]}", &z);
	assert_int_equal(z.messages, 0);
	assert_int_equal(z.has_system_fp, 0);
	assert_int_equal(z.has_prompt_fp, 0);
}

static int reasoning_of(const char *body)
{
	struct dg_req_fields f;

	parse(body, &f);
	assert_int_equal(f.parse_error, 0);
	return f.reasoning_param;
}

static void test_reasoning_params(void **state)
{
	(void)state;
	assert_int_equal(reasoning_of("{\"reasoning\":{\"effort\":\"low\"}}"), 1);
	assert_int_equal(reasoning_of("{\"reasoning_effort\":\"low\"}"), 1);
	assert_int_equal(reasoning_of("{\"include_reasoning\":true}"), 1);
	assert_int_equal(reasoning_of("{\"enable_thinking\":true}"), 1);
	assert_int_equal(reasoning_of("{\"chat_template_kwargs\":{\"enable_thinking\":true}}"), 1);
	assert_int_equal(reasoning_of("{\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1}}"), 1);
	assert_int_equal(reasoning_of("{\"include_reasoning\":false,\"enable_thinking\":false}"), 0);
	assert_int_equal(reasoning_of("{\"thinking\":{\"budget_tokens\":5,\"type\":\"disabled\"}}"), 0);
	assert_int_equal(reasoning_of("{\"metadata\":{\"reasoning_effort\":\"high\",\"thinking\":{}}}"), 0);
	assert_int_equal(reasoning_of("{\"reasoning_effort\":null}"), 0);
	assert_int_equal(reasoning_of("{\"chat_template_kwargs\":{\"enable_thinking\":false}}"), 0);
}

static int cot_of(const char *text)
{
	char body[1024];
	struct dg_req_fields f;

	snprintf(body, sizeof(body), "{\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}", text);
	parse(body, &f);
	return f.cot_prompt;
}

static void test_cot_prompt(void **state)
{
	struct dg_req_fields f;

	(void)state;
	assert_int_equal(cot_of("LET'S   THINK about it"), 1);
	assert_int_equal(cot_of("Please think\\nthrough this"), 1);
	assert_int_equal(cot_of("Explain your reasoning."), 1);
	assert_int_equal(cot_of("use chain-of-thought"), 1);
	assert_int_equal(cot_of("Solve it Step-By-Step"), 1);
	assert_int_equal(cot_of("show\\tyour   reasoning"), 1);
	assert_int_equal(cot_of("Let\\u2019s think"), 1);
	/* every phrase, alone and inside text */
	static const char *const all[] = {
		"step by step", "Step-by-step", "show your reasoning", "explain your reasoning",
		"think through", "chain of thought", "Chain-of-Thought", "show your work",
		"reason step", "let's think", "let\\u2019s think", "lets think", "let us think",
		"think step",
	};
	char buf[200];
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_int_equal(cot_of(all[i]), 1);
		snprintf(buf, sizeof(buf), "Please %s, ok?", all[i]);
		assert_int_equal(cot_of(buf), 1);
	}
	assert_int_equal(cot_of("Stepping by the steps"), 0);
	assert_int_equal(cot_of("I think so"), 0);
	assert_int_equal(cot_of("show me your workspace? no: show your wor"), 0);
	/* in the system prompt too, and not in role names or keys */
	parse("{\"system\":\"Always reason step by step.\",\"messages\":[]}", &f);
	assert_int_equal(f.cot_prompt, 1);
	parse("{\"step by step\":\"x\",\"messages\":[{\"role\":\"step by step\",\"content\":\"hi\"}]}", &f);
	assert_int_equal(f.cot_prompt, 0);
	/* a phrase at every offset of a long text, across the window's slides,
	 * and cut by every offset of the last one */
	char text[700], t2[700];
	for (size_t at = 0; at + 12 < 600; at += 7) {
		memset(text, 'x', at);
		for (size_t i = 0; i < at; i += 5)
			text[i] = ' ';
		snprintf(text + at, sizeof(text) - at, "STEP  by step");
		assert_int_equal(cot_of(text), 1);
		text[at + 12] = '\0';                   /* "step by ste" */
		assert_int_equal(cot_of(text), 0);
	}
	memset(t2, 'y', 580);
	snprintf(t2 + 580, sizeof(t2) - 580, "think through");
	for (size_t cut = 560; cut < 593; cut++) {
		char b2[1400];

		snprintf(b2, sizeof(b2), "{\"messages\":[{\"role\":\"user\",\"content\":["
			 "{\"type\":\"text\",\"text\":\"%.*s\"},{\"type\":\"text\",\"text\":\"%s\"}]}]}",
			 (int)cut, t2, t2 + cut);
		parse(b2, &f);
		/* text parts are joined by a newline: a cut inside a word of
		 * the phrase breaks it ("thi\nnk through"), one next to its
		 * space only widens the space */
		assert_int_equal(f.cot_prompt, cut <= 580 || cut == 585 || cut == 586 ? 1 : 0);
	}
}

static void test_truncated_and_gap(void **state)
{
	struct dg_req_fields f, whole;
	struct dg_reqbody *r = dg_reqbody_new(KEY1);
	size_t len = strlen(B_CHAT);
	const char *at = strstr(B_CHAT, "\"stream\":true");

	(void)state;
	parse(B_CHAT, &whole);

	/* body cut short */
	parse_n(B_CHAT, (size_t)(at - B_CHAT), &f);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.parse_error, 0);
	assert_string_equal(f.model, "gpt-4o-mini");
	assert_int_equal(f.messages, 2);
	assert_int_equal(f.stream, -1);
	assert_int_equal(f.prompt_bytes, whole.prompt_bytes);
	assert_int_equal(f.system_fp, whole.system_fp);
	assert_int_equal(f.prompt_fp, whole.prompt_fp);

	/* a gap: fields after it are not taken */
	dg_reqbody_feed(r, B_CHAT, (size_t)(at - B_CHAT));
	dg_reqbody_gap(r, 20);
	dg_reqbody_feed(r, at + 20, len - (size_t)(at - B_CHAT) - 20);
	dg_reqbody_finish(r, &f);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.parse_error, 0);
	assert_string_equal(f.model, "gpt-4o-mini");
	assert_int_equal(f.stream, -1);
	assert_int_equal(f.max_tokens, -1);
	assert_int_equal(f.prompt_fp, whole.prompt_fp);

	/* a gap inside a message: what was seen is kept */
	const char *mid = strstr(B_CHAT, "question");
	dg_reqbody_reset(r);
	dg_reqbody_feed(r, B_CHAT, (size_t)(mid - B_CHAT));
	dg_reqbody_gap(r, 1000);
	dg_reqbody_finish(r, &f);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.has_system_fp, 1);
	assert_int_equal(f.system_fp, whole.system_fp);
	assert_int_equal(f.messages, 2);

	/* reset after a gap: a fresh parse */
	dg_reqbody_reset(r);
	dg_reqbody_feed(r, B_ANTH, strlen(B_ANTH));
	dg_reqbody_finish(r, &f);
	parse(B_ANTH, &whole);
	assert_fields_equal(&f, &whole);
	dg_reqbody_free(r);
}

static char *make_big(size_t text_len, const char *tail)
{
	const char *head = "{\"model\":\"big\",\"messages\":[{\"role\":\"user\",\"content\":\"";
	size_t hl = strlen(head), tl = strlen(tail);
	char *b = malloc(hl + text_len + tl + 1);

	assert_non_null(b);
	memcpy(b, head, hl);
	for (size_t i = 0; i < text_len; i++)
		b[hl + i] = "lorem ipsum dolor "[i % 18];
	memcpy(b + hl + text_len, tail, tl + 1);
	return b;
}

static void test_size_bound(void **state)
{
	struct dg_req_fields f;
	char *b;

	(void)state;
	/* under the bound: parsed whole */
	b = make_big(900000, "\"}],\"stream\":false}");
	parse_key(KEY1, b, strlen(b), &f);
	assert_int_equal(f.truncated, 0);
	assert_int_equal(f.parse_error, 0);
	assert_int_equal(f.prompt_bytes, 900000);
	assert_int_equal(f.stream, 0);
	assert_int_equal(f.messages, 1);
	free(b);

	/* over: truncated, nothing after the first MiB */
	b = make_big(1200000, "\"}],\"stream\":false}");
	parse_key(KEY1, b, strlen(b), &f);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.parse_error, 0);
	assert_string_equal(f.model, "big");
	assert_int_equal(f.stream, -1);
	assert_int_equal(f.prompt_bytes, 0);    /* the string never completed */
	free(b);

	/* the bound holds for many small feeds too */
	struct dg_reqbody *r = dg_reqbody_new(KEY1);
	b = make_big(1100000, "\"}]}");
	size_t len = strlen(b);
	for (size_t i = 0; i < len; i += 4093)
		dg_reqbody_feed(r, b + i, len - i < 4093 ? len - i : 4093);
	dg_reqbody_finish(r, &f);
	assert_int_equal(f.truncated, 1);
	dg_reqbody_free(r);
	free(b);
}

static void test_malformed(void **state)
{
	struct dg_req_fields f;
	char deep[400];

	(void)state;
	parse_n("\x00\xff\x13garbage{", 11, &f);
	assert_int_equal(f.parse_error, 1);

	parse("{\"model\":\"x\",}", &f);
	assert_int_equal(f.parse_error, 1);
	assert_string_equal(f.model, "x");

	parse("{\"model\":\"x\"} trailing", &f);
	assert_int_equal(f.parse_error, 1);

	parse("{\"model\":\"x\"}{}", &f);
	assert_int_equal(f.parse_error, 1);

	parse("{\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff utf8\"}]}", &f);
	assert_int_equal(f.parse_error, 1);

	parse("{\"model\":\"x\",\"messages\":[{\"role\":\"us", &f);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.parse_error, 0);

	parse("tru", &f);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.parse_error, 0);

	/* deep nesting: 64 levels are fine, 65 are not */
	memset(deep, 0, sizeof(deep));
	strcat(deep, "{\"a\":");
	for (int i = 0; i < 63; i++)
		strcat(deep, "[");
	for (int i = 0; i < 63; i++)
		strcat(deep, "]");
	strcat(deep, ",\"model\":\"d\"}");
	parse(deep, &f);
	assert_int_equal(f.parse_error, 0);
	assert_string_equal(f.model, "d");
	memset(deep, 0, sizeof(deep));
	for (int i = 0; i < 150; i++)
		strcat(deep, "[");
	parse(deep, &f);
	assert_int_equal(f.parse_error, 1);
	memset(deep, 0, sizeof(deep));
	strcat(deep, "{\"messages\":[{\"content\":[{\"content\":[{\"content\":");
	for (int i = 0; i < 100; i++)
		strcat(deep, "[");
	parse(deep, &f);
	assert_int_equal(f.parse_error, 1);

	/* odd but valid */
	parse("", &f);
	assert_int_equal(f.parse_error, 0);
	assert_int_equal(f.truncated, 0);
	assert_int_equal(f.messages, -1);
	assert_int_equal(f.has_prompt_fp, 0);
	parse("  [1,{\"model\":\"x\"}]  ", &f);
	assert_int_equal(f.parse_error, 0);
	assert_string_equal(f.model, "");
	parse("{\"max_tokens\":99999999999999999999999,\"n\":1e400,\"temperature\":\"hot\","
	      "\"top_logprobs\":-3,\"model\":12,\"messages\":{\"role\":\"user\"},"
	      "\"stream\":\"yes\",\"logit_bias\":[1]}", &f);
	assert_int_equal(f.parse_error, 0);
	assert_int_equal(f.max_tokens, INT64_MAX);
	assert_int_equal(f.n, 2147483647);
	assert_int_equal(f.has_temperature, 0);
	assert_int_equal(f.top_logprobs, -3);
	assert_string_equal(f.model, "");
	assert_int_equal(f.messages, -1);
	assert_int_equal(f.stream, -1);
	assert_int_equal(f.logit_bias, 0);

	/* a model name longer than the field is cut, not overflowed */
	char body[600];
	snprintf(body, sizeof(body), "{\"model\":\"%0300d\"}", 7);
	parse(body, &f);
	assert_int_equal(strlen(f.model), 127);
}

/* Feeding after finish is ignored; finish is repeatable. */
static void test_finish_idempotent(void **state)
{
	struct dg_req_fields a, b;
	struct dg_reqbody *r = dg_reqbody_new(KEY1);

	(void)state;
	dg_reqbody_feed(r, B_PARTS, strlen(B_PARTS));
	dg_reqbody_finish(r, &a);
	dg_reqbody_feed(r, "garbage", 7);
	dg_reqbody_gap(r, 5);
	dg_reqbody_finish(r, &b);
	assert_fields_equal(&a, &b);
	dg_reqbody_free(r);
	dg_reqbody_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_chat),
		cmocka_unit_test(test_openai_parts_and_frame),
		cmocka_unit_test(test_logit_bias_set),
		cmocka_unit_test(test_parent_fp),
		cmocka_unit_test(test_completions),
		cmocka_unit_test(test_anthropic),
		cmocka_unit_test(test_cross_api_and_order),
		cmocka_unit_test(test_template_digits_and_keys),
		cmocka_unit_test(test_instruction_frame),
		cmocka_unit_test(test_reasoning_params),
		cmocka_unit_test(test_cot_prompt),
		cmocka_unit_test(test_truncated_and_gap),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_finish_idempotent),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
