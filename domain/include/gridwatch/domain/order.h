// Work order events (schema gw.order/1) and sensor readings, with their JSON codecs.
//
// The wire formats are the outside contract (docs/api.md). Decoders never throw: each failure is
// an Error whose `field` names the offending JSON path ("location.lat", "category") and whose
// code says why (kParse: not JSON; kInvalidArgument: wrong type, missing or out of range;
// kTooLarge: payload over the limit). All functions are thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/error.h"
#include "gridwatch/domain/time.h"

namespace gridwatch {

inline constexpr std::string_view kOrderSchema = "gw.order/1";

enum class OrderEventKind { kOpen, kUpdate, kClear };
std::string_view to_string(OrderEventKind k);

enum class SourceKind { kCamera, kSensor };
std::string_view to_string(SourceKind k);

struct OrderSource {
  SourceKind kind = SourceKind::kSensor;
  std::string agent_id;
  std::string device_id;  // may be empty
  std::string rule;       // may be empty
};

// A WGS-84 position. Named fields on purpose: write {.lon = ..., .lat = ...}.
struct LonLat {
  double lon = 0;
  double lat = 0;
};

struct OrderLocation {
  LonLat position;
  std::optional<double> accuracy_m;
  std::string grid;  // the grid cell the reporter found the place in (its own areas file); may be empty
};

struct OrderEvent {
  OrderEventKind event = OrderEventKind::kOpen;
  std::string id;  // stable for one problem at one place
  std::string category;
  Priority priority = Priority::kNormal;
  OrderSource source;
  std::optional<OrderLocation> location;  // required for kOpen
  Timestamp observed_at{};
  std::optional<Timestamp> first_seen_at;
  std::optional<double> confidence;  // [0, 1]
  nlohmann::json evidence = nlohmann::json::object();
  std::string description;
};

struct CodecLimits {
  size_t max_payload_bytes = 256 * 1024;  // whole message, evidence included
  size_t max_description_chars = 4000;    // counted in UTF-8 code points
  size_t max_id_chars = 128;
};

// Checks ranges and references of an already-built event (also used before encoding).
Status validate_order(const OrderEvent& e, const Catalog& catalog, const CodecLimits& limits = {});

Result<OrderEvent> decode_order(std::string_view payload, const Catalog& catalog,
                                const CodecLimits& limits = {});
std::string encode_order(const OrderEvent& e);

// A sensor reading, wire form {"ts":RFC3339,"type":"bin_fill","value":87.5,"unit":"%"}; the
// device id travels in the topic (gw/v1/sensors/{device_id}/reading).
struct Reading {
  std::string device_id;
  Timestamp ts{};
  std::string type;  // [a-z0-9_]+
  double value = 0;
  std::string unit;  // may be empty
};

// True when `id` is a usable device, agent or order id: 1-128 chars of [A-Za-z0-9._:-].
bool is_valid_id(std::string_view id, size_t max_chars = 128);

Result<Reading> decode_reading(std::string_view device_id, std::string_view payload,
                               const CodecLimits& limits = {});
std::string encode_reading(const Reading& r);

}  // namespace gridwatch
