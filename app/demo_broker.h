// The demo's broker, as each of its parts connects to it: a private Mosquitto with an account per
// client (the default), or in cluster mode a private 3-node RabbitMQ cluster (agents and devices
// on MQTT spread over its nodes with failover, centers on AMQP).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gridwatch/center/config.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/services.h"

namespace gridwatch::app {

struct DemoBroker {
  bool cluster = false;
  std::string banner;      // the demo's "broker:" line
  std::string agent_yaml;  // the agent configuration's broker: lines
  std::vector<std::string> mqtt_urls, amqp_urls;  // one per node
  std::map<std::string, std::string> secret;      // Mosquitto's account passwords

  // Center number `n` (0, 1, ...): its broker settings; in cluster mode it starts on node n.
  void configure_center(center::CenterConfig& cc, size_t n) const;
  // Simulated device `user`, the n-th: its client options (in cluster mode on node n).
  platform::MqttOptions device(const std::string& user, size_t n) const;
};

// `secret`: the passwords of the Mosquitto accounts (unused in cluster mode); the agent's is
// written to DIR/agent-broker.password.
DemoBroker demo_broker(const platform::ServiceEndpoints& endpoints, const std::map<std::string, std::string>& secret,
                       const std::filesystem::path& dir);

}  // namespace gridwatch::app
