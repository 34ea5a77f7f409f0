/* A correct thrift_protocol_skip for Thrift c_glib 0.17, linked in place of
 * the library's with `-Wl,--wrap=thrift_protocol_skip` (CMakeLists.txt).
 * The library's version frees an uninitialised pointer when a string to be
 * skipped is cut short (thrift_protocol.c, T_STRING case), so a peer on our
 * extension socket could crash orchard.ext with five bytes (found by
 * tests/fuzz/fuzz_thrift_call, 2026-11-27), and it recurses without a
 * limit. Generated readers call skip for unknown fields, and the dispatch
 * processor for unknown methods; every one of those calls comes here. */
#include <thrift/c_glib/protocol/thrift_protocol.h>

#define SKIP_MAX_DEPTH 64

/* The linker sends every call of thrift_protocol_skip here. */

gint32 __wrap_thrift_protocol_skip(ThriftProtocol *protocol, ThriftType type, GError **error);

static gint32 skip_depth(ThriftProtocol *p, ThriftType type, int depth, GError **error);

static gint32 too_deep(GError **error)
{
    g_set_error(error, THRIFT_PROTOCOL_ERROR, THRIFT_PROTOCOL_ERROR_DEPTH_LIMIT,
                "skipped value nested deeper than %d", SKIP_MAX_DEPTH);
    return -1;
}

/* Add ret to *total; -1 when ret is an error. */
static int add(gint32 *total, gint32 ret)
{
    if (ret < 0)
        return -1;
    *total += ret;
    return 0;
}

static gint32 skip_struct(ThriftProtocol *p, int depth, GError **error)
{
    gint32 total = 0;
    gchar *name = NULL;
    if (add(&total, thrift_protocol_read_struct_begin(p, &name, error)) < 0) {
        g_free(name);
        return -1;
    }
    g_free(name);
    for (;;) {
        ThriftType ftype = T_STOP;
        gint16 fid = 0;
        name = NULL;
        gint32 r = thrift_protocol_read_field_begin(p, &name, &ftype, &fid, error);
        g_free(name);
        if (add(&total, r) < 0)
            return -1;
        if (ftype == T_STOP)
            break;
        if (add(&total, skip_depth(p, ftype, depth + 1, error)) < 0 ||
            add(&total, thrift_protocol_read_field_end(p, error)) < 0)
            return -1;
    }
    return add(&total, thrift_protocol_read_struct_end(p, error)) < 0 ? -1 : total;
}

static gint32 skip_map(ThriftProtocol *p, int depth, GError **error)
{
    gint32 total = 0;
    ThriftType kt = T_STOP, vt = T_STOP;
    guint32 size = 0;
    if (add(&total, thrift_protocol_read_map_begin(p, &kt, &vt, &size, error)) < 0)
        return -1;
    for (guint32 i = 0; i < size; i++)
        if (add(&total, skip_depth(p, kt, depth + 1, error)) < 0 ||
            add(&total, skip_depth(p, vt, depth + 1, error)) < 0)
            return -1;
    return add(&total, thrift_protocol_read_map_end(p, error)) < 0 ? -1 : total;
}

static gint32 skip_list(ThriftProtocol *p, ThriftType type, int depth, GError **error)
{
    gint32 total = 0;
    ThriftType et = T_STOP;
    guint32 size = 0;
    gint32 r = type == T_SET ? thrift_protocol_read_set_begin(p, &et, &size, error)
                             : thrift_protocol_read_list_begin(p, &et, &size, error);
    if (add(&total, r) < 0)
        return -1;
    for (guint32 i = 0; i < size; i++)
        if (add(&total, skip_depth(p, et, depth + 1, error)) < 0)
            return -1;
    r = type == T_SET ? thrift_protocol_read_set_end(p, error)
                      : thrift_protocol_read_list_end(p, error);
    return add(&total, r) < 0 ? -1 : total;
}

static gint32 skip_depth(ThriftProtocol *p, ThriftType type, int depth, GError **error)
{
    union {
        gboolean b;
        gint8 i8;
        gint16 i16;
        gint32 i32;
        gint64 i64;
        gdouble d;
    } v;
    if (depth > SKIP_MAX_DEPTH)
        return too_deep(error);
    switch (type) {
    case T_BOOL: return thrift_protocol_read_bool(p, &v.b, error);
    case T_BYTE: return thrift_protocol_read_byte(p, &v.i8, error);
    case T_I16: return thrift_protocol_read_i16(p, &v.i16, error);
    case T_I32: return thrift_protocol_read_i32(p, &v.i32, error);
    case T_I64: return thrift_protocol_read_i64(p, &v.i64, error);
    case T_DOUBLE: return thrift_protocol_read_double(p, &v.d, error);
    case T_STRING: {
        gpointer data = NULL; /* the library's bug: this was never initialised */
        guint32 len = 0;
        gint32 r = thrift_protocol_read_binary(p, &data, &len, error);
        g_free(data);
        return r;
    }
    case T_STRUCT: return skip_struct(p, depth, error);
    case T_MAP: return skip_map(p, depth, error);
    case T_SET:
    case T_LIST: return skip_list(p, type, depth, error);
    default:
        g_set_error(error, THRIFT_PROTOCOL_ERROR, THRIFT_PROTOCOL_ERROR_INVALID_DATA,
                    "cannot skip a value of type %d", (int)type);
        return -1;
    }
}

gint32 __wrap_thrift_protocol_skip(ThriftProtocol *protocol, ThriftType type, GError **error)
{
    return skip_depth(protocol, type, 0, error);
}
