// gw.order/1 as agents send it over MQTT: decoded, and a decoded order encodes to a payload that
// decodes to the same order (what the center stores is what the agent meant).
#include "fuzz_target.h"

#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/order.h"

GW_FUZZ_TARGET(order) {
  using namespace gridwatch;
  const Catalog& catalog = Catalog::builtin();
  auto order = decode_order(fuzz::text(data, size), catalog);
  if (!order) return 0;
  const std::string once = encode_order(*order);
  auto again = decode_order(once, catalog);
  if (!again) fuzz::broken("an encoded order does not decode");
  if (encode_order(*again) != once) fuzz::broken("an order changes when encoded again");
  return 0;
}
