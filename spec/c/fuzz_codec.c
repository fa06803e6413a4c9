/* A fuzz target for the encodings (csrc/codec.c) on arbitrary bytes. Beside the sanitizers it
 * checks each against a slow, obviously right version written here:
 * - base64: decode accepts exactly the padded standard texts, and gives their bytes; encode then
 *   decode gives the input back;
 * - hex: two lower-case digits per byte (the SSE2 steps and the tail alike);
 * - JSON quoting: the literal has no raw byte below 0x20, and unquoting it gives the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static int value(unsigned char c) {
  const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *at = c ? strchr(alphabet, c) : NULL;
  return at ? (int)(at - alphabet) : -1;
}

/* Padded standard base64, one character at a time. */
static int ref_decode(const unsigned char *s, size_t n, unsigned char *out, size_t *out_len) {
  size_t i, o = 0, pad = 0;
  unsigned bits = 0;
  int nbits = 0;
  if (n % 4) return -1;
  if (n >= 1 && s[n - 1] == '=') pad++;
  if (n >= 2 && s[n - 2] == '=') pad++;
  for (i = 0; i < n - pad; i++) {
    int v = value(s[i]);
    if (v < 0) return -1;
    bits = (bits << 6 | (unsigned)v) & 0xffffff;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out[o++] = (unsigned char)(bits >> nbits);
    }
  }
  if (pad && (n - pad) % 4 < 2) return -1; /* "x===" or "====" */
  *out_len = o;
  return 0;
}

static void check_base64(const uint8_t *data, size_t size) {
  unsigned char *a = malloc(size / 4 * 3 + 1), *b = malloc(size / 4 * 3 + 1);
  size_t al = 0, bl = 0, elen = gls_b64_encoded_len(size);
  int ra = gls_b64_decode(a, (const char *)data, size, &al);
  int rb = ref_decode(data, size, b, &bl);
  char *enc;
  if (ra != rb || (ra == 0 && (al != bl || memcmp(a, b, al) != 0))) abort();
  free(a);
  free(b);
  enc = malloc(elen + 1);
  gls_b64_encode(enc, data, size);
  a = malloc(elen / 4 * 3 + 1);
  if (elen != (size + 2) / 3 * 4 || gls_b64_decode(a, enc, elen, &al) != 0 || al != size ||
      (size && memcmp(a, data, size) != 0))
    abort();
  free(a);
  free(enc);
}

static void check_hex(const uint8_t *data, size_t size) {
  static const char digits[] = "0123456789abcdef";
  char *out = malloc(2 * size + 1);
  size_t i;
  gls_hex_encode(out, data, size);
  for (i = 0; i < size; i++)
    if (out[2 * i] != digits[data[i] >> 4] || out[2 * i + 1] != digits[data[i] & 15]) abort();
  free(out);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static void check_json(const uint8_t *data, size_t size) {
  gls_buf b = GLS_BUF_INIT;
  unsigned char *back = malloc(size + 1);
  size_t i, o = 0;
  if (gls_json_quote(&b, (const char *)data, size) != GLS_BUF_OK) abort();
  if (b.len < 2 || b.p[0] != '"' || b.p[b.len - 1] != '"') abort();
  for (i = 1; i + 1 < b.len; i++) {
    unsigned char c = (unsigned char)b.p[i];
    if (c < 0x20 || c == '"') abort();
    if (c != '\\') {
      back[o++] = c;
      continue;
    }
    c = (unsigned char)b.p[++i];
    switch (c) {
    case '"': case '\\': back[o++] = c; break;
    case 'b': back[o++] = '\b'; break;
    case 'f': back[o++] = '\f'; break;
    case 'n': back[o++] = '\n'; break;
    case 'r': back[o++] = '\r'; break;
    case 't': back[o++] = '\t'; break;
    case 'u':
      if (i + 4 >= b.len || b.p[i + 1] != '0' || b.p[i + 2] != '0' || hexval(b.p[i + 3]) < 0 ||
          hexval(b.p[i + 4]) < 0)
        abort();
      back[o++] = (unsigned char)(hexval(b.p[i + 3]) * 16 + hexval(b.p[i + 4]));
      if (back[o - 1] >= 0x20) abort(); /* only control characters go as \u00xx */
      i += 4;
      break;
    default: abort();
    }
  }
  if (o != size || (size && memcmp(back, data, size) != 0)) abort();
  free(back);
  gls_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_base64(data, size);
  check_hex(data, size);
  check_json(data, size);
  return 0;
}
