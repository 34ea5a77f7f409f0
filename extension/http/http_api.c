/* Placeholder: replaced by the HTTP service implementation (issue 5). */
#include "http_api.h"

const char *orchard_http_method(const orchard_http_request *req) { (void)req; return ""; }
const char *orchard_http_path(const orchard_http_request *req) { (void)req; return ""; }
const char *orchard_http_query(const orchard_http_request *req, const char *key) { (void)req; (void)key; return NULL; }
const char *orchard_http_header(const orchard_http_request *req, const char *name) { (void)req; (void)name; return NULL; }
const unsigned char *orchard_http_body(const orchard_http_request *req, size_t *len) { (void)req; *len = 0; return NULL; }
const char *orchard_http_remote_addr(const orchard_http_request *req) { (void)req; return ""; }
int orchard_http_set_header(orchard_http_response *resp, const char *name, const char *value) { (void)resp; (void)name; (void)value; return ORCHARD_EIO; }
int orchard_http_respond(orchard_http_response *resp, int status, const char *ct, const void *body, size_t len) { (void)resp; (void)status; (void)ct; (void)body; (void)len; return ORCHARD_EIO; }
int orchard_http_serve(void (*ready)(const char *, void *), void *ud) { (void)ready; (void)ud; return ORCHARD_EIO; }
void orchard_http_stop(void) {}
