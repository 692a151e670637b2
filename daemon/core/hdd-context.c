#include "hdd-context.h"

#include "hdd-job.h"
#include "hdd-store.h"

/* How often a job waiting for a lock looks whether it was cancelled. */
#define LOCK_CANCEL_POLL_MS 200

struct _HddContext
{
  GObject     parent;

  HddStore   *store;
  GObject    *libvirt;

  /* Keys taken by running jobs; shared with job threads. */
  GMutex      lock_mutex;
  GCond       lock_cond;
  GHashTable *locked;
};

G_DEFINE_TYPE (HddContext, hdd_context, G_TYPE_OBJECT)

static void
hdd_context_finalize (GObject *object)
{
  HddContext *self = HDD_CONTEXT (object);

  g_clear_object (&self->store);
  g_clear_object (&self->libvirt);
  g_hash_table_unref (self->locked);
  g_mutex_clear (&self->lock_mutex);
  g_cond_clear (&self->lock_cond);
  G_OBJECT_CLASS (hdd_context_parent_class)->finalize (object);
}

static void
hdd_context_class_init (HddContextClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hdd_context_finalize;
}

static void
hdd_context_init (HddContext *self)
{
  self->locked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_init (&self->lock_mutex);
  g_cond_init (&self->lock_cond);
}

HddContext *
hdd_context_new (HddStore *store,
                 gpointer  libvirt)
{
  HddContext *self = g_object_new (HDD_TYPE_CONTEXT, NULL);

  self->store = g_object_ref (store);
  self->libvirt = libvirt ? g_object_ref (G_OBJECT (libvirt)) : NULL;
  return self;
}

HddStore *
hdd_context_get_store (HddContext *self)
{
  return self->store;
}

HddLibvirt *
hdd_context_get_libvirt (HddContext *self)
{
  return (HddLibvirt *) self->libvirt;
}

gboolean
hdd_context_lock (HddContext *self,
                  HddJob     *job,
                  const char *key,
                  GError    **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock_mutex);
  gboolean announced = FALSE;

  while (g_hash_table_contains (self->locked, key))
    {
      if (!announced)
        {
          hdd_job_step (job, "Waiting for another job on IOMMU %s", key);
          announced = TRUE;
        }
      /* Wake up now and then to notice a Cancel(). */
      g_cond_wait_until (&self->lock_cond, &self->lock_mutex,
                         g_get_monotonic_time () + LOCK_CANCEL_POLL_MS * G_TIME_SPAN_MILLISECOND);
      if (!hdd_job_check_cancelled (job, error))
        return FALSE;
    }
  g_hash_table_add (self->locked, g_strdup (key));
  return TRUE;
}

void
hdd_context_unlock (HddContext *self,
                    const char *key)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock_mutex);

  g_hash_table_remove (self->locked, key);
  g_cond_broadcast (&self->lock_cond);
}

gboolean
hdd_context_run_locked (HddContext          *self,
                        HddJob              *job,
                        const char          *key,
                        HddContextLockedFunc func,
                        gpointer             data,
                        GError             **error)
{
  gboolean ok;

  if (!hdd_context_lock (self, job, key, error))
    return FALSE;
  ok = func (job, data, error);
  hdd_context_unlock (self, key);
  return ok;
}
