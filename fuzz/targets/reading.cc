// A sensor reading's payload ({"ts","type","value","unit"}): decoded, and what decodes survives a
// round trip.
#include "fuzz_target.h"

#include "gridwatch/domain/order.h"

GW_FUZZ_TARGET(reading) {
  using namespace gridwatch;
  auto r = decode_reading("fuzz-device", fuzz::text(data, size));
  if (!r) return 0;
  const std::string once = encode_reading(*r);
  auto again = decode_reading("fuzz-device", once);
  if (!again) fuzz::broken("an encoded reading does not decode");
  if (encode_reading(*again) != once) fuzz::broken("a reading changes when encoded again");
  return 0;
}
