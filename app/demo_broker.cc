#include "demo_broker.h"

#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gridwatch/platform/rabbitmq.h"

namespace gridwatch::app {

DemoBroker demo_broker(const platform::ServiceEndpoints& endpoints, const std::map<std::string, std::string>& secret,
                       const std::filesystem::path& dir) {
  DemoBroker b;
  b.secret = secret;
  if (endpoints.rabbitmq_nodes.empty()) {
    b.mqtt_urls = {endpoints.mqtt_url};
    const auto pw = dir / "agent-broker.password";
    std::ofstream(pw, std::ios::trunc) << secret.at("demo-box-01") << "\n";
    std::filesystem::permissions(pw, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    b.agent_yaml = fmt::format("  url: {}\n  username: demo-box-01\n  password_file: {}\n", endpoints.mqtt_url, pw.string());
    b.banner = fmt::format("{0}  (mosquitto_sub -L '{0}/gw/v1/#' -u observer -P {1} -v; no anonymous clients)",
                           endpoints.mqtt_url, secret.at("observer"));
    return b;
  }
  b.cluster = true;
  for (const auto& n : endpoints.rabbitmq_nodes) {
    b.mqtt_urls.push_back(n.mqtt_url);
    // The account is the center's broker.username/password, not part of the URL.
    b.amqp_urls.push_back(platform::amqp_address(n));
  }
  b.agent_yaml = fmt::format("  url: {}\n  failover_urls: [{}]\n", b.mqtt_urls.front(),
                             fmt::join(std::vector<std::string>(b.mqtt_urls.begin() + 1, b.mqtt_urls.end()), ", "));
  b.banner = fmt::format(
      "RabbitMQ cluster of {} nodes; MQTT {}; AMQP {} (guest, loopback only)\n"
      "                     mosquitto_sub -L '{}/gw/v1/#' -v; the order stream is the quorum queue center-orders",
      b.mqtt_urls.size(), fmt::join(b.mqtt_urls, " "), fmt::join(b.amqp_urls, " "), b.mqtt_urls.front());
  return b;
}

void DemoBroker::configure_center(center::CenterConfig& cc, size_t n) const {
  if (!cluster) {
    cc.broker_url = mqtt_urls.front();
    cc.username = "center";
    cc.password = secret.at("center");
    return;
  }
  cc.broker_kind = center::CenterConfig::BrokerKind::kRabbitmq;
  cc.broker_url = amqp_urls[n % amqp_urls.size()];
  cc.broker_failover_urls.clear();
  for (size_t k = 1; k < amqp_urls.size(); ++k) cc.broker_failover_urls.push_back(amqp_urls[(n + k) % amqp_urls.size()]);
}

platform::MqttOptions DemoBroker::device(const std::string& user, size_t n) const {
  platform::MqttOptions o;
  o.client_id = fmt::format("demo-device-{}", user);
  if (cluster) {
    o.url = mqtt_urls[n % mqtt_urls.size()];
    return o;
  }
  o.url = mqtt_urls.front();
  o.username = user;
  o.password = secret.at(user);
  return o;
}

}  // namespace gridwatch::app
