#include "hdd-attach.h"

#include "hdd-context.h"
#include "hdd-device-kind.h"
#include "hdd-error.h"
#include "hdd-hostdev-xml.h"
#include "hdd-libvirt.h"
#include "hdd-mdev-sysfs.h"
#include "hdd-names.h"
#include "hdd-pci-sysfs.h"

struct _HddAttach
{
  HddContext          *context;
  const HddDeviceKind *kind;
  char                *key;
  char                *domain;
  HddMdevConfig       *definition;
  gboolean             persistent;
  gboolean             rom_bar_off;
  gboolean             may_prepare;
};

HddAttach *
hdd_attach_new (HddContext          *context,
                const char          *key,
                const char          *domain,
                const HddMdevConfig *definition,
                gboolean             persistent,
                gboolean             rom_bar_off)
{
  HddAttach *a = g_new0 (HddAttach, 1);

  a->context = g_object_ref (context);
  a->key = g_strdup (key);
  a->kind = hdd_device_kind_of_key (key);
  a->domain = g_strdup (domain);
  a->definition = definition ? hdd_mdev_config_copy (definition) : NULL;
  a->persistent = persistent;
  a->rom_bar_off = rom_bar_off;
  a->may_prepare = TRUE;
  return a;
}

const char *
hdd_attach_action_needed (const char *key)
{
  g_autofree char *driver = NULL;

  /* What the kind's prepare looks at to decide whether to act. */
  if (hdd_hostdev_kind_of_key (key) == HDD_HOSTDEV_MDEV)
    return hdd_mdev_sysfs_is_active (key) ? NULL : HDD_ACTION_MDEV;
  driver = hdd_pci_sysfs_read_driver (key);
  return hdd_pci_sysfs_driver_is_vfio (driver) ? NULL : HDD_ACTION_BIND;
}

void
hdd_attach_set_may_prepare (HddAttach *attach,
                            gboolean   may_prepare)
{
  attach->may_prepare = may_prepare;
}

void
hdd_attach_free (gpointer data)
{
  HddAttach *a = data;

  g_object_unref (a->context);
  g_free (a->key);
  g_free (a->domain);
  hdd_mdev_config_free (a->definition);
  g_free (a);
}

static gboolean
attach_locked (HddJob *job, gpointer data, GError **error)
{
  HddAttach *a = data;
  HddLibvirt *libvirt = hdd_context_get_libvirt (a->context);
  g_autofree char *name = a->kind->describe (a->key);
  g_autoptr(HddDomainInfo) other = NULL;
  g_autoptr(HddHostdev) hostdev = hdd_hostdev_new (a->kind->hostdev, a->key);
  g_autofree char *model = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *xml = NULL;
  g_auto(HddDevicePrepared) p = { 0 };
  gboolean ok;

  hdd_job_step (job, "Attaching %s to domain %s", name, a->domain);
  other = hdd_libvirt_find_hostdev (libvirt, a->key, &local);
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

  /* Under the device's lock: what prepare finds is what this saw. */
  if (!a->may_prepare && hdd_attach_action_needed (a->key))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_AUTHORIZED,
                   "%s changed since the call was authorized: attaching it now needs %s",
                   name, hdd_attach_action_needed (a->key));
      return FALSE;
    }
  ok = a->kind->prepare (job, a->context, a->key, a->definition, &p, error);
  if (!ok || !hdd_job_check_cancelled (job, error))
    {
      if (ok)
        a->kind->unprepare (job, a->context, a->key, &p);
      return FALSE;
    }
  hdd_job_set_progress (job, 0.5);

  /* Read once the device is there: an mdev's model is its type's API. */
  model = a->kind->hostdev_model (a->key);
  if (model)
    {
      g_free (hostdev->model);
      hostdev->model = g_steal_pointer (&model);
    }
  hostdev->rom_bar_off = a->rom_bar_off;
  xml = hdd_hostdev_to_xml (hostdev);
  hdd_job_step (job, "Asking libvirt to attach %s to domain %s as <hostdev managed='no'> (live%s)",
                name, a->domain, a->persistent ? " and persistent" : "");
  if (!hdd_libvirt_attach (libvirt, a->domain, xml, a->persistent, error))
    {
      a->kind->unprepare (job, a->context, a->key, &p);
      return FALSE;
    }

  /* libvirt returns once QEMU added the device: its alias is known now. */
  other = hdd_libvirt_find_hostdev (libvirt, a->key, NULL);
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
  g_autofree char *key = a->kind->lock_key (a->key);

  hdd_job_set_domain (job, a->domain);
  return hdd_context_run_locked (a->context, job, key, attach_locked, a, error);
}
