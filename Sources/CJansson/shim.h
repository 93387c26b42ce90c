#ifndef LAMBA_CJANSSON_SHIM_H
#define LAMBA_CJANSSON_SHIM_H
#include <jansson.h>

// jansson's type tests and reference helpers are macros; give them callable names.
static inline int lamba_json_typeof(const json_t *j) { return (int)json_typeof(j); }
static inline json_t *lamba_json_incref(json_t *j) { return json_incref(j); }
static inline void lamba_json_decref(json_t *j) { json_decref(j); }
static inline int lamba_json_is_true(const json_t *j) { return json_is_true(j); }
static inline size_t lamba_json_error_text_size(void) { return JSON_ERROR_TEXT_LENGTH; }
#endif
