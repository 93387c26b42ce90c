#ifndef LAMBA_CARGON2_SHIM_H
#define LAMBA_CARGON2_SHIM_H
#include <argon2.h>
#endif
