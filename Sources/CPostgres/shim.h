#ifndef LAMBA_CPOSTGRES_SHIM_H
#define LAMBA_CPOSTGRES_SHIM_H
#include <libpq-fe.h>

// PG_DIAG_* are character macros; these name the fields the wrapper reads.
static inline const char *lamba_pq_sqlstate(const PGresult *r) {
    return PQresultErrorField(r, PG_DIAG_SQLSTATE);
}
static inline const char *lamba_pq_primary_message(const PGresult *r) {
    return PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
}
static inline const char *lamba_pq_constraint(const PGresult *r) {
    return PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
}
#endif
