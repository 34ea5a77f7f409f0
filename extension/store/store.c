/* Placeholder: replaced by the store implementation (issue 5). */
#include "store.h"

int orchard_store_open(const char *target, char **error_msg) { (void)target; (void)error_msg; return ORCHARD_EIO; }
void orchard_store_close(void) {}
int orchard_store_is_open(void) { return 0; }
int orchard_store_migrate(const char *owner, const char *const *m, size_t n) { (void)owner; (void)m; (void)n; return ORCHARD_EIO; }
int orchard_store_begin(orchard_store_tx **tx, int write) { (void)tx; (void)write; return ORCHARD_EIO; }
int orchard_store_commit(orchard_store_tx *tx) { (void)tx; return ORCHARD_EIO; }
void orchard_store_rollback(orchard_store_tx *tx) { (void)tx; }
const char *orchard_store_errmsg(const orchard_store_tx *tx) { (void)tx; return ""; }
int orchard_stmt_prepare(orchard_store_tx *tx, const char *sql, orchard_stmt **stmt) { (void)tx; (void)sql; (void)stmt; return ORCHARD_EIO; }
int orchard_stmt_bind_int(orchard_stmt *stmt, int i, int64_t v) { (void)stmt; (void)i; (void)v; return ORCHARD_EIO; }
int orchard_stmt_bind_text(orchard_stmt *stmt, int i, const char *v) { (void)stmt; (void)i; (void)v; return ORCHARD_EIO; }
int orchard_stmt_bind_blob(orchard_stmt *stmt, int i, const void *v, size_t len) { (void)stmt; (void)i; (void)v; (void)len; return ORCHARD_EIO; }
int orchard_stmt_step(orchard_stmt *stmt) { (void)stmt; return ORCHARD_EIO; }
int orchard_stmt_column_is_null(orchard_stmt *stmt, int i) { (void)stmt; (void)i; return 1; }
int64_t orchard_stmt_column_int(orchard_stmt *stmt, int i) { (void)stmt; (void)i; return 0; }
const char *orchard_stmt_column_text(orchard_stmt *stmt, int i) { (void)stmt; (void)i; return NULL; }
const void *orchard_stmt_column_blob(orchard_stmt *stmt, int i, size_t *len) { (void)stmt; (void)i; *len = 0; return NULL; }
int64_t orchard_stmt_changes(orchard_stmt *stmt) { (void)stmt; return 0; }
void orchard_stmt_finish(orchard_stmt *stmt) { (void)stmt; }
