/* Fuzz target: what a peer on the extension socket sends for
 * Extension.call. The input is read with Thrift's binary protocol, as the
 * generated processor does (ext_server.c): an optional message header
 * (when the input starts with the strict version bytes 0x80 0x01), then the
 * call's arguments struct, osqueryExtensionCallArgs. If they decode,
 * orchard_ext_call answers them from a registry holding the core plugin
 * (orchard_plugins), and the reply is written back out as the processor
 * would send it.
 *
 * The input sits in a ThriftMemoryBuffer, subclassed for two reasons that
 * are Thrift 0.17's, not orchard's: its read returns 0 at the end of the
 * buffer, and thrift_transport_read_all loops on that forever (a truncated
 * message would hang the fuzzer); and its finalize never chains up to
 * GObject's, which leaks the object's qdata on every unref (the reason
 * extension/thrift_sock.c has its own transport). Ownership: the protocol
 * takes its own reference on the transport ("transport" is dup'd in
 * ThriftProtocol's set_property and dropped in its dispose), so both are
 * unreffed here, protocol first, as orchard_thrift_conn_free does. */
#include "tests/fuzz/fuzz.h"

#include "host/commands.h"
#include "extension/ext_call.h"
#include "host/log.h"
#include "host/plugins/registry.h"
#include "extension/thrift_sock.h"

#include <glib-object.h>
#include <string.h>
#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/transport/thrift_memory_buffer.h>

#include <osquery_osquery_types.h>

/* --- a memory buffer that fails at its end and frees all of itself */

typedef struct {
    ThriftMemoryBuffer parent;
} FuzzBuffer;

typedef struct {
    ThriftMemoryBufferClass parent;
} FuzzBufferClass;

GType fuzz_buffer_get_type(void);
G_DEFINE_TYPE(FuzzBuffer, fuzz_buffer, THRIFT_TYPE_MEMORY_BUFFER)

static gint32 fuzz_buffer_read(ThriftTransport *t, gpointer buf, guint32 len, GError **error)
{
    if (len > 0 && THRIFT_MEMORY_BUFFER(t)->buf->len == 0) {
        g_set_error(error, THRIFT_TRANSPORT_ERROR, THRIFT_TRANSPORT_ERROR_RECEIVE,
                    "end of input");
        return -1;
    }
    return THRIFT_TRANSPORT_CLASS(fuzz_buffer_parent_class)->read(t, buf, len, error);
}

static void fuzz_buffer_finalize(GObject *obj)
{
    G_OBJECT_CLASS(fuzz_buffer_parent_class)->finalize(obj); /* frees the byte array */
    G_OBJECT_CLASS(g_type_class_peek(G_TYPE_OBJECT))->finalize(obj);
}

static void fuzz_buffer_init(FuzzBuffer *self) { (void)self; }

static void fuzz_buffer_class_init(FuzzBufferClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = fuzz_buffer_finalize;
    THRIFT_TRANSPORT_CLASS(klass)->read = fuzz_buffer_read;
}

/* A buffer owning `bytes`; reads past `limit` bytes in all fail early, as on a
 * transport that knows the message's size. */
static ThriftTransport *buffer_new(GByteArray *bytes, guint32 buf_size, glong limit)
{
    return g_object_new(fuzz_buffer_get_type(), "buf", bytes, "owner", TRUE, "buf_size",
                        buf_size, "remainingmessagesize", limit, "knowmessagesize", limit,
                        NULL);
}

/* --- the target */

static orchard_registry *reg;

static void setup(void)
{
    char *err = NULL;
    orchard_log_set_level(ORCHARD_LOG_ERROR); /* refused contexts warn on every input */
    reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, orchard_core_plugin_entry, &err) != 0)
        g_error("fuzz_thrift_call: core plugin refused: %s", err);
    orchard_registry_set_global(reg); /* orchard_plugins lists the global registry */
}

/* The reply, written as the generated processor writes it (into memory). */
static void write_reply(osqueryExtensionResponse *resp)
{
    ThriftTransport *t = buffer_new(g_byte_array_new(), 1u << 20, 1L << 20);
    ThriftProtocol *p = g_object_new(THRIFT_TYPE_BINARY_PROTOCOL, "transport", t, NULL);
    GError *err = NULL;

    if (thrift_protocol_write_message_begin(p, "call", T_REPLY, 1, &err) >= 0 &&
        thrift_struct_write(THRIFT_STRUCT(resp), p, &err) >= 0)
        (void)thrift_protocol_write_message_end(p, &err);
    g_clear_error(&err);
    g_object_unref(p);
    g_object_unref(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GByteArray *bytes;
    ThriftTransport *t;
    ThriftProtocol *p;
    osqueryExtensionCallArgs *args;
    GError *err = NULL;
    int ok = 1;

    if (!reg)
        setup();
    if (size > (1u << 20))
        return 0;
    bytes = g_byte_array_sized_new((guint)size);
    g_byte_array_append(bytes, data, (guint)size);
    t = buffer_new(bytes, (guint32)size, (glong)size);
    /* orchard's protocol, as the extension socket uses (thrift_sock.c) */
    p = g_object_new(orchard_thrift_binary_protocol_type(), "transport", t, NULL);
    args = g_object_new(OSQUERY_TYPE_EXTENSION_CALL_ARGS, NULL);

    if (size >= 2 && data[0] == 0x80 && data[1] == 0x01) {
        gchar *name = NULL;
        ThriftMessageType type;
        gint32 seqid;
        ok = thrift_protocol_read_message_begin(p, &name, &type, &seqid, &err) >= 0;
        g_free(name);
    }
    if (ok && thrift_struct_read(THRIFT_STRUCT(args), p, &err) >= 0) {
        osqueryExtensionResponse *resp = g_object_new(OSQUERY_TYPE_EXTENSION_RESPONSE, NULL);
        orchard_ext_call(reg, args->registry, args->item, args->request, resp);
        write_reply(resp);
        g_object_unref(resp);
    }
    g_clear_error(&err);
    g_object_unref(args);
    g_object_unref(p);
    g_object_unref(t);
    return 0;
}
