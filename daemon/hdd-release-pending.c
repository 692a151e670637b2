#include "hdd-release-pending.h"

#include "hdd-binder.h"
#include "hdd-error.h"
#include "hdd-libvirt.h"
#include "hdd-log.h"
#include "hdd-mdev-names.h"
#include "hdd-pci-address.h"
#include "hdd-pci-ops.h"
#include "hdd-pci-sysfs.h"
#include "hdd-sysfs.h"
#include "hdd-vfio-sysfs.h"

typedef struct {
  HddManager *manager;
  HddLibvirt *libvirt;
  char       *key;          /* PCI address or mdev UUID */
  char       *vfio;         /* "vfio0" */
  char       *device_dir;   /* the device's sysfs directory, without root */
} Pending;

static void
pending_free (gpointer data)
{
  Pending *p = data;

  g_object_unref (p->manager);
  g_object_unref (p->libvirt);
  g_free (p->key);
  g_free (p->vfio);
  g_free (p->device_dir);
  g_free (p);
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

/* An unbind from vfio-pci was what the daemon before wanted: a restore or
 * an unplug, which then give the device to its host driver.  Done here as
 * a restore that stopped half-way is undone (hdd_binder_undo_partial), under
 * the group's lock. */
static gboolean
finish_pci (HddJob *job, Pending *p, GError **error)
{
  HddStore *store = hdd_manager_get_store (p->manager);
  g_autofree char *key = hdd_pci_ops_lock_key (p->key);
  g_autoptr(HddBinding) entry = NULL;
  g_autofree char *driver = NULL;
  gboolean ok;

  if (!hdd_manager_lock (p->manager, job, key, error))
    return FALSE;
  entry = hdd_store_lookup (store, p->key);
  ok = hdd_binder_undo_partial (job, p->key, entry ? entry->original_driver : NULL, &driver,
                                error);
  /* As after an unplug: a persistent binding stays recorded. */
  if (ok && entry && !entry->persistent)
    hdd_store_remove (store, p->key, NULL);
  hdd_manager_unlock (p->manager, key);
  return ok;
}

static gboolean
watch_func (HddJob *job, gpointer data, GError **error)
{
  Pending *p = data;
  gboolean pci = !hdd_uuid_is_canonical (p->key);
  g_autofree char *name = pci ? g_strdup (p->key) : g_strdup_printf ("mdev %s", p->key);
  g_autofree char *state = hdd_sysfs_path ("/sys/class/vfio-dev/%s", p->vfio);
  g_auto(GStrv) nodes = hdd_vfio_nodes (p->device_dir);
  g_autoptr(HddDomainInfo) domain = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *step = NULL;
  gint64 start = g_get_monotonic_time ();
  gboolean gone = FALSE;

  domain = hdd_libvirt_find_hostdev (p->libvirt, p->key, &local);
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
  if (!pci)
    {
      hdd_job_step (job, "The kernel released %s after %.1f s; it is removed", name,
                    (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
      return TRUE;
    }
  hdd_job_step (job, "The kernel released %s after %.1f s", name,
                (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
  return finish_pci (job, p, error);
}

static void
adopt (HddManager *manager, const char *vfio, const char *target)
{
  g_autofree char *key = hdd_release_pending_device_of (target);
  g_autofree char *canonical = NULL;
  g_autofree char *path = NULL;
  HddPciDevice *device;
  Pending *p;
  HddJob *job;

  if (key == NULL)
    {
      hdd_warning (NULL, 0, "The kernel is releasing %s (%s), a device hostdevd does not "
                   "manage", vfio, target);
      return;
    }
  p = g_new0 (Pending, 1);
  p->manager = g_object_ref (manager);
  p->libvirt = g_object_ref (hdd_manager_get_libvirt (manager));
  p->key = g_strdup (key);
  p->vfio = g_strdup (vfio);
  canonical = g_canonicalize_filename (target, "/sys/class/vfio-dev");
  p->device_dir = g_path_get_dirname (canonical);
  {
    /* .../DEVICE/vfio-dev -> .../DEVICE */
    char *dir = g_path_get_dirname (p->device_dir);
    g_free (p->device_dir);
    p->device_dir = dir;
  }

  device = hdd_manager_lookup_device (manager, key);
  if (device)
    job = hdd_manager_start_job (manager, "release-pending", device, NULL, watch_func, p,
                                 pending_free);
  else
    {
      /* An mdev being removed has no object: its bus entry is gone. */
      path = hdd_mdev_object_path (key);
      job = hdd_manager_start_job_for (manager, "release-pending", path, key, NULL,
                                       watch_func, p, pending_free);
    }
  hdd_warning (key, hdd_job_get_id (job), "The kernel is still releasing %s (%s): a release "
               "started before hostdevd did is waiting for its holders; job %u follows it",
               key, vfio, hdd_job_get_id (job));
}

void
hdd_release_pending_adopt (HddManager *manager)
{
  g_autofree char *dir_path = hdd_sysfs_path ("/sys/class/vfio-dev");
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename (dir_path, name, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);
      gboolean gone;

      if (target && is_pending (name, &gone))
        adopt (manager, name, target);
    }
}
