/* Random bytes for ids, drawn a page ahead and wiped in a forked child (see rand.h). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS and madvise besides POSIX */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "codec.h"
#include "rand.h"

/* The page the kernel zero-fills in a child: the count of unused bytes first, so a child (and a
 * new page) finds none and draws its own. The unused bytes are the first `left` of bytes[]. */
typedef struct {
  size_t left;
  unsigned char bytes[];
} ahead_page;

struct gls_rand {
  ahead_page *page; /* NULL: every request is direct */
  size_t size;      /* of the mapping */
  size_t cap;       /* of page->bytes */
};

static int direct(unsigned char *out, size_t n) {
  if (n > INT_MAX) return -1;
  return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

/* A page for bytes drawn ahead, or NULL when it cannot be one that a fork wipes. */
static ahead_page *wiped_page(size_t *size) {
#ifdef MADV_WIPEONFORK
  long ps = sysconf(_SC_PAGESIZE);
  void *p;
  if (ps <= 0 || (size_t)ps <= sizeof(ahead_page) + 16) return NULL;
  p = mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  /* a kernel that does not know the advice refuses it (EINVAL): then nothing is drawn ahead */
  if (madvise(p, (size_t)ps, MADV_WIPEONFORK) != 0) {
    munmap(p, (size_t)ps);
    return NULL;
  }
  *size = (size_t)ps;
  return (ahead_page *)p; /* zero-filled: left = 0 */
#else
  (void)size;
  return NULL;
#endif
}

gls_rand *gls_rand_new(int mode) {
  gls_rand *r = (gls_rand *)calloc(1, sizeof *r);
  if (!r) return NULL;
  if (mode == GLS_RAND_AHEAD && (r->page = wiped_page(&r->size)) != NULL)
    r->cap = r->size - sizeof(ahead_page);
  return r;
}

int gls_rand_ahead(const gls_rand *r) { return r && r->page != NULL; }

int gls_rand_bytes(gls_rand *r, unsigned char *out, size_t n) {
  ahead_page *p = r ? r->page : NULL;
  if (!p || n > r->cap) return direct(out, n);
  if (p->left < n) {
    if (direct(p->bytes, r->cap) != 0) {
      p->left = 0;
      return -1;
    }
    p->left = r->cap;
  }
  p->left -= n;
  memcpy(out, p->bytes + p->left, n);
  OPENSSL_cleanse(p->bytes + p->left, n); /* handed out: not kept */
  return 0;
}

int gls_rand_uuid4(gls_rand *r, char out[36]) {
  unsigned char b[16];
  char hex[32];
  if (gls_rand_bytes(r, b, sizeof b) != 0) return -1;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 (RFC 4122 / 9562) */
  gls_hex_encode(hex, b, sizeof b);              /* in one go, then the 8-4-4-4-12 groups */
  memcpy(out, hex, 8);
  out[8] = '-';
  memcpy(out + 9, hex + 8, 4);
  out[13] = '-';
  memcpy(out + 14, hex + 12, 4);
  out[18] = '-';
  memcpy(out + 19, hex + 16, 4);
  out[23] = '-';
  memcpy(out + 24, hex + 20, 12);
  return 0;
}

void gls_rand_free(gls_rand *r) {
  if (!r) return;
  if (r->page) {
    OPENSSL_cleanse(r->page, r->size);
    munmap(r->page, r->size);
  }
  free(r);
}
