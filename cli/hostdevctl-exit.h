/* The exit statuses of hostdevctl, documented in docs/hostdevctl.md. */
#pragma once

#define HDC_EXIT_OK      0
#define HDC_EXIT_FAILURE 1  /* the daemon refused, a job failed, ... */
#define HDC_EXIT_USAGE   2  /* the command line itself is wrong */
