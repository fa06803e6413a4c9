/* Unit tests of the id pool (csrc/rand.c), without Lua: the UUIDv4 format, no repeats, and
 * fork safety: processes forked after the parent drew ids (so its page holds bytes drawn
 * ahead) never hand out an id the parent or another child hands out. */
#define _DEFAULT_SOURCE /* MADV_WIPEONFORK besides POSIX */
#include "ctest.h"
#include "rand.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PER_PROCESS 600 /* more than one page of ids (255 a page): each process refills too */
#define CHILDREN 4

static int is_uuid4(const char *u) {
  int i;
  for (i = 0; i < 36; i++) {
    char c = u[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return 0;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return 0;
    }
  }
  return u[14] == '4' && (u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
}

static int cmp36(const void *a, const void *b) { return memcmp(a, b, 36); }

/* The number of ids in `ids` (n of 36 characters) that are not in UUIDv4 form, plus the number
 * of repeats among them. */
static size_t bad_ids(char (*ids)[36], size_t n) {
  size_t i, bad = 0;
  for (i = 0; i < n; i++) bad += !is_uuid4(ids[i]);
  qsort(ids, n, 36, cmp36);
  for (i = 1; i < n; i++) bad += memcmp(ids[i - 1], ids[i], 36) == 0;
  return bad;
}

static void test_format(int mode) {
  static char ids[20000][36];
  gls_rand *r = gls_rand_new(mode);
  size_t i, fails = 0, nibble[16] = {0}, seen = 0;
  CHECK(r != NULL);
  for (i = 0; i < 20000; i++) fails += gls_rand_uuid4(r, ids[i]) != 0;
  CHECK(fails == 0);
  /* every hex digit turns up where the bits are random (the first group) */
  for (i = 0; i < 20000; i++) {
    char c = ids[i][0];
    nibble[c <= '9' ? c - '0' : c - 'a' + 10]++;
  }
  for (i = 0; i < 16; i++) seen += nibble[i] > 0;
  CHECK(seen == 16);
  CHECK(bad_ids(ids, 20000) == 0);
  gls_rand_free(r);
}

static void test_bytes(void) {
  gls_rand *r = gls_rand_new(GLS_RAND_AHEAD);
  unsigned char a[8192], b[8192], zero[64] = {0};
  size_t i, fails = 0;
#ifdef MADV_WIPEONFORK
  CHECK(gls_rand_ahead(r)); /* Linux 4.14 and later: the fork test below is of the page */
#endif
  /* draws of every size up to a page and past it (those are direct); none comes back zero */
  for (i = 1; i <= sizeof a; i += 61) {
    memset(a, 0, sizeof a);
    fails += gls_rand_bytes(r, a, i) != 0;
    fails += i >= sizeof zero && memcmp(a, zero, sizeof zero) == 0;
  }
  CHECK(fails == 0);
  CHECK(gls_rand_bytes(r, a, sizeof a) == 0 && gls_rand_bytes(r, b, sizeof b) == 0);
  CHECK(memcmp(a, b, sizeof a) != 0);
  CHECK(gls_rand_bytes(r, a, 0) == 0);
  gls_rand_free(r);
  gls_rand_free(NULL);
  /* no pool (its Lua owner already finalized): every request direct */
  CHECK(!gls_rand_ahead(NULL) && gls_rand_bytes(NULL, a, 16) == 0);
  r = gls_rand_new(GLS_RAND_DIRECT);
  CHECK(r && !gls_rand_ahead(r));
  gls_rand_free(r);
}

/* Reads exactly n bytes from fd: 0, or -1. */
static int read_all(int fd, void *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, (char *)p + got, n - got);
    if (k <= 0) return -1;
    got += (size_t)k;
  }
  return 0;
}

static void test_fork(void) {
  static char ids[(CHILDREN + 1) * PER_PROCESS][36];
  gls_rand *r = gls_rand_new(GLS_RAND_AHEAD);
  int fds[CHILDREN][2], c, status, ok = 1;
  pid_t pids[CHILDREN];
  char first[36];
  size_t i;
  CHECK(gls_rand_uuid4(r, first) == 0); /* the page now holds ids drawn ahead */
  for (c = 0; c < CHILDREN; c++) {
    CHECK(pipe(fds[c]) == 0);
    pids[c] = fork();
    CHECK(pids[c] >= 0);
    if (pids[c] == 0) {
      /* the child: its ids down the pipe, as the parent's are drawn from the same state */
      char out[PER_PROCESS][36];
      int bad = 0;
      close(fds[c][0]);
      for (i = 0; i < PER_PROCESS; i++) bad |= gls_rand_uuid4(r, out[i]);
      bad |= write(fds[c][1], out, sizeof out) != (ssize_t)sizeof out;
      _exit(bad ? 1 : 0);
    }
    close(fds[c][1]);
  }
  for (i = 0; i < PER_PROCESS; i++) ok &= gls_rand_uuid4(r, ids[i]) == 0;
  CHECK(ok);
  for (c = 0; c < CHILDREN; c++) {
    CHECK(read_all(fds[c][0], ids[(size_t)(c + 1) * PER_PROCESS], (size_t)PER_PROCESS * 36) == 0);
    close(fds[c][0]);
    CHECK(waitpid(pids[c], &status, 0) == pids[c] && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  CHECK(bad_ids(ids, (size_t)(CHILDREN + 1) * PER_PROCESS) == 0);
  gls_rand_free(r);
}

int main(void) {
  test_format(GLS_RAND_AHEAD);
  test_format(GLS_RAND_DIRECT);
  test_bytes();
  test_fork();
  return CTEST_DONE();
}
