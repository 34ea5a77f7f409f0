/* Where the host finds a module it dlopens on demand (orchard_http.so,
 * orchard_http_client.so): the path a setting names, else modules/ beside
 * the running binary (<build>/orchard) or beside its folder
 * (<build>/tests/orchard_tests), else the installed path. */
#ifndef ORCHARD_HOST_MODULE_PATH_H
#define ORCHARD_HOST_MODULE_PATH_H

/**
 * The path of module `file` ("orchard_http.so"): the value of the global
 * setting `setting` when set, else the first modules/<file> that exists
 * beside the binary or its folder, else `installed`. Never NULL; g_free.
 */
char *orchard_module_path(const char *setting, const char *file, const char *installed);

#endif
