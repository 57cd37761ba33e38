#include "gridwatch/platform/mqtt.h"

#include <mqtt/async_client.h>

#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace gridwatch::platform {

// Completes a connection once the broker has answered its subscriptions. MQTT 3.1.1 answers
// each filter of a SUBSCRIBE with the granted QoS, or 0x80 for a refusal (Mosquitto: its ACL
// denies the filter); Paho reports a one-filter refusal as a failure, a many-filter one as a
// success whose reason codes carry the 0x80.
class MqttClient::SubscribeListener final : public mqtt::iaction_listener {
 public:
  explicit SubscribeListener(MqttClient* self) : self_(self) {}
  void on_success(const mqtt::token& tok) override {
    std::vector<std::string> filters;
    {
      std::lock_guard lock(self_->sub_mu_);
      filters = self_->sent_filters_;
    }
    std::vector<std::string> refused;
    try {
      const mqtt::subscribe_response answer = tok.get_subscribe_response();
      const auto& codes = answer.get_reason_codes();
      for (size_t i = 0; i < codes.size() && i < filters.size(); ++i)
        if (static_cast<int>(codes[i]) >= 0x80) refused.push_back(filters[i]);
    } catch (const mqtt::exception& e) {
      spdlog::debug("MQTT {}: no SUBACK codes ({})", self_->options_.client_id, e.what());
    }
    self_->set_subscription_answer(std::move(refused), "SUBACK 0x80");
    self_->notify_connection(true);
  }
  void on_failure(const mqtt::token& tok) override {
    std::vector<std::string> filters;
    {
      std::lock_guard lock(self_->sub_mu_);
      filters = self_->sent_filters_;
    }
    self_->set_subscription_answer(std::move(filters), fmt::format("reason {}", static_cast<int>(tok.get_reason_code())));
    self_->notify_connection(true);
  }

 private:
  MqttClient* self_;
};

std::string read_broker_url(const ConfigNode& broker, std::string_view fallback) {
  std::string url = broker.string("url", fallback);
  if (url.rfind("tcp://", 0) != 0 && url.rfind("mqtt://", 0) != 0 && url.rfind("ssl://", 0) != 0)
    broker.raise("url", "must start with tcp://, mqtt:// or ssl:// (TLS)");
  return url;
}

std::vector<std::string> read_broker_failover(const ConfigNode& broker, const std::string& url) {
  if (!broker.has("failover_urls")) return {};
  std::vector<std::string> urls = broker.strings("failover_urls");
  const bool ssl = url.rfind("ssl://", 0) == 0;
  for (const std::string& u : urls) {
    if (u.rfind("tcp://", 0) != 0 && u.rfind("mqtt://", 0) != 0 && u.rfind("ssl://", 0) != 0)
      broker.raise("failover_urls", fmt::format("\"{}\" must start with tcp://, mqtt:// or ssl:// (TLS)", u));
    if ((u.rfind("ssl://", 0) == 0) != ssl)
      broker.raise("failover_urls", fmt::format("\"{}\": every node must be {} like url", u, ssl ? "ssl://" : "without TLS"));
    if (u == url) broker.raise("failover_urls", fmt::format("\"{}\" is url itself", u));
  }
  return urls;
}

std::string read_topic_prefix(const ConfigNode& broker, std::string_view fallback) {
  std::string prefix = broker.string("topic_prefix", fallback);
  if (prefix.empty() || prefix.find_first_of("#+") != std::string::npos || prefix.back() == '/')
    broker.raise("topic_prefix", "must be a topic without wildcards or trailing '/'");
  return prefix;
}

BrokerTls read_broker_tls(const ConfigNode& b, const std::string& url) {
  BrokerTls tls;
  const bool ssl = url.rfind("ssl://", 0) == 0;
  if (auto t = b.find("tls")) {
    t->allow_only({"ca_file", "cert_file", "key_file"});
    if (!ssl) t->raise("", "tls needs an ssl:// url");
    auto file = [&](const char* key) -> std::string {
      if (!t->has(key)) return "";
      const std::filesystem::path f = t->path(key);
      if (!std::filesystem::is_regular_file(f)) t->raise(key, fmt::format("no file {}", f.string()));
      return f.string();
    };
    tls.ca_file = file("ca_file");
    tls.cert_file = file("cert_file");
    tls.key_file = file("key_file");
    if (tls.cert_file.empty() != tls.key_file.empty())
      t->raise(tls.cert_file.empty() ? "cert_file" : "key_file", "cert_file and key_file go together");
  }
  if (ssl && tls.ca_file.empty()) b.raise("tls", "an ssl:// url needs tls.ca_file (the broker's CA)");
  return tls;
}

MqttClient::MqttClient(MqttOptions options)
    : options_(std::move(options)), subscribe_listener_(std::make_unique<SubscribeListener>(this)) {}

void MqttClient::notify_connection(bool up) {
  ConnectionHandler h;
  {
    std::lock_guard lock(mu_);
    h = connection_handler_;
  }
  if (h) h(up);
}

Result<std::unique_ptr<MqttClient>> MqttClient::create(MqttOptions options) {
  std::unique_ptr<MqttClient> c(new MqttClient(std::move(options)));
  try {
    auto create_opts = mqtt::create_options_builder()
                           .send_while_disconnected(c->options_.buffer_while_disconnected, true)
                           .max_buffered_messages(c->options_.max_buffered)
                           .delete_oldest_messages(false)
                           .finalize();
    c->client_ = std::make_unique<mqtt::async_client>(c->options_.url, c->options_.client_id,
                                                      create_opts, nullptr);
  } catch (const mqtt::exception& e) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("MQTT client for {}: {}", c->options_.url, e.what()), "broker.url");
  }
  MqttClient* self = c.get();
  c->client_->set_connected_handler([self](const std::string&) {
    self->connected_ = true;
    self->resubscribe();  // notifies the connection handler when acknowledged
  });
  c->client_->set_connection_lost_handler([self](const std::string& cause) {
    self->connected_ = false;
    {
      std::lock_guard lock(self->sub_mu_);
      self->sub_state_ = SubscriptionState::kPending;
    }
    spdlog::warn("MQTT {}: connection lost{}{}", self->options_.client_id,
                 cause.empty() ? "" : ": ", cause);
    self->notify_connection(false);
    if (!self->options_.failover_urls.empty()) {
      std::lock_guard lock(self->failover_mu_);
      self->failover_lost_ = true;
      self->failover_cv_.notify_all();
    }
  });
  c->client_->set_message_callback([self](mqtt::const_message_ptr m) {
    MessageHandler h;
    {
      std::lock_guard lock(self->mu_);
      h = self->message_handler_;
    }
    if (h) h(MqttMessage{m->get_topic(), m->get_payload_str(), m->get_qos(), m->is_retained()});
  });
  return c;
}

MqttClient::~MqttClient() {
  if (!client_) return;
  stop_failover();
  // Paho refuses to change callbacks while a connect is still in progress (a broker that did
  // not answer before connect()'s deadline) and throws: never out of a destructor.
  try {
    client_->disable_callbacks();
  } catch (const mqtt::exception& e) {
    spdlog::debug("MQTT {}: callbacks not removed ({}); a connect was in progress", options_.client_id, e.what());
  }
  if (client_->is_connected()) disconnect(std::chrono::seconds{2});
}

void MqttClient::on_message(MessageHandler handler) {
  std::lock_guard lock(mu_);
  message_handler_ = std::move(handler);
}

void MqttClient::on_connection(ConnectionHandler handler) {
  std::lock_guard lock(mu_);
  connection_handler_ = std::move(handler);
}

void MqttClient::set_subscription_answer(std::vector<std::string> refused, std::string reason) {
  std::string text;
  for (const auto& f : refused) text += fmt::format("{}{} ({})", text.empty() ? "" : ", ", f, reason);
  if (!refused.empty())
    spdlog::error("MQTT {}: the broker refused the subscription to {}", options_.client_id, text);
  {
    std::lock_guard lock(sub_mu_);
    sub_state_ = refused.empty() ? SubscriptionState::kGranted : SubscriptionState::kRefused;
    refused_ = std::move(text);
  }
  sub_cv_.notify_all();
}

Status MqttClient::subscription_status() const {
  std::lock_guard lock(sub_mu_);
  switch (sub_state_) {
    case SubscriptionState::kGranted:
      return {};
    case SubscriptionState::kRefused:
      return fail(ErrorCode::kDenied, fmt::format("MQTT: the broker refused the subscription to {}", refused_),
                  "subscriptions");
    case SubscriptionState::kPending:
      break;
  }
  return fail(ErrorCode::kUnavailable, "MQTT: subscriptions not answered yet (not connected)", "subscriptions");
}

Status MqttClient::subscribe(std::string filter, int qos) {
  {
    std::lock_guard lock(mu_);
    subscriptions_.emplace_back(filter, qos);
  }
  if (!connected_) return {};
  try {
    auto tok = client_->subscribe(filter, qos);
    if (!tok->wait_for(std::chrono::seconds{10}))
      return fail(ErrorCode::kUnavailable, fmt::format("MQTT: no answer to the subscription to {}", filter),
                  "subscriptions");
    const mqtt::subscribe_response answer = tok->get_subscribe_response();
    for (auto code : answer.get_reason_codes())
      if (static_cast<int>(code) >= 0x80)
        return fail(ErrorCode::kDenied,
                    fmt::format("MQTT: the broker refused the subscription to {} (SUBACK 0x{:02x})", filter,
                                static_cast<int>(code)),
                    "subscriptions");
    return {};
  } catch (const mqtt::exception& e) {
    // Paho fails the token of a refused single-filter subscription.
    return fail(e.get_reason_code() >= 0x80 || e.get_return_code() == MQTT_BAD_SUBSCRIBE ? ErrorCode::kDenied
                                                                                        : ErrorCode::kUnavailable,
                fmt::format("MQTT: the subscription to {} failed: {}", filter, e.what()), "subscriptions");
  }
}

void MqttClient::resubscribe() {
  std::vector<std::pair<std::string, int>> subs;
  {
    std::lock_guard lock(mu_);
    subs = subscriptions_;
  }
  if (subs.empty()) {
    set_subscription_answer({}, "");
    return notify_connection(true);
  }
  auto filters = std::make_shared<mqtt::string_collection>();
  mqtt::iasync_client::qos_collection qos;
  std::vector<std::string> sent;
  for (const auto& [filter, q] : subs) {
    filters->push_back(filter);
    qos.push_back(q);
    sent.push_back(filter);
  }
  {
    std::lock_guard lock(sub_mu_);
    sub_state_ = SubscriptionState::kPending;
    sent_filters_ = sent;
  }
  try {
    // Asynchronous: never waited on here; the listener completes the connection.
    client_->subscribe(filters, qos, nullptr, *subscribe_listener_);
  } catch (const mqtt::exception& e) {
    spdlog::warn("MQTT subscribe: {}", e.what());
    set_subscription_answer(std::move(sent), e.what());
    notify_connection(true);
  }
}

Status MqttClient::connect(std::chrono::milliseconds timeout) {
  auto b = mqtt::connect_options_builder()
               .clean_session(options_.clean_session)
               .keep_alive_interval(options_.keepalive)
               .connect_timeout(std::chrono::seconds{5})
               .max_inflight(options_.max_inflight);
  if (options_.failover_urls.empty()) b.automatic_reconnect(std::chrono::seconds{1}, std::chrono::seconds{30});
  if (!options_.username.empty()) b.user_name(options_.username).password(options_.password);
  if (!options_.failover_urls.empty()) {
    std::vector<std::string> all{options_.url};
    all.insert(all.end(), options_.failover_urls.begin(), options_.failover_urls.end());
    b.servers(mqtt::string_collection::create(all));
  }
  if (options_.url.rfind("ssl://", 0) == 0) {
    // The chain up to the CA, and the host name (or IP) of the URL against the certificate.
    auto ssl = mqtt::ssl_options_builder().trust_store(options_.ca_file).enable_server_cert_auth(true).verify(true);
    if (!options_.cert_file.empty()) ssl.key_store(options_.cert_file).private_key(options_.key_file);
    b.ssl(ssl.finalize());
  }
  if (options_.will) {
    b.will(mqtt::message(options_.will->first, options_.will->second, 1, true));
  }
  auto opts = b.finalize();
  if (!options_.failover_urls.empty()) {
    std::lock_guard lock(failover_mu_);
    connect_options_ = std::make_unique<mqtt::connect_options>(opts);
    if (!failover_thread_.joinable()) {
      failover_stop_ = failover_lost_ = false;
      failover_thread_ = std::thread([this] { failover_loop(); });
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::lock_guard lock(sub_mu_);
    sub_state_ = SubscriptionState::kPending;
  }
  std::string last_error;
  // Paho's automatic reconnect only starts after a first successful connect, so the first one
  // is retried here until the deadline.
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      auto tok = client_->connect(opts);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (tok->wait_for(std::max(left, std::chrono::milliseconds{100})) && client_->is_connected()) {
        // Connected: the subscriptions are answered on Paho's thread (resubscribe()).
        std::unique_lock lock(sub_mu_);
        if (!sub_cv_.wait_until(lock, std::max(deadline, std::chrono::steady_clock::now() + std::chrono::seconds{2}),
                                [&] { return sub_state_ != SubscriptionState::kPending; }))
          return fail(ErrorCode::kUnavailable,
                      fmt::format("MQTT broker {}: connected, but no answer to the subscriptions", options_.url),
                      "subscriptions");
        lock.unlock();
        return subscription_status();
      }
    } catch (const mqtt::exception& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
  return fail(ErrorCode::kUnavailable,
              fmt::format("cannot connect to MQTT broker {}{}{}", options_.url,
                          last_error.empty() ? "" : ": ", last_error));
}

bool MqttClient::connected() const { return connected_ && client_->is_connected(); }

Status MqttClient::publish(const std::string& topic, const std::string& payload, int qos,
                           bool retained) {
  try {
    client_->publish(topic, payload.data(), payload.size(), qos, retained);
    return {};
  } catch (const mqtt::exception& e) {
    return fail(ErrorCode::kUnavailable, fmt::format("MQTT publish to {}: {}", topic, e.what()),
                "topic");
  }
}

namespace {
class PahoDelivery final : public Delivery {
 public:
  explicit PahoDelivery(mqtt::delivery_token_ptr token) : token_(std::move(token)) {}
  State wait(std::chrono::milliseconds timeout) override {
    try {
      if (!token_->wait_for(timeout)) return State::kPending;
      return token_->get_return_code() == 0 ? State::kAcknowledged : State::kFailed;
    } catch (const mqtt::exception&) {
      return State::kFailed;  // the connection was lost before the acknowledgement
    }
  }

 private:
  mqtt::delivery_token_ptr token_;
};
}  // namespace

Result<std::unique_ptr<Delivery>> MqttClient::publish_tracked(const std::string& topic, const std::string& payload) {
  if (!connected()) return fail(ErrorCode::kUnavailable, "MQTT: not connected", "broker");
  try {
    return std::unique_ptr<Delivery>(
        std::make_unique<PahoDelivery>(client_->publish(topic, payload.data(), payload.size(), 1, false)));
  } catch (const mqtt::exception& e) {
    return fail(ErrorCode::kUnavailable, fmt::format("MQTT publish to {}: {}", topic, e.what()), "topic");
  }
}

Status MqttClient::publish_and_wait(const std::string& topic, const std::string& payload, int qos,
                                    bool retained, std::chrono::milliseconds timeout) {
  try {
    auto tok = client_->publish(topic, payload.data(), payload.size(), qos, retained);
    if (!tok->wait_for(timeout))
      return fail(ErrorCode::kUnavailable,
                  fmt::format("MQTT publish to {}: no acknowledgement within {} ms", topic,
                              timeout.count()));
    return {};
  } catch (const mqtt::exception& e) {
    return fail(ErrorCode::kUnavailable, fmt::format("MQTT publish to {}: {}", topic, e.what()),
                "topic");
  }
}

void MqttClient::stop_failover() {
  {
    std::lock_guard lock(failover_mu_);
    failover_stop_ = true;
    failover_cv_.notify_all();
  }
  if (failover_thread_.joinable()) failover_thread_.join();
}

void MqttClient::failover_loop() {
  std::unique_lock lock(failover_mu_);
  while (true) {
    failover_cv_.wait(lock, [&] { return failover_lost_ || failover_stop_; });
    if (failover_stop_) return;
    failover_lost_ = false;
    for (std::chrono::seconds wait{1}; !failover_stop_ && !connected_; wait = std::min(wait * 2, std::chrono::seconds{30})) {
      const mqtt::connect_options opts = *connect_options_;
      lock.unlock();
      try {
        // A new connect starts again at the first node of the list.
        client_->connect(opts)->wait_for(std::chrono::seconds{10});
      } catch (const mqtt::exception& e) {
        spdlog::debug("MQTT {}: reconnect: {}", options_.client_id, e.what());
      }
      lock.lock();
      if (connected_) break;
      failover_cv_.wait_for(lock, wait, [&] { return failover_stop_; });
    }
  }
}

void MqttClient::disconnect(std::chrono::milliseconds timeout) {
  stop_failover();
  try {
    if (client_->is_connected()) client_->disconnect()->wait_for(timeout);
  } catch (const mqtt::exception& e) {
    spdlog::debug("MQTT disconnect: {}", e.what());
  }
  connected_ = false;
}

}  // namespace gridwatch::platform
