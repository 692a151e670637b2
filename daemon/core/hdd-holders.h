/* Which processes hold a VFIO node open.
 *
 * Nodes are compared by the device they refer to (st_rdev for character
 * devices), not by path: QEMU started by libvirt lives in a private /dev
 * namespace, so the path its fd shows is not the host's node. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  guint32 pid;
  char   *command;  /* /proc/PID/comm */
  char   *node;     /* which of the scanned nodes it holds */
} HddHolder;

void hdd_holder_free (HddHolder *holder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HddHolder, hdd_holder_free)

/* Scans /proc for processes holding one of @nodes (NULL-terminated, absolute
 * paths under /dev; nodes, and /proc when the root has one, resolved
 * through hdd_sysfs_path).
 * Returns an array of HddHolder, sorted by pid then node; nodes that do not
 * exist are skipped.  Only the fds whose link names a /dev/vfio/ node are
 * stat()ed: any other may be on a file system that hangs.  May block (a
 * process's /proc entries belong to the kernel): the main loop uses
 * hdd_holders_scan_async(). */
GPtrArray *hdd_holders_scan (const char * const *nodes);

/* hdd_holders_scan() in a thread.  Cancelling @cancellable completes the
 * call at once with G_IO_ERROR_CANCELLED, even while the scan is stuck. */
void       hdd_holders_scan_async  (const char * const *nodes,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
GPtrArray *hdd_holders_scan_finish (GAsyncResult *result,
                                    GError      **error);

/* @raw (@length bytes, -1: NUL-terminated), a /proc/PID/comm, as a D-Bus
 * string: valid UTF-8, control characters as \xNN, at most 64 bytes of
 * @raw, "?" when empty. */
char *hdd_holders_sanitize_command (const char *raw,
                                    gssize      length);

/* a(uss): (pid, command, node) */
GVariant *hdd_holders_to_variant (GPtrArray *holders);

/* Adds copies of @node_a and @node_b, those not NULL or "", to @nodes: the
 * list a scan takes. */
void hdd_holders_add_nodes (GPtrArray  *nodes,
                            const char *node_a,
                            const char *node_b);

/* The holders in @holders (borrowed) of @node_a or @node_b; either may be
 * NULL or "" for none. */
GPtrArray *hdd_holders_of (GPtrArray  *holders,
                           const char *node_a,
                           const char *node_b);

/* @holders as a(uss), or NULL when @current already says exactly that: a
 * property set only on change sends no needless PropertiesChanged. */
GVariant *hdd_holders_to_variant_if_changed (GVariant  *current,
                                             GPtrArray *holders);

/* "qemu-system-x86 (pid 1234) holds /dev/vfio/7, …"; "" when empty. */
char *hdd_holders_describe (GPtrArray *holders);

G_END_DECLS
