#include "hdd-attach.h"

#include "hdd-binder.h"
#include "hdd-error.h"
#include "hdd-hostdev-xml.h"
#include "hdd-libvirt.h"
#include "hdd-mdev-ops.h"
#include "hdd-mdev-sysfs.h"
#include "hdd-pci-ops.h"
#include "hdd-pci-sysfs.h"
#include "hdd-sysfs.h"

struct _HddAttach
{
  HddManager    *manager;
  HddLibvirt    *libvirt;
  char          *key;
  HddHostdevKind kind;
  char          *domain;
  HddMdevConfig *definition;
  gboolean       persistent;
  gboolean       rom_bar_off;
};

HddAttach *
hdd_attach_new (HddManager          *manager,
                const char          *key,
                const char          *domain,
                const HddMdevConfig *definition,
                gboolean             persistent,
                gboolean             rom_bar_off)
{
  HddAttach *a = g_new0 (HddAttach, 1);

  a->manager = g_object_ref (manager);
  a->libvirt = g_object_ref (hdd_manager_get_libvirt (manager));
  a->key = g_strdup (key);
  a->kind = hdd_hostdev_kind_of_key (key);
  a->domain = g_strdup (domain);
  a->definition = definition ? hdd_mdev_config_copy (definition) : NULL;
  a->persistent = persistent;
  a->rom_bar_off = rom_bar_off;
  return a;
}

void
hdd_attach_free (gpointer data)
{
  HddAttach *a = data;

  g_object_unref (a->manager);
  g_object_unref (a->libvirt);
  g_free (a->key);
  g_free (a->domain);
  hdd_mdev_config_free (a->definition);
  g_free (a);
}

/* What the job changed to prepare the device, to undo it. */
typedef struct {
  gboolean    bound;       /* moved to vfio-pci */
  HddBinding *previous;    /* store entry before, or NULL */
  gboolean    created;     /* the mdev was created */
} Prepared;

static gboolean
prepare_pci (HddJob *job, HddAttach *a, Prepared *p, GError **error)
{
  HddStore *store = hdd_manager_get_store (a->manager);
  g_autofree char *driver = hdd_pci_read_driver (a->key);

  if (hdd_driver_is_vfio (driver))
    {
      hdd_job_step (job, "%s is on %s already", a->key, driver);
      return TRUE;
    }
  p->previous = hdd_store_lookup (store, a->key);
  if (!hdd_pci_ops_bind_locked (a->manager, job, a->key, HDD_BIND_FLAGS_NONE, error))
    return FALSE;
  p->bound = TRUE;
  return TRUE;
}

static gboolean
prepare_mdev (HddJob *job, HddAttach *a, Prepared *p, GError **error)
{
  if (hdd_mdev_is_active (a->key))
    {
      hdd_job_step (job, "mdev %s is running already", a->key);
      return TRUE;
    }
  if (a->definition == NULL)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_FOUND,
                   "mdev %s is neither running nor defined", a->key);
      return FALSE;
    }
  if (!hdd_mdev_ops_create_locked (job, a->definition, error))
    return FALSE;
  p->created = TRUE;
  return TRUE;
}

static void
undo (HddJob *job, HddAttach *a, Prepared *p)
{
  g_autoptr(GError) error = NULL;

  if (p->bound)
    {
      HddStore *store = hdd_manager_get_store (a->manager);
      g_autofree char *driver = NULL;

      hdd_job_step (job, "Giving %s back to its driver", a->key);
      if (!hdd_binder_restore (job, a->key, p->previous ? p->previous->original_driver : NULL,
                               &driver, &error))
        hdd_job_step (job, "Could not give %s back: %s", a->key, error->message);
      else if (p->previous)
        hdd_store_put (store, a->key, p->previous->original_driver, p->previous->persistent, NULL);
      else
        hdd_store_remove (store, a->key, NULL);
    }
  if (p->created)
    {
      hdd_job_step (job, "Removing mdev %s again", a->key);
      if (!hdd_mdev_ops_remove_locked (job, a->key, &error))
        hdd_job_step (job, "Could not remove mdev %s: %s", a->key, error->message);
    }
}

/* The model libvirt needs for an mdev: its type's device API. */
static char *
mdev_model (const char *uuid)
{
  g_autofree char *path = hdd_sysfs_path ("/sys/bus/mdev/devices/%s/mdev_type/device_api", uuid);
  g_autofree char *api = NULL;

  if (hdd_sysfs_read (path, &api, NULL) &&
      (g_str_equal (api, "vfio-pci") || g_str_equal (api, "vfio-ccw") ||
       g_str_equal (api, "vfio-ap")))
    return g_steal_pointer (&api);
  return g_strdup ("vfio-pci");
}

static gboolean
attach_locked (HddJob *job, HddAttach *a, GError **error)
{
  g_autofree char *name = a->kind == HDD_HOSTDEV_PCI ? g_strdup (a->key)
                          : g_strdup_printf ("mdev %s", a->key);
  g_autoptr(HddDomainInfo) other = NULL;
  g_autoptr(HddHostdev) hostdev = hdd_hostdev_new (a->kind, a->key);
  g_autoptr(GError) local = NULL;
  g_autofree char *xml = NULL;
  Prepared p = { 0 };
  gboolean ok;

  hdd_job_step (job, "Attaching %s to domain %s", name, a->domain);
  other = hdd_libvirt_find_hostdev (a->libvirt, a->key, &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (other)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_BUSY, "%s is attached to domain %s already",
                   name, other->name);
      return FALSE;
    }

  ok = a->kind == HDD_HOSTDEV_PCI ? prepare_pci (job, a, &p, error)
                                  : prepare_mdev (job, a, &p, error);
  if (!ok || !hdd_job_check_cancelled (job, error))
    {
      if (ok)
        undo (job, a, &p);
      hdd_binding_free (p.previous);
      return FALSE;
    }
  hdd_job_set_progress (job, 0.5);

  if (a->kind == HDD_HOSTDEV_MDEV)
    {
      g_free (hostdev->model);
      hostdev->model = mdev_model (a->key);
    }
  hostdev->rom_bar_off = a->rom_bar_off;
  xml = hdd_hostdev_to_xml (hostdev);
  hdd_job_step (job, "Asking libvirt to attach %s to domain %s as <hostdev managed='no'> (live%s)",
                name, a->domain, a->persistent ? " and persistent" : "");
  if (!hdd_libvirt_attach (a->libvirt, a->domain, xml, a->persistent, error))
    {
      undo (job, a, &p);
      hdd_binding_free (p.previous);
      return FALSE;
    }
  hdd_binding_free (p.previous);

  /* libvirt returns once QEMU added the device: its alias is known now. */
  other = hdd_libvirt_find_hostdev (a->libvirt, a->key, NULL);
  if (other)
    {
      const HddHostdev *h = hdd_hostdev_find (other->hostdevs, a->key);

      hdd_job_step (job, "Domain %s has %s as %s", other->name, name,
                    h->alias ? h->alias : "a hostdev");
    }
  else
    hdd_job_step (job, "Domain %s has %s", a->domain, name);
  return TRUE;
}

gboolean
hdd_attach_run (HddJob   *job,
                gpointer  data,
                GError  **error)
{
  HddAttach *a = data;
  g_autofree char *key = a->kind == HDD_HOSTDEV_PCI ? hdd_pci_ops_lock_key (a->key)
                                                    : hdd_mdev_ops_lock_key (a->key);
  gboolean ok;

  hdd_job_set_domain (job, a->domain);
  if (!hdd_manager_lock (a->manager, job, key, error))
    return FALSE;
  ok = attach_locked (job, a, error);
  hdd_manager_unlock (a->manager, key);
  return ok;
}
