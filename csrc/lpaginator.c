/* Placeholder until the paginator concern lands. */
#include "compat.h"
void gls_open_paginator(lua_State *L) { (void)L; }
