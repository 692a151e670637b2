/* hostdevctl's values for people: what reaches a terminal is escaped. */
#include "hostdevctl-format.h"

#include <string.h>

static void
check_escape (const char *in, const char *want)
{
  g_autofree char *got = hdc_format_escape (in);

  g_assert_cmpstr (got, ==, want);
  g_assert_true (g_utf8_validate (got, -1, NULL));
}

static void
test_escape_plain (void)
{
  check_escape ("qemu-system-x86", "qemu-system-x86");
  check_escape ("", "");
  check_escape ("caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x90\xa7", "caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x90\xa7");
  /* A backslash stays: escapes are for what a terminal would act on. */
  check_escape ("back\\slash", "back\\slash");
  g_assert_null (hdc_format_escape (NULL));
}

static void
test_escape_controls (void)
{
  check_escape ("\033[2J\033[31mevil", "\\x1b[2J\\x1b[31mevil");
  check_escape ("\033]0;title\007", "\\x1b]0;title\\x07");
  check_escape ("a\tb\nc\rd", "a\\tb\\nc\\rd");
  check_escape ("\001\037\177", "\\x01\\x1f\\x7f");
  /* C1 controls, as UTF-8 (U+009B is a CSI to some terminals). */
  check_escape ("x\xc2\x9b" "31m\xc2\x85", "x\\u009b31m\\u0085");
  /* Bidirectional overrides and isolates reorder what is shown. */
  check_escape ("abc\xe2\x80\xae" "cba", "abc\\u202ecba");
  check_escape ("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069");
  check_escape ("\xe2\x80\x8f", "\\u200f");
}

static void
test_escape_invalid_utf8 (void)
{
  check_escape ("a\xff" "b", "a\\xffb");
  check_escape ("\xc3", "\\xc3");                    /* cut short at the end */
  check_escape ("\xc3(", "\\xc3(");                  /* a bad continuation */
  check_escape ("\xc0\xaf", "\\xc0\\xaf");           /* overlong "/" */
  check_escape ("\xed\xa0\x80", "\\xed\\xa0\\x80");  /* a surrogate */
  check_escape ("\xe2\x82", "\\xe2\\x82");
}

static void
test_escape_every_byte (void)
{
  /* Whatever the bytes, the result is valid UTF-8 without controls. */
  char all[256];

  for (int i = 1; i < 256; i++)
    all[i - 1] = (char) i;
  all[255] = '\0';
  {
    g_autofree char *got = hdc_format_escape (all);

    g_assert_true (g_utf8_validate (got, -1, NULL));
    for (const char *p = got; *p; p = g_utf8_next_char (p))
      {
        gunichar c = g_utf8_get_char (p);
        g_assert_false (c < 0x20 || (c >= 0x7f && c <= 0x9f));
      }
  }
}

static void
test_holders_are_not_escaped_twice (void)
{
  /* hdc_format_holders joins; escaping is the printer's: once. */
  g_autoptr(GVariant) holders =
    g_variant_ref_sink (g_variant_new_parsed ("[(uint32 7, '\\u001bx', '/dev/vfio/3')]"));
  g_autofree char *text = hdc_format_holders (holders, TRUE);
  g_autofree char *escaped = hdc_format_escape (text);

  g_assert_cmpstr (escaped, ==, "\\x1bx[7] on /dev/vfio/3");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/format/escape/plain", test_escape_plain);
  g_test_add_func ("/cli/format/escape/controls", test_escape_controls);
  g_test_add_func ("/cli/format/escape/invalid-utf8", test_escape_invalid_utf8);
  g_test_add_func ("/cli/format/escape/every-byte", test_escape_every_byte);
  g_test_add_func ("/cli/format/escape/holders", test_holders_are_not_escaped_twice);
  return g_test_run ();
}
