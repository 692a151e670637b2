/* What an Unplug job does next: its options (deadline, policy) and the
 * state machine that decides between asking the guest through libvirt,
 * releasing through the kernel, and what the policy says at the deadline.
 * Pure: the job (hdd-unplug.c) feeds it events and carries out the
 * actions it returns.
 *
 *   plan ──domain has it──► ask-guest ──removed / holders gone──► done
 *     │                        │ refused (libvirt error, removal failed)
 *     │ no domain              ▼
 *     └──────────────────► kernel (point of no return) ──released──► done
 *
 * At the deadline:          ask-guest              kernel
 *   wait                    → kernel               keep waiting
 *   fail                    → give up              keep waiting (the kernel
 *                                                  write cannot be interrupted)
 *   destroy-domain          → destroy the domain   → destroy the domain
 *   revoke                  → kernel, then revoke  → revoke
 *
 * Revoke (the kernel's vfio-dev revoke) ends a release that waits for the
 * holders, so from asking the guest it goes to the kernel first: the job
 * revokes once the kernel's release waits (release_pending 1).
 *
 * A new policy adds a row: a name, and what it does in each phase. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  HDD_UNPLUG_POLICY_WAIT,            /* keep waiting, reporting; escalate to the kernel */
  HDD_UNPLUG_POLICY_FAIL,            /* give up while the kernel still allows it */
  HDD_UNPLUG_POLICY_DESTROY_DOMAIN,  /* virDomainDestroy the domain that holds it */
  HDD_UNPLUG_POLICY_REVOKE,          /* revoke the holders' access: needs the kernel's
                                        revocation (Manager.SupportsRevoke) */
} HddUnplugPolicy;

#define HDD_UNPLUG_DEFAULT_DEADLINE_S 30
#define HDD_UNPLUG_MAX_DEADLINE_S     86400

typedef struct {
  guint           deadline_s;   /* from the start of the job */
  HddUnplugPolicy policy;
  gboolean        persistent;   /* also detach from the domain's persistent definition */
} HddUnplugOptions;

const char *hdd_unplug_policy_to_string (HddUnplugPolicy policy);

/* Reads "deadline" (u, seconds, 1..86400, default 30), "policy" (s, default
 * "wait") and "persistent" (b) of @options, which hdd_options_check() has
 * vouched for.  Fails with InvalidArgument for an unknown policy or a
 * deadline out of range, and NotSupported for "revoke" unless
 * @supports_revoke. */
gboolean hdd_unplug_options_parse (GVariant         *options,
                                   gboolean          supports_revoke,
                                   HddUnplugOptions *out,
                                   GError          **error);

typedef enum {
  HDD_UNPLUG_PHASE_PLAN,
  HDD_UNPLUG_PHASE_ASK_GUEST,   /* libvirt asked the guest; cancelable */
  HDD_UNPLUG_PHASE_KERNEL,      /* the kernel's unbind or remove is under way */
  HDD_UNPLUG_PHASE_DONE,
  HDD_UNPLUG_PHASE_FAILED,
} HddUnplugPhase;

typedef enum {
  HDD_UNPLUG_EVENT_PLANNED,          /* holders and domain known */
  HDD_UNPLUG_EVENT_GUEST_REMOVED,    /* libvirt: DEVICE_REMOVED */
  HDD_UNPLUG_EVENT_GUEST_REFUSED,    /* libvirt could not detach, or removal failed */
  HDD_UNPLUG_EVENT_HOLDERS_GONE,     /* nobody holds the device any more */
  HDD_UNPLUG_EVENT_DEADLINE,
  HDD_UNPLUG_EVENT_KERNEL_RELEASED,  /* the unbind or remove returned */
} HddUnplugEvent;

typedef enum {
  HDD_UNPLUG_ACTION_KEEP_WAITING,
  HDD_UNPLUG_ACTION_ASK_GUEST,       /* detach through libvirt */
  HDD_UNPLUG_ACTION_RELEASE_KERNEL,  /* unbind / remove: the point of no return */
  HDD_UNPLUG_ACTION_COMPLETE,
  HDD_UNPLUG_ACTION_GIVE_UP,         /* fail the job, the device stays with its holders */
  HDD_UNPLUG_ACTION_DESTROY_DOMAIN,
  HDD_UNPLUG_ACTION_REVOKE,          /* release through the kernel if not yet (the
                                        point of no return), and revoke */
} HddUnplugAction;

typedef struct {
  HddUnplugPolicy policy;
  HddUnplugPhase  phase;
  gboolean        domain_known;     /* a libvirt domain uses the device */
  gboolean        deadline_passed;
  gboolean        destroy_requested;
  gboolean        revoke_requested;
} HddUnplugMachine;

void hdd_unplug_machine_init (HddUnplugMachine *machine,
                              HddUnplugPolicy   policy);

/* Feeds @event (for PLANNED, @domain_known says whether a libvirt domain
 * uses the device) and returns what to do. */
HddUnplugAction hdd_unplug_machine_next (HddUnplugMachine *machine,
                                         HddUnplugEvent    event,
                                         gboolean          domain_known);

G_END_DECLS
