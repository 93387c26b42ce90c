#ifndef LAMBA_CQRENCODE_SHIM_H
#define LAMBA_CQRENCODE_SHIM_H
#include <qrencode.h>
#endif
