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
 * through hdd_sysfs_path), or with @nodes NULL any node under /dev/vfio.
 * Returns an array of HddHolder, sorted by pid then node; nodes that do not
 * exist are skipped.  Only the fds whose link names a /dev/vfio/ node are
 * stat()ed: any other may be on a file system that hangs.  A held node is
 * found by the name its link shows when that is the same file, else by its
 * device number (a private /dev).  What a scan costs depends on the
 * processes and their fds, not on how many nodes there are.  May block (a
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

/* @holders (borrowed) by node: node -> GPtrArray of borrowed HddHolder;
 * one pass, so that each device looks up its own nodes. */
GHashTable *hdd_holders_index_by_node (GPtrArray *holders);

/* The holders of @node_a or @node_b (either NULL or "" for none) in an
 * index of hdd_holders_index_by_node(), sorted as a scan sorts them; NULL
 * when there are none. */
GPtrArray *hdd_holders_lookup (GHashTable *index,
                               const char *node_a,
                               const char *node_b);

/* @holders as a(uss), or NULL when @current already says exactly that: a
 * property set only on change sends no needless PropertiesChanged. */
GVariant *hdd_holders_to_variant_if_changed (GVariant  *current,
                                             GPtrArray *holders);

/* "qemu-system-x86 (pid 1234) holds /dev/vfio/7, …"; "" when empty. */
char *hdd_holders_describe (GPtrArray *holders);

/* Calls @func on the thread-default main context when a node under the
 * host's /dev/vfio or /dev/vfio/devices is opened, closed or removed, or
 * one of those directories is (not when either is made: nobody held what
 * did not exist, and an open made in the moment before its directory is
 * watched is left to the owner's periodic scan): a process that opens a
 * VFIO node there is looked for at once, not at the next poll.
 * @only_removed says that nothing was opened or closed, only removed (a
 * device going away: only who held it can have changed).  QEMU in a private /dev
 * (libvirt's) is not seen this way: the owner still polls, less often.
 * Watches the directories that exist, and /dev/vfio/devices once it
 * appears. */
typedef struct _HddHoldersWatch HddHoldersWatch;
typedef void (*HddHoldersWatchFunc) (gboolean only_removed,
                                     gpointer data);

HddHoldersWatch *hdd_holders_watch_new       (HddHoldersWatchFunc func,
                                              gpointer         data);
/* Whether inotify watches (else only a poll will find holders). */
gboolean         hdd_holders_watch_is_active (HddHoldersWatch *watch);
void             hdd_holders_watch_free      (HddHoldersWatch *watch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HddHoldersWatch, hdd_holders_watch_free)

G_END_DECLS
