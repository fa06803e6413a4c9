/* Placeholder until the http concern lands. */
#include "compat.h"
void gls_open_http(lua_State *L) { (void)L; }
