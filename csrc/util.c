/* Placeholder until the util concern lands. */
#include "compat.h"
void gls_open_util(lua_State *L) { (void)L; }
