// The Open311 POST form from anyone on the internet: parsed, and the form kept of a refused post
// never holds its api_key, however the key's name is encoded.
#include "fuzz_target.h"

#include "gridwatch/center/open311.h"
#include "gridwatch/domain/catalog.h"

GW_FUZZ_TARGET(open311_form) {
  using namespace gridwatch;
  static const std::vector<center::ApiKey> keys = {{"fuzz", "fuzz-key-0123456789"}};
  const std::string_view body = fuzz::text(data, size);
  (void)center::open311::parse_request_form(body, "application/x-www-form-urlencoded", Catalog::builtin(), keys,
                                            Timestamp{});
  (void)center::open311::form_field(body, "api_key");
  const std::string kept = center::open311::without_api_key(body);
  if (center::open311::form_field(kept, "api_key")) fuzz::broken("a kept form still has its api_key");
  return 0;
}
