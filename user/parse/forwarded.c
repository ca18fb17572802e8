/* forwarded.c — forwarding headers to a client address (forwarded.h). */
#include "forwarded.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "netaddr.h"

/* A whole address (not a prefix) into ip. */
static int take_ip(const char *s, size_t len, char ip[DG_FWD_IP_LEN])
{
	char buf[DG_FWD_IP_LEN];
	struct dg_prefix p;

	if (!len || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	if (strchr(buf, '/') || dg_prefix_parse(buf, &p))
		return -1;
	memcpy(ip, buf, len + 1);
	return 0;
}

int dg_fwd_port(const char *v, size_t len, uint16_t *port)
{
	unsigned long n = 0;
	size_t i = 0;

	while (len && isspace((unsigned char)v[len - 1]))
		len--;
	while (i < len && isspace((unsigned char)v[i]))
		i++;
	if (i == len || len - i > 5)
		return -1;
	for (; i < len; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	if (!n || n > 65535)
		return -1;
	*port = (uint16_t)n;
	return 0;
}

int dg_fwd_xff_last(const char *v, size_t len, char ip[DG_FWD_IP_LEN])
{
	size_t end = len, start;

	while (end && (isspace((unsigned char)v[end - 1]) || v[end - 1] == ','))
		end--;
	start = end;
	while (start && v[start - 1] != ',' && !isspace((unsigned char)v[start - 1]))
		start--;
	return take_ip(v + start, end - start, ip);
}

/* One for= node: 1.2.3.4, "1.2.3.4:80", "[v6]", "[v6]:80". */
static int take_node(const char *s, size_t len, char ip[DG_FWD_IP_LEN], uint16_t *port)
{
	const char *colon;

	*port = 0;
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		size_t rest;

		if (!close)
			return -1;
		rest = len - (size_t)(close + 1 - s);
		if (rest && (close[1] != ':' || dg_fwd_port(close + 2, rest - 1, port)))
			return -1;
		return take_ip(s + 1, (size_t)(close - s - 1), ip);
	}
	colon = memchr(s, ':', len);
	if (colon && !memchr(colon + 1, ':', len - (size_t)(colon + 1 - s))) {
		if (dg_fwd_port(colon + 1, len - (size_t)(colon + 1 - s), port))
			return -1;
		len = (size_t)(colon - s);
	}
	return take_ip(s, len, ip);
}

int dg_fwd_forwarded(const char *v, size_t len, char ip[DG_FWD_IP_LEN], uint16_t *port)
{
	const char *last = NULL;
	size_t last_len = 0;

	/* Elements are separated by ',' and pairs by ';': find the last for=. */
	for (size_t i = 0; i + 4 <= len; i++) {
		size_t j;
		int quoted = 0;

		if (strncasecmp(v + i, "for=", 4) ||
		    (i && v[i - 1] != ';' && v[i - 1] != ',' && !isspace((unsigned char)v[i - 1])))
			continue;
		for (j = i + 4; j < len; j++) {
			if (v[j] == '"')
				quoted = !quoted;
			else if (!quoted && (v[j] == ';' || v[j] == ',' || isspace((unsigned char)v[j])))
				break;
		}
		last = v + i + 4;
		last_len = j - i - 4;
		i = j;
	}
	if (!last)
		return -1;
	return take_node(last, last_len, ip, port);
}
