// The YAML configurations an operator writes: center, agent, camera, rules. Refused with a
// reason or read; never a crash or an exception that escapes.
#include "fuzz_target.h"

#include "gridwatch/agent/config.h"
#include "gridwatch/center/config.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/rules/ruleset.h"
#include "gridwatch/vision/config.h"

GW_FUZZ_TARGET(configs) {
  using namespace gridwatch;
  const std::string_view yaml = fuzz::text(data, size);
  const Catalog& catalog = Catalog::builtin();
  (void)center::parse_center_config(yaml, "center.yaml");
  (void)agent::parse_agent_config(yaml, "agent.yaml", catalog);
  (void)vision::parse_camera_config(yaml, "camera.yaml");
  (void)rules::parse_rules(yaml, "rules.yaml", catalog);
  return 0;
}
