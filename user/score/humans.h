/* humans.h — signs that clients are people, not a program: what counts
 * against automation when a client or a cluster is scored (score.c).
 *
 * A class of pupils or a company's staff on one template behind one
 * address looks like a hydra by its crowd alone. Three things that a
 * campaign pays for (in throughput, in tooling) tell people apart:
 *   conversation: requests that carry earlier turns (1 - single_share),
 *     none at 10% of requests, full at 40% (a third of a person's
 *     questions follow up on an answer);
 *   pacing: requests sent only after the previous answer had ended and
 *     there was time to read it (client_features.h, paced_share), none at
 *     60%, full at 90%;
 *   browsers: requests on a browser's TLS client (browser_share of those
 *     with a known one), none at 20%, full at 50% (a school's or a
 *     company's app may carry the other half). The TLS client is known when half
 *     of the requests have one (not over plain HTTP, nor behind a proxy
 *     that does not pass the client's port).
 * Conversation and pacing show only in later requests. How far they have
 * shown is ramp(follow_share, 0.5, 0.85): none while the clients have sent
 * two requests each, in full at about seven.
 *
 * A cluster's factor is browsers x pacing x conversation, where a part not
 * yet shown counts as present (a class starting together asks only
 * single-turn first questions and is judged on its browsers first) and an
 * unknown TLS client counts only as far as the others have shown. So a
 * crowd must show all three for a large discount: a campaign that fakes a
 * second turn now and then on its own scraper's TLS client keeps all of
 * its automation, and so does one on a browser's TLS client that does not
 * wait to read its answers.
 *
 * One client's factor is its pacing (as far as shown), times one half, or
 * up to one as its requests come from a browser: a person asks one-off
 * questions as often as follow-ups, on a browser or an app, so neither is
 * required of one key, while waiting to read every answer costs a
 * campaign's key its throughput (an answer of 1,500 tokens takes a minute
 * and a quarter). The crowd a campaign's keys form is still judged on all
 * three. */
#ifndef DG_HUMANS_H
#define DG_HUMANS_H

#include "client_features.h"

/* Is the JA4 (its first two parts, "t13d1516h2_8daaf6152771") a browser's?
 * Chrome and the Chromium family, Firefox, Safari, as published in the
 * JA4+ database. */
int dg_ja4_browser(const char *ja4);

/* How much the features look like people, in [0, 1]: a cluster's pooled
 * ones (crowd_keys set) or one client's. */
double dg_human_factor(const struct dg_features *f);

/* One client that reads its answers on a browser: its pacing (as shown)
 * times its browser share, 0 when its TLS client is not known. What it
 * inherits from its clusters is scaled by 1 minus this (members.c): a
 * pupil whose minutes happen to match a campaign's is not the campaign.
 * An app's or a library's client earns nothing here; pacing alone is
 * what a slow campaign's keys show too. */
double dg_human_reader(const struct dg_features *f);

#endif
