/* The verbs of "hostdevctl mdev" (argv[0] is the verb): hdc_cmd_mdev
 * (hostdevctl-mdev.c) dispatches to them.  "list" is in hostdevctl-mdev.c,
 * "create" and "define" in hostdevctl-mdev-create.c, the others in
 * hostdevctl-mdev-control.c. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int hdc_mdev_list (int argc, char **argv);
int hdc_mdev_create (int argc, char **argv);
int hdc_mdev_define (int argc, char **argv);
int hdc_mdev_remove (int argc, char **argv);
int hdc_mdev_start (int argc, char **argv);
int hdc_mdev_stop (int argc, char **argv);
int hdc_mdev_undefine (int argc, char **argv);

G_END_DECLS
