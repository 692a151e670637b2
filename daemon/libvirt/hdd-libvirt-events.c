#include "hdd-libvirt-events.h"

#include <glib-unix.h>
#include <libvirt/libvirt.h>

/* One watch or timer libvirt asked for. */
typedef struct {
  int             id;
  int             fd;          /* watches */
  int             events;      /* watches: VIR_EVENT_HANDLE_* */
  int             interval;    /* timers: ms, -1 disabled */
  guint           source;      /* GLib source, 0 while disabled */
  gboolean        removed;
  union {
    virEventHandleCallback  handle;
    virEventTimeoutCallback timeout;
  } cb;
  void           *opaque;
  virFreeCallback ff;
} Event;

static GMutex lock;
static GHashTable *handles;   /* id -> Event */
static GHashTable *timers;    /* id -> Event */
static int next_handle = 1;
static int next_timer = 1;

static GIOCondition
to_condition (int events)
{
  GIOCondition cond = 0;

  if (events & VIR_EVENT_HANDLE_READABLE)
    cond |= G_IO_IN;
  if (events & VIR_EVENT_HANDLE_WRITABLE)
    cond |= G_IO_OUT;
  return cond;
}

static int
to_events (GIOCondition cond)
{
  int events = 0;

  if (cond & G_IO_IN)
    events |= VIR_EVENT_HANDLE_READABLE;
  if (cond & G_IO_OUT)
    events |= VIR_EVENT_HANDLE_WRITABLE;
  if (cond & G_IO_HUP)
    events |= VIR_EVENT_HANDLE_HANGUP;
  if (cond & (G_IO_ERR | G_IO_NVAL))
    events |= VIR_EVENT_HANDLE_ERROR;
  return events;
}

/* Frees on the main context what libvirt handed over, once no dispatch
 * can use it any more. */
static gboolean
free_later (gpointer data)
{
  Event *e = data;

  if (e->ff)
    e->ff (e->opaque);
  g_free (e);
  return G_SOURCE_REMOVE;
}

static void
remove_later (Event *e)
{
  g_clear_handle_id (&e->source, g_source_remove);
  e->removed = TRUE;
  g_idle_add (free_later, e);
}

/* ---- Watches ---- */

static gboolean
dispatch_handle (int fd, GIOCondition condition, gpointer data)
{
  Event *e = data;
  virEventHandleCallback cb;
  void *opaque;
  int id;

  /* Not under the lock while libvirt runs: the callback updates and
   * removes watches itself. */
  g_mutex_lock (&lock);
  cb = e->removed ? NULL : e->cb.handle;
  opaque = e->opaque;
  id = e->id;
  g_mutex_unlock (&lock);
  if (cb)
    cb (id, fd, to_events (condition), opaque);
  return G_SOURCE_CONTINUE;
}

static void
watch (Event *e)
{
  GIOCondition cond = to_condition (e->events);

  g_clear_handle_id (&e->source, g_source_remove);
  if (cond)
    e->source = g_unix_fd_add_full (G_PRIORITY_DEFAULT, e->fd, cond, dispatch_handle, e, NULL);
}

static int
add_handle (int fd, int events, virEventHandleCallback cb, void *opaque, virFreeCallback ff)
{
  Event *e = g_new0 (Event, 1);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&lock);

  e->id = next_handle++;
  e->fd = fd;
  e->events = events;
  e->cb.handle = cb;
  e->opaque = opaque;
  e->ff = ff;
  watch (e);
  g_hash_table_insert (handles, GINT_TO_POINTER (e->id), e);
  return e->id;
}

static void
update_handle (int id, int events)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&lock);
  Event *e = g_hash_table_lookup (handles, GINT_TO_POINTER (id));

  if (e == NULL || e->events == events)
    return;
  e->events = events;
  watch (e);
}

static int
remove_handle (int id)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&lock);
  Event *e = g_hash_table_lookup (handles, GINT_TO_POINTER (id));

  if (e == NULL)
    return -1;
  g_hash_table_steal (handles, GINT_TO_POINTER (id));
  remove_later (e);
  return 0;
}

/* ---- Timers ---- */

static gboolean
dispatch_timeout (gpointer data)
{
  Event *e = data;
  virEventTimeoutCallback cb;
  void *opaque;
  int id;

  g_mutex_lock (&lock);
  cb = e->removed ? NULL : e->cb.timeout;
  opaque = e->opaque;
  id = e->id;
  g_mutex_unlock (&lock);
  if (cb)
    cb (id, opaque);
  return G_SOURCE_CONTINUE;
}

static void
arm (Event *e)
{
  g_clear_handle_id (&e->source, g_source_remove);
  /* 0 means at every iteration of the loop, -1 disabled. */
  if (e->interval >= 0)
    e->source = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) e->interval,
                                    dispatch_timeout, e, NULL);
}

static int
add_timeout (int interval, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff)
{
  Event *e = g_new0 (Event, 1);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&lock);

  e->id = next_timer++;
  e->interval = interval;
  e->cb.timeout = cb;
  e->opaque = opaque;
  e->ff = ff;
  arm (e);
  g_hash_table_insert (timers, GINT_TO_POINTER (e->id), e);
  return e->id;
}

static void
update_timeout (int id, int interval)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&lock);
  Event *e = g_hash_table_lookup (timers, GINT_TO_POINTER (id));

  if (e == NULL)
    return;
  /* Re-armed even at the same interval: libvirt restarts a timer that
   * way. */
  e->interval = interval;
  arm (e);
}

static int
remove_timeout (int id)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&lock);
  Event *e = g_hash_table_lookup (timers, GINT_TO_POINTER (id));

  if (e == NULL)
    return -1;
  g_hash_table_steal (timers, GINT_TO_POINTER (id));
  remove_later (e);
  return 0;
}

void
hdd_libvirt_events_register (void)
{
  static gsize once = 0;

  if (!g_once_init_enter (&once))
    return;
  handles = g_hash_table_new (g_direct_hash, g_direct_equal);
  timers = g_hash_table_new (g_direct_hash, g_direct_equal);
  virEventRegisterImpl (add_handle, update_handle, remove_handle,
                        add_timeout, update_timeout, remove_timeout);
  g_once_init_leave (&once, 1);
}
