/* mdevctl's definition files (/etc/mdevctl.d/PARENT/UUID), which anyone
 * with mdevctl can write: hdd_mdevctl_parse() is what
 * hdd_mdevctl_load_all() calls on each file's bytes.  What parses must be
 * written back (hdd_mdevctl_serialize, mdevctl's format), parse again, and
 * be written the same the second time; every attribute name must be a
 * safe path. */
#include "fuzz-common.h"

#include "hdd-error.h"
#include "hdd-mdev-names.h"
#include "hdd-mdevctl.h"

#include <string.h>

#define UUID "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define PARENT "mtty"

FUZZ_DEFINE_INITIALIZE ()

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HddMdevConfig) config = NULL;
  g_autoptr(HddMdevConfig) again = NULL;
  g_autoptr(HddMdevConfig) copy = NULL;
  g_autofree char *written = NULL;
  g_autofree char *rewritten = NULL;
  g_autofree char *copied = NULL;

  /* The file's bytes as read, NULs and all. */
  config = hdd_mdevctl_parse (UUID, PARENT, (const char *) data, (gssize) size, &error);
  if (config == NULL)
    {
      FUZZ_CHECK (g_error_matches (error, HDD_ERROR, HDD_ERROR_INVALID_ARGUMENT),
                  "refused with %s", error ? error->message : "no error");
      return 0;
    }
  FUZZ_CHECK (hdd_mdev_check_name ("type", config->type, NULL), "type “%s”", config->type);
  for (guint i = 0; i < config->attrs->len; i++)
    {
      HddMdevAttr *a = g_ptr_array_index (config->attrs, i);
      FUZZ_CHECK (hdd_mdev_check_attribute (a->name, a->value, NULL), "attribute “%s”", a->name);
    }

  written = hdd_mdevctl_serialize (config);
  FUZZ_CHECK (g_utf8_validate (written, -1, NULL), "written, not UTF-8:\n%s", written);
  /* The Attributes property of the Mdev object. */
  g_variant_unref (g_variant_ref_sink (hdd_mdevctl_attrs_to_variant (config->attrs)));
  again = hdd_mdevctl_parse (UUID, PARENT, written, -1, &error);
  FUZZ_CHECK (again != NULL, "what was written does not parse: %s\n%s",
              error ? error->message : "", written);
  FUZZ_CHECK (g_strcmp0 (again->type, config->type) == 0 &&
              again->autostart == config->autostart &&
              again->attrs->len == config->attrs->len, "changed by a round trip:\n%s", written);
  rewritten = hdd_mdevctl_serialize (again);
  FUZZ_CHECK (g_strcmp0 (written, rewritten) == 0, "written twice differently:\n%s\n---\n%s",
              written, rewritten);

  copy = hdd_mdev_config_copy (config);
  copied = hdd_mdevctl_serialize (copy);
  FUZZ_CHECK (g_strcmp0 (written, copied) == 0, "a copy is written differently");
  return 0;
}
