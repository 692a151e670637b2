/* libvirt's event loop, run by GLib's: virEventRegisterImpl() with file
 * descriptor watches as g_unix_fd_add() sources and timers as
 * g_timeout_add() sources on the default main context, the way
 * libvirt-glib's gvir_event_register() does it.  libvirt's connections
 * (the remote driver's socket, the keepalive timer, the test driver's event
 * queue) then dispatch their events in the daemon's main loop: no second
 * loop, no thread of its own.
 *
 * libvirt may add, update and remove watches and timers from any thread
 * (a job thread's RPC call takes the socket over while it waits for its
 * reply): the tables are under a lock, and a removal frees the caller's
 * data in an idle callback, never inside the call, because libvirt may
 * hold its own locks while it removes. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Registers the implementation, once per process; later calls do nothing.
 * Must come before the first virConnectOpen(). */
void hdd_libvirt_events_register (void);

G_END_DECLS
