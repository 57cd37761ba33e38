// gridwatch tickets import: hotline exports into the center's database.
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "gridwatch/center/center.h"
#include "gridwatch/center/import.h"
#include "gridwatch/platform/log.h"

namespace gridwatch::app {

int run_tickets_import(const TicketsImportOptions& o) {
  if (auto st = platform::init_logging("warn", "tickets"); !st) return kExitUsage;
  auto config = center::load_center_config(o.config);
  if (!config) {
    fmt::print(stderr, "error: {}\n", config.error().message);
    return kExitUsage;
  }
  const Catalog* catalog = load_catalog(config->catalog);
  if (!catalog) return kExitUsage;
  auto mapping = center::load_ticket_mapping(o.mapping, *catalog);
  if (!mapping) {
    fmt::print(stderr, "error: {}\n", mapping.error().message);
    return kExitUsage;
  }
  std::ifstream csv(o.csv, std::ios::binary);
  if (!csv) {
    fmt::print(stderr, "error: {}: cannot read file\n", o.csv.string());
    return kExitUsage;
  }
  auto areas = center::load_area_index(*config);
  if (!areas) {
    fmt::print(stderr, "error: areas: {}\n", areas.error().message);
    return kExitUsage;
  }
  auto store = open_migrated_store(*config, *catalog);
  if (!store) return kExitFailure;
  std::shared_ptr<const center::Suggester> suggester;
  if (!config->classify.model.empty()) {
    auto loaded = center::Suggester::load(config->classify, *catalog);
    if (!loaded) {
      fmt::print(stderr, "error: {}\n", loaded.error().message);
      return kExitUsage;
    }
    suggester = std::move(*loaded);
  }
  auto sum = center::import_tickets(csv, *mapping, *catalog, *store, areas->get(),
                                    [&](size_t line, const std::string& reason) {
                                      fmt::print(stderr, "{}:{}: {}\n", o.csv.string(), line, reason);
                                    }, suggester.get());
  if (!sum) {
    fmt::print(stderr, "error: {}: {}\n", o.csv.string(), sum.error().message);
    return sum.error().code == ErrorCode::kUnavailable ? kExitFailure : kExitUsage;
  }
  size_t to_other = 0;
  for (const auto& [value, n] : sum->unmapped_values) to_other += n;
  fmt::print("{}: {} rows: {} imported, {} merged into open cases, {} without location (dispatcher queue), "
             "{} rejected, {} already imported\n",
             o.csv.string(), sum->rows, sum->imported, sum->merged, sum->no_location, sum->rejected, sum->already);
  if (suggester)
    fmt::print("{} rows of unmapped categories took the suggested one (model {}, p >= {:.3f})\n", sum->suggested,
               suggester->model_id(), suggester->threshold());
  if (to_other > 0)
    fmt::print("{} rows of {} unmapped {} values went to {}\n", to_other, sum->unmapped_values.size(),
               mapping->category_column, mapping->unmapped);
  return kExitOk;
}

}  // namespace gridwatch::app
