/* purity.c — linked with the objects of the pure stages (user/parse,
 * user/score, user/util, and the console's model in user/console) and only
 * the libraries they may use (Makefile: PURE_LIBS):
 * when one of them calls libbpf, libmicrohttpd, ncurses or zlib, this link
 * fails and so does the build. */
int main(void)
{
	return 0;
}
