#include "hdd-binder.h"

#include "hdd-error.h"
#include "hdd-pci-sysfs.h"
#include "hdd-sysfs.h"

static gboolean
write_attr (const char *value, GError **error, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
write_attr (const char *value, GError **error, const char *format, ...)
{
  g_autofree char *rel = NULL;
  g_autofree char *path = NULL;
  va_list args;

  va_start (args, format);
  rel = g_strdup_vprintf (format, args);
  va_end (args);
  path = hdd_sysfs_path ("%s", rel);
  return hdd_sysfs_write (path, value, error);
}

static gboolean
driver_exists (const char *driver)
{
  g_autofree char *path = hdd_sysfs_path ("/sys/bus/pci/drivers/%s", driver);

  return hdd_sysfs_exists (path);
}

/* vfio-pci may be a module nobody loaded yet. */
static gboolean
ensure_vfio_pci (HddJob *job, GError **error)
{
  const char *argv[] = { "modprobe", "vfio-pci", NULL };
  g_autoptr(GError) local = NULL;
  int status = 0;

  if (driver_exists (HDD_VFIO_PCI_DRIVER))
    return TRUE;

  /* Only on the real system: a redirected root is a test tree. */
  if (*hdd_sysfs_root () == '\0')
    {
      hdd_job_step (job, "Loading the vfio-pci module");
      if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH |
                         G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                         NULL, NULL, NULL, NULL, &status, &local))
        g_debug ("modprobe vfio-pci: %s", local->message);
    }
  if (driver_exists (HDD_VFIO_PCI_DRIVER))
    return TRUE;

  g_set_error (error, HDD_ERROR, HDD_ERROR_NOT_SUPPORTED,
               "The vfio-pci driver is not available: the module could not be "
               "loaded (is CONFIG_VFIO_PCI enabled?)");
  return FALSE;
}

/* Waits for the "driver" link to satisfy @want; probing may be
 * asynchronous. */
static char *
wait_for_driver (const char *address, gboolean (*want) (const char *driver, gconstpointer data),
                 gconstpointer data)
{
  gint64 deadline = g_get_monotonic_time () + HDD_BINDER_PROBE_TIMEOUT_MS * 1000;
  guint attempt = 0;

  for (;;)
    {
      g_autofree char *driver = hdd_pci_sysfs_read_driver (address);

      if (want (driver, data) || !hdd_sysfs_wait_next (&attempt, deadline))
        return g_steal_pointer (&driver);
    }
}

static gboolean
want_vfio (const char *driver, gconstpointer data)
{
  return hdd_pci_sysfs_driver_is_vfio (driver);
}

static gboolean
want_not_vfio (const char *driver, gconstpointer data)
{
  const char *expected = data;

  if (expected)
    return g_strcmp0 (driver, expected) == 0;
  return driver != NULL && !hdd_pci_sysfs_driver_is_vfio (driver);
}

static gboolean
unbind (HddJob *job, const char *address, const char *driver, GError **error)
{
  gboolean vfio = hdd_pci_sysfs_driver_is_vfio (driver);
  g_auto(GStrv) nodes = vfio ? hdd_pci_sysfs_vfio_nodes (address) : NULL;
  g_autofree char *release_state = vfio ? hdd_pci_sysfs_release_state_dir (address) : NULL;
  g_autofree char *step = g_strdup_printf ("Unbinding %s from %s", address, driver);
  gboolean ok;

  if (!hdd_job_begin_release (job, address, (const char * const *) nodes, release_state,
                              step, error))
    return FALSE;
  if (vfio)
    {
      /* Blocks while a VM holds the device: from a child process, so that
       * the daemon can still stop (hdd_sysfs_write_detached). */
      g_autofree char *path = hdd_sysfs_path ("/sys/bus/pci/drivers/%s/unbind", driver);
      ok = hdd_sysfs_write_detached (path, address, error);
    }
  else
    ok = write_attr (address, error, "/sys/bus/pci/drivers/%s/unbind", driver);
  hdd_job_end_release (job);
  return ok;
}

/* Best effort: puts the device back on @driver after a failed bind. */
static void
roll_back (HddJob *job, const char *address, const char *driver)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *now = NULL;

  hdd_job_step (job, "Rolling back %s to %s", address, driver ? driver : "no driver");
  if (!write_attr ("\n", &error, "/sys/bus/pci/devices/%s/driver_override", address))
    hdd_job_step (job, "Could not clear driver_override: %s", error->message);
  g_clear_error (&error);

  now = hdd_pci_sysfs_read_driver (address);
  if (now && g_strcmp0 (now, driver) != 0 &&
      !write_attr (address, &error, "/sys/bus/pci/drivers/%s/unbind", now))
    {
      hdd_job_step (job, "Could not unbind from %s: %s", now, error->message);
      return;
    }
  if (driver && g_strcmp0 (now, driver) != 0 &&
      !write_attr (address, &error, "/sys/bus/pci/drivers/%s/bind", driver))
    hdd_job_step (job, "Could not bind back to %s: %s", driver, error->message);
}

gboolean
hdd_binder_bind_vfio (HddJob     *job,
                      const char *address,
                      const char *current_driver,
                      GError    **error)
{
  g_autofree char *result = NULL;

  if (hdd_pci_sysfs_driver_is_vfio (current_driver))
    {
      hdd_job_step (job, "%s is already bound to %s", address, current_driver);
      return TRUE;
    }
  if (!ensure_vfio_pci (job, error) || !hdd_job_check_cancelled (job, error))
    return FALSE;

  hdd_job_step (job, "Setting driver_override of %s to vfio-pci", address);
  if (!write_attr (HDD_VFIO_PCI_DRIVER, error,
                   "/sys/bus/pci/devices/%s/driver_override", address))
    return FALSE;

  if (current_driver && !unbind (job, address, current_driver, error))
    {
      roll_back (job, address, current_driver);
      return FALSE;
    }

  hdd_job_step (job, "Probing %s", address);
  if (!write_attr (address, error, "/sys/bus/pci/drivers_probe"))
    {
      roll_back (job, address, current_driver);
      return FALSE;
    }

  result = wait_for_driver (address, want_vfio, NULL);
  if (!hdd_pci_sysfs_driver_is_vfio (result))
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_FAILED,
                   "vfio-pci did not bind %s (now %s); the kernel log may say why",
                   address, result ? result : "unbound");
      roll_back (job, address, current_driver);
      return FALSE;
    }
  hdd_job_step (job, "%s is bound to %s", address, result);
  return TRUE;
}

/* Gives the unbound @address to @original_driver, or to whichever driver
 * the kernel picks when that is NULL, gone or refuses it; waits for the
 * result. */
static gboolean
to_host_driver (HddJob *job, const char *address, const char *original_driver,
                char **driver, GError **error)
{
  g_autofree char *result = NULL;
  gboolean to_original = original_driver && driver_exists (original_driver);

  if (to_original)
    {
      hdd_job_step (job, "Binding %s to %s", address, original_driver);
      if (!write_attr (address, NULL, "/sys/bus/pci/drivers/%s/bind", original_driver))
        to_original = FALSE;
    }
  if (!to_original)
    {
      hdd_job_step (job, "Probing %s for a host driver", address);
      if (!write_attr (address, error, "/sys/bus/pci/drivers_probe"))
        return FALSE;
    }

  result = wait_for_driver (address, want_not_vfio, to_original ? original_driver : NULL);
  if (result)
    hdd_job_step (job, "%s is bound to %s", address, result);
  else
    hdd_job_step (job, "%s has no driver: none claimed it", address);
  *driver = g_steal_pointer (&result);
  return TRUE;
}

gboolean
hdd_binder_restore (HddJob     *job,
                    const char *address,
                    const char *original_driver,
                    char      **driver,
                    GError    **error)
{
  g_autofree char *current = hdd_pci_sysfs_read_driver (address);
  g_autofree char *override = hdd_pci_sysfs_read_driver_override (address);

  if (!hdd_pci_sysfs_driver_is_vfio (current))
    {
      if (hdd_pci_sysfs_driver_is_vfio (override))
        {
          hdd_job_step (job, "Clearing the vfio-pci driver_override of %s", address);
          if (!write_attr ("\n", error, "/sys/bus/pci/devices/%s/driver_override", address))
            return FALSE;
        }
      hdd_job_step (job, "%s is not bound to vfio-pci (driver: %s)",
                    address, current ? current : "none");
      *driver = g_steal_pointer (&current);
      return TRUE;
    }

  if (!hdd_job_check_cancelled (job, error))
    return FALSE;

  hdd_job_step (job, "Clearing driver_override of %s", address);
  if (!write_attr ("\n", error, "/sys/bus/pci/devices/%s/driver_override", address))
    return FALSE;

  if (!unbind (job, address, current, error))
    {
      /* Still on vfio-pci: keep the override so nothing else grabs it. */
      write_attr (HDD_VFIO_PCI_DRIVER, NULL, "/sys/bus/pci/devices/%s/driver_override", address);
      return FALSE;
    }

  return to_host_driver (job, address, original_driver, driver, error);
}

gboolean
hdd_binder_keep_override (HddJob     *job,
                          const char *address,
                          GError    **error)
{
  hdd_job_step (job, "Setting driver_override of %s to vfio-pci again", address);
  return write_attr (HDD_VFIO_PCI_DRIVER, error,
                     "/sys/bus/pci/devices/%s/driver_override", address);
}

gboolean
hdd_binder_undo_partial (HddJob     *job,
                         const char *address,
                         const char *original_driver,
                         char      **driver,
                         GError    **error)
{
  g_autofree char *override = hdd_pci_sysfs_read_driver_override (address);
  g_autofree char *current = NULL;

  if (hdd_pci_sysfs_driver_is_vfio (override))
    {
      hdd_job_step (job, "Clearing the vfio-pci driver_override of %s", address);
      if (!write_attr ("\n", error, "/sys/bus/pci/devices/%s/driver_override", address))
        return FALSE;
    }
  current = hdd_pci_sysfs_read_driver (address);
  if (current != NULL)
    {
      hdd_job_step (job, "%s is bound to %s", address, current);
      *driver = g_steal_pointer (&current);
      return TRUE;
    }

  /* No driver: the job stopped between unbind and probe.  The same way
   * back as a restore. */
  return to_host_driver (job, address, original_driver, driver, error);
}
