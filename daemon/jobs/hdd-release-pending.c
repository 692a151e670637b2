#include "hdd-release-pending.h"

#include "hdd-context.h"
#include "hdd-device-kind.h"
#include "hdd-libvirt.h"
#include "hdd-mdev-names.h"
#include "hdd-pci-address.h"
#include "hdd-sysfs.h"
#include "hdd-vfio-sysfs.h"

void
hdd_release_pending_free (HddReleasePending *pending)
{
  g_free (pending->key);
  g_free (pending->vfio);
  g_free (pending->device_dir);
  g_free (pending->target);
  g_free (pending);
}

typedef struct {
  HddContext        *context;
  HddReleasePending *pending;
} Watch;

static void
watch_free (gpointer data)
{
  Watch *w = data;

  g_object_unref (w->context);
  hdd_release_pending_free (w->pending);
  g_free (w);
}

char *
hdd_release_pending_device_of (const char *link_target)
{
  g_auto(GStrv) parts = g_strsplit (link_target, "/", -1);
  guint n = g_strv_length (parts);
  char *key;

  /* .../DEVICE/vfio-dev/vfioX */
  if (n < 3 || !g_str_equal (parts[n - 2], "vfio-dev"))
    return NULL;
  key = hdd_pci_address_canonicalize (parts[n - 3], NULL);
  if (key == NULL && hdd_uuid_is_canonical (parts[n - 3]))
    key = g_strdup (parts[n - 3]);
  return key;
}

static gboolean
is_pending (const char *vfio, gboolean *gone)
{
  g_autofree char *path = hdd_sysfs_path ("/sys/class/vfio-dev/%s/release_pending", vfio);
  guint64 pending = 0;

  *gone = !hdd_sysfs_read_uint (path, &pending, NULL);
  return !*gone && pending == 1;
}

static gboolean
watch_func (HddJob *job, gpointer data, GError **error)
{
  Watch *w = data;
  HddReleasePending *p = w->pending;
  const HddDeviceKind *kind = hdd_device_kind_of_key (p->key);
  g_autofree char *name = kind->describe (p->key);
  g_autofree char *state = hdd_sysfs_path ("/sys/class/vfio-dev/%s", p->vfio);
  g_auto(GStrv) nodes = hdd_vfio_sysfs_nodes (p->device_dir);
  g_autoptr(HddDomainInfo) domain = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *step = NULL;
  gint64 start = g_get_monotonic_time ();
  gboolean gone = FALSE;

  domain = hdd_libvirt_find_hostdev (hdd_context_get_libvirt (w->context), p->key, &local);
  if (domain)
    hdd_job_set_domain (job, domain->name);
  step = g_strdup_printf ("The kernel is releasing %s (release_pending is 1 in %s): a release "
                          "started before hostdevd did%s%s; it cannot be cancelled and ends "
                          "when the holders let go", name, state, domain ? ", held by domain " : "",
                          domain ? domain->name : "");
  if (!hdd_job_begin_release (job, p->key, (const char * const *) nodes, state, step, error))
    return FALSE;
  while (is_pending (p->vfio, &gone))
    {
      hdd_job_set_status (job, "Waiting for the kernel to release %s: %.0f s since hostdevd "
                          "found it", name,
                          (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
      g_usleep (HDD_RELEASE_PENDING_POLL_MS * 1000);
    }
  hdd_job_end_release (job);
  hdd_job_step (job, "The kernel released %s after %.1f s%s", name,
                (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC, kind->released);
  return kind->finish_release (job, w->context, p->key, error);
}

HddJobWork
hdd_release_pending_watch (HddContext        *context,
                           HddReleasePending *pending)
{
  Watch *w = g_new0 (Watch, 1);

  w->context = g_object_ref (context);
  w->pending = pending;
  return (HddJobWork) { "release-pending", watch_func, w, watch_free };
}

static HddReleasePending *
pending_new (const char *vfio, const char *target, const char *key)
{
  HddReleasePending *p = g_new0 (HddReleasePending, 1);
  g_autofree char *canonical = g_canonicalize_filename (target, "/sys/class/vfio-dev");
  g_autofree char *vfio_dev = g_path_get_dirname (canonical);

  p->key = g_strdup (key);
  p->vfio = g_strdup (vfio);
  p->target = g_strdup (target);
  /* .../DEVICE/vfio-dev/vfioX -> .../DEVICE */
  p->device_dir = g_path_get_dirname (vfio_dev);
  return p;
}

GPtrArray *
hdd_release_pending_find (void)
{
  g_autofree char *dir_path = hdd_sysfs_path ("/sys/class/vfio-dev");
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify) hdd_release_pending_free);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename (dir_path, name, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);
      g_autofree char *key = NULL;
      gboolean gone;

      if (target == NULL || !is_pending (name, &gone))
        continue;
      key = hdd_release_pending_device_of (target);
      g_ptr_array_add (found, pending_new (name, target, key));
    }
  return found;
}
