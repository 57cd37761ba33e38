// The configuration of a center that a test runs in its own process, on the fixture's services.
#pragma once

#include <string>

#include "gridwatch/center/config.h"
#include "support.h"

namespace gridwatch::testing {

// Center `tag` on the fixture's broker (with its test account) and PostGIS, topics under
// `prefix`, any free HTTP port, the SLA thread idle (tests drive the clock with check_sla),
// the admin token kAdminToken and the Open311 key `api_key` named `key_name`.
inline center::CenterConfig center_config(const std::string& tag, const std::string& prefix,
                                          const std::string& key_name, const std::string& api_key) {
  const platform::ServiceEndpoints svc = services();
  center::CenterConfig cfg;
  cfg.id = tag;
  cfg.broker_url = svc.mqtt_url;
  cfg.username = svc.mqtt_username;
  cfg.password = svc.mqtt_password;
  cfg.topic_prefix = prefix;
  cfg.conninfo = svc.pg_conninfo;
  cfg.http_port = 0;
  cfg.sla_check_interval = std::chrono::hours{1};
  cfg.api_keys = {{key_name, api_key}};
  cfg.tokens = {{.name = "tests-admin", .role = center::Role::kAdmin, .token = kAdminToken, .expires = {}, .unit = "",
                 .grid = ""}};
  return cfg;
}

}  // namespace gridwatch::testing
