// A hotline export and its mapping: the first line of the input is split as a CSV record and the
// rest read as the mapping's YAML (the two things a ticket import takes from outside).
#include "fuzz_target.h"

#include "gridwatch/center/import.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/csv.h"

GW_FUZZ_TARGET(csv_import) {
  using namespace gridwatch;
  const std::string_view in = fuzz::text(data, size);
  const size_t nl = in.find('\n');
  (void)split_csv_line(in.substr(0, nl));
  if (nl != std::string_view::npos) (void)center::parse_ticket_mapping(in.substr(nl + 1), "mapping.yaml", Catalog::builtin());
  return 0;
}
