/* libvirt's event loop run by GLib's (hdd-libvirt-events.c): libvirt's own
 * virEventAddHandle() & co. dispatch through it, and so do the events of a
 * real connection (libvirt's test driver). */
#include "hdd-libvirt-events.h"

#include <glib-unix.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

typedef struct {
  int      calls;
  int      last_events;
  int      freed;
  int      fd;
} Counter;

static void
on_handle (int watch, int fd, int events, void *opaque)
{
  Counter *c = opaque;
  char byte;

  c->calls++;
  c->last_events = events;
  if (events & VIR_EVENT_HANDLE_READABLE)
    g_assert_cmpint (read (fd, &byte, 1), ==, 1);
}

static void
on_timeout (int timer, void *opaque)
{
  ((Counter *) opaque)->calls++;
}

static void
on_free (void *opaque)
{
  ((Counter *) opaque)->freed++;
}

/* Iterates the default main context for @ms milliseconds. */
static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
}

static void
spin_until (int *value, int at_least)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (*value < at_least)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
test_handle (void)
{
  Counter c = { 0 };
  int fds[2];
  int watch;

  g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, NULL));
  c.fd = fds[0];
  watch = virEventAddHandle (fds[0], VIR_EVENT_HANDLE_READABLE, on_handle, &c, on_free);
  g_assert_cmpint (watch, >, 0);

  g_assert_cmpint (write (fds[1], "x", 1), ==, 1);
  spin_until (&c.calls, 1);
  g_assert_true (c.last_events & VIR_EVENT_HANDLE_READABLE);

  /* Disabled: a byte waits unread. */
  virEventUpdateHandle (watch, 0);
  g_assert_cmpint (write (fds[1], "y", 1), ==, 1);
  spin (50);
  g_assert_cmpint (c.calls, ==, 1);
  virEventUpdateHandle (watch, VIR_EVENT_HANDLE_READABLE);
  spin_until (&c.calls, 2);

  /* The free callback runs later, never inside the removal: libvirt may
   * hold its locks while it removes. */
  g_assert_cmpint (virEventRemoveHandle (watch), ==, 0);
  g_assert_cmpint (c.freed, ==, 0);
  g_assert_cmpint (write (fds[1], "z", 1), ==, 1);
  spin_until (&c.freed, 1);
  spin (20);
  g_assert_cmpint (c.calls, ==, 2);
  g_assert_cmpint (virEventRemoveHandle (watch), ==, -1);

  /* A hang-up is reported as such. */
  c = (Counter) { .fd = fds[0] };
  watch = virEventAddHandle (fds[0], VIR_EVENT_HANDLE_WRITABLE, on_handle, &c, NULL);
  close (fds[1]);
  virEventUpdateHandle (watch, VIR_EVENT_HANDLE_READABLE);
  spin_until (&c.calls, 1);
  g_assert_true (c.last_events & VIR_EVENT_HANDLE_HANGUP);
  virEventRemoveHandle (watch);
  spin (10);
  close (fds[0]);
}

static void
test_timeout (void)
{
  Counter c = { 0 };
  int timer = virEventAddTimeout (5, on_timeout, &c, on_free);

  g_assert_cmpint (timer, >, 0);
  spin_until (&c.calls, 3);

  virEventUpdateTimeout (timer, -1);
  c.calls = 0;
  spin (40);
  g_assert_cmpint (c.calls, ==, 0);

  /* 0: at every iteration of the loop. */
  virEventUpdateTimeout (timer, 0);
  g_main_context_iteration (NULL, FALSE);
  g_main_context_iteration (NULL, FALSE);
  g_assert_cmpint (c.calls, >=, 1);

  g_assert_cmpint (virEventRemoveTimeout (timer), ==, 0);
  g_assert_cmpint (c.freed, ==, 0);
  spin_until (&c.freed, 1);
  c.calls = 0;
  spin (20);
  g_assert_cmpint (c.calls, ==, 0);
  g_assert_cmpint (virEventRemoveTimeout (timer), ==, -1);
}

static gpointer
add_from_thread (gpointer data)
{
  return GINT_TO_POINTER (virEventAddTimeout (1, on_timeout, data, NULL));
}

/* A job thread's libvirt call may add a timer: the main loop runs it. */
static void
test_other_thread (void)
{
  Counter c = { 0 };
  GThread *t = g_thread_new ("adder", add_from_thread, &c);
  int timer = GPOINTER_TO_INT (g_thread_join (t));

  g_assert_cmpint (timer, >, 0);
  spin_until (&c.calls, 1);
  virEventRemoveTimeout (timer);
  spin (10);
}

static int
on_lifecycle (virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
  if (event == VIR_DOMAIN_EVENT_STOPPED)
    ((Counter *) opaque)->calls++;
  return 0;
}

/* A real connection: the test driver queues its domain events and
 * dispatches them from a timer of the registered loop. */
static void
test_test_driver_events (void)
{
  Counter c = { 0 };
  virConnectPtr conn = virConnectOpen ("test:///default");
  virDomainPtr dom;
  int id;

  g_assert_nonnull (conn);
  id = virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK (on_lifecycle), &c, NULL);
  g_assert_cmpint (id, >=, 0);
  dom = virDomainLookupByName (conn, "test");
  g_assert_nonnull (dom);
  g_assert_cmpint (virDomainDestroy (dom), ==, 0);
  spin_until (&c.calls, 1);
  virConnectDomainEventDeregisterAny (conn, id);
  virDomainFree (dom);
  virConnectClose (conn);
}

static void
ignore_error (void *data, virErrorPtr error)
{
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  virSetErrorFunc (NULL, ignore_error);
  hdd_libvirt_events_register ();
  hdd_libvirt_events_register ();   /* once per process, later calls do nothing */
  g_test_add_func ("/libvirt-events/handle", test_handle);
  g_test_add_func ("/libvirt-events/timeout", test_timeout);
  g_test_add_func ("/libvirt-events/other-thread", test_other_thread);
  g_test_add_func ("/libvirt-events/test-driver", test_test_driver_events);
  return g_test_run ();
}
