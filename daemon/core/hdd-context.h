/* What every job needs from the daemon, and nothing more: the store of
 * bindings, the libvirt connection, and the locks that serialize jobs on
 * one IOMMU group or one mdev.  Safe to use from any thread: jobs get it
 * instead of the D-Bus objects, which live on the main context. */
#pragma once

#include "hdd-types.h"

G_BEGIN_DECLS

#define HDD_TYPE_CONTEXT (hdd_context_get_type ())
G_DECLARE_FINAL_TYPE (HddContext, hdd_context, HDD, CONTEXT, GObject)

/* Keeps references on @store and @libvirt (a GObject of the libvirt layer,
 * passed through untouched; NULL in unit tests that need no libvirt). */
HddContext *hdd_context_new (HddStore *store,
                             gpointer  libvirt);

HddStore   *hdd_context_get_store   (HddContext *self);
HddLibvirt *hdd_context_get_libvirt (HddContext *self);

/* --- From a job's thread --- */

/* Waits, with the job queued ("Waiting for another job on IOMMU @key"),
 * until no other job holds @key (an IOMMU group, an mdev), then takes it.
 * Fails with HDD_ERROR_CANCELLED when the job is cancelled meanwhile. */
gboolean hdd_context_lock   (HddContext *self,
                             HddJob     *job,
                             const char *key,
                             GError    **error);
void     hdd_context_unlock (HddContext *self,
                             const char *key);

/* The work of a job under one lock key. */
typedef gboolean (*HddContextLockedFunc) (HddJob   *job,
                                          gpointer  data,
                                          GError  **error);

/* Takes @key (hdd_context_lock), runs @func, gives @key back whatever
 * @func returned. */
gboolean hdd_context_run_locked (HddContext          *self,
                                 HddJob              *job,
                                 const char          *key,
                                 HddContextLockedFunc func,
                                 gpointer             data,
                                 GError             **error);

G_END_DECLS
