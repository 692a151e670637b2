/* The subcommands of hostdevctl.
 *
 * Every subcommand is a function "int hdc_cmd_NAME (int argc, char **argv)"
 * that parses its own options (so that "hostdevctl bind --help" works without
 * the daemon), connects, and returns the process exit status
 * (hostdevctl-exit.h). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef int (*HdcCommandFunc) (int argc, char **argv);

typedef struct {
  const char     *name;
  HdcCommandFunc  run;
  const char     *summary;
} HdcCommand;

int hdc_cmd_list (int argc, char **argv);
int hdc_cmd_show (int argc, char **argv);
int hdc_cmd_bind (int argc, char **argv);
int hdc_cmd_restore (int argc, char **argv);
int hdc_cmd_persist (int argc, char **argv);
int hdc_cmd_forget (int argc, char **argv);
int hdc_cmd_jobs (int argc, char **argv);
int hdc_cmd_wait (int argc, char **argv);
int hdc_cmd_cancel (int argc, char **argv);
int hdc_cmd_monitor (int argc, char **argv);
int hdc_cmd_types (int argc, char **argv);
int hdc_cmd_mdev (int argc, char **argv);
int hdc_cmd_unplug (int argc, char **argv);
int hdc_cmd_attach (int argc, char **argv);
int hdc_cmd_detach (int argc, char **argv);

G_END_DECLS
