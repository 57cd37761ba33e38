// The center's PostGIS store (libpq). Every statement is parameterized.
//
// open() connects a small pool; migrate() brings the schema to the newest version (versioned
// migrations in schema_migrations, applied under an advisory lock so several centers may start
// at once). apply() is idempotent: an event already stored (same order id, event and
// observed_at) changes nothing and returns kDuplicate. Thread-safe: each call borrows a
// connection from the pool.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gridwatch/domain/error.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/geo/areas.h"

struct pg_conn;

namespace gridwatch::center {

struct OrderQuery {
  std::vector<std::string> statuses;    // empty: any
  std::vector<std::string> categories;  // empty: any
  std::optional<std::array<double, 4>> bbox;  // min lon, min lat, max lon, max lat
  std::optional<Timestamp> since;       // updated at or after
  // Radius search: orders within `radius_m` metres of `near` (on the WGS-84 ellipsoid), nearest
  // first, each with properties.distance_m. Without `near`: newest update first.
  std::optional<LonLat> near;
  double radius_m = 0;
  int limit = 1000;
};

enum class Applied { kStored, kDuplicate };

class Store {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Store>> open(const std::string& conninfo,
                                                           int pool_size);
  ~Store();

  [[nodiscard]] Status migrate();
  [[nodiscard]] Result<int> schema_version();
  // Where an order is: the code of each level that contains it ({"district": "110101", "grid":
  // "110101-g00040007"}) and the finest one.
  struct Placement {
    nlohmann::json levels = nlohmann::json::object();
    std::string finest;
  };
  [[nodiscard]] Result<Applied> apply(const OrderEvent& event, std::string_view raw_payload,
                                      const Placement* placement = nullptr);
  [[nodiscard]] Status add_dead_letter(std::string_view source, std::string_view reason,
                                       std::string_view payload);
  // A GeoJSON FeatureCollection of the orders matching `q`, newest first.
  [[nodiscard]] Result<std::string> orders_geojson(const OrderQuery& q);
  // A GeoJSON Feature, or nullopt when there is no such order.
  [[nodiscard]] Result<std::optional<std::string>> order_geojson(std::string_view id);
  // Inserts or updates areas (COPY into a temporary table, then one upsert); areas that did not
  // change are not touched. Returns how many rows were inserted or changed.
  [[nodiscard]] Result<size_t> upsert_areas(const std::vector<const geo::Area*>& areas);
  // A GeoJSON FeatureCollection of the stored areas, of one level or all.
  [[nodiscard]] Result<std::string> areas_geojson(std::optional<int> level);
  [[nodiscard]] Status ping();

  // Borrowed connection; returned to the pool when destroyed.
  class Lease;

 private:
  Store() = default;
  Result<Lease> lease();
  void give_back(pg_conn* c);

  std::string conninfo_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<pg_conn*> idle_;
  int size_ = 0;
};

}  // namespace gridwatch::center
