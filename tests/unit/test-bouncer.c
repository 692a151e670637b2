/* The authorization table against the API: every method of
 * data/org.hostdevd1.xml that changes something has a polkit action, the
 * methods that only read have none, and the table names no method the API
 * does not have. */
#include "hdd-bouncer.h"
#include "hdd-names.h"

#include <string.h>

static GDBusNodeInfo *
load_api (void)
{
  g_autofree char *xml = NULL;
  g_autoptr(GError) error = NULL;
  GDBusNodeInfo *node;

  g_assert_true (g_file_get_contents (HDD_API_XML, &xml, NULL, &error));
  node = g_dbus_node_info_new_for_xml (xml, &error);
  g_assert_no_error (error);
  return node;
}

static gboolean
only_reads (const char *method)
{
  return g_str_has_prefix (method, "Get");
}

static void
test_every_method (void)
{
  g_autoptr(GDBusNodeInfo) node = load_api ();
  guint checked = 0;

  for (guint i = 0; node->interfaces[i]; i++)
    {
      GDBusInterfaceInfo *iface = node->interfaces[i];

      for (guint j = 0; iface->methods && iface->methods[j]; j++)
        {
          const char *method = iface->methods[j]->name;
          const char *action = hdd_bouncer_action_of (iface->name, method);

          if (only_reads (method))
            g_assert_null (action);
          else if (action == NULL || !g_str_has_prefix (action, HDD_DBUS_NAME "."))
            g_error ("%s.%s changes something but has no polkit action", iface->name, method);
          checked++;
        }
    }
  g_assert_cmpuint (checked, >=, 20);
}

/* A few rows as the policy file says them. */
static void
test_rows (void)
{
  g_assert_cmpstr (hdd_bouncer_action_of (HDD_DBUS_NAME ".PciDevice", "BindVfio"), ==,
                   HDD_ACTION_BIND);
  g_assert_cmpstr (hdd_bouncer_action_of (HDD_DBUS_NAME ".Mdev", "Unplug"), ==,
                   HDD_ACTION_UNPLUG);
  g_assert_cmpstr (hdd_bouncer_action_of (HDD_DBUS_NAME ".Mdev", "Undefine"), ==,
                   HDD_ACTION_MDEV_DEFINE);
  g_assert_cmpstr (hdd_bouncer_action_of (HDD_DBUS_NAME ".Job", "Cancel"), ==,
                   HDD_ACTION_CANCEL_ANY);
  /* Device methods only on device interfaces. */
  g_assert_null (hdd_bouncer_action_of (HDD_DBUS_NAME ".Manager", "Unplug"));
  g_assert_null (hdd_bouncer_action_of (HDD_DBUS_NAME ".PciDevice", "Start"));
  g_assert_null (hdd_bouncer_action_of ("org.example.Other", "BindVfio"));
}

/* Every action the table names is in the polkit policy. */
static void
test_actions_in_policy (void)
{
  g_autofree char *policy = NULL;
  g_autoptr(GDBusNodeInfo) node = load_api ();

  g_assert_true (g_file_get_contents (HDD_POLICY_XML, &policy, NULL, NULL));
  for (guint i = 0; node->interfaces[i]; i++)
    for (guint j = 0; node->interfaces[i]->methods && node->interfaces[i]->methods[j]; j++)
      {
        const char *action = hdd_bouncer_action_of (node->interfaces[i]->name,
                                                    node->interfaces[i]->methods[j]->name);
        g_autofree char *id = action ? g_strdup_printf ("<action id=\"%s\">", action) : NULL;

        if (id && strstr (policy, id) == NULL)
          g_error ("%s is not in %s", action, HDD_POLICY_XML);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bouncer/every-method", test_every_method);
  g_test_add_func ("/bouncer/rows", test_rows);
  g_test_add_func ("/bouncer/actions-in-policy", test_actions_in_policy);
  return g_test_run ();
}
