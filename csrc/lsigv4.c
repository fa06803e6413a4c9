/* Placeholder until the sigv4 concern lands. */
#include "compat.h"
void gls_open_sigv4(lua_State *L) { (void)L; }
