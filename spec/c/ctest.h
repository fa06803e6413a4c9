/* A minimal C test harness: CHECK counts, the runner prints "N passed, N failed". */
#ifndef GLS_CTEST_H
#define GLS_CTEST_H
#include <stdio.h>
#include <string.h>

static int ctest_passed, ctest_failed;

#define CHECK(cond) do { \
    if (cond) ctest_passed++; \
    else { ctest_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
  } while (0)

#define CHECK_STR(got, want) do { \
    const char *g_ = (got), *w_ = (want); \
    if (g_ && w_ && strcmp(g_, w_) == 0) ctest_passed++; \
    else { ctest_failed++; fprintf(stderr, "%s:%d: got \"%s\"\n  want \"%s\"\n", __FILE__, __LINE__, \
                                   g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } \
  } while (0)

#define CTEST_DONE() (printf("%d passed, %d failed\n", ctest_passed, ctest_failed), ctest_failed != 0)
#endif
