/* The C core's encodings (plain C, no Lua): base64, hex, JSON string literals. The signer, the
 * paginator and the Lua bindings all use these, so each encoding has one set of rules. */
#ifndef GLS_CODEC_H
#define GLS_CODEC_H

#include <stddef.h>

#include "buf.h"

/* base64: RFC 4648 section 4, the standard alphabet with padding (what botocore's resume tokens
 * and Python's base64.b64encode write, and what b64decode requires). */

/* The encoded length of n bytes, or 0 when it would not fit a size_t. */
size_t gls_b64_encoded_len(size_t n);
/* Writes exactly gls_b64_encoded_len(n) bytes to out (no NUL). */
void gls_b64_encode(char *out, const unsigned char *in, size_t n);
/* Decodes padded standard base64 into out (room for n / 4 * 3 bytes): 0 with *out_len set,
 * or -1 when in is anything else (a length not a multiple of 4, a byte outside the alphabet,
 * padding other than one or two '=' that end the text). */
int gls_b64_decode(unsigned char *out, const char *in, size_t n, size_t *out_len);

/* hex: two lower-case digits per byte into out (2 * n bytes, no NUL). */
void gls_hex_encode(char *out, const unsigned char *in, size_t n);

/* JSON (RFC 8259): appends s as a string literal, quotes included, to b: '"', '\\' and the
 * control characters U+0000-U+001F escaped (\b \f \n \r \t, else \u00xx), every other byte as
 * it is (UTF-8, and DEL, which JSON does not ask to escape; JSON.stringify, and so the AWS JS
 * SDK v3, leaves it as it is too). Returns the buffer's status (GLS_BUF_OK or its failure). */
int gls_json_quote(gls_buf *b, const char *s, size_t n);

#endif
