#ifndef LAMBA_CMALLOC_SHIM_H
#define LAMBA_CMALLOC_SHIM_H
// glibc's malloc tuning (mallopt), for `lamba`'s process set-up only.
#include <malloc.h>
#endif
