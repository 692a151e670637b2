#include "hdd-unplug-policy.h"

#include "hdd-error.h"

static const char * const policy_names[] = {
  [HDD_UNPLUG_POLICY_WAIT] = "wait",
  [HDD_UNPLUG_POLICY_FAIL] = "fail",
  [HDD_UNPLUG_POLICY_DESTROY_DOMAIN] = "destroy-domain",
  [HDD_UNPLUG_POLICY_REVOKE] = "revoke",
};

const char *
hdd_unplug_policy_to_string (HddUnplugPolicy policy)
{
  g_return_val_if_fail (policy < G_N_ELEMENTS (policy_names), "?");
  return policy_names[policy];
}

gboolean
hdd_unplug_options_parse (GVariant         *options,
                          gboolean          supports_revoke,
                          HddUnplugOptions *out,
                          GError          **error)
{
  const char *policy = NULL;
  guint32 deadline = HDD_UNPLUG_DEFAULT_DEADLINE_S;
  gboolean persistent = FALSE;
  gsize i;

  g_variant_lookup (options, "deadline", "u", &deadline);
  g_variant_lookup (options, "policy", "&s", &policy);
  g_variant_lookup (options, "persistent", "b", &persistent);

  if (deadline < 1 || deadline > HDD_UNPLUG_MAX_DEADLINE_S)
    {
      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "The deadline must be between 1 and %d seconds, not %u",
                   HDD_UNPLUG_MAX_DEADLINE_S, deadline);
      return FALSE;
    }
  for (i = 0; policy && i < G_N_ELEMENTS (policy_names); i++)
    if (g_str_equal (policy, policy_names[i]))
      break;
  if (policy && i == G_N_ELEMENTS (policy_names))
    {
      g_autofree char *shown = g_strescape (policy, NULL);

      g_set_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT,
                   "Unknown policy “%.64s” (expected wait, fail, destroy-domain or revoke)", shown);
      return FALSE;
    }
  if (policy && i == HDD_UNPLUG_POLICY_REVOKE && !supports_revoke)
    {
      g_set_error_literal (error, HDD_ERROR, HDD_ERROR_NOT_SUPPORTED,
                           "The policy revoke needs a kernel that can revoke a device from "
                           "its user, and this one cannot (Manager.SupportsRevoke is false)");
      return FALSE;
    }

  out->deadline_s = deadline;
  out->policy = policy ? (HddUnplugPolicy) i : HDD_UNPLUG_POLICY_WAIT;
  out->persistent = persistent;
  return TRUE;
}

void
hdd_unplug_machine_init (HddUnplugMachine *m,
                         HddUnplugPolicy   policy)
{
  *m = (HddUnplugMachine) { .policy = policy, .phase = HDD_UNPLUG_PHASE_PLAN };
}

static HddUnplugAction
go (HddUnplugMachine *m, HddUnplugPhase phase, HddUnplugAction action)
{
  m->phase = phase;
  return action;
}

/* The row of the policy table for the phase the deadline found the job in. */
static HddUnplugAction
at_deadline (HddUnplugMachine *m)
{
  gboolean asking = m->phase == HDD_UNPLUG_PHASE_ASK_GUEST;

  switch (m->policy)
    {
    case HDD_UNPLUG_POLICY_WAIT:
      /* The kernel asks the holders again every 10 s and never gives up. */
      return asking ? go (m, HDD_UNPLUG_PHASE_KERNEL, HDD_UNPLUG_ACTION_RELEASE_KERNEL)
                    : HDD_UNPLUG_ACTION_KEEP_WAITING;
    case HDD_UNPLUG_POLICY_FAIL:
      /* Past the kernel write there is nothing left to give up. */
      return asking ? go (m, HDD_UNPLUG_PHASE_FAILED, HDD_UNPLUG_ACTION_GIVE_UP)
                    : HDD_UNPLUG_ACTION_KEEP_WAITING;
    case HDD_UNPLUG_POLICY_DESTROY_DOMAIN:
      if (!m->domain_known)
        return HDD_UNPLUG_ACTION_KEEP_WAITING;
      m->destroy_requested = TRUE;
      return HDD_UNPLUG_ACTION_DESTROY_DOMAIN;
    case HDD_UNPLUG_POLICY_REVOKE:
      /* Only a release that waits for the holders can be revoked: from
       * asking the guest, the kernel's release starts with it. */
      m->revoke_requested = TRUE;
      return go (m, HDD_UNPLUG_PHASE_KERNEL, HDD_UNPLUG_ACTION_REVOKE);
    }
  g_return_val_if_reached (HDD_UNPLUG_ACTION_KEEP_WAITING);
}

HddUnplugAction
hdd_unplug_machine_next (HddUnplugMachine *m,
                         HddUnplugEvent    event,
                         gboolean          domain_known)
{
  if (m->phase == HDD_UNPLUG_PHASE_DONE || m->phase == HDD_UNPLUG_PHASE_FAILED)
    return HDD_UNPLUG_ACTION_KEEP_WAITING;

  switch (event)
    {
    case HDD_UNPLUG_EVENT_PLANNED:
      if (m->phase != HDD_UNPLUG_PHASE_PLAN)
        break;
      m->domain_known = domain_known;
      return domain_known ? go (m, HDD_UNPLUG_PHASE_ASK_GUEST, HDD_UNPLUG_ACTION_ASK_GUEST)
                          : go (m, HDD_UNPLUG_PHASE_KERNEL, HDD_UNPLUG_ACTION_RELEASE_KERNEL);

    case HDD_UNPLUG_EVENT_GUEST_REMOVED:
    case HDD_UNPLUG_EVENT_HOLDERS_GONE:
      if (m->phase == HDD_UNPLUG_PHASE_ASK_GUEST)
        return go (m, HDD_UNPLUG_PHASE_DONE, HDD_UNPLUG_ACTION_COMPLETE);
      break;

    case HDD_UNPLUG_EVENT_GUEST_REFUSED:
      /* Libvirt cannot do it: the kernel's request is the other way to
       * reach the guest, whatever the policy says about the deadline. */
      if (m->phase == HDD_UNPLUG_PHASE_ASK_GUEST)
        return go (m, HDD_UNPLUG_PHASE_KERNEL, HDD_UNPLUG_ACTION_RELEASE_KERNEL);
      break;

    case HDD_UNPLUG_EVENT_DEADLINE:
      if (m->deadline_passed || m->phase == HDD_UNPLUG_PHASE_PLAN)
        break;
      m->deadline_passed = TRUE;
      return at_deadline (m);

    case HDD_UNPLUG_EVENT_KERNEL_RELEASED:
      if (m->phase == HDD_UNPLUG_PHASE_KERNEL)
        return go (m, HDD_UNPLUG_PHASE_DONE, HDD_UNPLUG_ACTION_COMPLETE);
      break;
    }
  return HDD_UNPLUG_ACTION_KEEP_WAITING;
}
