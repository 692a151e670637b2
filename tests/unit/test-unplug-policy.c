/* The Unplug job's options and its state machine: what happens after
 * planning, when the guest answers, and at the deadline for every policy
 * in every phase. */
#include "hdd-error.h"
#include "hdd-unplug-policy.h"

static GVariant *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  GVariant *v = g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, &error);

  g_assert_no_error (error);
  return g_variant_ref_sink (v);
}

static void
test_options_defaults (void)
{
  g_autoptr(GVariant) o = parse ("{}");
  HddUnplugOptions out = { 0 };

  g_assert_true (hdd_unplug_options_parse (o, FALSE, &out, NULL));
  g_assert_cmpuint (out.deadline_s, ==, HDD_UNPLUG_DEFAULT_DEADLINE_S);
  g_assert_cmpint (out.policy, ==, HDD_UNPLUG_POLICY_WAIT);
  g_assert_false (out.persistent);
}

static void
test_options_given (void)
{
  g_autoptr(GVariant) o = parse ("{'deadline': <uint32 86400>, 'policy': <'destroy-domain'>, "
                                 "'persistent': <true>}");
  g_autoptr(GVariant) fail = parse ("{'deadline': <uint32 1>, 'policy': <'fail'>}");
  HddUnplugOptions out = { 0 };

  g_assert_true (hdd_unplug_options_parse (o, FALSE, &out, NULL));
  g_assert_cmpuint (out.deadline_s, ==, 86400);
  g_assert_cmpint (out.policy, ==, HDD_UNPLUG_POLICY_DESTROY_DOMAIN);
  g_assert_true (out.persistent);
  g_assert_true (hdd_unplug_options_parse (fail, FALSE, &out, NULL));
  g_assert_cmpuint (out.deadline_s, ==, 1);
  g_assert_cmpint (out.policy, ==, HDD_UNPLUG_POLICY_FAIL);
}

static void
test_options_bad (void)
{
  const char *cases[] = {
    "{'deadline': <uint32 0>}",
    "{'deadline': <uint32 86401>}",
    "{'policy': <'kill'>}",
    "{'policy': <''>}",
    "{'policy': <'WAIT'>}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GVariant) o = parse (cases[i]);
      g_autoptr(GError) error = NULL;
      HddUnplugOptions out = { 7, HDD_UNPLUG_POLICY_FAIL, TRUE };

      g_assert_false (hdd_unplug_options_parse (o, TRUE, &out, &error));
      g_assert_error (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT);
      /* Bad input changes nothing. */
      g_assert_cmpuint (out.deadline_s, ==, 7);
      g_assert_cmpint (out.policy, ==, HDD_UNPLUG_POLICY_FAIL);
    }
}

/* revoke is a known name, refused unless the kernel can revoke. */
static void
test_options_revoke (void)
{
  g_autoptr(GVariant) o = parse ("{'policy': <'revoke'>}");
  g_autoptr(GError) error = NULL;
  HddUnplugOptions out = { 0 };

  g_assert_false (hdd_unplug_options_parse (o, FALSE, &out, &error));
  g_assert_error (error, HDD_ERROR, HDD_ERROR_NOT_SUPPORTED);
  g_assert_true (hdd_unplug_options_parse (o, TRUE, &out, NULL));
  g_assert_cmpint (out.policy, ==, HDD_UNPLUG_POLICY_REVOKE);
  g_assert_cmpstr (hdd_unplug_policy_to_string (out.policy), ==, "revoke");
}

static HddUnplugMachine
planned (HddUnplugPolicy policy, gboolean domain, HddUnplugAction expected)
{
  HddUnplugMachine m;

  hdd_unplug_machine_init (&m, policy);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_PLANNED, domain), ==, expected);
  return m;
}

static void
test_plan (void)
{
  HddUnplugMachine m = planned (HDD_UNPLUG_POLICY_WAIT, TRUE, HDD_UNPLUG_ACTION_ASK_GUEST);

  g_assert_cmpint (m.phase, ==, HDD_UNPLUG_PHASE_ASK_GUEST);
  m = planned (HDD_UNPLUG_POLICY_WAIT, FALSE, HDD_UNPLUG_ACTION_RELEASE_KERNEL);
  g_assert_cmpint (m.phase, ==, HDD_UNPLUG_PHASE_KERNEL);

  /* Nothing but planning starts it; a deadline before is ignored. */
  hdd_unplug_machine_init (&m, HDD_UNPLUG_POLICY_FAIL);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_DEADLINE, FALSE), ==,
                   HDD_UNPLUG_ACTION_KEEP_WAITING);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_GUEST_REMOVED, FALSE), ==,
                   HDD_UNPLUG_ACTION_KEEP_WAITING);
  g_assert_cmpint (m.phase, ==, HDD_UNPLUG_PHASE_PLAN);
}

static void
test_guest_answers (void)
{
  HddUnplugMachine m = planned (HDD_UNPLUG_POLICY_FAIL, TRUE, HDD_UNPLUG_ACTION_ASK_GUEST);

  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_GUEST_REMOVED, FALSE), ==,
                   HDD_UNPLUG_ACTION_COMPLETE);
  g_assert_cmpint (m.phase, ==, HDD_UNPLUG_PHASE_DONE);
  /* Done is done. */
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_DEADLINE, FALSE), ==,
                   HDD_UNPLUG_ACTION_KEEP_WAITING);

  /* The domain stopped: nobody holds the device any more. */
  m = planned (HDD_UNPLUG_POLICY_WAIT, TRUE, HDD_UNPLUG_ACTION_ASK_GUEST);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_HOLDERS_GONE, FALSE), ==,
                   HDD_UNPLUG_ACTION_COMPLETE);

  /* libvirt cannot: the kernel is the other way, whatever the policy. */
  for (HddUnplugPolicy p = HDD_UNPLUG_POLICY_WAIT; p <= HDD_UNPLUG_POLICY_REVOKE; p++)
    {
      m = planned (p, TRUE, HDD_UNPLUG_ACTION_ASK_GUEST);
      g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_GUEST_REFUSED, FALSE), ==,
                       HDD_UNPLUG_ACTION_RELEASE_KERNEL);
      g_assert_cmpint (m.phase, ==, HDD_UNPLUG_PHASE_KERNEL);
      g_assert_true (m.domain_known);
    }
}

static void
test_kernel_releases (void)
{
  HddUnplugMachine m = planned (HDD_UNPLUG_POLICY_WAIT, FALSE, HDD_UNPLUG_ACTION_RELEASE_KERNEL);

  /* The holders going away is seen as the kernel write returning. */
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_HOLDERS_GONE, FALSE), ==,
                   HDD_UNPLUG_ACTION_KEEP_WAITING);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_KERNEL_RELEASED, FALSE), ==,
                   HDD_UNPLUG_ACTION_COMPLETE);
  g_assert_cmpint (m.phase, ==, HDD_UNPLUG_PHASE_DONE);
}

/* The policy table of hdd-unplug-policy.h, row by row. */
static void
test_deadline_table (void)
{
  static const struct {
    HddUnplugPolicy policy;
    gboolean        domain;
    gboolean        asking;   /* else in the kernel phase */
    HddUnplugAction action;
    HddUnplugPhase  phase;
  } rows[] = {
    { HDD_UNPLUG_POLICY_WAIT, TRUE, TRUE, HDD_UNPLUG_ACTION_RELEASE_KERNEL, HDD_UNPLUG_PHASE_KERNEL },
    { HDD_UNPLUG_POLICY_WAIT, TRUE, FALSE, HDD_UNPLUG_ACTION_KEEP_WAITING, HDD_UNPLUG_PHASE_KERNEL },
    { HDD_UNPLUG_POLICY_WAIT, FALSE, FALSE, HDD_UNPLUG_ACTION_KEEP_WAITING, HDD_UNPLUG_PHASE_KERNEL },
    { HDD_UNPLUG_POLICY_FAIL, TRUE, TRUE, HDD_UNPLUG_ACTION_GIVE_UP, HDD_UNPLUG_PHASE_FAILED },
    { HDD_UNPLUG_POLICY_FAIL, TRUE, FALSE, HDD_UNPLUG_ACTION_KEEP_WAITING, HDD_UNPLUG_PHASE_KERNEL },
    { HDD_UNPLUG_POLICY_FAIL, FALSE, FALSE, HDD_UNPLUG_ACTION_KEEP_WAITING, HDD_UNPLUG_PHASE_KERNEL },
    { HDD_UNPLUG_POLICY_DESTROY_DOMAIN, TRUE, TRUE, HDD_UNPLUG_ACTION_DESTROY_DOMAIN,
      HDD_UNPLUG_PHASE_ASK_GUEST },
    { HDD_UNPLUG_POLICY_DESTROY_DOMAIN, TRUE, FALSE, HDD_UNPLUG_ACTION_DESTROY_DOMAIN,
      HDD_UNPLUG_PHASE_KERNEL },
    { HDD_UNPLUG_POLICY_DESTROY_DOMAIN, FALSE, FALSE, HDD_UNPLUG_ACTION_KEEP_WAITING,
      HDD_UNPLUG_PHASE_KERNEL },
    { HDD_UNPLUG_POLICY_REVOKE, TRUE, TRUE, HDD_UNPLUG_ACTION_REVOKE, HDD_UNPLUG_PHASE_KERNEL },
    { HDD_UNPLUG_POLICY_REVOKE, TRUE, FALSE, HDD_UNPLUG_ACTION_REVOKE, HDD_UNPLUG_PHASE_KERNEL },
    { HDD_UNPLUG_POLICY_REVOKE, FALSE, FALSE, HDD_UNPLUG_ACTION_REVOKE, HDD_UNPLUG_PHASE_KERNEL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      HddUnplugMachine m = planned (rows[i].policy, rows[i].domain,
                                    rows[i].domain ? HDD_UNPLUG_ACTION_ASK_GUEST
                                                   : HDD_UNPLUG_ACTION_RELEASE_KERNEL);

      g_test_message ("row %u: policy %s, %s, %s", i, hdd_unplug_policy_to_string (rows[i].policy),
                      rows[i].domain ? "domain" : "no domain", rows[i].asking ? "asking" : "kernel");
      if (rows[i].domain && !rows[i].asking)
        g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_GUEST_REFUSED, FALSE), ==,
                         HDD_UNPLUG_ACTION_RELEASE_KERNEL);
      g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_DEADLINE, FALSE), ==,
                       rows[i].action);
      g_assert_cmpint (m.phase, ==, rows[i].phase);
      g_assert_true (m.deadline_passed);
      /* The deadline passes once. */
      g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_DEADLINE, FALSE), ==,
                       HDD_UNPLUG_ACTION_KEEP_WAITING);
    }
}

/* destroy-domain: after the destroy, the job completes when the guest's
 * QEMU let go, in either phase. */
static void
test_destroy_then_free (void)
{
  HddUnplugMachine m = planned (HDD_UNPLUG_POLICY_DESTROY_DOMAIN, TRUE, HDD_UNPLUG_ACTION_ASK_GUEST);

  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_DEADLINE, FALSE), ==,
                   HDD_UNPLUG_ACTION_DESTROY_DOMAIN);
  g_assert_true (m.destroy_requested);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_HOLDERS_GONE, FALSE), ==,
                   HDD_UNPLUG_ACTION_COMPLETE);

  m = planned (HDD_UNPLUG_POLICY_DESTROY_DOMAIN, TRUE, HDD_UNPLUG_ACTION_ASK_GUEST);
  hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_GUEST_REFUSED, FALSE);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_DEADLINE, FALSE), ==,
                   HDD_UNPLUG_ACTION_DESTROY_DOMAIN);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_KERNEL_RELEASED, FALSE), ==,
                   HDD_UNPLUG_ACTION_COMPLETE);
}

/* revoke: from asking the guest it is the point of no return (the kernel
 * can only revoke a release that waits), and the job completes when the
 * kernel's release returns, not when the guest answers late. */
static void
test_revoke_then_free (void)
{
  HddUnplugMachine m = planned (HDD_UNPLUG_POLICY_REVOKE, TRUE, HDD_UNPLUG_ACTION_ASK_GUEST);

  g_assert_false (m.revoke_requested);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_DEADLINE, FALSE), ==,
                   HDD_UNPLUG_ACTION_REVOKE);
  g_assert_true (m.revoke_requested);
  g_assert_cmpint (m.phase, ==, HDD_UNPLUG_PHASE_KERNEL);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_GUEST_REMOVED, FALSE), ==,
                   HDD_UNPLUG_ACTION_KEEP_WAITING);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_HOLDERS_GONE, FALSE), ==,
                   HDD_UNPLUG_ACTION_KEEP_WAITING);
  g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_KERNEL_RELEASED, FALSE), ==,
                   HDD_UNPLUG_ACTION_COMPLETE);
  g_assert_cmpint (m.phase, ==, HDD_UNPLUG_PHASE_DONE);

  /* No other policy asks for a revocation. */
  for (HddUnplugPolicy p = HDD_UNPLUG_POLICY_WAIT; p < HDD_UNPLUG_POLICY_REVOKE; p++)
    {
      m = planned (p, TRUE, HDD_UNPLUG_ACTION_ASK_GUEST);
      g_assert_cmpint (hdd_unplug_machine_next (&m, HDD_UNPLUG_EVENT_DEADLINE, FALSE), !=,
                       HDD_UNPLUG_ACTION_REVOKE);
      g_assert_false (m.revoke_requested);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unplug-policy/options/defaults", test_options_defaults);
  g_test_add_func ("/unplug-policy/options/given", test_options_given);
  g_test_add_func ("/unplug-policy/options/bad", test_options_bad);
  g_test_add_func ("/unplug-policy/options/revoke", test_options_revoke);
  g_test_add_func ("/unplug-policy/plan", test_plan);
  g_test_add_func ("/unplug-policy/guest-answers", test_guest_answers);
  g_test_add_func ("/unplug-policy/kernel-releases", test_kernel_releases);
  g_test_add_func ("/unplug-policy/deadline-table", test_deadline_table);
  g_test_add_func ("/unplug-policy/destroy-then-free", test_destroy_then_free);
  g_test_add_func ("/unplug-policy/revoke-then-free", test_revoke_then_free);
  return g_test_run ();
}
