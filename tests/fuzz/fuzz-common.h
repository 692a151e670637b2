/* What every libFuzzer target of tests/fuzz/ shares: the entry points
 * libFuzzer calls, GLib's criticals made fatal (a g_return_if_fail() that
 * bad input reaches is a bug, and only a crash tells libFuzzer), and the
 * daemon's messages kept off the terminal.
 *
 * A target checks more than "does not crash": what a parser accepts must
 * come back the same through the writer that goes with it (an oracle a
 * wrong parse fails), and FUZZ_CHECK aborts with the reason when it does
 * not. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                          \
  G_STMT_START {                                                       \
    if (!(cond))                                                       \
      {                                                                \
        fprintf (stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
        fprintf (stderr, __VA_ARGS__);                                 \
        fputc ('\n', stderr);                                          \
        abort ();                                                      \
      }                                                                \
  } G_STMT_END

static inline GLogWriterOutput
fuzz_log_writer (GLogLevelFlags   level,
                 const GLogField *fields,
                 gsize            n_fields,
                 gpointer         user_data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    {
      g_log_writer_standard_streams (level, fields, n_fields, user_data);
      abort ();
    }
  return G_LOG_WRITER_HANDLED;
}

static inline void
fuzz_init (void)
{
  g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
}

/* The LLVMFuzzerInitialize() of a target with nothing to set up but
 * fuzz_init(). */
#define FUZZ_DEFINE_INITIALIZE()                 \
  int                                            \
  LLVMFuzzerInitialize (int *argc, char ***argv) \
  {                                              \
    (void) argc;                                 \
    (void) argv;                                 \
    fuzz_init ();                                \
    return 0;                                    \
  }

/* A crash found and written down (docs/hardening.md, "Known crashes") but
 * not fixed here: inputs of its class are left out so that the target
 * keeps fuzzing the rest, unless FUZZ_KNOWN_FATAL is set.  scripts/fuzz.sh
 * replays each reproducer of tests/fuzz/known/TARGET/ with it set: still
 * crashing, it is listed as KNOWN; fixed, it fails until its skip goes. */
static inline gboolean
fuzz_known (const char *id, gboolean matches)
{
  static GHashTable *seen;

  if (!matches || g_getenv ("FUZZ_KNOWN_FATAL") != NULL)
    return FALSE;
  if (seen == NULL)
    seen = g_hash_table_new (g_str_hash, g_str_equal);
  if (g_hash_table_add (seen, (gpointer) id))
    fprintf (stderr, "fuzz: known crash %s: inputs of its class are left out\n", id);
  return TRUE;
}

/* The input as a C string: the parsers take NUL-terminated text, so an
 * embedded NUL ends it as it would end a D-Bus string or a read file. */
static inline char *
fuzz_string (const uint8_t *data, size_t size)
{
  return g_strndup ((const char *) data, size);
}
